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
from .cd_kernels import _kkt, group_steps, minimise

__all__ = ["solve"]


@jit
def _logits(Xt, Phi, off):
    """Free logits ``Xt Phi^T + off``, shape (n, m)."""
    n, q = Xt.shape
    m = Phi.shape[0]
    eta = off.copy()
    for i in range(n):
        for a in range(m):
            acc = 0.0
            for j in range(q):
                acc += Xt[i, j] * Phi[a, j]
            eta[i, a] += acc
    return eta


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
def _gram(Z):
    """``Z^T Z`` (BLAS)."""
    return np.dot(Z.T, Z)


@jit
def _scaled(Xt, s, out, col):
    """``out[:, col:col + q] = diag(s) Xt``."""
    n, q = Xt.shape
    for i in range(n):
        for j in range(q):
            out[i, col + j] = s[i] * Xt[i, j]


@jit
def _hessian(Xt, h, P, w, kind):
    r"""Likelihood Hessian (sum scale) over every parameter: for one logit
    :math:`\tilde X^T \operatorname{diag}(h) \tilde X`; for several, diagonal blocks
    :math:`\tilde X^T \operatorname{diag}(w P_a) \tilde X` minus :math:`Z^T Z` with
    :math:`Z = [\sqrt{w} P_a \tilde X]_a`."""
    n, q = Xt.shape
    if kind == 0:
        Z = np.empty((n, q))
        _scaled(Xt, np.sqrt(h), Z, 0)
        return _gram(Z)
    m = P.shape[1]
    Z = np.empty((n, m * q))
    s = np.empty(n)
    for a in range(m):
        for i in range(n):
            s[i] = np.sqrt(w[i]) * P[i, a]
        _scaled(Xt, s, Z, a * q)
    H = _gram(Z)
    Za = np.empty((n, q))
    for a in range(m):
        for i in range(n):
            s[i] = np.sqrt(w[i] * P[i, a])
        _scaled(Xt, s, Za, 0)
        block = _gram(Za)
        for b in range(q):
            for c in range(q):
                H[a * q + b, a * q + c] = block[b, c] - H[a * q + b, a * q + c]
    for b in range(m * q):  # the off-diagonal blocks are -Z^T Z
        for c in range(m * q):
            if b // q != c // q:
                H[b, c] = -H[b, c]
    return H


@jit
def _accurate_sum(x):
    """Neumaier's compensated sum: the line search compares objective values that differ
    by less than a plain running sum's rounding (about ``n`` ulps)."""
    total, comp = 0.0, 0.0
    for v in x:
        t = total + v
        comp += (total - t) + v if abs(total) >= abs(v) else (v - t) + total
        total = t
    return total + comp


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
    n, q = Xt.shape
    m = Phi.shape[0]
    G = np.zeros((m, q))
    for i in range(n):
        for a in range(m):
            for j in range(q):
                G[a, j] += grad[i, a] * Xt[i, j]
    for a in range(m):
        for j in range(q):
            G[a, j] /= W
    total = _accurate_sum(loss)
    if not with_hessian:
        return total, G, np.empty((0, 0))
    H = _hessian(Xt, h, P, w, kind)
    for b in range(H.shape[0]):
        for c in range(H.shape[1]):
            H[b, c] /= W
    return total, G, H


@jit
def _penalised(loss, G, H, Phi, W, ridge, with_hessian):
    """Objective value, flat gradient and (optionally) Hessian with the ridge term."""
    m, q = Phi.shape
    f = loss / W
    g = np.empty(m * q)
    for a in range(m):
        for j in range(q):
            f += 0.5 * ridge[a, j] * Phi[a, j] * Phi[a, j]
            g[a * q + j] = G[a, j] + ridge[a, j] * Phi[a, j]
    if not with_hessian:
        return f, g, H
    Hr = H.copy()
    for a in range(m):
        for j in range(q):
            Hr[a * q + j, a * q + j] += ridge[a, j]
    return f, g, Hr


@jit
def _l1(Phi, lam, grouped):
    """The lasso part: ``sum lam |phi|``, or the group norms over classes per column."""
    m, q = Phi.shape
    total = 0.0
    for j in range(q):
        if grouped:
            sq = 0.0
            for a in range(m):
                sq += Phi[a, j] * Phi[a, j]
            total += lam[0, j] * np.sqrt(sq)
        else:
            for a in range(m):
                total += lam[a, j] * abs(Phi[a, j])
    return total


