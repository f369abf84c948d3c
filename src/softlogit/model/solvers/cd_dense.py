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


def applicable(objective, theta, sub, cheap):
    """Whether the compiled solver serves: dense rows in memory, a Hessian that is ``cheap``
    to recompute at every iterate, and no non-zero parameter outside the subproblem."""
    source = objective.source
    if not cheap or type(source) is not InMemorySource or sp.issparse(source.X):
        return False
    if not hasattr(objective.penalty, "l1_weights"):
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


def _design(objective, sub, mean, scale):
    """``[(X_S - mu) / s, 1]`` over the subproblem's columns (cached for its columns)."""
    key = sub.cols.tobytes()
    hit = objective._cache.get("dense_design")
    if hit is not None and hit[0] == key:
        return hit[1]
    X = objective.source.X
    feat = sub.cols[sub.is_feat]
    Xt = np.empty((X.shape[0], sub.cols.size))
    np.subtract(X[:, feat], mean, out=Xt[:, : feat.size])
    Xt[:, : feat.size] /= scale
    if sub.b is not None:
        Xt[:, sub.b] = 1.0
    objective._cache["dense_design"] = (key, Xt)
    return Xt


def solve(problem, theta, sub, options):
    """One proximal Newton solve of ``problem`` (a :class:`~softlogit.model.solvers.cd.
    _Problem`) over the subproblem ``sub`` in compiled code; a :class:`SolverResult`."""
    from . import cd_dense_kernels

    objective = problem.objective
    source, m, qs = objective.source, sub.classes.size, sub.cols.size
    scale = sub.s_feat
    mean = -sub.c[sub.feat] * scale if sub.b is not None else np.zeros(sub.feat.size)
    Xt = _design(objective, sub, mean, scale)
    T = theta[sub.idx].reshape(m, qs)
    Phi = T.copy()
    Phi[:, sub.feat] = T[:, sub.feat] * scale
    if sub.b is not None:
        Phi[:, sub.b] = T[:, sub.b] + T[:, sub.feat] @ mean
    coef, _ = objective.split(theta)
    ridge = np.zeros((m, qs))
    ridge[:, sub.feat] = objective.penalty.hessian_diag(coef)[:, sub.cols[sub.feat]] / scale**2
    off = _offsets(source, m)
    kind, yrow = _free_rows(objective.family, source.y)
    coords, blocks = sub.units
    gidx, gptr, _ = flat_groups(blocks, None)
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
    T = Phi.copy()
    T[:, sub.feat] = Phi[:, sub.feat] / scale
    if sub.b is not None:
        T[:, sub.b] = Phi[:, sub.b] - T[:, sub.feat] @ mean
    out[sub.idx] = T.ravel()
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
    cols = np.arange(objective.q)
    cheap = HessianStore().cheap(objective, cols)
    source = objective.source
    if not cheap or type(source) is not InMemorySource or sp.issparse(source.X):
        return False
    return hasattr(objective.penalty, "l1_weights")


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
    Xt = np.empty((source.n_rows, q))
    np.subtract(source.X, mean, out=Xt[:, :p])
    Xt[:, :p] /= scale
    if fi:
        Xt[:, p] = 1.0
    T = np.asarray(theta, dtype=float).reshape(m, q)
    Phi = _to_phi(T, p, mean, scale, fi)
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
    thetas = [_to_theta(Phi_k, p, mean, scale, fi) for Phi_k in phis]
    return path_output(objective, thetas, losses, iters)


def path_output(objective, thetas, losses, iters):
    """The per-alpha lists of :func:`softlogit.selection.path.path_on_spec` from each
    alpha's parameters (``m x q``), summed weighted loss and iterations."""
    p, m = objective.p, objective.m
    out = {"coefs": [], "intercepts": [], "deviance": [], "n_nonzero": [], "n_iter": []}
    for T, loss, it in zip(thetas, losses, iters, strict=True):
        coef = T[:, :p].copy()
        intercept = T[:, p].copy() if objective.fit_intercept else np.zeros(m)
        if objective.family.reference is None:
            intercept = intercept - intercept.mean()
        out["coefs"].append(coef)
        out["intercepts"].append(intercept)
        out["deviance"].append(2.0 * float(loss))
        out["n_nonzero"].append(int(np.any(coef != 0, axis=0).sum()))
        out["n_iter"].append(int(it))
    return out


def _offsets(source, m):
    off = np.zeros((source.n_rows, m))
    if source.offset is not None:
        off += source.offset
    return off


def _to_phi(T, p, mean, scale, fit_intercept):
    """Standardised parameters of ``T`` (``m x q``, features then the intercept)."""
    Phi = T.copy()
    Phi[:, :p] = T[:, :p] * scale
    if fit_intercept:
        Phi[:, p] = T[:, p] + T[:, :p] @ mean
    return Phi


def _to_theta(Phi, p, mean, scale, fit_intercept):
    """Raw parameters of standardised ``Phi`` (zeros stay exact)."""
    T = Phi.copy()
    T[:, :p] = Phi[:, :p] / scale
    if fit_intercept:
        T[:, p] = Phi[:, p] - T[:, :p] @ mean
    return T
