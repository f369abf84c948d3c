r"""The regularisation path of sparse binary problems in memory, compiled whole.

For rows held as a sparse matrix, a Hessian over the strong set (what the dense solvers
minimise their models with) costs :math:`n |S|^2` and :math:`|S|^2` memory however few the
non-zeros; glmnet's "naive" coordinate updates need neither: each update reads the
non-zeros of its column (:mod:`softlogit.model.solvers.cd_sparse_kernels`). The outer
method, stopping rule, strong rules and KKT re-checks are those of
:mod:`softlogit.model.solvers.cd_dense`, in the same standardised coordinates (the
centring of sparse columns is carried as a shift, never materialised).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...data.sources import InMemorySource
from ..families import Bernoulli
from .base import SolverResult
from .cd_dense import _offsets, _settings, path_output, to_phi, to_theta
from .cd_inner import column_scaler

__all__ = ["applicable", "path", "path_applicable", "solve"]


def path_applicable(objective):
    """Whether :func:`path` serves ``objective``: a binary family, sparse rows in memory
    and an ungrouped elastic-net penalty."""
    source = objective.source
    return (
        type(source) is InMemorySource
        and sp.issparse(source.X)
        and isinstance(objective.family, Bernoulli)
        and hasattr(objective.penalty, "l1_weights")
    )


def path(objective, unit_weights, grid, theta, options):
    """The path of :func:`softlogit.model.solvers.cd_dense.path` on sparse rows."""
    from . import cd_sparse_kernels

    source, p, q = objective.source, objective.p, objective.q
    csc, mean, scale = _standardised(objective)
    fi = objective.fit_intercept
    feat, b = np.arange(p), (p if fi else None)
    phi = to_phi(np.asarray(theta, dtype=float).reshape(1, q), feat, b, mean, scale).ravel()
    zeros = np.zeros((1, p))
    ridge1, lam1 = np.zeros(q), np.zeros(q)
    ridge1[:p] = objective.penalty.hessian_diag(zeros)[0] / scale**2
    lam1[:p] = objective.penalty.l1_weights(zeros)[0] / scale
    phis, losses, iters = cd_sparse_kernels.path(
        csc, phi, mean, scale, fi, _offsets(source, 1), np.asarray(source.y, dtype=np.int64),
        np.asarray(source.weight, dtype=float), objective.total_weight, ridge1, lam1,
        np.asarray(unit_weights, dtype=float), float(objective.penalty.l1_ratio),
        np.ones(q, dtype=bool), np.asarray(grid, dtype=float), _settings(options, q),
    )  # fmt: skip
    thetas = [to_theta(phi_k.reshape(1, q), feat, b, mean, scale) for phi_k in phis]
    return path_output(objective, thetas, losses, iters)


def applicable(objective):
    """Whether :func:`solve` serves ``objective`` (as :func:`path_applicable`)."""
    return path_applicable(objective)


def _standardised(objective):
    """CSC arrays, means and scales of the sparse rows (the solver's coordinates)."""
    scaler = column_scaler(objective)
    mean = scaler.mean if objective.fit_intercept else np.zeros(objective.p)
    X = sp.csc_matrix(objective.source.X)
    X.sort_indices()
    csc = (X.indptr.astype(np.int64), X.indices.astype(np.int64), X.data.astype(float))
    return csc, mean, scaler.scale


def solve(problem, theta, options):
    """One proximal Newton solve of ``problem`` (a :class:`~softlogit.model.solvers.cd.
    _Problem`) on sparse rows with the naive coordinate updates; a :class:`SolverResult`."""
    from . import cd_sparse_kernels

    objective = problem.objective
    source, p, q = objective.source, objective.p, objective.q
    csc, mean, scale = _standardised(objective)
    fi = objective.fit_intercept
    feat, b = np.arange(p), (p if fi else None)
    phi = to_phi(np.asarray(theta, dtype=float).reshape(1, q), feat, b, mean, scale).ravel()
    coef, _ = objective.split(theta)
    ridge, lam = np.zeros(q), np.zeros(q)
    ridge[:p] = objective.penalty.hessian_diag(coef)[0] / scale**2
    lam[:p] = objective.penalty.l1_weights(coef)[0] / scale
    coords = np.flatnonzero(problem.free).astype(np.int64)
    phi, it, v, _, _ = cd_sparse_kernels.solve(
        csc, phi, mean, scale, fi, _offsets(source, 1), np.asarray(source.y, dtype=np.int64),
        np.asarray(source.weight, dtype=float), objective.total_weight, ridge, lam, coords,
        _settings(options, q),
    )  # fmt: skip
    out = to_theta(phi.reshape(1, q), feat, b, mean, scale).ravel()
    if options.verbose:
        print(f"cd (compiled, sparse) iterations {it:3d}  KKT {v:.3e}")
    return SolverResult(out, int(it), bool(v <= options.tol), [], None)
