r"""Penalties on the coefficient matrix (never on the intercepts).

glmnet convention: the objective is the mean weighted negative log-likelihood plus
:math:`\alpha(\lambda_1 \lVert\beta\rVert_1 + \tfrac{1-\lambda_1}{2}\lVert\beta\rVert_2^2)`
with :math:`\lambda_1` = ``l1_ratio``. This module holds the smooth part used by the
gradient-based solvers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NoPenalty", "L2", "make_penalty"]


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


PENALTIES = {None: lambda alpha: NoPenalty(), "none": lambda alpha: NoPenalty(), "l2": L2}


def make_penalty(penalty, alpha):
    """Build the penalty named ``penalty`` (None/"none" or "l2") with strength ``alpha``."""
    if penalty not in PENALTIES:
        raise ValueError(f"penalty={penalty!r} is not supported; choose one of None, 'l2'")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    return PENALTIES[penalty](float(alpha))
