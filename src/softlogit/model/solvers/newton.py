r"""Newton / IRLS with Cholesky solves and Armijo step-halving.

Each iteration takes one pass over the data for value, gradient and Hessian, solves
:math:`H d = -g` on the free parameters by Cholesky (least squares when the Hessian is not
numerically positive definite), and halves the step until the Armijo condition
:math:`f(\theta + t d) \le f(\theta) + c\, t\, g^T d` holds, as R's ``glm.fit`` does.
It works in the centred coordinates of :mod:`softlogit.coordinates` (Hessians summed over
the centred design, so a column far from 0 keeps its digits) and solves with the Hessian
equilibrated to unit diagonal (so a column scaled by :math:`10^{\pm 12}` costs no accuracy).
It stops when the Newton decrement relative to the loss scale is at most ``tol``,
:math:`\sqrt{-g^T d / F} \le \text{tol}` (see :mod:`.views`: invariant to the location and
scale of the columns and to the scale of the weights), or when no step size decreases the
objective and the decrement is at rounding level.

On many rows (in memory or on Dask) it first solves a random subsample of
``1/SUBSAMPLE_SHARE`` of them, then iterates on all rows with the subsample's Hessian
:math:`\tilde H` in place of the exact one, :math:`\theta \leftarrow \theta - t \tilde H^{-1}
g(\theta)`, corrected by L-BFGS updates from the observed gradient changes: each iteration is
a value-and-gradient pass instead of a Hessian pass, and few are needed because the
subsample's mean Hessian estimates the full one. The pass predicted to be the last also
computes the Hessian, which the standard errors then reuse. The stopping rule is the same
(the decrement at most ``tol`` times ``REFINE_TOL_FACTOR``), so the solution is the
full-data MLE (the decrement is measured with the quasi-Newton inverse Hessian); if the
predicted last pass or ``REFINE_MAX_ITER`` steps do not converge,
exact Newton steps finish the fit. On fewer rows but more than ``START_HESSIAN_MIN_PARAMS``
parameters, where one Hessian pass costs dozens of gradient passes, the same refinement
starts from the Hessian at the starting point instead of a subsample's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

import numpy as np
import scipy.linalg as sla

from ...memory import check_dense_square
from . import lbfgs
from .base import SolverOptions, SolverResult, max_abs
from .views import CenteredView, loss_scale

__all__ = ["solve"]

ARMIJO = 1e-4
MIN_STEP = 2.0**-30
ROUNDING = 1e-15
#: Relative decrease below which the objective's value cannot judge a step (see
#: ``_full_step_accepted``).
VALUE_RESOLUTION = 1e-12
#: Rows from which a subsample is solved first; its share of the rows; rows per parameter.
SUBSAMPLE_MIN_ROWS = 40_000
SUBSAMPLE_SHARE = 16
SUBSAMPLE_ROWS_PER_PARAM = 40
#: Above this many parameters the subsample is solved by L-BFGS (one Hessian at the end).
SUBSAMPLE_NEWTON_MAX_PARAMS = 200
#: The subsample's solution is only a start (it differs from the full-data MLE by the
#: sampling error, far more than this), so it is solved this loosely.
SUBSAMPLE_TOL = 1e-4
#: Quasi-Newton steps on all rows before exact Newton takes over; L-BFGS memory.
REFINE_MAX_ITER = 15
REFINE_MEMORY = 10
#: Multiply-adds of a Dask block's Hessian (rows x parameters^2) from which its passes are
#: dominated by arithmetic rather than by scheduling (about 10 ms of one core).
HESSIAN_WORK_PER_BLOCK = 5e7
#: Without a subsample (few rows), above this many parameters a Hessian pass costs dozens of
#: gradient passes: Newton then takes the Hessian at the start only and refines with
#: gradient passes preconditioned by it, for at most this many steps.
START_HESSIAN_MIN_PARAMS = 200
START_HESSIAN_MAX_ITER = 60
#: Objectives with an approximate Hessian (Firth) take scoring steps down to this decrement,
#: then quasi-Newton steps (see ``_scoring_then_quasi_newton``).
SCORING_TOL = 1e-3
#: The quasi-Newton steps aim at ``tol`` times this: exact Newton's last step usually lands
#: far inside ``tol``, and the answer should not depend on which route was taken (at 3e-2
#: the refinement takes as many steps as it did with a 1e-3 aim on the max-gradient rule).
REFINE_TOL_FACTOR = 3e-2
#: The pass predicted to be the last computes the Hessian when the gradient's predicted size
#: is below the target divided by this margin: a wrong guess costs a Hessian pass (and one
#: more), a late one a gradient pass, so the margin grows with the Hessian's relative cost,
#: i.e. with the number of parameters, from 1 at ``HESSIAN_MARGIN_PARAMS`` or fewer.
HESSIAN_MARGIN_PARAMS = 100
HESSIAN_MARGIN_MAX = 4.0


#: What a failed factorisation raises (a singular or non-finite matrix).
FACTOR_ERRORS = (np.linalg.LinAlgError, ValueError)


def _equilibrated(H):
    """``s = diag(H)^(-1/2)`` (1 where the diagonal is not positive) and ``S H S``."""
    diag = np.diag(H)
    ok = np.isfinite(diag) & (diag > 0)
    s = np.where(ok, 1.0 / np.sqrt(np.where(ok, diag, 1.0)), 1.0)
    return s, H * s[:, None] * s[None, :]


class EquilibratedFactor:
    """Cholesky factor of ``S H S`` with ``S = diag(H)^(-1/2)`` (unit diagonal: the
    condition number then measures collinearity, not the scales of the columns); ``solve``
    applies ``H^{-1}``. Raises ``LinAlgError`` when ``H`` is not positive definite."""

    def __init__(self, H):
        self.s, scaled = _equilibrated(H)
        self.factor = sla.cho_factor(scaled, lower=False, check_finite=False)
        if not np.all(np.isfinite(self.factor[0])):
            raise np.linalg.LinAlgError("non-finite Cholesky factor")

    def solve(self, v):
        """``H^{-1} v``."""
        return self.s * sla.cho_solve(self.factor, self.s * v, check_finite=False)


def newton_direction(H, g):
    """Solve ``H d = -g`` by Cholesky of the equilibrated ``H`` (see
    :class:`EquilibratedFactor`), falling back to least squares when H is singular."""
    try:
        return -EquilibratedFactor(H).solve(g)
    except FACTOR_ERRORS:
        s, scaled = _equilibrated(H)
        return -s * sla.lstsq(scaled, s * g, cond=1e-12, check_finite=False)[0]


def _direction(H, g, free):
    """The Newton direction over the ``free`` parameters (0 elsewhere)."""
    d = np.zeros_like(g)
    d[free] = newton_direction(H[np.ix_(free, free)], g[free])
    return d


def decrement(g, d, free, scale):
    r"""The Newton decrement relative to the loss scale, :math:`\sqrt{-g^T d / F}`, of the
    direction ``d`` (``inf`` when ``d`` is not a descent direction and ``g`` is not 0)."""
    gd = float(g[free] @ d[free])
    if gd < 0:
        return float(np.sqrt(-gd / scale))
    return 0.0 if not np.any(g[free]) else np.inf


def _accepted(f_new, f, t, gd):
    """Armijo's sufficient decrease, or a change at rounding level (a flat optimum)."""
    return np.isfinite(f_new) and (
        f_new <= f + ARMIJO * t * gd or abs(f_new - f) <= ROUNDING * abs(f)
    )


