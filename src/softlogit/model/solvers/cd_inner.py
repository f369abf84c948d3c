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
from scipy.linalg import cho_factor, cho_solve

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
#: a sweep costing ``SWEEP_OVERHEAD + d`` flops per coordinate (interpreter overhead).
ACTIVE_SWEEPS = 20
SWEEP_OVERHEAD = 3000
#: Rows of the Hessian transformed at a time (bounds the transform's temporaries).
TRANSFORM_ROWS = 256


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


def _coordinate(u, j, r, g, H, lam):
    """Exact minimisation over coordinate ``j``; updates ``u`` and ``r = H (u - theta)``."""
    a = H[j, j]
    if a <= 0:
        return False
    z = a * u[j] - (g[j] + r[j])
    new = np.sign(z) * max(abs(z) - lam[j], 0.0) / a
    step = new - u[j]
    if step != 0.0:
        u[j] = new
        r += step * H[j]  # H is symmetric: its row is contiguous
        return True
    return False


def _group(u, idx, r, g, H, lam):
    """Group soft-threshold step on block ``idx`` with step ``1 / L``."""
    block = H[np.ix_(idx, idx)]
    L = float(np.linalg.eigvalsh(block)[-1])
    if L <= 0:
        return False
    v = u[idx] - (g[idx] + r[idx]) / L
    norm = np.linalg.norm(v)
    new = v * max(0.0, 1.0 - lam[idx[0]] / (L * norm)) if norm > 0 else v
    step = new - u[idx]
    if np.any(step != 0.0):
        u[idx] = new
        r += step @ H[idx]
        return True
    return False


def _sweep(units, u, r, g, H, lam):
    """One cyclic pass over ``units``; whether any coordinate moved."""
    coords, blocks = units
    moved = False
    for j in coords:
        moved |= _coordinate(u, j, r, g, H, lam)
    for idx in blocks:
        moved |= _group(u, idx, r, g, H, lam)
    return moved


def _active(units, u, lam):
    """The units that are non-zero or unpenalised."""
    coords, blocks = units
    coords = coords[(u[coords] != 0) | (lam[coords] == 0)]
    return coords, [idx for idx in blocks if np.any(u[idx] != 0)]


def _solve_active(active, u, r, g, H, lam):
    r"""Solve the model exactly on the active coordinates with their signs fixed:
    :math:`H_{AA}\,\Delta = -(g_A + r_A + \lambda_A \operatorname{sign} u_A)` (a Cholesky
    factorisation, :math:`O(|A|^3)`, where cyclic sweeps need many passes on correlated
    columns). A coordinate whose sign would change stops the step where it reaches 0 and
    leaves the set, which is solved again (at most ``ACTIVE_ROUNDS`` times, while cheaper
    than ``ACTIVE_SWEEPS`` sweeps): each round lowers the model. Only for ungrouped units;
    whether the last round was complete."""
    coords, blocks = active
    if blocks:
        return False
    sweep = coords.size * (SWEEP_OVERHEAD + H.shape[0])  # work of one sweep, in flops
    for _ in range(ACTIVE_ROUNDS):
        if coords.size == 0:
            return True
        if coords.size**3 / 3.0 > ACTIVE_SWEEPS * sweep:
            return False  # the factorisation would cost more than the sweeps it saves
        sign = np.sign(u[coords])
        try:
            factor = cho_factor(H[np.ix_(coords, coords)], overwrite_a=True)
        except np.linalg.LinAlgError:
            return False
        delta = cho_solve(factor, -(g[coords] + r[coords] + lam[coords] * sign))
        if not np.all(np.isfinite(delta)):
            return False
        new = u[coords] + delta
        penalised = lam[coords] > 0
        cross = penalised & (np.sign(new) != sign)
        ratio = np.full(coords.size, np.inf)
        ratio[cross] = u[coords][cross] / (u[coords][cross] - new[cross])
        t = min(1.0, float(ratio.min()))
        step = t * delta
        u[coords] += step
        r += step @ H[coords]
        if not cross.any():
            return True
        zero = coords[(ratio <= t * (1 + 1e-12)) | (penalised & (np.sign(u[coords]) != sign))]
        r -= u[zero] @ H[zero]
        u[zero] = 0.0
        coords = coords[(u[coords] != 0) | ~penalised]
    return False


def minimise_model(theta, g, H, lam, units, tol):
    """Minimise the penalised quadratic model from ``theta`` until its KKT violation is at
    most ``tol``: a full sweep, then the active set (non-zero or unpenalised units) solved
    exactly with its signs (:func:`_solve_active`) or, when that changes a sign, swept until
    it meets ``tol``; repeated until every unit meets ``tol`` (or nothing moves, or
    ``MAX_SWEEPS``)."""
    u, r = theta.copy(), np.zeros_like(theta)
    sweeps = 0
    while sweeps < MAX_SWEEPS:
        moved = _sweep(units, u, r, g, H, lam)
        sweeps += 1
        if not moved or unit_kkt(units, u, g + r, lam) <= tol:
            break
        active = _active(units, u, lam)
        if _solve_active(active, u, r, g, H, lam) and unit_kkt(active, u, g + r, lam) <= tol:
            continue
        while sweeps < MAX_SWEEPS:
            moved = _sweep(active, u, r, g, H, lam)
            sweeps += 1
            if not moved or unit_kkt(active, u, g + r, lam) <= tol:
                break
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
        gives up), a few rows at a time so that no temporary is as large as ``H``."""
        m, qc, d, c, b = self.classes.size, self.cols.size, self.d, self.c, self.b
        G = g.reshape(m, qc)
        if b is not None:
            G = G * d + np.outer(G[:, b], c)
        else:
            G = G * d
        n = m * qc
        dd, cc = np.tile(d, m), np.tile(c, m)
        brow = None if b is None else np.repeat(np.arange(m) * qc + b, qc)
        for start in range(0, n, TRANSFORM_ROWS):  # right factor: columns of every row
            R = H[start : start + TRANSFORM_ROWS].reshape(-1, m, qc)
            R *= d
            if b is not None:
                R += R[:, :, b : b + 1] * c  # column b itself is unchanged (d_b=1, c_b=0)
        for start in range(0, n, TRANSFORM_ROWS):  # left factor: rows b are unchanged
            rows = slice(start, min(start + TRANSFORM_ROWS, n))
            H[rows] *= dd[rows, None]
            if b is not None:
                H[rows] += cc[rows, None] * H[brow[rows]]
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
