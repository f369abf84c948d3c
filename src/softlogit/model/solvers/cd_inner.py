r"""The inner problem of proximal Newton: the penalised quadratic model, minimised by cyclic
coordinate descent in standardised coordinates.

The update of coordinate :math:`j` is the soft-threshold :math:`u_j \leftarrow S(H_{jj} u_j -
s_j, \lambda_j) / H_{jj}` with :math:`s_j = g_j + (H (u - \theta))_j`, kept up to date in
:math:`O(d)` per update ("covariance updates": after one pass over the data for :math:`g, H`,
the inner loop never touches the rows). Sweeps run over the active set until it meets the
model's optimality conditions, then once over all coordinates to let new ones in, until
every coordinate meets them to the requested tolerance. With grouped penalties (one group
per feature over the classes) the block update is a group soft-threshold with step
:math:`1/L_j`, :math:`L_j` the largest eigenvalue of the block of :math:`H`.
"""

from __future__ import annotations

import numpy as np

from .gradient_descent import Standardizer

__all__ = ["Subproblem", "column_scaler", "inner_tolerance", "unit_kkt", "units_of"]

#: Most coordinate-descent sweeps per inner solve.
MAX_SWEEPS = 10_000
#: Inner KKT target ``min(INNER_FORCING, v) * v`` for the outer violation ``v`` ...
INNER_FORCING = 0.1
#: ... but never below ``INNER_FLOOR * tol``.
INNER_FLOOR = 0.1
#: Most exact active-set solves per inner sweep round ...
ACTIVE_ROUNDS = 8
#: ... each only when its factorisation costs at most this many sweeps over the active set,
#: a sweep costing ``SWEEP_OVERHEAD + d`` flops per coordinate (the compiled loop's overhead).
ACTIVE_SWEEPS = 20
SWEEP_OVERHEAD = 20


def inner_tolerance(v, tol):
    """The inner KKT target for outer violation ``v``: linear forcing far from the solution,
    quadratic (``v**2``) near it, and never below a tenth of ``tol``."""
    return max(INNER_FLOOR * tol, min(INNER_FORCING, v) * v)


def column_scaler(objective):
    """The :class:`Standardizer` of the objective's data (one pass, cached on it)."""
    scaler = objective._cache.get("scaler")  # data moments: one pass per data set
    if scaler is None:
        scaler = objective._cache["scaler"] = Standardizer.from_objective(objective)
    return scaler


def units_of(free, groups):
    """Update units over ``free`` parameters: single coordinates (an index array) and, for
    grouped penalties, the feature groups restricted to free members (index arrays)."""
    n = free.size
    if groups is None:
        return np.flatnonzero(free), []
    in_group = np.zeros(n, dtype=bool)
    blocks = []
    for idx in groups:
        idx = idx[free[idx]]
        if idx.size:
            in_group[idx] = True
            blocks.append(idx)
    return np.flatnonzero(free & ~in_group), blocks


def unit_kkt(units, u, gm, lam):
    """Largest violation of the optimality conditions of ``model + sum(lam |u|)`` with model
    gradient ``gm``: ``|gm + lam sign(u)|`` on non-zero and ``max(|gm| - lam, 0)`` on zero
    coordinates; for a group, ``|gm + lam u / |u||`` or ``max(|gm| - lam, 0) / sqrt(size)``."""
    coords, blocks = units
    viol = 0.0
    if coords.size:
        uc, gc, lc = u[coords], gm[coords], lam[coords]
        v = np.where(uc != 0, np.abs(gc + lc * np.sign(uc)), np.maximum(np.abs(gc) - lc, 0.0))
        viol = float(v.max())
    for idx in blocks:
        norm, gg, lg = np.linalg.norm(u[idx]), gm[idx], lam[idx[0]]
        if norm > 0:
            viol = max(viol, float(np.max(np.abs(gg + lg * u[idx] / norm))))
        else:
            viol = max(viol, max(float(np.linalg.norm(gg)) - lg, 0.0) / np.sqrt(idx.size))
    return viol


def flat_groups(blocks):
    """Groups as flat indices ``gidx`` and offsets ``gptr``: group ``k`` is
    ``gidx[gptr[k]:gptr[k + 1]]``."""
    sizes = [idx.size for idx in blocks]
    gptr = np.zeros(len(blocks) + 1, dtype=np.int64)
    gptr[1:] = np.cumsum(sizes, dtype=np.int64)
    gidx = np.concatenate(blocks).astype(np.int64) if blocks else np.zeros(0, dtype=np.int64)
    return gidx, gptr


