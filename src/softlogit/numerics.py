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
    "softmax_cross_entropy",
]


def log1pexp(x):
    r"""Softplus, :math:`\log(1 + e^{x})`, without overflow or loss of precision.

    Uses the cut-offs of Maechler (2012): :math:`e^{x}` for :math:`x \le -37`,
    ``log1p(exp(x))`` up to 18, :math:`x + e^{-x}` up to 33.3 and :math:`x` beyond.
    This is the log-partition function of the Bernoulli family.
    """
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    a = x <= -37.0
    b = (x > -37.0) & (x <= 18.0)
    c = (x > 18.0) & (x <= 33.3)
    d = x > 33.3
    out[a] = np.exp(x[a])
    out[b] = np.log1p(np.exp(x[b]))
    out[c] = x[c] + np.exp(-x[c])
    out[d] = x[d]
    return out


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


def binary_cross_entropy(eta, y):
    r"""Per-row Bernoulli negative log-likelihood and its derivative in the logit.

    With :math:`s = 2y - 1`, the loss is :math:`\ell = \log(1 + e^{-s\eta})` and
    :math:`\partial \ell / \partial \eta = \sigma(\eta) - y`, computed as
    :math:`-\sigma(-\eta)` when :math:`y = 1`, so that tiny residuals keep full relative
    precision.

    Parameters
    ----------
    eta : ndarray of shape (n,)
        Linear predictor (log-odds of class 1).
    y : ndarray of shape (n,)
        Class codes in {0, 1}.

    Returns
    -------
    loss, grad : ndarray of shape (n,)
    """
    eta = np.asarray(eta, dtype=float)
    pos = np.asarray(y) == 1
    loss = log1pexp(np.where(pos, -eta, eta))
    grad = np.where(pos, -expit(-eta), expit(eta))
    return loss, grad


def softmax_cross_entropy(logits, y):
    r"""Per-row categorical negative log-likelihood and its gradient in the logits.

    The loss is :math:`\ell = \log \sum_k e^{z_k - z_y}`. With :math:`d = z - z_y` and
    :math:`m = \max_k d_k \ge 0`, it is evaluated as ``log1p(S)`` when :math:`m = 0` (the
    observed class is the most likely one) and as :math:`m + \log(e^{-m} + S)` otherwise,
    where :math:`S = \sum_{k \ne y} e^{d_k - m}`: no cancellation in either branch. The
    gradient is :math:`p - e_y`, whose observed-class entry is computed as
    :math:`-\sum_{k \ne y} p_k`.

    Parameters
    ----------
    logits : ndarray of shape (n, K)
    y : ndarray of shape (n,)
        Integer class codes in ``0..K-1``.

    Returns
    -------
    loss : ndarray of shape (n,)
    grad : ndarray of shape (n, K)
    """
    z = np.asarray(logits, dtype=float)
    rows = np.arange(z.shape[0])
    d = z - z[rows, y][:, None]
    m = np.max(d, axis=1)
    e = np.exp(d - m[:, None])
    e[rows, y] = 0.0
    s = e.sum(axis=1)
    at_max = m == 0.0
    loss = np.where(at_max, np.log1p(s), m + np.log(np.exp(-m) + s))
    p = softmax(z)
    p[rows, y] = 0.0
    p[rows, y] = -p.sum(axis=1)
    return loss, p
