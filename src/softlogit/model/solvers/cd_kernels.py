r"""Compiled coordinate descent on the penalised quadratic model (see
:mod:`softlogit.model.solvers.cd_inner` for the method; this module holds its loops).

The model is :math:`q(u) = g^T (u - \theta) + \tfrac12 (u - \theta)^T H (u - \theta) +
\sum_j \lambda_j |u_j|`. Every kernel keeps :math:`r = H (u - \theta)` up to date, so the
model gradient is :math:`g + r` ("covariance updates": :math:`O(d)` per coordinate update,
no pass over the rows). Update units are single coordinates (``coords``) and groups, stored
flat: group ``k`` is ``gidx[gptr[k]:gptr[k + 1]]`` with the largest eigenvalue ``gL[k]`` of
its block of :math:`H`. Imported lazily: importing numba costs about 0.3 s.
"""

from __future__ import annotations

import numpy as np

from ...compiled import jit

__all__ = ["minimise"]


@jit
def _coordinate(u, j, r, g, H, lam):
    """Exact minimisation over coordinate ``j`` (a soft-threshold); whether it moved."""
    a = H[j, j]
    if a <= 0.0:
        return False
    z = a * u[j] - (g[j] + r[j])
    new = np.sign(z) * max(abs(z) - lam[j], 0.0) / a
    step = new - u[j]
    if step == 0.0:
        return False
    u[j] = new
    r += step * H[j]  # H is symmetric: its row is contiguous
    return True


@jit
def _group(u, idx, L, r, g, H, lam):
    """Group soft-threshold step with step length ``1 / L`` on the parameters ``idx``."""
    if L <= 0.0:
        return False
    v = u[idx] - (g[idx] + r[idx]) / L
    norm = np.sqrt(np.sum(v * v))
    shrink = max(0.0, 1.0 - lam[idx[0]] / (L * norm)) if norm > 0 else 1.0
    moved = False
    for i in range(idx.size):
        new = v[i] * shrink
        step = new - u[idx[i]]
        if step != 0.0:
            moved = True
            u[idx[i]] = new
            r += step * H[idx[i]]
    return moved


@jit
def _sweep(coords, groups, gidx, gptr, gL, u, r, g, H, lam):
    """One cyclic pass over ``coords`` and the groups numbered ``groups``."""
    moved = False
    for j in coords:
        moved |= _coordinate(u, j, r, g, H, lam)
    for k in groups:
        moved |= _group(u, gidx[gptr[k] : gptr[k + 1]], gL[k], r, g, H, lam)
    return moved


@jit
def _kkt(coords, groups, gidx, gptr, u, r, g, lam):
    """Largest violation of the model's optimality conditions over the given units (as
    :func:`softlogit.model.solvers.cd_inner.unit_kkt` with gradient ``g + r``)."""
    viol = 0.0
    for j in coords:
        gm = g[j] + r[j]
        if u[j] != 0.0:
            v = abs(gm + lam[j] * np.sign(u[j]))
        else:
            v = max(abs(gm) - lam[j], 0.0)
        viol = max(viol, v)
    for k in groups:
        idx = gidx[gptr[k] : gptr[k + 1]]
        gm = g[idx] + r[idx]
        norm = np.sqrt(np.sum(u[idx] * u[idx]))
        if norm > 0:
            viol = max(viol, np.max(np.abs(gm + lam[idx[0]] * u[idx] / norm)))
        else:
            excess = np.sqrt(np.sum(gm * gm)) - lam[idx[0]]
            viol = max(viol, max(excess, 0.0) / np.sqrt(idx.size))
    return viol


@jit
def _active(coords, groups, gidx, gptr, u, lam):
    """The units that are non-zero or unpenalised."""
    keep = np.zeros(coords.size, dtype=np.bool_)
    for i in range(coords.size):
        keep[i] = u[coords[i]] != 0.0 or lam[coords[i]] == 0.0
    live = np.zeros(groups.size, dtype=np.bool_)
    for i in range(groups.size):
        live[i] = np.any(u[gidx[gptr[groups[i]] : gptr[groups[i] + 1]]] != 0.0)
    return coords[keep], groups[live]