def _full_step_accepted(f_new, g_new, f, g, gd, free, scale=1.0, resolution=VALUE_RESOLUTION):
    """Armijo for the full step; or, when the predicted decrease ``-gd`` is below what the
    value (a sum over all rows, with its rounding) can resolve (``resolution``, relative),
    a shrinking gradient: close to the optimum Armijo's test on values would reject good
    steps by rounding noise."""
    if _accepted(f_new, f, 1.0, gd):
        return True
    unresolved = -gd <= resolution * max(scale, abs(f))
    return bool(np.isfinite(f_new) and unresolved and max_abs(g_new, free) < max_abs(g, free))


def _resolution(objective):
    """The relative rounding of the objective's value: ``VALUE_RESOLUTION``, or coarser for
    objectives that say so (Firth's, whose log-determinant carries the information's
    rounding)."""
    return getattr(objective, "value_resolution", VALUE_RESOLUTION)


def _step(objective, theta, current, d, free, scale):
    """Take the full Newton step if it is accepted (one fused pass for value, gradient and
    Hessian), else halve it until Armijo holds (value-only passes). None if no step does.
    ``current`` is ``(f, g, g^T d)`` at ``theta``."""
    f, g, gd = current
    candidate = theta + d
    f_new, g_new, H_new = objective.value_grad_hess(candidate)
    if _full_step_accepted(f_new, g_new, f, g, gd, free, scale, _resolution(objective)):
        return candidate, (f_new, g_new, H_new)
    t = _halved_step(objective, theta, f, gd, d)
    if t is None:
        return None, None
    return theta + t * d, objective.value_grad_hess(theta + t * d)


