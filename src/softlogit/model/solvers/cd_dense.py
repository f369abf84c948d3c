r"""Proximal Newton for small dense problems in memory, compiled whole.

When the rows are in memory as a dense array and the subproblem's Hessian costs little to
compute (the rule of :class:`~softlogit.model.solvers.cd_store.HessianStore`: then the
interpreted solver computes an exact Hessian at every iterate anyway), the whole solve of
one ``alpha`` runs in compiled code (:mod:`softlogit.model.solvers.cd_dense_kernels`): the
same method as :func:`softlogit.model.solvers.cd._solve_exact` — exact Hessian at every
iterate, the model minimised by coordinate descent to the forcing tolerance, Armijo
backtracking, the scale-free KKT stopping rule — without the interpreter's cost per
iteration, which dominates on a few hundred rows. It works in the standardised coordinates
:math:`\phi` throughout: the design columns are centred and scaled once per solve, and the
Hessian is summed in those coordinates.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...data.sources import InMemorySource
from ..families import Bernoulli
from .base import SolverResult
from .cd_inner import (
    ACTIVE_ROUNDS,
    ACTIVE_SWEEPS,
    INNER_FLOOR,
    INNER_FORCING,
    MAX_SWEEPS,
    SWEEP_OVERHEAD,
    column_scaler,
    flat_groups,
)
from .cd_store import HessianStore

#: Armijo constant and smallest step of the line search (as :mod:`.cd`).
ARMIJO = 1e-4
MIN_STEP = 2.0**-30

__all__ = ["applicable", "path", "path_applicable", "solve"]


def dense_in_memory(objective):
    """Whether the rows are a dense array in memory and the penalty an elastic net."""
    source = objective.source
    return (
        type(source) is InMemorySource
        and not sp.issparse(source.X)
        and hasattr(objective.penalty, "l1_weights")
    )


def applicable(objective, theta, sub, cheap):
    """Whether the compiled solver serves: dense rows in memory, a Hessian that is ``cheap``
    to recompute at every iterate, and no non-zero parameter outside the subproblem."""
    if not cheap or not dense_in_memory(objective):
        return False
    outside = np.ones(objective.n_params, dtype=bool)
    outside[sub.idx] = False
    return not np.any(np.asarray(theta)[outside])


def _free_rows(family, y):
    """Family code and each row's free logit (-1: the reference class)."""
    y = np.asarray(y, dtype=np.int64)
    if isinstance(family, Bernoulli):
        return 0, y
    if family.reference is None:
        return 2, y
    rows = np.arange(family.n_classes) - (np.arange(family.n_classes) > family.reference)
    rows[family.reference] = -1
    return 1, rows[y]


def standardised_design(X, feat, mean, scale, intercept):
    """``[(X_feat - mu) / s, 1]`` (the ones column last, when ``intercept``)."""
    Xt = np.empty((X.shape[0], feat.size + bool(intercept)))
    np.subtract(X[:, feat], mean, out=Xt[:, : feat.size])
    Xt[:, : feat.size] /= scale
    if intercept:
        Xt[:, feat.size] = 1.0
    return Xt


def _design(objective, sub, mean, scale):
    """The standardised design over the subproblem's columns (cached for its columns)."""
    key = sub.cols.tobytes()
    hit = objective._cache.get("dense_design")
    if hit is None or hit[0] != key:
        feat = sub.cols[sub.is_feat]
        hit = (key, standardised_design(objective.source.X, feat, mean, scale, sub.b is not None))
        objective._cache["dense_design"] = hit
    return hit[1]


def solve(problem, theta, sub, options):
    """One proximal Newton solve of ``problem`` (a :class:`~softlogit.model.solvers.cd.
    _Problem`) over the subproblem ``sub`` in compiled code; a :class:`SolverResult`."""
    from . import cd_dense_kernels

    objective = problem.objective
    source, m, qs = objective.source, sub.classes.size, sub.cols.size
    scale = sub.s_feat
    mean = -sub.c[sub.feat] * scale if sub.b is not None else np.zeros(sub.feat.size)
    Xt = _design(objective, sub, mean, scale)
    Phi = to_phi(theta[sub.idx].reshape(m, qs), sub.feat, sub.b, mean, scale)
    coef, _ = objective.split(theta)
    ridge = np.zeros((m, qs))
    ridge[:, sub.feat] = objective.penalty.hessian_diag(coef)[:, sub.cols[sub.feat]] / scale**2
    off = _offsets(source, m)
    kind, yrow = _free_rows(objective.family, source.y)
    coords, blocks = sub.units
    gidx, gptr = flat_groups(blocks)
    settings = _settings(options, m * qs)
    units = (np.asarray(coords, dtype=np.int64), gidx, gptr)
    start = (0.0, np.zeros((m, qs)), np.empty((0, 0)))  # nothing known
    Phi, it, v, history, _ = cd_dense_kernels.solve(
        Xt,
        Phi,
        off,
        yrow,
        np.asarray(source.weight, dtype=float),
        objective.total_weight,
        kind,
        ridge,
        sub.lam.reshape(m, qs),
        problem.groups is not None,
        units,
        start,
        settings,
    )
    out = theta.copy()
    out[sub.idx] = to_theta(Phi, sub.feat, sub.b, mean, scale).ravel()
    if options.verbose:
        print(f"cd (compiled) iterations {it:3d}  KKT {v:.3e}")
    return SolverResult(out, int(it), bool(v <= options.tol), list(history), None)


