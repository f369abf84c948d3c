"""Numerically stable building blocks of the cross-entropy.

Every function here works on linear predictors of any magnitude: nothing exponentiates a raw
linear predictor, so values, gradients and probabilities stay finite and exact (to float64
rounding) for predictors of +-1e3 and far beyond.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = [
    "expit",
    "log1pexp",
    "log_expit",
    "logsumexp",
    "softmax",
    "log_softmax",
    "binary_cross_entropy",
    "scales_from_moments",
    "softmax_cross_entropy",
]


def log1pexp(x):
    r"""Softplus, :math:`\log(1 + e^{x})`, without overflow or loss of precision.

    Evaluated as ``logaddexp(0, x)``, i.e. :math:`\max(x, 0) + \operatorname{log1p}(e^{-|x|})`:
    correctly rounded for large negative ``x`` (where it equals :math:`e^{x}`) and for large
    positive ``x`` (where it equals :math:`x`). This is the log-partition function of the
    Bernoulli family.
    """
    return np.logaddexp(0.0, np.asarray(x, dtype=float))


def log_expit(x):
    r"""Log-sigmoid, :math:`\log \sigma(x) = -\log(1 + e^{-x})`, stable for any ``x``."""
    return -log1pexp(-np.asarray(x, dtype=float))


def logsumexp(z, axis=-1):
    r""":math:`\log \sum_k e^{z_k}` along ``axis`` with the maximum subtracted first.

    This is the log-partition function of the Categorical family.
    """
    z = np.asarray(z, dtype=float)
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    s = np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True)) + m
    return np.squeeze(s, axis=axis)


def softmax(z, axis=-1):
    r"""Softmax :math:`e^{z_k} / \sum_j e^{z_j}` along ``axis``, computed as ``exp(z - max z)``."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    r"""Log-softmax :math:`z_k - \log \sum_j e^{z_j}` along ``axis``."""
    z = np.asarray(z, dtype=float)
    return z - np.expand_dims(logsumexp(z, axis=axis), axis)


def binary_cross_entropy(eta, y, with_weights=False):
    r"""Per-row Bernoulli negative log-likelihood, its derivative in the logit and, with
    ``with_weights``, the working weight.

    With :math:`s = 1 - 2y` and :math:`u = s\eta` (the logit of the *other* class), the loss is
    :math:`\ell = \log(1 + e^{u}) = \max(u, 0) + \operatorname{log1p}(e^{-|u|})` and
    :math:`\partial\ell/\partial\eta = \sigma(\eta) - y = s\,\sigma(u)`, the working weight
    :math:`\sigma(\eta)\sigma(-\eta) = e^{-|u|} / (1 + e^{-|u|})^2`: all from the one
    exponential :math:`e^{-|u|} \le 1`, which never overflows, and without cancellation, so
    tiny residuals keep full relative precision.

    Parameters
    ----------
    eta : ndarray of shape (n,)
        Linear predictor (log-odds of class 1).
    y : ndarray of shape (n,)
        Class codes in {0, 1}.
    with_weights : bool
        Also return the working weights.

    Returns
    -------
    loss, grad[, weight] : ndarray of shape (n,)
    """
    eta = np.asarray(eta, dtype=float)
    sign = 1.0 - 2.0 * (np.asarray(y) == 1)
    u = sign * eta
    e = np.exp(-np.abs(u))
    r = 1.0 / (1.0 + e)
    loss = np.maximum(u, 0.0) + np.log1p(e)
    grad = sign * np.where(u > 0, r, e * r)
    if with_weights:
        return loss, grad, e * r * r
    return loss, grad


def softmax_cross_entropy(logits, y, return_proba=False):
    r"""Per-row categorical negative log-likelihood and its gradient in the logits.

    With :math:`e_k = \exp(z_k - \max_j z_j)`, :math:`e_y` the observed class's term and
    :math:`T = \sum_{k \ne y} e_k`, the loss :math:`-\log p_y = \log(1 + T/e_y)` is evaluated
    as ``log1p(T / e_y)`` (exact however small), or as :math:`\max_j z_j - z_y + \log(e_y + T)`
    when :math:`e_y` underflows (no cancellation there). The gradient is :math:`p - e_{y}`, with
    the observed-class entry computed as :math:`-T / (e_y + T)`.

    Parameters
    ----------
    logits : ndarray of shape (n, K)
    y : ndarray of shape (n,)
        Integer class codes in ``0..K-1``.
    return_proba : bool
        Also return the probabilities (n, K).

    Returns
    -------
    loss : ndarray of shape (n,)
    grad : ndarray of shape (n, K)
    proba : ndarray of shape (n, K), only with ``return_proba``
    """
    # work class-major (K, n): reductions over K short rows of length n are vectorised
    z = np.ascontiguousarray(np.asarray(logits, dtype=float).T)
    rows = np.arange(z.shape[1])
    top = z.max(axis=0)
    e = np.exp(z - top)
    e_y = e[y, rows]
    total = e.sum(axis=0)
    others = total - e_y
    exact_others = others < 0.5 * total  # observed class dominates: re-sum without it
    if np.any(exact_others):
        e[y, rows] = 0.0
        others = np.where(exact_others, e.sum(axis=0), others)
        e[y, rows] = e_y
    gap = z[y, rows] - top
    loss = np.where(gap > -700.0, np.log1p(others / np.maximum(e_y, 1e-300)), -gap + np.log(total))
    proba = e / total
    grad = proba.copy() if return_proba else proba
    grad[y, rows] = -others / total
    return (loss, grad.T, proba.T) if return_proba else (loss, grad.T)


def scales_from_moments(total, sum1, sum2, center=True):
    """Column means (zeros when not centred) and standard deviations (root mean squares)
    from the weight total and the weighted column sums of ``x`` and ``x^2``; constant
    columns get scale 1."""
    mean = sum1 / total if center else np.zeros_like(sum1)
    scale = np.sqrt(np.maximum(sum2 / total - mean * mean, 0.0))
    scale[scale <= 1e-12 * np.maximum(1.0, np.abs(mean))] = 1.0
    return mean, scale