@jit
def _kkt_at(Phi, g, lam, units):
    """The KKT violation of the full problem at ``Phi`` with gradient ``g``."""
    coords, gidx, gptr = units
    groups = np.arange(gptr.size - 1)
    return _kkt(coords, groups, gidx, gptr, Phi.ravel(), np.zeros(g.size), g, lam.ravel())


@jit
def _trial(Phi, d, t):
    """``Phi + t d``."""
    out = np.empty_like(Phi)
    m, q = Phi.shape
    for a in range(m):
        for j in range(q):
            out[a, j] = Phi[a, j] + t * d[a, j]
    return out


@jit
def model_decrease(Phi, d, g, l1_now, lam, grouped):
    r"""The decrease :math:`\Delta = g^T d + P(\phi + d) - P(\phi)` the model predicts for
    the step ``d`` (``g`` flat, ``l1_now`` the lasso part at ``Phi``): Armijo's reference."""
    m, q = Phi.shape
    decrease = _l1(_trial(Phi, d, 1.0), lam, grouped) - l1_now
    for a in range(m):
        for j in range(q):
            decrease += g[a * q + j] * d[a, j]
    return decrease


@jit
def accepts(F_c, F, decrease, armijo):
    """Armijo's test of a trial value ``F_c`` against ``F`` and the model's ``decrease``
    (negative); a change below the value's rounding counts as accepted."""
    return F_c <= F + armijo * decrease or abs(F_c - F) <= 1e-15 * abs(F)


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
    m, q = Phi.shape
    loss, G, H = start
    if H.shape[0] != Phi.size:
        loss, G, H = _pass(Xt, Phi, off, yrow, w, W, kind, True)
    f, g, _ = _penalised(loss, G, H, Phi, W, ridge, False)
    F = f + _l1(Phi, lam, grouped)
    v = _kkt_at(Phi, g, lam, units)
    history = np.empty(int(max_iter))
    it = 0
    while it < max_iter and v > tol:
        it += 1
        inner = max(floor * tol, min(forcing, v) * v)
        _, _, Hr = _penalised(loss, G, H, Phi, W, ridge, True)
        steps = group_steps(Hr, gidx, gptr)
        u = Phi.ravel().copy()
        minimise(u, g, Hr, lam.ravel(), coords, gidx, gptr, steps, inner, max_sweeps, rounds,
                 budget)  # fmt: skip
        d = u.reshape(m, q) - Phi
        decrease = model_decrease(Phi, d, g, F - f, lam, grouped)
        t, accepted = 1.0, False
        while t >= min_step:
            cand = _trial(Phi, d, t)
            loss_c, G_c, H_c = _pass(Xt, cand, off, yrow, w, W, kind, t == 1.0)
            f_c, g_c, _ = _penalised(loss_c, G_c, H_c, cand, W, ridge, False)
            F_c = f_c + _l1(cand, lam, grouped)
            if accepts(F_c, F, t * decrease, armijo):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        Phi, loss, G, H, f, g, F = cand, loss_c, G_c, H_c, f_c, g_c, F_c
        if t < 1.0:  # the model was poor: an exact Hessian at the accepted point
            loss, G, H = _pass(Xt, Phi, off, yrow, w, W, kind, True)
        v = _kkt_at(Phi, g, lam, units)
        history[it - 1] = F
    return Phi, it, v, history[:it], (loss, G, H)


@jit
def _units(free, grouped, feat):
    """Update units over the free parameters of an ``m x qs`` block: with ``grouped``, one
    group per feature column (``feat[j]``) over its free classes, the rest single
    coordinates (in increasing order)."""
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
    return coords[:nc], gidx[:ni], gptr[: ng + 1]


@jit
def _scores(G, Phi, ridge, mean, scale, fit_intercept, grouped):
    r"""Per-feature scores of the penalised gradient (likelihood part ``G`` plus ridge) in
    the raw coordinates :math:`\theta`: :math:`g_{\theta,aj} = s_j g_{\phi,aj} + \mu_j
    g_{\phi,ab}`, the largest over classes (or their norm, ``grouped``)."""
    m, q = G.shape
    p = mean.size
    score = np.zeros(p)
    for j in range(p):
        acc = 0.0
        for a in range(m):
            gt = scale[j] * (G[a, j] + ridge[a, j] * Phi[a, j])
            if fit_intercept:
                gt += mean[j] * G[a, p]
            acc = acc + gt * gt if grouped else max(acc, abs(gt))
        score[j] = np.sqrt(acc) if grouped else acc
    return score