def _settings(options, n_params):
    """The kernels' settings vector (see :func:`cd_dense_kernels.solve`)."""
    return np.array(
        [
            options.tol,
            options.max_iter,
            INNER_FORCING,
            INNER_FLOOR,
            ARMIJO,
            MIN_STEP,
            MAX_SWEEPS,
            ACTIVE_ROUNDS,
            ACTIVE_SWEEPS * (SWEEP_OVERHEAD + n_params),
        ]
    )


def path_applicable(objective):
    """Whether :func:`path` serves ``objective``: dense rows in memory, an elastic-net
    penalty, and a Hessian over every parameter that is cheap to recompute."""
    cheap = HessianStore().cheap(objective, np.arange(objective.q))
    return cheap and dense_in_memory(objective)


def path(objective, unit_weights, grid, theta, options):
    r"""The regularisation path of :func:`softlogit.selection.path.path_on_spec` in compiled
    code, for an ``objective`` whose penalty is the path's at ``alpha = 1`` (both parts are
    linear in ``alpha``); ``unit_weights`` are the per-feature lasso weights of the strong
    rule. Returns the same per-alpha lists (coefficients, intercepts, deviance, non-zero
    counts, iterations)."""
    from . import cd_dense_kernels

    source, m, p, q = objective.source, objective.m, objective.p, objective.q
    scaler = column_scaler(objective)
    fi = objective.fit_intercept
    mean = scaler.mean if fi else np.zeros(p)
    scale = scaler.scale
    feat, b = np.arange(p), (p if fi else None)
    Xt = standardised_design(source.X, feat, mean, scale, fi)
    Phi = to_phi(np.asarray(theta, dtype=float).reshape(m, q), feat, b, mean, scale)
    zeros = np.zeros((m, p))
    ridge1, lam1 = np.zeros((m, q)), np.zeros((m, q))
    ridge1[:, :p] = objective.penalty.hessian_diag(zeros) / scale**2
    lam1[:, :p] = objective.penalty.l1_weights(zeros) / scale
    free0 = np.ones((m, q), dtype=bool)
    if fi and objective.family.reference is None:
        free0[0, p] = False
    kind, yrow = _free_rows(objective.family, source.y)
    phis, losses, iters = cd_dense_kernels.path(
        Xt,
        Phi,
        _offsets(source, m),
        yrow,
        np.asarray(source.weight, dtype=float),
        objective.total_weight,
        kind,
        ridge1,
        lam1,
        np.asarray(unit_weights, dtype=float),
        float(objective.penalty.l1_ratio),
        bool(objective.penalty.grouped),
        free0,
        np.asarray(grid, dtype=float),
        mean,
        scale,
        fi,
        _settings(options, m * q),
    )
    thetas = [to_theta(Phi_k, feat, b, mean, scale) for Phi_k in phis]
    return path_output(objective, thetas, losses, iters)


def new_path_output():
    """The empty per-alpha lists of :func:`softlogit.selection.path.path_on_spec`."""
    return {"coefs": [], "intercepts": [], "deviance": [], "n_nonzero": [], "n_iter": []}


def record_alpha(out, objective, theta, deviance, iters):
    """Append one alpha's coefficients, intercepts (centred for a symmetric softmax),
    deviance, non-zero count and iterations to ``out``."""
    coef, intercept = objective.split(theta)
    coef, intercept = coef.copy(), intercept.copy()
    if objective.family.reference is None:
        intercept = intercept - intercept.mean()
    out["coefs"].append(coef)
    out["intercepts"].append(intercept)
    out["deviance"].append(float(deviance))
    out["n_nonzero"].append(int(np.any(coef != 0, axis=0).sum()))
    out["n_iter"].append(int(iters))


def path_output(objective, thetas, losses, iters):
    """The per-alpha lists from each alpha's parameters (``m x q``), summed weighted loss
    (half the deviance) and iterations."""
    out = new_path_output()
    for T, loss, it in zip(thetas, losses, iters, strict=True):
        record_alpha(out, objective, T.ravel(), 2.0 * loss, it)
    return out


def _offsets(source, m):
    off = np.zeros((source.n_rows, m))
    if source.offset is not None:
        off += source.offset
    return off


def to_phi(T, feat, b, mean, scale):
    r"""Standardised parameters of ``T`` (classes x columns): :math:`\phi_j = \beta_j s_j`
    on the feature columns ``feat`` and :math:`\phi_b = b + \sum_j \beta_j \mu_j` on the
    intercept column ``b`` (None: no intercept)."""
    Phi = T.copy()
    Phi[:, feat] = T[:, feat] * scale
    if b is not None:
        Phi[:, b] = T[:, b] + T[:, feat] @ mean
    return Phi


def to_theta(Phi, feat, b, mean, scale):
    """Raw parameters of standardised ``Phi``, the inverse of :func:`to_phi` (zeros stay
    exact)."""
    T = Phi.copy()
    T[:, feat] = Phi[:, feat] / scale
    if b is not None:
        T[:, b] = Phi[:, b] - T[:, feat] @ mean
    return T
