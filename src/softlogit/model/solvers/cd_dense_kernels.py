r"""Compiled proximal Newton for small dense problems held in memory (see
:mod:`softlogit.model.solvers.cd_dense`): the passes over the rows and the outer loop.

Everything runs in the standardised coordinates :math:`\phi` of the solver: the design is
:math:`\tilde X = [(X - \mu)/s, 1]` (``Xt``), so :math:`\eta = \tilde X \phi_a + o` per free
logit ``a``, the gradient is :math:`\tilde X^T r / W` and the Hessian
:math:`\tilde X^T \operatorname{diag}(w h) \tilde X / W` is summed directly in those
coordinates (no transform, and no cancellation between the intercept and uncentred
columns). Family ``kind``: 0 Bernoulli (one logit), 1 categorical with a reference class
(whose logit is 0), 2 symmetric categorical (every logit free). ``yrow[i]`` is the free
logit of row ``i``'s class (-1: the reference class; for ``kind`` 0, 0 means class 1).
Losses use the log-sum-exp and log-sigmoid forms: no raw linear predictor is exponentiated.
"""

from __future__ import annotations

import numpy as np

from ...compiled import jit
from .cd_kernels import _kkt, minimise

__all__ = ["solve"]


@jit
def _logits(Xt, Phi, off):
    """Free logits ``Xt Phi^T + off``, shape (n, m)."""
    return np.dot(Xt, Phi.T) + off


@jit
def _binary(eta, yrow, w):
    """Weighted losses, logit gradients and working weights of the Bernoulli family."""
    n = eta.shape[0]
    loss, grad, h = np.empty(n), np.empty((n, 1)), np.empty(n)
    for i in range(n):
        sign = -1.0 if yrow[i] == 1 else 1.0  # u = (1 - 2y) eta: the other class's logit
        u = sign * eta[i, 0]
        e = np.exp(-abs(u))
        loss[i] = w[i] * (max(u, 0.0) + np.log1p(e))
        sig = 1.0 / (1.0 + e) if u >= 0 else e / (1.0 + e)  # sigmoid(u)
        grad[i, 0] = w[i] * sign * sig
        h[i] = w[i] * e / ((1.0 + e) * (1.0 + e))
    return loss, grad, h


@jit
def _categorical(eta, yrow, w, kind):
    """Weighted losses, logit gradients and free-class probabilities of the categorical
    family (log-sum-exp over the free logits and, with a reference class, a zero)."""
    n, m = eta.shape
    loss, grad, P = np.empty(n), np.empty((n, m)), np.empty((n, m))
    for i in range(n):
        top = 0.0 if kind == 1 else -np.inf
        for a in range(m):
            top = max(top, eta[i, a])
        total = np.exp(-top) if kind == 1 else 0.0
        for a in range(m):
            total += np.exp(eta[i, a] - top)
        lse = top + np.log(total)
        own = 0.0 if yrow[i] < 0 else eta[i, yrow[i]]
        loss[i] = w[i] * (lse - own)
        for a in range(m):
            P[i, a] = np.exp(eta[i, a] - lse)
            grad[i, a] = w[i] * (P[i, a] - (1.0 if yrow[i] == a else 0.0))
    return loss, grad, P


@jit
def _hessian(Xt, h, P, w, kind):
    r"""Likelihood Hessian (sum scale) over every parameter: for one logit
    :math:`\tilde X^T \operatorname{diag}(h) \tilde X`; for several, diagonal blocks
    :math:`\tilde X^T \operatorname{diag}(w P_a) \tilde X` minus :math:`Z^T Z` with
    :math:`Z = [\sqrt{w} P_a \tilde X]_a`."""
    n, q = Xt.shape
    if kind == 0:
        Z = Xt * np.sqrt(h).reshape(n, 1)
        return np.dot(Z.T, Z)
    m = P.shape[1]
    Z = np.empty((n, m * q))
    sw = np.sqrt(w)
    for a in range(m):
        Z[:, a * q : (a + 1) * q] = Xt * (sw * P[:, a]).reshape(n, 1)
    H = -np.dot(Z.T, Z)
    for a in range(m):
        Za = Xt * np.sqrt(w * P[:, a]).reshape(n, 1)
        H[a * q : (a + 1) * q, a * q : (a + 1) * q] += np.dot(Za.T, Za)
    return H


@jit
def _pass(Xt, Phi, off, yrow, w, W, kind, with_hessian):
    """The likelihood part at ``Phi``: summed weighted loss, the mean gradient (m, q) and,
    optionally, the mean Hessian (empty otherwise)."""
    eta = _logits(Xt, Phi, off)
    if kind == 0:
        loss, grad, h = _binary(eta, yrow, w)
        P = grad  # unused
    else:
        loss, grad, P = _categorical(eta, yrow, w, kind)
        h = loss  # unused
    G = np.dot(grad.T, Xt) / W
    H = _hessian(Xt, h, P, w, kind) / W if with_hessian else np.empty((0, 0))
    return np.sum(loss), G, H


