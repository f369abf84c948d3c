r"""Compiled kernels of the objective's passes: the binary model's fused chunk pass.

One loop over the rows of a dense chunk reads each row of ``X`` once and, from it, forms the
linear predictor :math:`\eta_i = x_i^T\beta + b + o_i`, the loss :math:`\ell_i`, the
gradient :math:`\sum_i w_i g_i [x_i, 1]` and, for a Hessian pass, the row
:math:`\sqrt{w_i h_i}\,[x_i - c, 1]` of the scaled design whose Gram matrix (one BLAS
``syrk``, outside) is the chunk's Hessian. The arithmetic is that of
:func:`softlogit.numerics.binary_cross_entropy` (one exponential :math:`e^{-|u|}`,
:math:`u = (1 - 2y)\eta`); only the order of the sums differs from the numpy route
(:meth:`softlogit.model.objective.Objective._chunk_stats`, kept as the reference).

Imported lazily (by the objective, on the first dense binary pass): importing numba costs
about 0.3 s.
"""

from __future__ import annotations

import math

import numpy as np

from ..compiled import jit

__all__ = ["binary_chunk_pass"]


#: Rows whose gradient terms are summed apart before joining the chunk's sum (a two-level
#: sum: rounding grows with ``BLOCK + rows / BLOCK``, not with the rows).
BLOCK = 64


@jit
def _binary_pass(X, y, w, beta, intercept, offset, thresholds, center, grad, Z):  # pragma: no cover
    n, p = X.shape
    has_offset = offset.shape[0] == n
    has_center = center.shape[0] == p
    want_z = Z.shape[0] == n
    fi = grad.shape[0] > p
    value = 0.0  # Neumaier's compensated sum: the value judges line-search steps
    carry = 0.0
    near0 = 0.0
    near1 = 0.0
    gint = 0.0
    acc = np.zeros(p)
    part = np.zeros(p)
    for start in range(0, n, BLOCK):
        part[:] = 0.0
        gpart = 0.0
        for i in range(start, min(start + BLOCK, n)):
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            j = 0
            while j + 4 <= p:
                s0 += X[i, j] * beta[j]
                s1 += X[i, j + 1] * beta[j + 1]
                s2 += X[i, j + 2] * beta[j + 2]
                s3 += X[i, j + 3] * beta[j + 3]
                j += 4
            while j < p:
                s0 += X[i, j] * beta[j]
                j += 1
            eta = ((s0 + s1) + (s2 + s3)) + intercept
            if has_offset:
                eta += offset[i]
            sign = 1.0 - 2.0 * (y[i] == 1)
            u = sign * eta
            e = math.exp(-abs(u))
            r = 1.0 / (1.0 + e)
            loss = max(u, 0.0) + math.log1p(e)
            g = sign * r if u > 0 else sign * (e * r)
            wi = w[i]
            term = wi * loss
            total = value + term
            if abs(value) >= abs(term):
                carry += (value - total) + term
            else:
                carry += (term - total) + value
            value = total
            if wi > 0:
                if loss < thresholds[0]:
                    near0 += 1.0
                if loss < thresholds[1]:
                    near1 += 1.0
            gw = g * wi
            for k in range(p):
                part[k] += gw * X[i, k]
            gpart += gw
            if want_z:
                s = math.sqrt(wi * (e * r * r))
                if has_center:
                    for k in range(p):
                        Z[i, k] = s * (X[i, k] - center[k])
                else:
                    for k in range(p):
                        Z[i, k] = s * X[i, k]
                if fi:
                    Z[i, p] = s
        for k in range(p):
            acc[k] += part[k]
        gint += gpart
    grad[:p] = acc
    if fi:
        grad[p] = gint
    return value + carry, near0, near1


_EMPTY = np.empty(0)
_EMPTY_Z = np.empty((0, 0))


def binary_chunk_pass(X, y, w, beta, intercept, offset, thresholds, center, fit_intercept, Z=None):
    """Summed weighted loss, the counts of rows with loss below each of the two
    ``thresholds``, and the gradient ``(p + fit_intercept,)`` of one dense chunk; with
    ``Z`` (``(rows, p + fit_intercept)``, C order) also fills it with the scaled design
    ``sqrt(w h) [X - center, 1]`` (``center`` None: no centring).

    Parameters
    ----------
    X : ndarray of shape (rows, p), C-contiguous float64
    y : ndarray of shape (rows,), class codes in {0, 1}
    w : ndarray of shape (rows,), prior weights
    beta : ndarray of shape (p,); intercept : float
    offset : ndarray of shape (rows,) or None
    thresholds : sequence of two floats
    center : ndarray of shape (p,) or None
    fit_intercept : bool
    Z : ndarray or None

    Returns
    -------
    value : float
    near : ndarray of shape (2,)
    grad : ndarray of shape (p + fit_intercept,)
    """
    p = X.shape[1]
    grad = np.empty(p + bool(fit_intercept))
    value, near0, near1 = _binary_pass(  # fixed argument types: one compiled signature
        X,
        np.ascontiguousarray(y, dtype=np.int64),
        np.ascontiguousarray(w, dtype=float),
        np.ascontiguousarray(beta, dtype=float),
        float(intercept),
        _EMPTY if offset is None else np.ascontiguousarray(offset, dtype=float).reshape(-1),
        np.asarray(thresholds, dtype=float),
        _EMPTY if center is None else np.ascontiguousarray(center, dtype=float),
        grad,
        _EMPTY_Z if Z is None else Z,
    )
    return value, np.array([near0, near1]), grad
