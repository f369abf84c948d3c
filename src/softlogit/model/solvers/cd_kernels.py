r"""Compiled coordinate descent on the penalised quadratic model (see
:mod:`softlogit.model.solvers.cd_inner` for the method; this module holds its loops).

The model is :math:`q(u) = g^T (u - \theta) + \tfrac12 (u - \theta)^T H (u - \theta) +
\sum_j \lambda_j |u_j|`. Every kernel keeps :math:`r = H (u - \theta)` up to date, so the
model gradient is :math:`g + r` ("covariance updates": :math:`O(d)` per coordinate update,
no pass over the rows). Update units are single coordinates (``coords``) and groups, stored
flat: group ``k`` is ``gidx[gptr[k]:gptr[k + 1]]`` with the largest eigenvalue ``gL[k]`` of
its block of :math:`H`. The kernels are written as plain loops over scalars, which numba
compiles in a fraction of the time its array expressions take. Imported lazily: importing
numba costs about 0.3 s.
"""

from __future__ import annotations

import numpy as np

from ...compiled import jit

__all__ = ["group_steps", "largest_eigenvalue", "minimise", "standardise_hessian"]


@jit
def sign(x):
    """-1, 0 or 1."""
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


@jit
def _add_row(r, step, H, j):
    """``r += step * H[j]``."""
    for k in range(r.size):
        r[k] += step * H[j, k]


@jit
def _coordinate(u, j, r, g, H, lam):
    """Exact minimisation over coordinate ``j`` (a soft-threshold); whether it moved."""
    a = H[j, j]
    if a <= 0.0:
        return False
    z = a * u[j] - (g[j] + r[j])
    new = sign(z) * max(abs(z) - lam[j], 0.0) / a
    step = new - u[j]
    if step == 0.0:
        return False
    u[j] = new
    _add_row(r, step, H, j)  # H is symmetric: its row is contiguous
    return True


@jit
def _group(u, gidx, start, stop, L, r, g, H, lam):
    """Group soft-threshold step with step length ``1 / L`` on ``gidx[start:stop]``."""
    if L <= 0.0:
        return False
    v = np.empty(stop - start)
    norm = 0.0
    for i in range(start, stop):
        j = gidx[i]
        v[i - start] = u[j] - (g[j] + r[j]) / L
        norm += v[i - start] * v[i - start]
    norm = np.sqrt(norm)
    shrink = max(0.0, 1.0 - lam[gidx[start]] / (L * norm)) if norm > 0 else 1.0
    moved = False
    for i in range(start, stop):
        j = gidx[i]
        new = v[i - start] * shrink
        step = new - u[j]
        if step != 0.0:
            moved = True
            u[j] = new
            _add_row(r, step, H, j)
    return moved


@jit
def _sweep(coords, groups, gidx, gptr, gL, u, r, g, H, lam):
    """One cyclic pass over ``coords`` and the groups numbered ``groups``."""
    moved = False
    for j in coords:
        moved |= _coordinate(u, j, r, g, H, lam)
    for k in groups:
        moved |= _group(u, gidx, gptr[k], gptr[k + 1], gL[k], r, g, H, lam)
    return moved


@jit
def _kkt(coords, groups, gidx, gptr, u, r, g, lam):
    """Largest violation of the model's optimality conditions over the given units (as
    :func:`softlogit.model.solvers.cd_inner.unit_kkt` with gradient ``g + r``)."""
    viol = 0.0
    for j in coords:
        gm = g[j] + r[j]
        if u[j] != 0.0:
            viol = max(viol, abs(gm + lam[j] * sign(u[j])))
        else:
            viol = max(viol, abs(gm) - lam[j])
    for k in groups:
        norm, gnorm = 0.0, 0.0
        for i in range(gptr[k], gptr[k + 1]):
            norm += u[gidx[i]] * u[gidx[i]]
            gm = g[gidx[i]] + r[gidx[i]]
            gnorm += gm * gm
        norm, gnorm, lk = np.sqrt(norm), np.sqrt(gnorm), lam[gidx[gptr[k]]]
        if norm > 0:
            for i in range(gptr[k], gptr[k + 1]):
                j = gidx[i]
                viol = max(viol, abs(g[j] + r[j] + lk * u[j] / norm))
        else:
            viol = max(viol, (gnorm - lk) / np.sqrt(gptr[k + 1] - gptr[k]))
    return max(viol, 0.0)


@jit
def active_coords(coords, u, lam):
    """The coordinates of ``coords`` that are non-zero or unpenalised."""
    out = np.empty(coords.size, dtype=np.int64)
    n = 0
    for j in coords:
        if u[j] != 0.0 or lam[j] == 0.0:
            out[n] = j
            n += 1
    return out[:n]


@jit
def _active(coords, groups, gidx, gptr, u, lam):
    """The units that are non-zero or unpenalised."""
    a_coords = active_coords(coords, u, lam)
    a_groups = np.empty(groups.size, dtype=np.int64)
    m = 0
    for k in groups:
        for i in range(gptr[k], gptr[k + 1]):
            if u[gidx[i]] != 0.0:
                a_groups[m] = k
                m += 1
                break
    return a_coords, a_groups[:m]


