r"""Proximal Newton with cyclic coordinate descent, for lasso and elastic-net penalties.

As glmnet (Friedman, Hastie & Tibshirani 2010) does, each outer iteration replaces the smooth
part of the objective :math:`f` (mean NLL plus any ridge term) by its quadratic model at
:math:`\theta`,

.. math:: q(u) = g^T (u - \theta) + \tfrac12 (u - \theta)^T H (u - \theta) + \sum_j \lambda_j |u_j|,

and minimises it by cyclic coordinate descent (:mod:`softlogit.model.solvers.cd_inner`) in
standardised coordinates :math:`\phi` (centred, unit-variance columns, as glmnet works).

* **Inner accuracy.** The model is minimised until its own optimality (KKT) violation is at
  most :math:`\min(0.1, v)\,v` for the outer violation :math:`v`: a forcing term that shrinks
  with :math:`v`, so the outer iteration converges quadratically (Lee, Sun & Saunders 2014),
  as glmnet's inner loops run to its small threshold before each outer IRLS update.
* **Hessians.** Each step uses the exact Hessian at its start, computed in the previous
  step's trial pass, except where a reused one serves as well: a step predicted to be
  the last or the one before it, and the first step of a path's alpha
  (:class:`~softlogit.model.solvers.cd_store.HessianStore`). Near the solution each step
  squares the violation (:math:`v_{k+1} \approx C v_k^2`); a last step with the Hessian of
  the step before gives :math:`v_{k+1} \approx C v_{k-1} v_k`.
* **Line search.** The step :math:`\delta = u - \theta` is damped by backtracking on the true
  objective (Armijo: :math:`F(\theta + t\delta) \le F(\theta) + \sigma t \Delta`,
  :math:`\Delta = g^T\delta + P(\theta + \delta) - P(\theta)`).
* **Stopping.** The fit stops when the Karush-Kuhn-Tucker conditions hold to ``tol`` in the
  standardised coordinates: with :math:`\tilde g = A^T g` the gradient in :math:`\phi`
  (:math:`\tilde g_j = (g_j - \mu_j g_b) / s_j`, the gradient of the mean NLL in the
  coefficient of the standardised column) and :math:`\tilde\lambda_j = \lambda_j / s_j`,
  :math:`|\tilde g_j + \tilde\lambda_j\,\mathrm{sign}\,\theta_j| \le \mathrm{tol}` for
  non-zero and :math:`|\tilde g_j| \le \tilde\lambda_j + \mathrm{tol}` for zero coordinates
  (group norms for grouped penalties). Rescaling a column leaves this measure unchanged,
  and so does multiplying every sample weight by a constant (the objective is a weighted
  mean), so ``converged`` means the same for any units.
* **Memory.** The Hessian of the subproblem has :math:`(m\,|S|)^2` entries. When it would
  exceed :data:`HESSIAN_BUDGET`, the parameters are split into blocks whose exact Hessians
  fit, and each outer iteration is a cycle of proximal Newton steps over the blocks, each
  with its own line search (block coordinate descent, Tseng & Yun 2009): linear
  convergence, the same stopping rule. Cycles alternate between two partitions: classes
  (glmnet's multinomial scheme cycles over classes) and column ranges over all classes
  (for grouped penalties, whose groups span the classes, and a single class: column
  ranges with shifted boundaries).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..objective import gram_matrix, scaled_design
from . import cd_dense, cd_sparse
from .base import SolverResult
from .cd_inner import Subproblem, column_scaler, inner_tolerance, unit_kkt, units_of
from .cd_store import HessianStore

__all__ = ["HESSIAN_BUDGET", "column_scales", "kkt_violation", "solve"]

ARMIJO = 1e-4
MIN_STEP = 2.0**-30
#: Bytes one subproblem Hessian may take; beyond it the solver works block by block. At most
#: about three arrays of that size are alive at once (a stored Hessian, the working copy and
#: the active set's factor, or the next Hessian being summed).
HESSIAN_BUDGET = 256 * 2**20


def _thresholds(objective, theta):
    """Lasso thresholds per parameter (0 for intercepts) and the feature groups."""
    coef, _ = objective.split(theta)
    lam = np.zeros(objective.shape)
    lam[:, : objective.p] = objective.penalty.l1_weights(coef)
    q = objective.q
    groups = None
    if getattr(objective.penalty, "grouped", False):
        groups = [np.arange(j, objective.n_params, q) for j in range(objective.p)]
    return lam.ravel(), groups


def _l1(objective, theta):
    coef, _ = objective.split(theta)
    return objective.penalty.l1_value(coef)


def kkt_violation(g, theta, lam, free, groups=None):
    """Largest violation of the optimality conditions of ``f + sum(lam |theta|)`` over the
    ``free`` parameters, in the coordinates ``g``, ``theta`` and ``lam`` are given in."""
    return unit_kkt(units_of(np.asarray(free, dtype=bool), groups), theta, g, lam)


def column_scales(objective):
    """The column scales :math:`s_j` of the standardised coordinates the solver's stopping
    rule is measured in (one pass over the data, cached on the objective)."""
    return column_scaler(objective).scale


class _Problem:
    """The fixed parts of one solve: thresholds, groups, free mask and the scale-free KKT
    measure (in standardised coordinates)."""

    def __init__(self, objective, theta, free):
        self.objective = objective
        self.lam, self.groups = _thresholds(objective, theta)
        self.free = free
        self.scaler = column_scaler(objective)
        scale = np.ones(objective.shape)
        scale[:, : objective.p] = self.scaler.scale
        self.lam_phi = self.lam / scale.ravel()
        self.units = units_of(free, self.groups)

    def kkt(self, g, theta, units=None):
        """The KKT violation in standardised coordinates (over ``units``, default all)."""
        units = self.units if units is None else units
        return unit_kkt(units, theta, self.scaler.grad_to_phi(g), self.lam_phi)

    def subproblem(self, classes=None, cols=None):
        """The :class:`Subproblem` over ``classes`` x ``cols`` (default: every class and
        every column with a free parameter)."""
        return Subproblem(
            self.objective, self.scaler, self.lam_phi, self.free, self.groups, classes, cols
        )


class _Step:
    """An accepted line-search point: step length, parameters, value, gradient, objective
    with the lasso part, and the Hessian computed there (or None)."""

    def __init__(self, t, theta, f, g, F, H):
        self.t, self.theta, self.f, self.g, self.F, self.H = t, theta, f, g, F, H


def _line_search(objective, theta, d, g, f, F, hess_cols=None):
    """Backtracking (Armijo) along ``d`` from ``theta``; the first trial also computes the
    Hessian over ``hess_cols`` when given. None when no step length is accepted."""
    decrease = float(g @ d) + _l1(objective, theta + d) - (F - f)
    t = 1.0
    while t >= MIN_STEP:
        cand = theta + t * d
        H_c = None
        if t == 1.0 and hess_cols is not None:
            f_c, g_c, H_c = objective.value_grad_hess_cols(cand, hess_cols)
        else:
            f_c, g_c = objective.value_grad(cand)
        F_c = f_c + _l1(objective, cand)
        if F_c <= F + ARMIJO * t * decrease or abs(F_c - F) <= 1e-15 * abs(F):
            return _Step(t, cand, f_c, g_c, F_c, H_c)
        t *= 0.5
    return None


def _fits(n_params):
    """Whether a dense Hessian over ``n_params`` parameters fits :data:`HESSIAN_BUDGET`."""
    return 8.0 * n_params * n_params <= HESSIAN_BUDGET


def solve(objective, theta0, free, options, state=None):
    """Minimise ``objective + lasso part of its penalty`` by proximal Newton.

    Trial points get only a value-and-gradient pass (enough for the line search and the
    KKT test), and exact Hessians are reused while they serve (see :class:`HessianStore`;
    pass the returned ``state`` back to warm-start the next alpha of a path). A subproblem
    whose Hessian does not fit :data:`HESSIAN_BUDGET` is solved block by block.
    """
    theta = np.array(theta0, dtype=float)
    free = np.asarray(free, dtype=bool)
    problem = _Problem(objective, theta, free)
    if cd_sparse.applicable(objective):  # sparse binary rows: naive updates, compiled
        return cd_sparse.solve(problem, theta, options)
    sub = problem.subproblem()
    if not _fits(sub.idx.size):
        return _solve_blocks(problem, theta, sub.cols, options)
    store = state if isinstance(state, HessianStore) else HessianStore()
    if cd_dense.applicable(objective, theta, sub, store.cheap(objective, sub.cols)):
        return cd_dense.solve(problem, theta, sub, options)
    return _solve_exact(problem, theta, sub, options, store)


def _report(options, it, F, v):
    if options.verbose:
        print(f"cd iter {it:3d}  objective {F:.12g}  KKT {v:.3e}")


def _solve_exact(problem, theta, sub, options, store):
    """Proximal Newton steps with the (possibly reused) exact Hessian of the subproblem."""
    objective = problem.objective
    f, g = objective.value_grad(theta)
    F = f + _l1(objective, theta)
    v = problem.kkt(g, theta)
    history, it = [], 0
    store.fit_budget(objective, sub.cols, _fits)
    store.begin()
    while it < options.max_iter and v > options.tol:
        it += 1
        H, fresh = store.get(objective, theta, sub.cols)
        d = sub.step(theta, g, H, inner_tolerance(v, options.tol)) - theta
        del H  # the line search may compute the next Hessian
        due = store.due(objective, sub.cols, v, fresh, options.tol)
        step = _line_search(objective, theta, d, g, f, F, sub.cols if due else None)
        if step is None or step.t < 1.0:
            store.drop()  # the model was poor: recompute the Hessian next time
        if step is None:
            if not fresh:
                continue  # retry from the same point with an exact Hessian
            break
        theta, f, g, F = step.theta, step.f, step.g, step.F
        v_new = problem.kkt(g, theta)
        if step.t == 1.0:
            store.observe(v, v_new, fresh)
        if step.H is not None and step.t == 1.0:
            store.put_penalised(objective, theta, sub.cols, step.H)
        elif not fresh and v_new > store.STALE_RATE * v:
            store.drop()  # a reused Hessian that no longer contracts fast enough
        v = v_new
        history.append(F)
        _report(options, it, F, v)
    return SolverResult(theta, it, v <= options.tol, history, store)


def _chunks(feats, width, shift=False):
    """``feats`` in consecutive ranges of at most ``width``; with ``shift`` the boundaries
    fall half-way between the unshifted ones."""
    if feats.size <= width:
        return [feats]
    cuts = np.arange(width // 2 if shift else width, feats.size, width)
    return np.split(feats, cuts)


def _tiles(m, feats, extra, per_block, width, shift=False):
    """Blocks of ``per_block`` classes over column ranges of ``width`` (plus ``extra``)."""
    classes = np.array_split(np.arange(m), -(-m // per_block))
    ranges = _chunks(feats, width, shift)
    return [(cl, np.r_[r, extra].astype(int)) for cl in classes for r in ranges]


def _partitions(objective, cols, grouped):
    """Two partitions of the subproblem into blocks ``(classes, cols)`` whose Hessians fit
    the budget, used in alternate cycles so that each couples what the other's block
    boundaries cut: classes (one or a few) over as many columns as fit, and column ranges
    over as many classes as fit (all of them when they fit); for grouped penalties (whose
    groups span the classes: a block holds every class, even beyond the budget when one
    column over all classes does not fit) and a single class, column ranges with
    boundaries shifted half a range. Every block keeps the intercept column."""
    m, p = objective.m, objective.p
    feats, extra = cols[cols < p], cols[cols >= p]
    side = max(2, int(np.sqrt(HESSIAN_BUDGET / 8.0)))  # parameters per block
    narrow = max(1, side // m - extra.size)  # columns per block over all classes
    if grouped or m == 1:
        return [_tiles(m, feats, extra, m, narrow, shift) for shift in (False, True)]
    wide = max(1, min(feats.size, side - extra.size))
    by_class = _tiles(m, feats, extra, max(1, side // (wide + extra.size)), wide)
    by_column = _tiles(m, feats, extra, max(1, min(m, side // (narrow + extra.size))), narrow)
    return [by_class, by_column]


def _block_hessian(objective, theta, classes, cols):
    r"""The exact Hessian of the objective over the parameters of ``classes`` x ``cols``:
    block :math:`(a, b)` is :math:`[X_c, 1]^T \operatorname{diag}(w (D_a \delta_{ab} - P_a
    P_b)) [X_c, 1] / W` plus the ridge diagonal; one pass costing
    :math:`n\,(|classes|\,|cols|)^2`."""
    p, fi = objective.p, bool(objective.fit_intercept and np.any(cols == objective.p))
    feat = cols[cols < p]
    qc = feat.size + fi

    def stats(chunk):
        D, P = objective.family.working_weights(objective.linear_predictor(theta, chunk))
        X = chunk.X if feat.size == p else chunk.X[:, feat]
        w = chunk.weight
        if classes.size == 1:
            a = classes[0]
            dw = D[:, a] if P is None else D[:, a] - P[:, a] * P[:, a]
            return (gram_matrix(scaled_design(X, np.sqrt(w * np.maximum(dw, 0.0)), fi)),)
        if P is None:
            H = np.zeros((classes.size * qc, classes.size * qc))
        else:  # minus Z^T Z first, then the diagonal blocks in place: one full-size array
            sw = np.sqrt(w)
            Z = [scaled_design(X, sw * P[:, a], fi) for a in classes]
            Z = sp.hstack(Z, format="csr") if sp.issparse(Z[0]) else np.hstack(Z)
            H = gram_matrix(Z)
            np.negative(H, out=H)
        for i, a in enumerate(classes):
            s = slice(i * qc, (i + 1) * qc)
            H[s, s] += gram_matrix(scaled_design(X, np.sqrt(w * D[:, a]), fi))
        return (H,)

    (H,) = objective.reduce(stats)
    H /= objective.total_weight
    coef, _ = objective.split(theta)
    ridge = np.zeros(objective.shape)
    ridge[:, :p] = objective.penalty.hessian_diag(coef)
    H[np.diag_indices_from(H)] += ridge[np.ix_(classes, cols)].ravel()
    return H


def _solve_blocks(problem, theta, cols, options):
    """Cycles of proximal Newton steps over blocks whose Hessians fit the budget; a block
    whose own KKT violation is already below ``tol / 2`` is skipped."""
    objective = problem.objective
    partitions = [
        [s for s in (problem.subproblem(cl, c) for cl, c in part) if s.n_free]
        for part in _partitions(objective, cols, problem.groups is not None)
    ]
    f, g = objective.value_grad(theta)
    F = f + _l1(objective, theta)
    v = problem.kkt(g, theta)
    history, it = [], 0
    while it < options.max_iter and v > options.tol:
        it += 1
        moved = False
        for sub in partitions[it % len(partitions)]:
            v_b = problem.kkt(g, theta, sub.full_units)
            if v_b <= 0.5 * options.tol:
                continue
            H = _block_hessian(objective, theta, sub.classes, sub.cols)
            d = sub.step(theta, g, H, inner_tolerance(v_b, options.tol)) - theta
            del H
            step = _line_search(objective, theta, d, g, f, F) if np.any(d) else None
            if step is not None:
                theta, f, g, F, moved = step.theta, step.f, step.g, step.F, True
        v = problem.kkt(g, theta)
        history.append(F)
        _report(options, it, F, v)
        if not moved:
            break
    return SolverResult(theta, it, v <= options.tol, history, None)