@jit
def _take(A, cols, factor):
    """``factor * A[:, cols]`` as a new contiguous array."""
    out = np.empty((A.shape[0], cols.size))
    for i in range(A.shape[0]):
        for jj in range(cols.size):
            out[i, jj] = factor * A[i, cols[jj]]
    return out


@jit
def _free_columns(free, keep, p):
    """``free`` with the features not in ``keep`` fixed, and the columns still free."""
    m, q = free.shape
    out = free.copy()
    cols = np.empty(q, dtype=np.int64)
    n = 0
    for j in range(q):
        any_free = False
        for a in range(m):
            if j < p and not keep[j]:
                out[a, j] = False
            any_free = any_free or out[a, j]
        if any_free:
            cols[n] = j
            n += 1
    return out, cols[:n]


@jit
def _same(a, b):
    if a.size != b.size:
        return False
    for i in range(a.size):
        if a[i] != b[i]:
            return False
    return True


@jit
def _fit_alpha(Xt, Phi, off, yrow, w, W, kind, alpha, ridge1, lam1, grouped, free, cols, p,
               start, settings):  # fmt: skip
    """The solve over the columns ``cols`` (with a free parameter); updates ``Phi``."""
    feat = np.empty(cols.size, dtype=np.bool_)
    for jj in range(cols.size):
        feat[jj] = cols[jj] < p
    units = _units(_take(free, cols, True), grouped, feat)
    sub, it, _, _, last = solve(
        _take(Xt, cols, 1.0), _take(Phi, cols, 1.0), off, yrow, w, W, kind,
        _take(ridge1, cols, alpha), _take(lam1, cols, alpha), grouped, units, start, settings,
    )  # fmt: skip
    for a in range(Phi.shape[0]):
        for jj in range(cols.size):
            Phi[a, cols[jj]] = sub[a, jj]
    return it, last


@jit
def strong_set(keep, score, lam, alpha, prev):
    """Sequential strong rule (Tibshirani et al. 2012): feature ``j`` enters the fit at
    ``alpha`` when its score at the previous solution is at least ``lam_j (2 alpha -
    prev)`` (``lam``: the lasso weights at alpha 1)."""
    for j in range(keep.size):
        keep[j] = score[j] >= lam[j] * (2 * alpha - prev)


@jit
def add_violators(keep, score, threshold, slack):
    """Add to ``keep`` the left-out features whose score exceeds ``threshold + slack`` (the
    KKT check after a fit on the strong set); whether any was added."""
    grow = False
    for j in range(keep.size):
        if not keep[j] and score[j] > threshold[j] + slack[j]:
            keep[j] = True
            grow = True
    return grow


@jit
def path(Xt, Phi, off, yrow, w, W, kind, ridge1, lam1, weights, ratio, grouped, free0, alphas,
         mean, scale, fit_intercept, settings):  # fmt: skip
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
    score = _scores(G, Phi, 0.0 * ridge1, mean, scale, fit_intercept, grouped)
    prev, last_cols, last = alphas[0], np.zeros(0, dtype=np.int64), (0.0, G, np.empty((0, 0)))
    keep = np.empty(p, dtype=np.bool_)
    for i in range(k):
        alpha = alphas[i]
        strong_set(keep, score, ratio * weights, alpha, prev)
        while True:
            free, cols = _free_columns(free0, keep, p)
            for j in range(p):
                if not keep[j]:
                    for a in range(m):
                        Phi[a, j] = 0.0
            start = last if _same(cols, last_cols) else (0.0, G, np.empty((0, 0)))
            if cols.size:
                it, last = _fit_alpha(Xt, Phi, off, yrow, w, W, kind, alpha, ridge1, lam1,
                                      grouped, free, cols, p, start, settings)  # fmt: skip
                iters[i] += it
            last_cols = cols
            loss, G, _ = _pass(Xt, Phi, off, yrow, w, W, kind, False)
            score = _scores(G, Phi, alpha * ridge1, mean, scale, fit_intercept, grouped)
            if not add_violators(keep, score, alpha * ratio * weights, settings[0] * scale):
                break
        out[i] = Phi
        losses[i] = loss
        prev = alpha
    return out, losses, iters