def _halved_step(objective, theta, f, gd, d):
    """The largest ``t = 1/2, 1/4, ...`` at which Armijo holds (value-only passes), or None
    below ``MIN_STEP``."""
    t = 0.5
    while t >= MIN_STEP:
        if _accepted(objective.value(theta + t * d), f, t, gd):
            return t
        t *= 0.5
    return None


def solve(objective, theta0, free, options):
    """Minimise ``objective`` over the ``free`` entries of ``theta`` by damped Newton
    (started from a subsample's solution when there are many rows), in the centred
    coordinates of :mod:`softlogit.coordinates` (see :class:`.views.CenteredView`).

    Whatever the route, the last pass is a Hessian pass at the returned point when the fit
    converges, so the objective's pass cache holds the information matrix the standard
    errors need.
    """
    check_dense_square(
        objective.n_params, "solver='newton' (its Hessian)", copies=4,
        hint="; use solver='lbfgs' (or 'auto'), which forms no Hessian",
    )  # fmt: skip
    view = CenteredView(objective)
    result = _solve(view, view.to_psi(np.array(theta0, dtype=float)), free, options)
    result.theta = view.to_theta(result.theta)
    return result


def _solve(objective, theta0, free, options):
    if getattr(objective, "approximate_hessian", False):
        return _scoring_then_quasi_newton(objective, theta0, free, options)
    start, max_steps = subsample_start(objective, theta0, free, SUBSAMPLE_TOL), REFINE_MAX_ITER
    if start is None and objective.n_params > START_HESSIAN_MIN_PARAMS:
        start, max_steps = _start_hessian(objective, theta0, free), START_HESSIAN_MAX_ITER
    if start is None:
        return _newton(objective, theta0, free, options)
    # the loss scale at the start, read off the pass just made there (no pass of its own)
    scale = loss_scale(subsample_objective(objective) or objective, start[0])
    tight = replace(options, tol=options.tol * REFINE_TOL_FACTOR)
    if _cheap_gradient_passes(objective):
        theta, history, size = _refine(objective, *start, free, tight, max_steps, scale)
        if size <= tight.tol:
            return SolverResult(theta, len(history), True, history)
    else:  # small Dask blocks: exact steps straight from the subsample's solution
        theta, history = start[0], []
    rest = _newton(objective, theta, free, tight, scale)
    converged = rest.converged or _exact_decrement(objective, rest.theta, free, scale) <= (
        options.tol
    )
    return SolverResult(rest.theta, len(history) + rest.n_iter, converged, history + rest.history)


def _scoring_then_quasi_newton(objective, theta0, free, options):
    """For objectives whose Hessian is an approximation (Firth's: the Fisher information):
    scoring steps, which converge only linearly near the optimum, to ``SCORING_TOL``; then
    quasi-Newton steps preconditioned by the information there and corrected by the
    observed gradient changes, which converge superlinearly and measure the decrement with
    the corrected inverse Hessian (the information alone understates how far the optimum
    is when the data are nearly separated)."""
    rough_options = replace(options, tol=max(options.tol, SCORING_TOL))
    rough = _newton(objective, theta0, free, rough_options)
    scale = loss_scale(objective, rough.theta)  # its last pass was there: no pass of its own
    start = _start_hessian(objective, rough.theta, free)
    left = options.max_iter - rough.n_iter
    if start is None or left < 1:
        return SolverResult(rough.theta, rough.n_iter, False, rough.history)
    tight = replace(options, tol=options.tol * REFINE_TOL_FACTOR)
    theta, history, size = _refine(objective, *start, free, tight, left, scale)
    done = size <= options.tol
    return SolverResult(theta, rough.n_iter + len(history), done, rough.history + history)