@jit
def _ridged(H, ridge):
    """``H`` plus the ridge diagonal (a copy)."""
    out = H.copy()
    diag = ridge.ravel()
    for j in range(diag.size):
        out[j, j] += diag[j]
    return out


@jit
def _l1(Phi, lam, grouped):
    """The lasso part: ``sum lam |phi|``, or the group norms over classes per column."""
    if not grouped:
        return np.sum(lam * np.abs(Phi))
    total = 0.0
    for j in range(Phi.shape[1]):
        total += lam[0, j] * np.sqrt(np.sum(Phi[:, j] * Phi[:, j]))
    return total


@jit
def _group_steps(H, gidx, gptr):
    """The largest eigenvalue of each group's block of ``H`` (its step is ``1 / L``)."""
    gL = np.empty(gptr.size - 1)
    for k in range(gL.size):
        idx = gidx[gptr[k] : gptr[k + 1]]
        block = np.empty((idx.size, idx.size))
        for a in range(idx.size):
            for b in range(idx.size):
                block[a, b] = H[idx[a], idx[b]]
        gL[k] = np.linalg.eigvalsh(block)[-1]
    return gL


@jit
def solve(Xt, Phi, off, yrow, w, W, kind, ridge, lam, grouped, units, start, settings):
    """Proximal Newton with an exact Hessian at every iterate (computed in the line search's
    first trial pass), cyclic coordinate descent on each model (:func:`minimise`) and
    Armijo backtracking, until the KKT violation is at most ``tol``.

    ``units`` are ``(coords, gidx, gptr)``; ``start`` is the likelihood part at ``Phi``
    (summed loss, mean gradient, mean Hessian) when already known, else its Hessian is
    empty. ``settings``: tol, max_iter, inner forcing, inner floor, Armijo constant,
    smallest step, max sweeps, active rounds, active budget. Returns ``Phi``, iterations,
    the final KKT violation, the objective (with the lasso part) after each iteration, and
    the likelihood part at the solution.
    """
    tol, max_iter, forcing, floor, armijo, min_step = settings[:6]
    max_sweeps, rounds, budget = int(settings[6]), int(settings[7]), settings[8]
    coords, gidx, gptr = units
    lam_flat, groups = lam.ravel(), np.arange(gptr.size - 1)
    loss, G, H = start
    if H.shape[0] != Phi.size:
        loss, G, H = _pass(Xt, Phi, off, yrow, w, W, kind, True)
    f = loss / W + 0.5 * np.sum(ridge * Phi * Phi)
    g = (G + ridge * Phi).ravel()
    F = f + _l1(Phi, lam, grouped)
    v = _kkt(coords, groups, gidx, gptr, Phi.ravel(), np.zeros(g.size), g, lam_flat)
    history = np.empty(int(max_iter))
    it = 0
    while it < max_iter and v > tol:
        it += 1
        inner = max(floor * tol, min(forcing, v) * v)
        u = Phi.ravel().copy()
        Hr = _ridged(H, ridge)
        steps = _group_steps(Hr, gidx, gptr)
        minimise(u, g, Hr, lam_flat, coords, gidx, gptr, steps, inner, max_sweeps, rounds, budget)
        d = u.reshape(Phi.shape) - Phi
        decrease = np.sum(g.reshape(Phi.shape) * d) + _l1(Phi + d, lam, grouped) - (F - f)
        t, accepted = 1.0, False
        while t >= min_step:
            cand = Phi + t * d
            loss_c, G_c, H_c = _pass(Xt, cand, off, yrow, w, W, kind, t == 1.0)
            f_c = loss_c / W + 0.5 * np.sum(ridge * cand * cand)
            F_c = f_c + _l1(cand, lam, grouped)
            if F_c <= F + armijo * t * decrease or abs(F_c - F) <= 1e-15 * abs(F):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        Phi, loss, G, f, F = cand, loss_c, G_c, f_c, F_c
        if t == 1.0:
            H = H_c
        else:  # the model was poor: an exact Hessian at the accepted point
            loss, G, H = _pass(Xt, Phi, off, yrow, w, W, kind, True)
        g = (G + ridge * Phi).ravel()
        v = _kkt(coords, groups, gidx, gptr, Phi.ravel(), np.zeros(g.size), g, lam_flat)
        history[it - 1] = F
    return Phi, it, v, history[:it], (loss, G, H)


