r"""Proximal Newton with cyclic coordinate descent, for lasso and elastic-net penalties.

As glmnet (Friedman, Hastie & Tibshirani 2010) does, each outer iteration replaces the smooth
part of the objective :math:`f` (mean NLL plus any ridge term) by its quadratic model at
:math:`\theta`,

.. math:: q(u) = g^T (u - \theta) + \tfrac12 (u - \theta)^T H (u - \theta) + \sum_j \lambda_j |u_j|,

and minimises it by cyclic coordinate descent: the update of coordinate :math:`j` is the
soft-threshold :math:`u_j \leftarrow S(H_{jj} u_j - s_j, \lambda_j) / H_{jj}` with
:math:`s_j = g_j + (H (u - \theta))_j`, kept up to date in :math:`O(d)` per update
("covariance updates": after one pass over the data for :math:`g, H`, the inner loop never
touches the rows). Sweeps run over the active set until it settles, then once over all
coordinates to let new ones in. With grouped penalties (one group per feature over the
classes) the block update is a group soft-threshold with step :math:`1/L_j`,
:math:`L_j` the largest eigenvalue of the block of :math:`H`.

The step :math:`\delta = u - \theta` is damped by backtracking on the true objective
(Armijo: :math:`F(\theta + t\delta) \le F(\theta) + \sigma t \Delta`,
:math:`\Delta = g^T\delta + P(\theta + \delta) - P(\theta)`), and the fit stops when the
Karush-Kuhn-Tucker conditions hold to ``tol``: :math:`|g_j + \lambda_j\,\mathrm{sign}\,\theta_j|
\le \mathrm{tol}` for non-zero and :math:`|g_j| \le \lambda_j + \mathrm{tol}` for zero
coordinates (group norms for grouped penalties).
"""

from __future__ import annotations

import numpy as np

from .base import SolverResult
from .gradient_descent import Standardizer

__all__ = ["kkt_violation", "solve"]

ARMIJO = 1e-4
MIN_STEP = 2.0**-30
MAX_SWEEPS = 10_000
INEXACT = 0.05  # inner sweeps stop at this fraction of the outer KKT violation


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
    """Largest violation of the optimality conditions of ``f + sum(lam |theta|)``."""
    viol = np.where(theta != 0, np.abs(g + lam * np.sign(theta)), np.maximum(np.abs(g) - lam, 0.0))
    if groups is not None:
        for idx in groups:
            norm, gg, lg = np.linalg.norm(theta[idx]), g[idx], lam[idx[0]]
            if norm > 0:
                viol[idx] = np.abs(gg + lg * theta[idx] / norm)
            else:
                viol[idx] = max(np.linalg.norm(gg) - lg, 0.0) / np.sqrt(idx.size)
    viol = viol[free]
    return float(viol.max()) if viol.size else 0.0


def _coordinate(u, j, r, g, H, lam):
    """Exact minimisation over coordinate ``j``; updates ``u`` and ``r = H (u - theta)``."""
    a = H[j, j]
    if a <= 0:
        return 0.0
    z = a * u[j] - (g[j] + r[j])
    new = np.sign(z) * max(abs(z) - lam[j], 0.0) / a
    step = new - u[j]
    if step != 0.0:
        u[j] = new
        r += step * H[:, j]
    return abs(step) * np.sqrt(a)


def _group(u, idx, r, g, H, lam):
    """Group soft-threshold step on block ``idx`` with step ``1 / L``."""
    block = H[np.ix_(idx, idx)]
    L = float(np.linalg.eigvalsh(block)[-1])
    if L <= 0:
        return 0.0
    v = u[idx] - (g[idx] + r[idx]) / L
    norm = np.linalg.norm(v)
    new = v * max(0.0, 1.0 - lam[idx[0]] / (L * norm)) if norm > 0 else v
    step = new - u[idx]
    if np.any(step != 0.0):
        u[idx] = new
        r += H[:, idx] @ step
    return float(np.sqrt(L) * np.linalg.norm(step))


def _units(free, groups, n):
    """Update units: single coordinates (an index array) and, for grouped penalties, the
    feature groups (a list of index arrays)."""
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


def _sweep(units, u, r, g, H, lam):
    coords, blocks = units
    biggest = 0.0
    for j in coords:
        biggest = max(biggest, _coordinate(u, j, r, g, H, lam))
    for idx in blocks:
        biggest = max(biggest, _group(u, idx, r, g, H, lam))
    return biggest


def _active(units, u, lam):
    """The units that are non-zero or unpenalised."""
    coords, blocks = units
    coords = coords[(u[coords] != 0) | (lam[coords] == 0)]
    return coords, [idx for idx in blocks if np.any(u[idx] != 0)]


