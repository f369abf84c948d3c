r"""Penalties on the coefficient matrix (never on the intercepts).

glmnet convention: the objective is the mean weighted negative log-likelihood plus
:math:`\alpha(\lambda_1 \lVert\beta\rVert_1 + \tfrac{1-\lambda_1}{2}\lVert\beta\rVert_2^2)`
with :math:`\lambda_1` = ``l1_ratio``. Each penalty gives its smooth part (value, gradient,
diagonal Hessian) to the objective and its lasso part (``l1_value``, ``l1_weights``) to the
coordinate-descent solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import warn

__all__ = ["ElasticNet", "Firth", "L2", "NoPenalty", "make_penalty"]


@dataclass(frozen=True)
class NoPenalty:
    """The plain maximum-likelihood objective: value, gradient and Hessian are zero."""

    def value(self, coef):
        """0."""
        return 0.0

    def gradient(self, coef):
        """Zeros shaped like ``coef``."""
        return np.zeros_like(coef)

    def hessian_diag(self, coef):
        """Zeros shaped like ``coef`` (the Hessian is diagonal)."""
        return np.zeros_like(coef)

    nonsmooth = False

    def l1_value(self, coef):
        """0: no lasso part."""
        return 0.0

    @property
    def is_zero(self):
        """True: the fit is unpenalised."""
        return True

    @property
    def needs_full_rank(self):
        """True: aliased columns must be found and fixed at 0."""
        return True


@dataclass(frozen=True)
class ElasticNet:
    r"""Elastic net :math:`\alpha\sum_j \bigl(\lambda_1 v_j \lvert\beta_j\rvert +
    \tfrac{1-\lambda_1}{2} u_j \beta_j^2\bigr)` (ridge for :math:`\lambda_1 = 0`, lasso for 1).

    Per-feature weights :math:`v_j = f_j s_j` and :math:`u_j = f_j s_j^2` combine the
    ``penalty_factor`` :math:`f_j` and, with ``standardize``, the feature's standard deviation
    :math:`s_j` (penalising standardised coefficients, reported on the original scale, as
    glmnet does). With ``grouped`` the lasso part is :math:`\lambda_1 v_j \lVert\beta_{:,j}\rVert_2`
    over the classes (glmnet's ``type.multinomial="grouped"``).

    ``value``, ``gradient`` and ``hessian_diag`` are those of the smooth (ridge) part, which
    the objective includes; the lasso part is ``l1_value`` and is handled by the proximal
    (coordinate-descent) solver through ``l1_weights``.
    """

    alpha: float
    l1_ratio: float = 0.0
    factor: np.ndarray | None = None
    scale: np.ndarray | None = None
    grouped: bool = False

    def _weights(self, coef, power):
        w = np.ones(coef.shape[-1])
        if self.factor is not None:
            w = w * self.factor
        if self.scale is not None:
            w = w * self.scale**power
        return w

    @property
    def _ridge(self):
        return self.alpha * (1.0 - self.l1_ratio)

    def value(self, coef):
        r"""Ridge part :math:`\tfrac{\alpha(1-\lambda_1)}{2}\sum u_j\beta_j^2`."""
        return 0.5 * self._ridge * float(np.sum(self._weights(coef, 2) * coef * coef))

    def gradient(self, coef):
        r""":math:`\alpha(1-\lambda_1) u_j \beta_j`."""
        return self._ridge * self._weights(coef, 2) * coef

    def hessian_diag(self, coef):
        r""":math:`\alpha(1-\lambda_1) u_j` for every coefficient."""
        return np.broadcast_to(self._ridge * self._weights(coef, 2), coef.shape).copy()

    def l1_weights(self, coef):
        r"""Per-coefficient lasso thresholds :math:`\alpha\lambda_1 v_j`, shaped like ``coef``."""
        w = self.alpha * self.l1_ratio * self._weights(coef, 1)
        return np.broadcast_to(w, coef.shape).copy()

    def l1_value(self, coef):
        """The lasso part of the penalty (0 without one)."""
        w = self.l1_weights(coef)
        if self.grouped:
            return float(np.sum(w[0] * np.sqrt(np.sum(coef * coef, axis=0))))
        return float(np.sum(w * np.abs(coef)))

    @property
    def nonsmooth(self):
        """True when there is a lasso part (a proximal solver is needed)."""
        return self.alpha > 0 and self.l1_ratio > 0

    @property
    def is_zero(self):
        """True when alpha is 0."""
        return self.alpha == 0.0

    @property
    def needs_full_rank(self):
        """Only without shrinkage (alpha = 0) must aliased columns be fixed."""
        return self.is_zero


def L2(alpha):  # noqa: N802 - reads as the penalty's name
    """Ridge penalty ``alpha/2 |beta|^2``: an elastic net with ``l1_ratio = 0``."""
    return ElasticNet(float(alpha), 0.0)


@dataclass(frozen=True)
class Firth(NoPenalty):
    """Marker penalty for ``penalty="firth"``: no coefficient penalty of its own; the
    objective is wrapped in :class:`softlogit.model.firth.FirthObjective`. ``correction``
    ("flic" or "flac", for ``penalty="flic"``/``"flac"``) corrects the intercept of the
    binary fit afterwards (:mod:`softlogit.model.firth_corrections`)."""

    correction: str | None = None

    @property
    def is_zero(self):
        """False: this is a penalised fit (the Jeffreys prior)."""
        return False


PENALTY_NAMES = (None, "none", "l2", "l1", "elasticnet", "firth", "flic", "flac")


def make_penalty(penalty, alpha, l1_ratio=0.0, factor=None, scale=None, grouped=False):
    """Build the penalty named ``penalty`` with strength ``alpha``.

    Parameters
    ----------
    penalty : {None, "none", "l2", "l1", "elasticnet", "firth", "flic", "flac"}
    alpha : float
        Overall strength (unused by "firth", "flic" and "flac").
    l1_ratio : float
        Lasso share of the elastic net (forced to 0 for "l2" and 1 for "l1").
    factor : ndarray of shape (p,) or None
        Per-feature penalty factors (0: never penalised).
    scale : ndarray of shape (p,) or None
        Feature standard deviations, to penalise standardised coefficients.
    grouped : bool
        Group the lasso part over classes (multinomial grouped lasso).
    """
    if penalty not in PENALTY_NAMES:
        raise ValueError(
            f"penalty={penalty!r} is not supported; choose one of None, 'l2', 'l1', "
            "'elasticnet', 'firth', 'flic', 'flac'"
        )
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    if penalty in (None, "none", "firth", "flic", "flac") and alpha > 0:
        warn(
            f"alpha={alpha!r} is ignored with penalty={penalty!r}; set penalty='l2', 'l1' or "
            "'elasticnet' to penalise",
            UserWarning,
        )
    if penalty in (None, "none"):
        return NoPenalty()
    if penalty in ("firth", "flic", "flac"):
        return Firth(None if penalty == "firth" else penalty)
    ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, l1_ratio)
    if not (np.isfinite(ratio) and 0.0 <= ratio <= 1.0):
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio!r}")
    return ElasticNet(float(alpha), float(ratio), factor, scale, bool(grouped))
