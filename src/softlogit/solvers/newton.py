r"""Newton / IRLS with Cholesky solves and Armijo step-halving.

Each iteration takes one pass over the data for value, gradient and Hessian, solves
:math:`H d = -g` on the free parameters by Cholesky (least squares when the Hessian is not
numerically positive definite), and halves the step until the Armijo condition
:math:`f(\theta + t d) \le f(\theta) + c\, t\, g^T d` holds, as R's ``glm.fit`` does.
It stops when the largest free gradient entry is at most ``tol``, or when no step size
decreases the objective and the Newton decrement :math:`-g^T d` is at rounding level.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from .base import SolverResult, max_abs

__all__ = ["solve"]

ARMIJO = 1e-4
MIN_STEP = 2.0**-30
ROUNDING = 1e-15


def newton_direction(H, g):
    """Solve ``H d = -g`` by Cholesky, falling back to least squares when H is singular."""
    try:
        return -sla.cho_solve(sla.cho_factor(H, lower=False, check_finite=False), g)
    except (np.linalg.LinAlgError, sla.LinAlgError):
        return -sla.lstsq(H, g, cond=1e-12, check_finite=False)[0]


def _accepted(f_new, f, t, gd):
    """Armijo's sufficient decrease, or a change at rounding level (a flat optimum)."""
    return np.isfinite(f_new) and (
        f_new <= f + ARMIJO * t * gd or abs(f_new - f) <= ROUNDING * abs(f)
    )


def _step(objective, theta, f, gd, d):
    """Take the full Newton step if Armijo accepts it (one fused pass for value, gradient and
    Hessian), else halve it until Armijo holds (value-only passes). None if no step does."""
    candidate = theta + d
    f_new, g_new, H_new = objective.value_grad_hess(candidate)
    if _accepted(f_new, f, 1.0, gd):
        return candidate, (f_new, g_new, H_new)
    t = 0.5
    while t >= MIN_STEP:
        candidate = theta + t * d
        if _accepted(objective.value(candidate), f, t, gd):
            return candidate, objective.value_grad_hess(candidate)
        t *= 0.5
    return None, None


def solve(objective, theta0, free, options):
    """Minimise ``objective`` over the ``free`` entries of ``theta`` by damped Newton."""
    theta = np.array(theta0, dtype=float)
    f, g, H = objective.value_grad_hess(theta)
    history, converged, it = [], False, 0
    for it in range(1, options.max_iter + 1):
        if max_abs(g, free) <= options.tol:
            converged, it = True, it - 1
            break
        d = np.zeros_like(theta)
        d[free] = newton_direction(H[np.ix_(free, free)], g[free])
        gd = float(g[free] @ d[free])
        if not gd < 0:  # not a descent direction: fall back to steepest descent
            d[free], gd = -g[free], -float(g[free] @ g[free])
        candidate, stats = _step(objective, theta, f, gd, d)
        if candidate is None:
            converged = -gd <= 1e3 * ROUNDING * max(1.0, abs(f))
            break
        theta, (f, g, H) = candidate, stats
        history.append(f)
        if options.verbose:
            print(f"newton iter {it:3d}  objective {f:.12g}  max|grad| {max_abs(g, free):.3e}")
    else:
        converged = max_abs(g, free) <= options.tol
    return SolverResult(theta, it, converged, history)
