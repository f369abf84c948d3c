r"""Penalties on the coefficient matrix (never on the intercepts).

glmnet convention: the objective is the mean weighted negative log-likelihood plus
:math:`\alpha(\lambda_1 \lVert\beta\rVert_1 + \tfrac{1-\lambda_1}{2}\lVert\beta\rVert_2^2)`
with :math:`\lambda_1` = ``l1_ratio``. This module holds the smooth part used by the
gradient-based solvers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Firth", "L2", "NoPenalty", "make_penalty"]


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

    @property
    def is_zero(self):
        """True: the fit is unpenalised."""
        return True

    @property
    def needs_full_rank(self):
        """True: aliased columns must be found and fixed at 0."""
        return True


@dataclass(frozen=True)
class L2:
    r"""Ridge penalty :math:`\tfrac{\alpha}{2}\lVert\beta\rVert_2^2`.

    Gradient :math:`\alpha\beta`, Hessian :math:`\alpha I`.
    """

    alpha: float

    def value(self, coef):
        r""":math:`\tfrac{\alpha}{2}\sum \beta^2`."""
        return 0.5 * self.alpha * float(np.sum(coef * coef))

    def gradient(self, coef):
        r""":math:`\alpha\beta`."""
        return self.alpha * coef

    def hessian_diag(self, coef):
        r""":math:`\alpha` for every coefficient."""
        return np.full_like(coef, self.alpha)

    @property
    def is_zero(self):
        """True when alpha is 0."""
        return self.alpha == 0.0

    @property
    def needs_full_rank(self):
        """Only without shrinkage (alpha = 0) must aliased columns be fixed."""
        return self.is_zero


@dataclass(frozen=True)
class Firth:
    """Marker penalty for ``penalty="firth"``: no coefficient penalty of its own; the
    objective is wrapped in :class:`FirthObjective`."""

    alpha: float = 0.0

    def value(self, coef):
        """0: the Jeffreys term lives in :class:`FirthObjective`."""
        return 0.0

    def gradient(self, coef):
        """Zeros shaped like ``coef``."""
        return np.zeros_like(coef)

    def hessian_diag(self, coef):
        """Zeros shaped like ``coef``."""
        return np.zeros_like(coef)

    @property
    def is_zero(self):
        """False: this is a penalised fit."""
        return False

    @property
    def needs_full_rank(self):
        """True: the Jeffreys term needs a non-singular information matrix."""
        return True


PENALTIES = {
    None: lambda alpha: NoPenalty(),
    "none": lambda alpha: NoPenalty(),
    "l2": L2,
    "firth": lambda alpha: Firth(),
}


def make_penalty(penalty, alpha):
    """Build the penalty named ``penalty`` (None/"none", "l2" or "firth") with strength
    ``alpha`` (unused by "firth")."""
    if penalty not in PENALTIES:
        raise ValueError(f"penalty={penalty!r} is not supported; choose one of None, 'l2'")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    return PENALTIES[penalty](float(alpha))