def _inner(theta, g, H, lam, units, tol):
    """Minimise the penalised quadratic model: full sweeps, each followed by sweeps over the
    active set (non-zero or unpenalised units) until it settles."""
    u, r = theta.copy(), np.zeros_like(theta)
    for _ in range(MAX_SWEEPS):
        if _sweep(units, u, r, g, H, lam) <= tol:
            break
        for _ in range(MAX_SWEEPS):
            if _sweep(_active(units, u, lam), u, r, g, H, lam) <= tol:
                break
    return u


class _Subproblem:
    r"""The coordinates a step may move: the parameters of the design columns that carry a
    free parameter (screened-out features are left out of the Hessian entirely, so a pass
    costs :math:`n\,(m\,|S|)^2` for the strong set :math:`S`), in standardised coordinates
    :math:`\theta = A\phi` (centred, unit-variance features, as glmnet works): without them
    the intercept and an uncentred feature are nearly collinear and cyclic descent crawls.
    Zeros are preserved (:math:`\beta_j = \phi_j / s_j`); the lasso thresholds become
    :math:`\lambda_j / s_j`."""

    def __init__(self, objective, lam, free, groups):
        m, q, p = objective.m, objective.q, objective.p
        F = free.reshape(m, q)
        self.cols = np.flatnonzero(F.any(axis=0))
        self.idx = (np.arange(m)[:, None] * q + self.cols[None, :]).ravel()
        scaler = objective._cache.get("scaler")  # data moments: one pass per data set
        if scaler is None:
            scaler = objective._cache["scaler"] = Standardizer.from_objective(objective)
        self.scaler = scaler
        self._map(scaler, m, p, objective.fit_intercept)
        L = lam.reshape(m, q).copy()
        L[:, :p] /= scaler.scale
        self.lam = L.ravel()[self.idx]
        position = np.full(objective.n_params, -1)
        position[self.idx] = np.arange(self.idx.size)
        sub_groups = None
        if groups is not None:
            sub_groups = [position[g] for g in groups if np.all(position[g] >= 0)]
        self.units = _units(free[self.idx], sub_groups, self.idx.size)

    def _map(self, scaler, m, p, fit_intercept):
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
        self.m, self.d, self.c = m, d, c

    def _transform(self, g, H):
        r""":math:`A^T g` and :math:`A^T H A` in :math:`O(d^2)`, block by block."""
        m, d, c, b = self.m, self.d, self.c, self.b
        qc = d.size
        G = g.reshape(m, qc) * d
        H4 = H.reshape(m, qc, m, qc) * d  # right factor, diagonal part
        if b is not None:
            G = G + np.outer(g.reshape(m, qc)[:, b], c)
            H4 = H4 + H.reshape(m, qc, m, qc)[..., b][..., None] * c
        L = H4 * d[None, :, None, None]
        if b is not None:
            L = L + c[None, :, None, None] * H4[:, b][:, None]
        n = m * qc
        return G.ravel(), L.reshape(n, n)

    def step(self, theta, g, H, tol):
        """Minimiser of the penalised quadratic model over the subproblem, as a full vector
        (coordinates outside the subproblem keep their values)."""
        idx = self.idx
        phi = self.scaler.to_phi(theta)
        g_phi, H_phi = self._transform(g[idx], H)
        u = _inner(phi[idx], g_phi, H_phi, self.lam, self.units, tol)
        phi[idx] = u
        return self.scaler.to_theta(phi)