@jit
def _cholesky_solve(A, b):
    """Solve ``A x = b`` for symmetric positive definite ``A`` (overwritten by its Cholesky
    factor); ``ok`` is False when a pivot is not positive."""
    k = A.shape[0]
    for j in range(k):
        d = A[j, j]
        for t in range(j):
            d -= A[j, t] * A[j, t]
        if not d > 0.0:
            return b, False
        A[j, j] = np.sqrt(d)
        for i in range(j + 1, k):
            acc = A[i, j]
            for t in range(j):
                acc -= A[i, t] * A[j, t]
            A[i, j] = acc / A[j, j]
    x = b.copy()
    for i in range(k):  # L y = b
        acc = x[i]
        for t in range(i):
            acc -= A[i, t] * x[t]
        x[i] = acc / A[i, i]
    for i in range(k - 1, -1, -1):  # L^T x = y
        acc = x[i]
        for t in range(i + 1, k):
            acc -= A[t, i] * x[t]
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
    for a in range(k):
        for b in range(k):
            A[a, b] = H[coords[a], coords[b]]
        j = coords[a]
        rhs[a] = -(g[j] + r[j] + lam[j] * sign(u[j]))
    delta, ok = _cholesky_solve(A, rhs)
    for a in range(k):
        ok = ok and np.isfinite(delta[a])
    if not ok:
        return coords, False, False
    t, cross, ratio = 1.0, False, np.full(k, np.inf)
    for a in range(k):
        j = coords[a]
        if lam[j] > 0.0 and sign(u[j] + delta[a]) != sign(u[j]):
            cross = True
            ratio[a] = u[j] / (u[j] - (u[j] + delta[a]))
            t = min(t, ratio[a])
    old = np.empty(k)
    for a in range(k):
        j = coords[a]
        old[a] = u[j]
        step = t * delta[a]
        u[j] += step
        _add_row(r, step, H, j)
    if not cross:
        return coords, True, True
    stay = np.empty(k, dtype=np.int64)
    n = 0
    for a in range(k):
        j = coords[a]
        penalised = lam[j] > 0.0
        if ratio[a] <= t * (1 + 1e-12) or (penalised and sign(u[j]) != sign(old[a])):
            _add_row(r, -u[j], H, j)
            u[j] = 0.0
        if u[j] != 0.0 or not penalised:
            stay[n] = j
            n += 1
    return stay[:n], False, True


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
def largest_eigenvalue(A):
    """The largest eigenvalue of the small symmetric matrix ``A`` (overwritten), by cyclic
    Jacobi rotations until the off-diagonal part is below rounding."""
    k = A.shape[0]
    for _ in range(100):
        off, scale = 0.0, 0.0
        for i in range(k):
            scale += A[i, i] * A[i, i]
            for j in range(i + 1, k):
                off += A[i, j] * A[i, j]
        if off <= 1e-32 * scale or off == 0.0:
            break
        for i in range(k):
            for j in range(i + 1, k):
                if A[i, j] == 0.0:
                    continue
                theta = (A[j, j] - A[i, i]) / (2.0 * A[i, j])
                t = (1.0 if theta >= 0 else -1.0) / (abs(theta) + np.sqrt(theta * theta + 1.0))
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                for r in range(k):  # A <- J^T A J
                    ari, arj = A[r, i], A[r, j]
                    A[r, i], A[r, j] = c * ari - s * arj, s * ari + c * arj
                for r in range(k):
                    air, ajr = A[i, r], A[j, r]
                    A[i, r], A[j, r] = c * air - s * ajr, s * air + c * ajr
    top = -np.inf
    for i in range(k):
        top = max(top, A[i, i])
    return top


@jit
def group_steps(H, gidx, gptr):
    """The largest eigenvalue of each group's block of ``H`` (its step is ``1 / L``)."""
    gL = np.empty(gptr.size - 1)
    for k in range(gL.size):
        size = gptr[k + 1] - gptr[k]
        block = np.empty((size, size))
        for a in range(size):
            for b in range(size):
                block[a, b] = H[gidx[gptr[k] + a], gidx[gptr[k] + b]]
        gL[k] = largest_eigenvalue(block)
    return gL


@jit
def minimise(u, g, H, lam, coords, gidx, gptr, gL, tol, max_sweeps, rounds, budget):
    """Minimise the penalised quadratic model from ``u`` (updated in place) until its KKT
    violation is at most ``tol``: a full sweep, then the active set solved exactly with its
    signs (:func:`_solve_active`) or, when that changes a sign, swept until it meets
    ``tol``; repeated until every unit meets ``tol`` (or nothing moves, or ``max_sweeps``).
    Returns the number of sweeps."""
    r = np.zeros(u.size)
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


@jit
def standardise_hessian(H, d, c, b, m):
    r""":math:`A^T H A` in place, for :math:`A` block diagonal over ``m`` classes with
    blocks :math:`\operatorname{diag}(d) + e_b c^T` (``b < 0``: no intercept, ``c`` unused);
    row and column ``b`` of each block are unchanged (:math:`d_b = 1, c_b = 0`)."""
    qc = d.size
    n = H.shape[0]
    for r in range(n):  # right factor: the columns of every row
        for a in range(m):
            base = a * qc
            hb = H[r, base + b] if b >= 0 else 0.0
            for j in range(qc):
                H[r, base + j] = H[r, base + j] * d[j] + (c[j] * hb if b >= 0 else 0.0)
    for a in range(m):  # left factor: the rows
        base = a * qc
        for i in range(qc):
            ri = base + i
            for k in range(n):
                H[ri, k] = H[ri, k] * d[i] + (c[i] * H[base + b, k] if b >= 0 else 0.0)
    return H