def _exact_decrement(objective, theta, free, scale):
    """The Newton decrement at ``theta`` with the exact Hessian (the pass is cached when
    ``theta`` is where the last Hessian pass was made)."""
    _, g, H = objective.value_grad_hess(theta)
    return decrement(g, _direction(H, g, free), free, scale)


def _cheap_gradient_passes(objective):
    """Whether a gradient pass costs clearly less than a Hessian pass. Not so on Dask with
    small blocks, where the scheduling round trip of every pass outweighs a block's
    Hessian arithmetic (rows x parameters^2): there the few exact Newton passes win."""
    rows = getattr(objective.source, "block_rows", None)
    return rows is None or rows * objective.n_params**2 >= HESSIAN_WORK_PER_BLOCK


def subsample_rows(n_rows, n_params):
    """Rows of the subsample solved first, or None when the data are too small for it."""
    rows = max(n_rows // SUBSAMPLE_SHARE, SUBSAMPLE_ROWS_PER_PARAM * n_params)
    if n_rows < SUBSAMPLE_MIN_ROWS or rows > n_rows // 4:
        return None
    return rows


def subsample_objective(objective):
    """The objective on the rows Newton solves first, or None when the data are small or
    cannot be subsampled (streamed)."""
    rows = subsample_rows(objective.source.n_rows, objective.n_params)
    if rows is None or not hasattr(objective, "on_subsample"):
        return None
    return objective.on_subsample(rows)


def subsample_by_newton(objective):
    """Whether the subsample is solved by Newton (few parameters), whose first pass is then
    a Hessian at the start; else by L-BFGS."""
    return objective.n_params <= SUBSAMPLE_NEWTON_MAX_PARAMS


def subsample_start(objective, theta0, free, tol=1e-10):
    """Solution and Hessian (free block) of the objective on a random subsample of rows, or
    None when the data are small, not in memory, or the subsample's fit fails."""
    small = subsample_objective(objective)
    if small is None:
        return None
    if subsample_by_newton(objective):
        result = _newton(small, theta0, free, SolverOptions(max_iter=50, tol=tol))
    else:  # Hessians cost (m q)^2 per row: one, at the end, is enough
        result = lbfgs.solve(small, theta0, free, SolverOptions(max_iter=500, tol=max(tol, 1e-7)))
    if not (result.converged and np.all(np.isfinite(result.theta))):
        return None
    _, _, H = small.value_grad_hess(result.theta)
    try:
        return result.theta, EquilibratedFactor(H[np.ix_(free, free)])
    except FACTOR_ERRORS:
        return None


def _start_hessian(objective, theta0, free):
    """``theta0`` and the (equilibrated) Cholesky factor of the Hessian there (free block),
    or None when it is not positive definite."""
    _, _, H = objective.value_grad_hess(theta0)
    try:
        return theta0, EquilibratedFactor(H[np.ix_(free, free)])
    except FACTOR_ERRORS:
        return None


def _refine(objective, theta, factor, free, options, max_steps, scale):
    """Full-data quasi-Newton steps: L-BFGS whose initial inverse Hessian is the
    subsample's, so the first step is ``-H_sub^{-1} g`` and later ones correct it with the
    observed gradient changes.

    Each step is a value-and-gradient pass, except the one the observed rate of convergence
    predicts to be the last: that pass also computes the Hessian, so a converged fit ends
    with the exact Hessian at its solution, and an unconverged one hands exact Newton its
    first Hessian. Stops when the decrement (with the quasi-Newton inverse Hessian) passes
    ``options.tol``, when the Hessian pass was taken, or after ``max_steps`` steps; returns
    the last point, the history and the last decrement.
    """
    f, g = objective.value_grad(theta)
    history, pairs = [], deque(maxlen=REFINE_MEMORY)
    d = _quasi_newton_direction(g, pairs, factor, free)
    size = decrement(g, d, free, scale)
    rates = deque([np.inf], maxlen=2)  # the worse of the last two rates predicts the next
    margin = min(HESSIAN_MARGIN_MAX, max(1.0, np.count_nonzero(free) / HESSIAN_MARGIN_PARAMS))
    while size > options.tol and len(history) < min(max_steps, options.max_iter):
        gd = float(g[free] @ d[free])
        if not gd < 0:
            break
        last = max(rates) * size * margin <= options.tol  # predicted last: with the Hessian
        t, f_new, g_new = _quasi_newton_step(objective, theta, (f, g, gd), d, free, last, scale)
        if t is None:
            break
        step, change = t * d[free], (g_new - g)[free]
        if step @ change > 0:
            pairs.append((step, change))
        theta, f, g = theta + t * d, f_new, g_new
        d = _quasi_newton_direction(g, pairs, factor, free)
        new_size = decrement(g, d, free, scale)
        rates.append(min(1.0, new_size / size) if size > 0 else 1.0)
        size = new_size
        history.append(f)
        if last and t == 1.0:
            break
    return theta, history, size


def _quasi_newton_direction(g, pairs, factor, free):
    d = np.zeros_like(g)
    d[free] = -_two_loop(g[free], pairs, factor)
    return d


def _quasi_newton_step(objective, theta, current, d, free, with_hessian, scale):
    """The full step ``d`` if it is accepted, else halved until Armijo holds: ``(t, f, g)``
    at the accepted point, or ``(None, None, None)``. ``current`` is ``(f, g, g^T d)`` at
    ``theta``. The full step's pass also computes the Hessian when ``with_hessian`` is set."""
    f, g, gd = current
    if with_hessian:
        f_new, g_new, _ = objective.value_grad_hess(theta + d)
    else:
        f_new, g_new = objective.value_grad(theta + d)
    if _full_step_accepted(f_new, g_new, f, g, gd, free, scale, _resolution(objective)):
        return 1.0, f_new, g_new
    t = _halved_step(objective, theta, f, gd, d)
    if t is None:
        return None, None, None
    f_new, g_new = objective.value_grad(theta + t * d)
    return t, f_new, g_new


def _two_loop(g, pairs, factor):
    """L-BFGS's inverse-Hessian product with ``H_0^{-1}`` applied by the Cholesky factor."""
    q, coefs = g.copy(), []
    for s, y in reversed(pairs):
        rho = 1.0 / float(y @ s)
        a = rho * float(s @ q)
        q -= a * y
        coefs.append((rho, a, s, y))
    r = factor.solve(q)
    for rho, a, s, y in reversed(coefs):
        r += s * (a - rho * float(y @ r))
    return r


def _newton(objective, theta0, free, options, scale=None):
    """Damped Newton from ``theta0`` (one fused value, gradient and Hessian pass per step),
    stopping on the relative Newton decrement (see the module description)."""
    theta = np.array(theta0, dtype=float)
    f, g, H = objective.value_grad_hess(theta)
    scale = loss_scale(objective, theta) if scale is None else scale
    history, converged, it = [], False, 0
    for it in range(1, options.max_iter + 1):
        d = _direction(H, g, free)
        if decrement(g, d, free, scale) <= options.tol:
            converged, it = True, it - 1
            break
        gd = float(g[free] @ d[free])
        if not gd < 0:  # not a descent direction: fall back to steepest descent
            d[free], gd = -g[free], -float(g[free] @ g[free])
        candidate, stats = _step(objective, theta, (f, g, gd), d, free, scale)
        if candidate is None:
            converged = -gd <= 1e3 * ROUNDING * max(scale, abs(f))
            break
        theta, (f, g, H) = candidate, stats
        history.append(f)
        if options.verbose:
            print(f"newton iter {it:3d}  objective {f:.12g}  max|grad| {max_abs(g, free):.3e}")
    else:
        converged = decrement(g, _direction(H, g, free), free, scale) <= options.tol
    return SolverResult(theta, it, converged, history)