class _HessianStore:
    """The likelihood part of the last exact Hessian (mean scale, no ridge term), kept for
    reuse: by the next iterations, and along a path by the next alpha, whose solution is
    close. A reused Hessian still gives a descent direction (the line search guards it).

    * A Hessian that costs little next to a value-and-gradient pass (``(m |S|)^2 <=
      CHEAP m q``) is computed in the line search's first trial pass, so every step uses
      the exact Hessian at its start point at no extra pass.
    * When the subproblem gains columns, the stored Hessian grows by the new columns' blocks
      at the point where it was computed (a pass costing ``n |S| |new|`` rather than
      ``n |S|^2``), so it stays the exact Hessian of one point.
    * It is refreshed when a step with it has to be shortened and after ``MAX_STALE`` uses
      (in the trial pass that ends that use).
    """

    MAX_STALE = 16
    CHEAP = 4.0

    def __init__(self):
        self.cols, self.H, self.theta, self.uses = None, None, None, 0

    def _cheap(self, objective, cols):
        m = objective.m
        return (m * cols.size) ** 2 <= self.CHEAP * m * objective.q

    def due(self, objective, cols):
        """Whether the next trial pass should compute a fresh Hessian over ``cols``."""
        return self._cheap(objective, cols) or self.uses >= self.MAX_STALE

    def get(self, objective, theta, cols):
        """The (possibly stored) Hessian over ``cols`` with the ridge term at ``theta``."""
        ridge = _ridge_diag(objective, theta, cols)
        new = None if self.H is None else np.setdiff1d(cols, self.cols)
        fresh = self.H is None or self.uses >= self.MAX_STALE
        if fresh or (new.size and self._cheap(objective, cols)):
            _, _, H = objective.value_grad_hess_cols(theta, cols)
            self.put(theta, cols, H - np.diag(ridge))
        elif new.size:
            self._grow(objective, new)
        pos = _positions(self.cols, cols, objective.m)
        self.uses += 1
        return self.H[np.ix_(pos, pos)] + np.diag(ridge)

    def put(self, theta, cols, H):
        """Store ``H``, the likelihood Hessian over ``cols`` at ``theta``."""
        self.cols, self.H, self.theta, self.uses = cols, H, theta, 0

    def _grow(self, objective, new):
        """Add the blocks of columns ``new`` (not yet stored) at the stored point."""
        m = objective.m
        union = np.union1d(self.cols, new)
        cross = objective.hessian_cross(self.theta, union, new)  # (m |union|, m |new|)
        old, add = _positions(union, self.cols, m), _positions(union, new, m)
        H = np.empty((union.size * m, union.size * m))
        H[np.ix_(old, old)] = self.H
        H[:, add] = cross
        H[add, :] = cross.T
        self.cols, self.H = union, H

    def drop(self):
        self.H = None


def _ridge_diag(objective, theta, cols):
    coef, _ = objective.split(theta)
    diag = np.zeros(objective.shape)
    diag[:, : objective.p] = objective.penalty.hessian_diag(coef)
    return diag[:, cols].ravel()


def _positions(stored, cols, m):
    """Indices of ``cols`` (per class) inside a Hessian over ``stored`` columns."""
    where = np.searchsorted(stored, cols)
    return (np.arange(m)[:, None] * stored.size + where[None, :]).ravel()


def solve(objective, theta0, free, options, state=None):
    """Minimise ``objective + lasso part of its penalty`` by proximal Newton.

    Trial points get only a value-and-gradient pass (enough for the line search and the
    KKT test), and exact Hessians are reused while they serve (see :class:`_HessianStore`;
    pass the returned ``state`` back to warm-start the next alpha of a path).
    """
    theta = np.array(theta0, dtype=float)
    free = np.asarray(free, dtype=bool)
    lam, groups = _thresholds(objective, theta)
    sub = _Subproblem(objective, lam, free, groups)
    store = state if isinstance(state, _HessianStore) else _HessianStore()
    f, g = objective.value_grad(theta)
    F = f + _l1(objective, theta)
    history, converged, it = [], False, 0
    for it in range(1, options.max_iter + 1):
        violation = kkt_violation(g, theta, lam, free, groups)
        if violation <= options.tol:
            converged, it = True, it - 1
            break
        H = store.get(objective, theta, sub.cols)
        inner_tol = max(0.1 * options.tol, INEXACT * violation)  # inexact Newton steps
        d = sub.step(theta, g, H, inner_tol) - theta
        decrease = float(g @ d) + _l1(objective, theta + d) - F + f
        t, accepted, H_c = 1.0, False, None
        while t >= MIN_STEP:
            cand = theta + t * d
            if t == 1.0 and store.due(objective, sub.cols):
                f_c, g_c, H_c = objective.value_grad_hess_cols(cand, sub.cols)
            else:
                f_c, g_c = objective.value_grad(cand)
            F_c = f_c + _l1(objective, cand)
            if F_c <= F + ARMIJO * t * decrease or abs(F_c - F) <= 1e-15 * abs(F):
                accepted = True
                break
            t *= 0.5
        if t < 1.0:
            store.drop()  # the model was poor: recompute the Hessian next time
        if not accepted:
            if store.uses > 1:
                continue  # retry from the same point with an exact Hessian
            converged = kkt_violation(g, theta, lam, free, groups) <= options.tol
            break
        theta, f, g, F = cand, f_c, g_c, F_c
        if H_c is not None and t == 1.0:
            store.put(theta, sub.cols, H_c - np.diag(_ridge_diag(objective, theta, sub.cols)))
        history.append(F)
        if options.verbose:
            viol = kkt_violation(g, theta, lam, free, groups)
            print(f"cd iter {it:3d}  objective {F:.12g}  KKT {viol:.3e}")
    else:
        converged = kkt_violation(g, theta, lam, free, groups) <= options.tol
    return SolverResult(theta, it, converged, history, store)
