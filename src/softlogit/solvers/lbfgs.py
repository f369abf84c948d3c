"""scipy's L-BFGS-B on the fused value-and-gradient pass.

Fixed parameters (aliased columns) are held at their start value with equal bounds.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from .base import SolverResult, max_abs

__all__ = ["solve"]


def solve(objective, theta0, free, options):
    """Minimise ``objective`` with L-BFGS-B; stop at gradient ``tol`` or relative change 64 eps."""
    theta0 = np.array(theta0, dtype=float)
    bounds = [(None, None) if ok else (v, v) for ok, v in zip(free, theta0, strict=True)]
    history = []

    def record(intermediate_result):
        history.append(float(intermediate_result.fun))
        if options.verbose:
            print(f"lbfgs iter {len(history):3d}  objective {history[-1]:.12g}")

    res = minimize(
        objective.value_grad,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds if not np.all(free) else None,
        callback=record,
        options={
            "maxiter": options.max_iter,
            "gtol": options.tol,
            "ftol": 64 * np.finfo(float).eps,
            "maxls": 50,
            "maxcor": 30,
        },
    )
    converged = bool(res.success) or max_abs(res.jac, free) <= options.tol
    return SolverResult(res.x, int(res.nit), converged, history)
