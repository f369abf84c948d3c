r"""Compiled proximal Newton for sparse binary problems (see
:mod:`softlogit.model.solvers.cd_sparse`): glmnet's "naive" coordinate updates.

The quadratic model of each outer iteration is the same as the dense solver's, but its
Hessian :math:`\tilde X^T V \tilde X / W` (:math:`V = \operatorname{diag}(w h)`) is never
formed: coordinate descent keeps :math:`e = \tilde X (u - \phi)` and reads
:math:`(H\delta)_j = \tilde x_j^T V e / W` from the non-zeros of column ``j``. The
standardised columns :math:`\tilde x_j = (x_j - \mu_j) / s_j` are dense; the centring is
carried as one shift ``o`` common to every row (:math:`e = \hat e + o`, with :math:`\hat e`
touched only on non-zeros) and the sums :math:`D_j = \sum_i v_i x_{ij}`,
:math:`\sum_i v_i` and :math:`\sum_i v_i \hat e_i`, so an update costs the non-zeros of its
column. ``X`` comes as CSC arrays ``(indptr, indices, data)``; parameters are one row
``[phi_1..phi_p, phi_b]`` in standardised coordinates.
"""

from __future__ import annotations

import numpy as np

from ...compiled import jit
from .cd_dense_kernels import (
    _accurate_sum,
    _binary,
    _free_columns,
    _l1,
    _scores,
    _trial,
    _units,
    accepts,
    add_violators,
    model_decrease,
    strong_set,
)
from .cd_kernels import _kkt, active_coords, sign

__all__ = ["path"]


@jit
def _logits(X, phi, mean, scale, fi, off):
    r""":math:`\eta = \tilde X \phi + o` from the sparse columns, shape (n, 1)."""
    indptr, indices, data = X
    p = mean.size
    const = phi[p] if fi else 0.0
    for j in range(p):
        if phi[j] != 0.0:
            const -= mean[j] * phi[j] / scale[j]
    eta = off.copy()
    for i in range(eta.shape[0]):
        eta[i, 0] += const
    for j in range(p):
        c = phi[j]
        if c == 0.0:
            continue
        c /= scale[j]
        for k in range(indptr[j], indptr[j + 1]):
            eta[indices[k], 0] += data[k] * c
    return eta


@jit
def _column_sums(X, r, mean, scale, fi):
    r""":math:`\tilde X^T r` (one entry per feature, then the intercept)."""
    indptr, indices, data = X
    p = mean.size
    total = 0.0
    for i in range(r.size):
        total += r[i]
    out = np.empty(p + fi)
    for j in range(p):
        acc = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            acc += data[k] * r[indices[k]]
        out[j] = (acc - mean[j] * total) / scale[j]
    if fi:
        out[p] = total
    return out


@jit
def _pass(X, phi, mean, scale, fi, off, yrow, w, W):
    """Summed loss, mean gradient, working weights ``v`` and the curvature sums: ``D_j``,
    ``sum v`` and the Hessian's diagonal (all mean scale but ``v`` and ``D``)."""
    indptr, indices, data = X
    p = mean.size
    loss, grad, v = _binary(_logits(X, phi, mean, scale, fi, off), yrow, w)
    g = _column_sums(X, grad[:, 0], mean, scale, fi) / W
    sv = 0.0
    for i in range(v.size):
        sv += v[i]
    D, diag = np.empty(p), np.empty(p + fi)
    for j in range(p):
        d1, d2 = 0.0, 0.0
        for k in range(indptr[j], indptr[j + 1]):
            x = data[k]
            d1 += x * v[indices[k]]
            d2 += x * x * v[indices[k]]
        D[j] = d1
        mu = mean[j]
        diag[j] = (d2 - 2.0 * mu * d1 + mu * mu * sv) / (scale[j] * scale[j] * W)
    if fi:
        diag[p] = sv / W
    return _accurate_sum(loss), g, (v, D, sv, diag)


@jit
def _model_step(j, X, u, phi, g, curv, ridge, lam, mean, scale, W, e, state):
    r"""The model gradient of coordinate ``j`` at ``u`` (``g_j`` plus
    :math:`(H(u-\phi))_j`) and, when ``lam`` is given (non-negative), its exact
    minimisation with the updates of ``e`` and ``state = [o, sum v e]``."""
    indptr, indices, data = X
    v, D, sv, diag = curv
    p = mean.size
    o, sve = state[0], state[1]
    if j < p:
        acc = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            acc += data[k] * v[indices[k]] * e[indices[k]]
        hd = (acc + o * D[j] - mean[j] * (sve + o * sv)) / (scale[j] * W)
    else:
        hd = (sve + o * sv) / W
    return g[j] + hd + ridge[j] * (u[j] - phi[j])


@jit
def _update(j, step, X, mean, scale, curv, e, state):
    """Move coordinate ``j`` by ``step``: ``e`` on the column's non-zeros, the shift."""
    indptr, indices, data = X
    v, D, sv, diag = curv
    p = mean.size
    if j < p:
        c = step / scale[j]
        for k in range(indptr[j], indptr[j + 1]):
            e[indices[k]] += data[k] * c
        state[1] += c * D[j]
        state[0] -= c * mean[j]
    else:
        state[0] += step


