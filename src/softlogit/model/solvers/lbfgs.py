r"""scipy's L-BFGS-B on the fused value-and-gradient pass, in scale-free coordinates.

The minimisation runs in the Jacobi-scaled centred coordinates of :class:`.views.JacobiView`
(the objective divided by its loss scale, each parameter scaled by its curvature), where a
column scaled by :math:`10^{\pm 8}` or class weights of :math:`10^{10} : 1` look like any
other problem. Convergence is the scale-free gradient measure of :mod:`.views` at most
``tol`` (L-BFGS itself aims at ``AIM`` times ``tol``), verified with the curvature at the
returned point; when L-BFGS stops short of it
(its relative-reduction test, or curvature that changed along the way) it restarts there in
freshly scaled coordinates, within ``max_iter`` iterations in all.

Fixed parameters (aliased columns) are held at their start value with equal bounds.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from .base import SolverResult
from .views import CurvatureScale, JacobiView

__all__ = ["solve"]

#: Restarts in freshly scaled coordinates after L-BFGS stops short of ``tol``.
MAX_RESTARTS = 5
#: L-BFGS aims at ``tol`` times this: a gradient measure bounds the parameters' error only
#: through the smallest curvature, so the answer is polished past the claimed ``tol``.
AIM = 1e-2


def _run(view, theta, free, options, max_iter, history):
    """One L-BFGS-B run from ``theta`` in ``view``'s coordinates; the raw point and the
    iterations used. Appends the objective per iteration to ``history``."""
    phi0 = view.to_phi(theta)
    bounds = [(None, None) if ok else (v, v) for ok, v in zip(free, phi0, strict=True)]

    def record(intermediate_result):
        history.append(float(intermediate_result.fun) * view.scale)
        if options.verbose:
            print(f"lbfgs iter {len(history):3d}  objective {history[-1]:.12g}")

    res = minimize(
        view.value_grad,
        phi0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds if not np.all(free) else None,
        callback=record,
        options={
            "maxiter": max_iter,
            "gtol": options.tol * AIM,
            "ftol": 0.0,
            "maxls": 50,
            "maxcor": 30,
        },
    )
    return view.to_theta(res.x), int(res.nit)


def solve(objective, theta0, free, options):
    """Minimise ``objective`` with L-BFGS-B; converged when the scale-free gradient measure
    (with the curvature at the solution) is at most ``tol``."""
    theta = np.array(theta0, dtype=float)
    free = np.asarray(free, dtype=bool)
    check = CurvatureScale(objective, theta, free)
    history, n_iter, converged = [], 0, False
    for _ in range(MAX_RESTARTS + 1):
        left = options.max_iter - n_iter
        if left <= 0:
            break
        theta, used = _run(JacobiView(objective, check), theta, free, options, left, history)
        n_iter += used
        check.refresh(theta)  # the curvature at the solution: for the test, and a restart
        converged = check.measure(theta, objective.value_grad(theta)[1]) <= options.tol
        if converged or used == 0:
            break
    return SolverResult(theta, n_iter, converged, history)
