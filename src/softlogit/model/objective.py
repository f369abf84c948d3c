r"""The one objective every solver minimises: a linear layer under the cross-entropy.

For parameters :math:`\Theta = [B, b]` (``m`` rows; ``B`` is ``m x p``, ``b`` the intercepts)
the free logits are :math:`\eta_i = B x_i + b + o_i` and the objective is

.. math::

    f(\Theta) = \frac{1}{\sum_i w_i} \sum_i w_i\, \ell(\eta_i, y_i) + \text{penalty}(B),

the mean weighted negative log-likelihood (the cross-entropy of the neural-network view).
With :math:`g_i = \partial\ell/\partial\eta_i` and the family's working weights
:math:`H_i = \operatorname{diag}(D_i) - P_i P_i^T`,

.. math::

    \nabla_\Theta f = \frac{1}{W}\sum_i w_i\, g_i \tilde x_i^T, \qquad
    \nabla^2_\Theta f = \frac{1}{W}\sum_i w_i\, H_i \otimes \tilde x_i \tilde x_i^T,

with :math:`\tilde x_i = [x_i, 1]`. Everything is accumulated chunk by chunk through the
source's ``reduce``; the largest temporary is one chunk times ``m (p + 1)``.

Parameters are passed to every method as a flat vector ``theta``: the ``m x (p + 1)`` matrix
``[B, b]`` (``[B]`` without intercept) in row-major order.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..coordinates import Centering
from ..data.sources import chunk_rows_for, in_pieces, scratch
from .families import Bernoulli

__all__ = ["NEAR_CERTAIN", "Objective", "PassCounter", "gram_matrix", "scaled_design"]

#: Loss thresholds (1 - fitted probability of the observed class) whose row counts every pass
#: records, for the separation diagnosis.
NEAR_CERTAIN = (1e-6, 1e-12)
#: Points closer than this many machine epsilons (times the largest parameter, at least 1)
#: count as the same point for the pass cache.
SAME_POINT_ULPS = 16
EPS = np.finfo(float).eps
#: Whether dense binary passes use the compiled fused kernel (:mod:`.pass_kernels`); the
#: numpy route stays as the reference (tests compare the two).
FUSED_BINARY = True
#: ... on data of at least this many entries (rows x columns): loading the compiled code
#: costs about 0.3 s once per process, more than a small fit gains from it.
FUSED_MIN_ENTRIES = 2**23
#: The active :class:`PassCounter` objects (empty outside a ``with`` block: one truth test
#: per pass).
_COUNTERS = []


class PassCounter:
    """Counts the passes every :class:`Objective` makes over its rows inside a ``with``
    block (for benchmarks: a fit's floor is its passes times one read of ``X``).

    Attributes
    ----------
    passes : list of (int, bool)
        One entry per pass: the rows it read (a subsample's pass reads fewer) and whether it
        computed a Hessian.
    """

    def __init__(self):
        self.passes = []

    def __enter__(self):
        _COUNTERS.append(self)
        return self

    def __exit__(self, *exc):
        _COUNTERS.remove(self)

    def row_passes(self, n_rows, hessian=None):
        """Passes in units of ``n_rows`` rows read (all passes, or only those with
        (``True``) or without (``False``) a Hessian)."""
        rows = sum(r for r, h in self.passes if hessian is None or h == hessian)
        return rows / n_rows


def scaled_design(X, s, fit_intercept, out=None, center=None):
    r"""``diag(s) [X - c, 1]`` (or ``diag(s) X``) for one chunk, written into ``out`` if given
    (dense only), so that no copy of ``X`` with a ones column is ever made. ``center`` (``c``,
    dense ``X`` only) gives the centred design of :mod:`softlogit.coordinates`."""
    if sp.issparse(X):
        Xs = X.multiply(s[:, None]).tocsr()
        return sp.hstack([Xs, sp.csr_matrix(s[:, None])], format="csr") if fit_intercept else Xs
    p = X.shape[1]
    if out is None:
        out = np.empty((X.shape[0], p + fit_intercept))
    if center is None:
        np.multiply(X, s[:, None], out=out[:, :p])
    else:
        np.subtract(X, center, out=out[:, :p])
        out[:, :p] *= s[:, None]
    if fit_intercept:
        out[:, p] = s
    return out


def gram_matrix(Z):
    """``Z^T Z`` as a dense array (``syrk`` for dense ``Z``)."""
    G = Z.T @ Z
    return G.toarray() if sp.issparse(G) else G


class Objective:
    """Mean weighted cross-entropy of a linear layer plus a penalty, over a data source.

    Parameters
    ----------
    family : Bernoulli or Categorical
        Response family (fixes ``m``, the number of free logits).
    source : data source
        Offers ``reduce(fn)`` and ``batches(size, rng)`` over ``Chunk`` objects.
    penalty : NoPenalty or L2
        Penalty on the coefficients (never the intercepts).
    fit_intercept : bool
        Whether the last parameter column is an intercept.
    center : ndarray of shape (p,), None or "auto"
        Reference point of the centred coordinates in which Hessians are summed (see
        :mod:`softlogit.coordinates`); None: no centring; "auto" (default): the source's
        ``reference_point()`` (None for a source without one).
    """

    def __init__(self, family, source, penalty, fit_intercept=True, center="auto"):
        self.family = family
        self.source = source
        self.penalty = penalty
        self.fit_intercept = bool(fit_intercept)
        self.m = family.n_outputs
        self.p = source.n_features
        self.q = self.p + self.fit_intercept
        if isinstance(center, str):  # "auto"
            own = getattr(source, "reference_point", None) if self.fit_intercept else None
            center = None if own is None else own()
        self.centering = Centering(center, self.m, self.fit_intercept)
        known = getattr(source, "total_weight", None)  # sources that know it save a pass
        if known is None:
            known = source.reduce(lambda c: (float(np.sum(c.weight)),))[0]
        self.total_weight = float(known)
        self.piece_rows = chunk_rows_for(self.q, self.m)  # Hessian passes: rows x m x q
        self.pass_rows = chunk_rows_for(self.q)  # the others' temporaries: rows x q
        self._cache = {}

    def __getstate__(self):
        """Pickled (shipped to Dask workers) without the data source and the pass cache:
        a chunk function needs only the model, never the data it is mapped over."""
        state = self.__dict__.copy()
        state["source"], state["_cache"] = None, {}
        return state

    @property
    def center(self):
        """The reference point of the centred coordinates (None when there are none)."""
        return self.centering.center

    def reduce(self, fn, hessian=False):
        """``fn`` summed over the source's chunks, each worked through in cache-sized pieces
        (a no-op for in-memory chunks, which already are; it matters for Dask blocks and
        Parquet batches). ``hessian`` only tells an active :class:`PassCounter` whether the
        pass computes a Hessian."""
        for counter in _COUNTERS:
            counter.passes.append((self.source.n_rows, bool(hessian)))
        return self.source.reduce(in_pieces(fn, self.piece_rows if hessian else self.pass_rows))

    @property
    def n_params(self):
        """Length of ``theta``: ``m * (p + fit_intercept)``."""
        return self.m * self.q

    @property
    def shape(self):
        """Shape ``(m, p + fit_intercept)`` of the parameter matrix."""
        return (self.m, self.q)

    def split(self, theta):
        """Coefficients (m, p) and intercepts (m,) of a flat parameter vector."""
        T = np.asarray(theta, dtype=float).reshape(self.m, self.q)
        intercept = T[:, self.p] if self.fit_intercept else np.zeros(self.m)
        return T[:, : self.p], intercept

    def linear_predictor(self, theta, chunk):
        r"""Free logits :math:`\eta = X B^T + b + o` for one chunk, shape (rows, m)."""
        coef, intercept = self.split(theta)
        eta = np.asarray(chunk.X @ coef.T) + intercept
        if chunk.offset is not None:
            eta = eta + chunk.offset
        return eta

    def _grad_matrix(self, chunk, G):
        """``G^T [X, 1]`` for per-row logit gradients ``G`` (rows, m) -> (m, q)."""
        X = chunk.X
        gx = np.asarray(X.T @ G).T if sp.issparse(X) else G.T @ X  # the faster BLAS layout
        if self.fit_intercept:
            return np.hstack([gx, G.sum(axis=0)[:, None]])
        return gx

    def _chunk_stats(self, theta, chunk, order, cols=None):
        """Summed weighted loss, gradient (m, q) and, for ``order`` 2, Hessian of one chunk
        (over the parameters of design columns ``cols`` only, when given)."""
        if cols is None and self._fused_binary(chunk):
            return self._fused_chunk_stats(theta, chunk, order)
        eta = self.linear_predictor(theta, chunk)
        w = chunk.weight
        if order < 2:
            loss, grad = self.family.loss_gradient(eta, chunk.y)
        else:
            loss, grad, weights = self.family.loss_gradient(eta, chunk.y, with_weights=True)
        value = float(w @ loss)
        near = np.array([np.sum((loss < t) & (w > 0)) for t in NEAR_CERTAIN], dtype=float)
        if order == 0:
            return value, near
        gmat = self._grad_matrix(chunk, grad * w[:, None])
        if order == 1:
            return value, gmat, near
        return value, gmat, self._chunk_hessian(chunk, weights, cols), near

    def _fused_binary(self, chunk):
        """Whether the compiled fused pass (:mod:`.pass_kernels`) serves this chunk: the
        binary model on a dense, C-ordered float64 chunk of data that are not small
        (:data:`FUSED_MIN_ENTRIES`)."""
        X = chunk.X
        rows = getattr(self.source, "n_rows", None) or np.inf
        return (
            FUSED_BINARY
            and rows * self.q >= FUSED_MIN_ENTRIES
            and isinstance(self.family, Bernoulli)
            and isinstance(X, np.ndarray)
            and X.dtype == np.float64
            and X.flags.c_contiguous
        )

    def _fused_chunk_stats(self, theta, chunk, order):
        """:meth:`_chunk_stats` of a dense binary chunk in one compiled loop that reads
        each row of ``X`` once (linear predictor, loss, gradient and, for a Hessian pass,
        the scaled centred design), then one ``syrk`` for the Hessian."""
        from .pass_kernels import binary_chunk_pass

        coef, intercept = self.split(theta)
        Z = scratch(chunk.n_rows, self.q) if order >= 2 else None
        value, near, grad = binary_chunk_pass(
            chunk.X, chunk.y, chunk.weight, coef[0], intercept[0], chunk.offset, NEAR_CERTAIN,
            self.centering.center, self.fit_intercept, Z,
        )  # fmt: skip
        gmat = grad[None, :]
        if order == 0:
            return value, near
        if order == 1:
            return value, gmat, near
        return value, gmat, gram_matrix(Z), near

    def _design_columns(self, X, cols):
        """The feature columns of ``X`` among design columns ``cols`` (``p`` is the intercept)
        and whether the intercept is among them; all columns when ``cols`` is None."""
        if cols is None:
            return X, self.fit_intercept
        feat = cols[cols < self.p]
        if feat.size < self.p:
            X = X[:, feat]
        return X, self.fit_intercept and self.p in cols

    def _chunk_hessian(self, chunk, weights, cols=None):
        r""":math:`\sum_i w_i H_i \otimes \tilde x_i \tilde x_i^T` for one chunk, from the
        working weights ``(D, P)``: diagonal blocks ``X^T diag(w D_a) X`` minus ``Z^T Z`` with
        ``Z = [sqrt(w) P_a x]_a`` (one ``syrk`` each); over the parameters of the sorted
        design columns ``cols`` only (``p`` the intercept) when given."""
        D, P = weights
        w, m = chunk.weight, self.m
        X, fi = self._design_columns(chunk.X, cols)
        centering = self._centering(cols)
        dense = not sp.issparse(X)
        c = centering.center if dense else None
        q = X.shape[1] + fi
        H = np.zeros((m * q, m * q))
        for a in range(m):
            block = slice(a * q, (a + 1) * q)
            out = scratch(X.shape[0], q) if dense else None
            H[block, block] = gram_matrix(scaled_design(X, np.sqrt(w * D[:, a]), fi, out, c))
        if P is not None:
            sw = np.sqrt(w)
            if not dense:
                Z = sp.hstack([scaled_design(X, sw * P[:, a], fi) for a in range(m)], "csr")
            else:
                Z = scratch(X.shape[0], m * q)
                for a in range(m):
                    scaled_design(X, sw * P[:, a], fi, Z[:, a * q : (a + 1) * q], c)
            H -= gram_matrix(Z)
        return H if dense else centering.hess_to_psi(H)  # sparse: centred afterwards

    def _centering(self, cols=None):
        """The centring of the parameters of design columns ``cols`` (all when None)."""
        return self.centering if cols is None else self.centering.subset(np.asarray(cols))

    def _chunk_hessian_cross(self, chunk, weights, rows, cols):
        r"""The Hessian block between the parameters of design columns ``rows`` and of
        ``cols``: block :math:`(a, b)` is :math:`[X_r, 1]^T \operatorname{diag}(w (D_a
        \delta_{ab} - P_a P_b)) [X_c, 1]`, scaling only the (narrow) ``cols`` side."""
        D, P = weights
        w, m = chunk.weight, self.m
        Xr, fr = self._design_columns(chunk.X, rows)
        Xc, fc = self._design_columns(chunk.X, cols)
        qr, qc = Xr.shape[1] + fr, Xc.shape[1] + fc
        H = np.zeros((m * qr, m * qc))
        for a in range(m):
            for b in range(m):
                scale = -w * P[:, a] * P[:, b] if P is not None else np.zeros_like(w)
                if a == b:
                    scale = scale + w * D[:, a]
                M = scaled_design(Xc, scale, fc)
                top = np.asarray((Xr.T @ M).todense() if sp.issparse(M) else Xr.T @ M)
                if fr:
                    top = np.vstack([top, np.asarray(M.sum(axis=0)).reshape(1, -1)])
                H[a * qr : (a + 1) * qr, b * qc : (b + 1) * qc] = top
        return H

    def _penalised(self, theta, value, gmat=None, H=None):
        coef, _ = self.split(theta)
        out = [value / self.total_weight + self.penalty.value(coef)]
        if gmat is not None:
            G = gmat / self.total_weight
            G[:, : self.p] += self.penalty.gradient(coef)
            out.append(G.ravel())
        if H is not None:
            H = H / self.total_weight
            diag = np.zeros((self.m, self.q))
            diag[:, : self.p] = self.penalty.hessian_diag(coef)
            H[np.diag_indices_from(H)] += diag.ravel()
            out.append(H)
        return out[0] if len(out) == 1 else tuple(out)

    def _raw(self, theta, order, cols=None):
        """Summed (unpenalised, unscaled) loss, gradient and Hessian at ``theta``.

        The last pass is remembered (shared with :meth:`with_penalty` copies), so asking
        again at the same point for no more than was computed costs nothing: a rank check
        on the starting Hessian then the first Newton step, the standard errors at the
        solution whose last pass computed the Hessian, or the next alpha of a path starting
        where the previous one ended.
        """
        theta = np.asarray(theta, dtype=float)
        cols_key = None if cols is None else np.asarray(cols).tobytes()
        hit = self._last_pass(theta)
        # value and gradient do not depend on the Hessian's columns: any pass at theta serves
        if hit is not None and hit[1] >= order and (order < 2 or hit[0][1] == cols_key):
            return hit[2][: order + 1]
        stats = self.reduce(lambda c: self._chunk_stats(theta, c, order, cols), order == 2)
        self._cache["last"] = ((theta.copy(), cols_key), order, stats)
        return stats[: order + 1]

    def _last_pass(self, theta):
        """The remembered pass if it was made at ``theta``, up to rounding: a point that
        differs only in the last bits (a solution mapped to another layout and back) has
        sums equal to the rounding of the pass itself."""
        hit = self._cache.get("last")
        if hit is None or hit[0][0].shape != theta.shape:
            return None
        scale = max(1.0, float(np.max(np.abs(theta), initial=0.0)))
        if np.max(np.abs(hit[0][0] - theta), initial=0.0) > SAME_POINT_ULPS * EPS * scale:
            return None
        return hit

    def near_certain_rows(self, theta, threshold):
        """Rows (of positive weight) whose observed class has a loss below ``threshold``
        (fitted probability above ``1 - threshold``), for a threshold in ``NEAR_CERTAIN``:
        counted in every pass, so at a point just evaluated this costs nothing."""
        theta = np.asarray(theta, dtype=float)
        hit = self._last_pass(theta)
        if hit is None:
            self._raw(theta, 0)
            hit = self._cache["last"]
        return float(hit[2][-1][NEAR_CERTAIN.index(threshold)])

    def with_penalty(self, penalty):
        """The same data and family under another penalty, sharing the pass cache."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.penalty = penalty
        return other

    def on_source(self, source):
        """The same family, penalty, intercept and centring (the same coordinates, also
        when there is none) over other rows (e.g. a subsample)."""
        return Objective(self.family, source, self.penalty, self.fit_intercept, self.center)

    def on_subsample(self, n_rows):
        """The objective on ``n_rows`` random rows of the source (``source.subsample``), made
        once and kept with its own pass cache, so the rank check and the subsample's fit
        share passes; None when the source cannot subsample or has no more rows."""
        subsample = getattr(self.source, "subsample", None)
        kept = self._cache.get("subsample")  # shared by with_penalty copies: check penalty
        if kept is None or kept[0] != n_rows or kept[1] is not self.penalty:
            rows = None if subsample is None else subsample(n_rows)
            small = None if rows is None else self.on_source(rows)
            kept = self._cache["subsample"] = (n_rows, self.penalty, small)
        return kept[2]

    def value(self, theta):
        """Objective value at ``theta``: one pass over the data (none if just evaluated)."""
        return self._penalised(theta, self._raw(theta, 0)[0])

    def loglike(self, theta):
        r"""Log-likelihood :math:`\sum_i w_i \log p(y_i)` (the objective without penalty,
        on the sum scale)."""
        coef, _ = self.split(theta)
        return -self.total_weight * (self.value(theta) - self.penalty.value(coef))

    def value_grad(self, theta):
        """Objective value and flat gradient in one pass (the forward/backward pass)."""
        v, g = self._raw(theta, 1)
        return self._penalised(theta, v, g.copy())

    def value_grad_hess(self, theta):
        """Value, gradient and the dense Hessian (``n_params`` square) in one pass."""
        v, g, H = self._raw(theta, 2)
        f, g, H = self._penalised(theta, v, g.copy(), H.copy())
        return f, g, self.centering.hess_to_theta(H)

    def value_grad_hess_centered(self, theta):
        r"""Value, and gradient and Hessian in the centred coordinates :math:`\psi` of
        :mod:`softlogit.coordinates` (exact to rounding however far the columns lie from 0),
        in one pass; the penalty's Hessian is the same in both coordinates."""
        v, g, H = self._raw(theta, 2)
        f, g, H = self._penalised(theta, v, g.copy(), H.copy())
        return f, self.centering.grad_to_psi(g), H

    def value_grad_hess_cols(self, theta, cols):
        """Value, full gradient, and the Hessian over the parameters of the sorted design
        columns ``cols`` (indices ``0..p``, ``p`` the intercept) in every class: the
        ``m * len(cols)`` square block a coordinate-descent step on those columns needs."""
        cols = np.asarray(cols, dtype=int)
        v, g, H = self._raw(theta, 2, cols)
        f, G = self._penalised(theta, v, g.copy())
        coef, _ = self.split(theta)
        diag = np.zeros(self.shape)
        diag[:, : self.p] = self.penalty.hessian_diag(coef)
        H = self._centering(cols).hess_to_theta(H / self.total_weight)
        H[np.diag_indices_from(H)] += diag[:, cols].ravel()
        return f, G, H

    def hessian_cross(self, theta, rows, cols):
        r"""The block of the likelihood Hessian (mean scale, no penalty) between the
        parameters of design columns ``rows`` and those of ``cols`` in every class, shape
        ``(m len(rows), m len(cols))``: one pass costing :math:`n\,m^2 |rows|\,|cols|`.
        Lets a stored Hessian grow by new columns at the point where it was computed."""
        rows, cols = np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)

        def stats(chunk):
            weights = self.family.working_weights(self.linear_predictor(theta, chunk))
            return (self._chunk_hessian_cross(chunk, weights, rows, cols),)

        (H,) = self.reduce(stats, hessian=True)
        return H / self.total_weight

    def hessian_diag_centered(self, theta):
        r"""Diagonal of the Hessian (penalty included) in the centred coordinates of
        :mod:`softlogit.coordinates`, flat: :math:`\frac1W \sum_i w_i h_{i,a} (x_{ij} -
        c_j)^2` for class row ``a`` and feature ``j`` (1 for the intercept), with
        :math:`h_{i,a}` the diagonal of the working weights. One pass, about the cost of a
        gradient pass."""
        c = self.centering.center

        def stats(chunk):
            D, P = self.family.working_weights(self.linear_predictor(theta, chunk))
            h = (D if P is None else D - P * P) * chunk.weight[:, None]
            X = chunk.X
            if sp.issparse(X):
                sq = X.multiply(X)
                out = np.asarray(sq.T @ h).T
                if c is not None:  # sum of (x - c)^2 = x^2 - 2 c x + c^2
                    out += c * c * h.sum(axis=0)[:, None] - 2 * c * np.asarray(X.T @ h).T
            else:
                Xc = X if c is None else np.subtract(X, c, out=scratch(X.shape[0], X.shape[1]))
                out = ((Xc * Xc).T @ h).T
            if self.fit_intercept:
                out = np.hstack([out, h.sum(axis=0)[:, None]])
            return (out,)

        (diag,) = self.reduce(stats)
        coef, _ = self.split(theta)
        diag = diag / self.total_weight
        diag[:, : self.p] += self.penalty.hessian_diag(coef)
        return diag.ravel()

    def hessp(self, theta, vec):
        r"""Hessian-vector product :math:`\nabla^2 f(\theta)\,v` without forming the Hessian."""
        V = np.asarray(vec, dtype=float)
        vcoef, vint = self.split(V)

        def stats(chunk):
            eta = self.linear_predictor(theta, chunk)
            d_eta = np.asarray(chunk.X @ vcoef.T) + vint
            D, P = self.family.working_weights(eta)
            u = D * d_eta
            if P is not None:
                u -= P * np.sum(P * d_eta, axis=1, keepdims=True)
            return (self._grad_matrix(chunk, u * chunk.weight[:, None]),)

        (hv,) = self.reduce(stats)
        coef_v, _ = self.split(V)
        out = hv / self.total_weight
        out[:, : self.p] += self.penalty.hessian_diag(coef_v) * coef_v
        return out.ravel()

    def batch_value_grad(self, theta, chunk):
        """Value and gradient of the objective on one mini-batch (its own weighted mean)."""
        v, g, _ = self._chunk_stats(theta, chunk, 1)
        wsum = float(np.sum(chunk.weight))
        if wsum <= 0:
            return 0.0, np.zeros(self.n_params)
        coef, _ = self.split(theta)
        G = g / wsum
        G[:, : self.p] += self.penalty.gradient(coef)
        return v / wsum + self.penalty.value(coef), G.ravel()