@jit
def _sweep(coords, X, u, phi, g, curv, ridge, lam, mean, scale, W, e, state):
    """One cyclic pass of exact coordinate minimisations; the largest KKT violation of a
    coordinate met on the way (before its update: the model gradient is computed there
    anyway, so the sweep is its own convergence test, at no second read of the columns);
    0 when nothing moved."""
    diag = curv[3]
    viol, moved = 0.0, False
    for j in coords:
        a = diag[j] + ridge[j]
        if a <= 0.0:
            continue
        gm = _model_step(j, X, u, phi, g, curv, ridge, lam, mean, scale, W, e, state)
        if u[j] != 0.0:
            viol = max(viol, abs(gm + lam[j] * sign(u[j])))
        else:
            viol = max(viol, abs(gm) - lam[j])
        z = a * u[j] - gm
        new = sign(z) * max(abs(z) - lam[j], 0.0) / a
        step = new - u[j]
        if step != 0.0:
            u[j] = new
            _update(j, step, X, mean, scale, curv, e, state)
            moved = True
    return viol if moved else 0.0


@jit
def _minimise(coords, X, phi, g, curv, ridge, lam, mean, scale, W, tol, max_sweeps):
    """Minimise the model from ``phi``: full sweeps, each followed by sweeps over the
    active set (non-zero or unpenalised) until every active coordinate met ``tol`` in a
    sweep, until every coordinate does in a full sweep (or ``max_sweeps``)."""
    n = curv[0].size
    u, e, state = phi.copy(), np.zeros(n), np.zeros(2)
    sweeps = 0
    while sweeps < max_sweeps:
        viol = _sweep(coords, X, u, phi, g, curv, ridge, lam, mean, scale, W, e, state)
        sweeps += 1
        if viol <= tol:
            break
        active = active_coords(coords, u, lam)
        while sweeps < max_sweeps:
            viol = _sweep(active, X, u, phi, g, curv, ridge, lam, mean, scale, W, e, state)
            sweeps += 1
            if viol <= tol:
                break
    return u


@jit
def _objective(loss, phi, W, ridge, lam):
    f = loss / W
    for j in range(phi.size):
        f += 0.5 * ridge[j] * phi[j] * phi[j]
    return f, f + _l1(phi.reshape(1, -1), lam.reshape(1, -1), False)


@jit
def solve(X, phi, mean, scale, fi, off, yrow, w, W, ridge, lam, coords, settings):
    """Proximal Newton (as :func:`softlogit.model.solvers.cd_dense_kernels.solve`) with the
    naive coordinate updates; returns ``phi``, iterations, the final KKT violation, and the
    likelihood's mean gradient and summed weighted loss there."""
    tol, max_iter, forcing, floor, armijo, min_step = settings[:6]
    max_sweeps = int(settings[6])
    none = np.empty(0, dtype=np.int64)
    loss, g, curv = _pass(X, phi, mean, scale, fi, off, yrow, w, W)
    gp = g + ridge * phi
    f, F = _objective(loss, phi, W, ridge, lam)
    v = _kkt(coords, none, none, none, phi, np.zeros(phi.size), gp, lam)
    it = 0
    while it < max_iter and v > tol:
        it += 1
        inner = max(floor * tol, min(forcing, v) * v)
        u = _minimise(coords, X, phi, gp, curv, ridge, lam, mean, scale, W, inner, max_sweeps)
        d = (u - phi).reshape(1, -1)
        base = phi.reshape(1, -1)
        decrease = model_decrease(base, d, gp, F - f, lam.reshape(1, -1), False)
        t, accepted = 1.0, False
        while t >= min_step:
            cand = _trial(base, d, t).ravel()
            loss_c, g_c, curv_c = _pass(X, cand, mean, scale, fi, off, yrow, w, W)
            f_c, F_c = _objective(loss_c, cand, W, ridge, lam)
            if accepts(F_c, F, t * decrease, armijo):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        phi, loss, g, curv, f, F = cand, loss_c, g_c, curv_c, f_c, F_c
        gp = g + ridge * phi
        v = _kkt(coords, none, none, none, phi, np.zeros(phi.size), gp, lam)
    return phi, it, v, g, loss


@jit
def path(X, phi, mean, scale, fi, off, yrow, w, W, ridge1, lam1, weights, ratio, free0,
         alphas, settings):  # fmt: skip
    """The regularisation path with strong rules and KKT re-checks (as
    :func:`softlogit.model.solvers.cd_dense_kernels.path`), on sparse columns."""
    p = mean.size
    k = alphas.size
    out, losses, iters = np.empty((k, phi.size)), np.empty(k), np.zeros(k, dtype=np.int64)
    g = _pass(X, phi, mean, scale, fi, off, yrow, w, W)[1]
    score = _scores(g.reshape(1, -1), phi.reshape(1, -1), 0.0 * ridge1.reshape(1, -1), mean,
                    scale, fi, False)  # fmt: skip
    prev = alphas[0]
    keep = np.empty(p, dtype=np.bool_)
    feat = np.arange(phi.size) < p
    for i in range(k):
        alpha = alphas[i]
        strong_set(keep, score, ratio * weights, alpha, prev)
        while True:
            free, _ = _free_columns(free0.reshape(1, -1), keep, p)
            for j in range(p):
                if not keep[j]:
                    phi[j] = 0.0
            coords = _units(free, False, feat)[0]
            phi, it, _, g, loss = solve(X, phi, mean, scale, fi, off, yrow, w, W, alpha * ridge1,
                                  alpha * lam1, coords, settings)  # fmt: skip
            iters[i] += it
            score = _scores(g.reshape(1, -1), phi.reshape(1, -1),
                            alpha * ridge1.reshape(1, -1), mean, scale, fi, False)  # fmt: skip
            if not add_violators(keep, score, alpha * ratio * weights, settings[0] * scale):
                break
        out[i] = phi
        losses[i] = loss
        prev = alpha
    return out, losses, iters