@jit
def _cholesky_solve(A, b):
    """Solve ``A x = b`` for symmetric positive definite ``A`` (overwritten by its Cholesky
    factor); ``ok`` is False when a pivot is not positive."""
    k = A.shape[0]
    for j in range(k):
        d = A[j, j] - np.dot(A[j, :j], A[j, :j])
        if not d > 0.0:
            return b, False
        A[j, j] = np.sqrt(d)
        for i in range(j + 1, k):
            A[i, j] = (A[i, j] - np.dot(A[i, :j], A[j, :j])) / A[j, j]
    x = b.copy()
    for i in range(k):  # L y = b
        x[i] = (x[i] - np.dot(A[i, :i], x[:i])) / A[i, i]
    for i in range(k - 1, -1, -1):  # L^T x = y
        acc = x[i]
        for j in range(i + 1, k):
            acc -= A[j, i] * x[j]
        x[i] = acc / A[i, i]
    return x, True


@jit
def _newton_round(coords, u, r, g, H, lam):
    r"""One exact solve on ``coords`` with their signs fixed, stopped where a penalised
    coordinate reaches 0 (which then leaves the set). Returns the remaining coordinates,
    whether the round was complete (no sign change), and whether it succeeded."""
    k = coords.size
    A = np.empty((k, k))
    rhs = np.empty(k)
    sign = np.sign(u[coords])
    for a in range(k):
        for b in range(k):
            A[a, b] = H[coords[a], coords[b]]
        rhs[a] = -(g[coords[a]] + r[coords[a]] + lam[coords[a]] * sign[a])
    delta, ok = _cholesky_solve(A, rhs)
    if not ok or not np.all(np.isfinite(delta)):
        return coords, False, False
    old = u[coords]
    new = old + delta
    penalised = lam[coords] > 0.0
    cross = penalised & (np.sign(new) != sign)
    ratio = np.full(k, np.inf)
    t = 1.0
    for a in range(k):
        if cross[a]:
            ratio[a] = old[a] / (old[a] - new[a])
            t = min(t, ratio[a])
    for a in range(k):
        step = t * delta[a]
        u[coords[a]] += step
        r += step * H[coords[a]]
    if not np.any(cross):
        return coords, True, True
    stay = np.ones(k, dtype=np.bool_)
    for a in range(k):
        j = coords[a]
        if ratio[a] <= t * (1 + 1e-12) or (penalised[a] and np.sign(u[j]) != sign[a]):
            r -= u[j] * H[j]
            u[j] = 0.0
        stay[a] = u[j] != 0.0 or not penalised[a]
    return coords[stay], False, True


@jit
def _solve_active(coords, n_groups, u, r, g, H, lam, rounds, budget):
    r"""Solve the model exactly on the active coordinates with their signs fixed:
    :math:`H_{AA}\,\Delta = -(g_A + r_A + \lambda_A \operatorname{sign} u_A)`, at most
    ``rounds`` times (a round that changes a sign drops that coordinate), and only while the
    factorisation (:math:`|A|^3/3` flops) costs at most ``budget`` flops per active
    coordinate. Only for ungrouped units; whether the last round was complete."""
    if n_groups:
        return False
    for _ in range(rounds):
        if coords.size == 0:
            return True
        if coords.size**2 / 3.0 > budget:
            return False  # the factorisation would cost more than the sweeps it saves
        coords, complete, ok = _newton_round(coords, u, r, g, H, lam)
        if not ok:
            return False
        if complete:
            return True
    return False


@jit
def minimise(u, g, H, lam, coords, gidx, gptr, gL, tol, max_sweeps, rounds, budget):
    """Minimise the penalised quadratic model from ``u`` (updated in place) until its KKT
    violation is at most ``tol``: a full sweep, then the active set solved exactly with its
    signs (:func:`_solve_active`) or, when that changes a sign, swept until it meets
    ``tol``; repeated until every unit meets ``tol`` (or nothing moves, or ``max_sweeps``).
    Returns the number of sweeps."""
    r = np.zeros_like(u)
    groups = np.arange(gptr.size - 1)
    sweeps = 0
    while sweeps < max_sweeps:
        moved = _sweep(coords, groups, gidx, gptr, gL, u, r, g, H, lam)
        sweeps += 1
        if not moved or _kkt(coords, groups, gidx, gptr, u, r, g, lam) <= tol:
            break
        a_coords, a_groups = _active(coords, groups, gidx, gptr, u, lam)
        if _solve_active(a_coords, a_groups.size, u, r, g, H, lam, rounds, budget):
            if _kkt(a_coords, a_groups, gidx, gptr, u, r, g, lam) <= tol:
                continue
        while sweeps < max_sweeps:
            moved = _sweep(a_coords, a_groups, gidx, gptr, gL, u, r, g, H, lam)
            sweeps += 1
            if not moved or _kkt(a_coords, a_groups, gidx, gptr, u, r, g, lam) <= tol:
                break
    return sweeps