@jit
def _units(free, grouped, feat):
    """Update units over the free parameters of an ``m x qs`` block: with ``grouped``, one
    group per feature column (``feat[j]``) over its free classes, the rest single
    coordinates."""
    m, qs = free.shape
    coords = np.empty(m * qs, dtype=np.int64)
    gidx = np.empty(m * qs, dtype=np.int64)
    gptr = np.zeros(qs + 1, dtype=np.int64)
    nc, ng, ni = 0, 0, 0
    for j in range(qs):
        if grouped and feat[j]:
            start = ni
            for a in range(m):
                if free[a, j]:
                    gidx[ni] = a * qs + j
                    ni += 1
            if ni > start:
                ng += 1
                gptr[ng] = ni
    for a in range(m):
        for j in range(qs):
            if free[a, j] and not (grouped and feat[j]):
                coords[nc] = a * qs + j
                nc += 1
    return np.sort(coords[:nc]), gidx[:ni], gptr[: ng + 1]


@jit
def _scores(G, mean, scale, fit_intercept, grouped):
    r"""Per-feature gradient scores in the raw coordinates :math:`\theta` from the gradient
    ``G`` in :math:`\phi`: :math:`g_{\theta,aj} = s_j g_{\phi,aj} + \mu_j g_{\phi,ab}`, then
    the largest over classes (or their norm, ``grouped``)."""
    m, q = G.shape
    p = mean.size
    score = np.zeros(p)
    for j in range(p):
        acc = 0.0
        for a in range(m):
            gt = scale[j] * G[a, j] + (mean[j] * G[a, p] if fit_intercept else 0.0)
            acc = acc + gt * gt if grouped else max(acc, abs(gt))
        score[j] = np.sqrt(acc) if grouped else acc
    return score


@jit
def _columns(Xt, cols):
    """The columns ``cols`` of ``Xt`` as a contiguous array."""
    Xs = np.empty((Xt.shape[0], cols.size))
    for jj in range(cols.size):
        Xs[:, jj] = Xt[:, cols[jj]]
    return Xs


@jit
def _theta_scores(G, Phi, ridge, mean, scale, fit_intercept, grouped):
    """Feature scores of the penalised gradient (likelihood part ``G`` plus ridge)."""
    return _scores(G + ridge * Phi, mean, scale, fit_intercept, grouped)


@jit
def path(
    Xt,
    Phi,
    off,
    yrow,
    w,
    W,
    kind,
    ridge1,
    lam1,
    weights,
    ratio,
    grouped,
    free0,
    alphas,
    mean,
    scale,
    fit_intercept,
    settings,
):
    r"""The whole regularisation path (:func:`softlogit.selection.path.path_on_spec`):
    for each ``alpha`` the sequential strong rule at the previous solution, the solve on
    the strong set, and the KKT check on every left-out feature (violators are added and
    the solve repeated). ``ridge1``, ``lam1`` are the ridge and lasso weights at alpha 1
    (standardised coordinates), ``weights`` the unit lasso weights per feature (raw
    coordinates) and ``settings[0]`` the KKT tolerance. A solve starts from the Hessian
    the previous one ended with when its columns are the same. Returns the solutions,
    the summed weighted losses and the iterations per alpha."""
    m, q = Phi.shape
    p = mean.size
    k = alphas.size
    out, losses, iters = np.empty((k, m, q)), np.empty(k), np.zeros(k, dtype=np.int64)
    loss, G, _ = _pass(Xt, Phi, off, yrow, w, W, kind, False)
    score = _theta_scores(G, Phi, 0.0 * ridge1, mean, scale, fit_intercept, grouped)
    prev, last_cols, last = alphas[0], np.zeros(0, dtype=np.int64), (0.0, G, np.empty((0, 0)))
    for i in range(k):
        alpha = alphas[i]
        keep = score >= ratio * weights * (2 * alpha - prev)
        while True:
            free = free0.copy()
            for j in range(p):
                if not keep[j]:
                    free[:, j] = False
                    Phi[:, j] = 0.0
            cols = np.flatnonzero(free.sum(axis=0) > 0)
            same = cols.size == last_cols.size and np.all(cols == last_cols)
            start = last if same else (0.0, G, np.empty((0, 0)))
            if cols.size:
                units = _units(free[:, cols], grouped, cols < p)
                sub, it, _, _, last = solve(
                    _columns(Xt, cols), Phi[:, cols].copy(), off, yrow, w, W, kind,
                    alpha * ridge1[:, cols], alpha * lam1[:, cols], grouped, units, start,
                    settings,
                )  # fmt: skip
                Phi[:, cols] = sub
                iters[i] += it
            last_cols = cols
            loss, G, _ = _pass(Xt, Phi, off, yrow, w, W, kind, False)
            score = _theta_scores(G, Phi, alpha * ridge1, mean, scale, fit_intercept, grouped)
            grow = False
            for j in range(p):
                if not keep[j] and score[j] > alpha * ratio * weights[j] + settings[0] * scale[j]:
                    keep[j] = True
                    grow = True
            if not grow:
                break
        out[i] = Phi
        losses[i] = loss
        prev = alpha
    return out, losses, iters