def minimise_model(theta, g, H, lam, units, tol):
    """Minimise the penalised quadratic model from ``theta`` until its KKT violation is at
    most ``tol``: a full sweep, then the active set (non-zero or unpenalised units) solved
    exactly with its signs or, when that changes a sign, swept until it meets ``tol``;
    repeated until every unit meets ``tol`` (or nothing moves, or ``MAX_SWEEPS``). The loops
    are compiled (:func:`softlogit.model.solvers.cd_kernels.minimise`)."""
    from . import cd_kernels

    coords, blocks = units
    gidx, gptr = flat_groups(blocks)
    H = np.ascontiguousarray(H)
    gL = cd_kernels.group_steps(H, gidx, gptr)  # the groups' step lengths 1 / L
    u = np.array(theta, dtype=float)
    budget = ACTIVE_SWEEPS * (SWEEP_OVERHEAD + H.shape[0])
    cd_kernels.minimise(
        u,
        np.ascontiguousarray(g, dtype=float),
        H,
        np.ascontiguousarray(lam, dtype=float),
        np.asarray(coords, dtype=np.int64),
        gidx,
        gptr,
        gL,
        float(tol),
        MAX_SWEEPS,
        ACTIVE_ROUNDS,
        float(budget),
    )
    return u


class Subproblem:
    r"""The coordinates a step may move: the parameters of ``classes`` x ``cols`` (default:
    every class, and the design columns that carry a free parameter, so screened-out
    features are left out of the Hessian entirely and a pass costs :math:`n\,(m\,|S|)^2`
    for the strong set :math:`S`), in standardised coordinates :math:`\theta = A\phi`
    (centred, unit-variance features, as glmnet works): without them the intercept and an
    uncentred feature are nearly collinear and cyclic descent crawls. Zeros are preserved
    (:math:`\beta_j = \phi_j / s_j`); the lasso thresholds become :math:`\lambda_j / s_j`
    (``lam_phi``)."""

    def __init__(self, objective, scaler, lam_phi, free, groups, classes=None, cols=None):
        m, q, p = objective.m, objective.q, objective.p
        self.classes = np.arange(m) if classes is None else np.asarray(classes, dtype=int)
        F = free.reshape(m, q)[self.classes]
        self.cols = np.flatnonzero(F.any(axis=0)) if cols is None else np.asarray(cols, int)
        self.idx = (self.classes[:, None] * q + self.cols[None, :]).ravel()
        self._map(scaler, p, objective.fit_intercept)
        self.lam = lam_phi[self.idx]
        position = np.full(objective.n_params, -1)
        position[self.idx] = np.arange(self.idx.size)
        sub_groups = mine = None
        if groups is not None:
            mine = [g for g in groups if np.all(position[g] >= 0)]
            sub_groups = [position[g] for g in mine]
        self.units = units_of(free[self.idx], sub_groups)
        in_sub = np.zeros(free.size, dtype=bool)
        in_sub[self.idx] = True
        self.full_units = units_of(free & in_sub, mine)  # the same units, full indices
        self.n_free = int(np.count_nonzero(free[self.idx]))

    def _map(self, scaler, p, fit_intercept):
        r"""The per-class block of :math:`A = \operatorname{diag}(d) + e_b c^T` on the
        subproblem: ``d = 1/s`` on the features (1 on the intercept ``b``), ``c = -mu/s``."""
        cols = self.cols
        feat = np.flatnonzero(cols < p)
        d, c = np.ones(cols.size), np.zeros(cols.size)
        d[feat] = 1.0 / scaler.scale[cols[feat]]
        self.b = None
        if fit_intercept and p in cols:
            self.b = int(np.flatnonzero(cols == p)[0])
            c[feat] = -scaler.mean[cols[feat]] * d[feat]
        self.feat, self.d, self.c = feat, d, c
        self.s_feat = scaler.scale[cols[feat]]
        self.is_feat = cols < p

    def _transform(self, g, H):
        r""":math:`A^T g` and :math:`A^T H A`, the latter in place on ``H`` (which the caller
        gives up; compiled, :func:`softlogit.model.solvers.cd_kernels.standardise_hessian`)."""
        m, qc, d, c, b = self.classes.size, self.cols.size, self.d, self.c, self.b
        G = g.reshape(m, qc)
        if b is not None:
            G = G * d + np.outer(G[:, b], c)
        else:
            G = G * d
        from . import cd_kernels

        cd_kernels.standardise_hessian(H, d, c, -1 if b is None else b, m)
        return G.ravel(), H

    def step(self, theta, g, H, tol):
        """Minimiser of the penalised quadratic model over the subproblem, as a full vector
        (coordinates outside the subproblem keep their values exactly). ``H`` is the
        Hessian over the subproblem's parameters; it is overwritten."""
        idx = self.idx
        m, qc = self.classes.size, self.cols.size
        T = theta[idx].reshape(m, qc)
        phi = T.copy()  # only the features' values matter: the intercept is unpenalised
        phi[:, self.feat] = T[:, self.feat] * self.s_feat
        g_phi, H_phi = self._transform(g[idx], H)
        u = minimise_model(phi.ravel(), g_phi, H_phi, self.lam, self.units, tol)
        delta = (u - phi.ravel()).reshape(m, qc)
        raw = delta * self.d
        if self.b is not None:
            raw[:, self.b] += delta @ self.c
        new = (T + raw).ravel()
        new[(u == 0) & np.tile(self.is_feat, m)] = 0.0  # zeros are exact
        out = theta.copy()
        out[idx] = new
        return out
