"""Stable numerics against mpmath at extreme linear predictors."""

import mpmath
import numpy as np
import pytest

from softlogit.numerics import (
    binary_cross_entropy,
    log1pexp,
    log_expit,
    log_softmax,
    logsumexp,
    softmax,
    softmax_cross_entropy,
)

mpmath.mp.dps = 60
EXTREMES = [
    -1e4,
    -1e3,
    -800.0,
    -50.0,
    -36.9,
    -20.0,
    -1.0,
    0.0,
    1e-3,
    1.0,
    17.9,
    20.0,
    33.0,
    34.0,
    50.0,
    800.0,
    1e3,
    1e4,
]


def mp_log1pexp(x):
    return float(mpmath.log1p(mpmath.exp(mpmath.mpf(x))))


def mp_expit(x):
    return float(1 / (1 + mpmath.exp(-mpmath.mpf(x))))


def close(a, b, rtol=4e-16):
    return abs(a - b) <= rtol * abs(b) or a == b


@pytest.mark.parametrize("x", EXTREMES)
def test_log1pexp_and_log_expit_match_mpmath(x):
    assert close(float(log1pexp(np.array([x]))[0]), mp_log1pexp(x))
    assert close(float(log_expit(np.array([x]))[0]), -mp_log1pexp(-x))


@pytest.mark.parametrize("x", EXTREMES)
@pytest.mark.parametrize("y", [0, 1])
def test_binary_loss_and_gradient_exact(x, y):
    loss, grad = binary_cross_entropy(np.array([x]), np.array([y]))
    s = 1 if y == 1 else -1
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    assert close(float(loss[0]), mp_log1pexp(-s * x))
    exact_grad = mp_expit(x) - y if y == 0 else -mp_expit(-x)
    assert close(float(grad[0]), exact_grad)
    loss_w, grad_w, weight = binary_cross_entropy(np.array([x]), np.array([y]), with_weights=True)
    assert loss_w[0] == loss[0] and grad_w[0] == grad[0]
    e = mpmath.exp(-abs(mpmath.mpf(x)))
    assert close(float(weight[0]), float(e / (1 + e) ** 2), rtol=1e-15)  # sigma(x) sigma(-x)


def mp_softmax_ce(z, y):
    zs = [mpmath.mpf(v) for v in z]
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in zs))
    p = [mpmath.exp(v - lse) for v in zs]
    grad = [float(pk - (1 if k == y else 0)) for k, pk in enumerate(p)]
    return float(lse - zs[y]), grad


@pytest.mark.parametrize(
    "z",
    [
        [0.0, 1e3, -1e3],
        [1e4, 1e4 - 30, -1e4],
        [-1e3, -1e3, -1e3 + 1e-3],
        [800.0, 0.0, 799.0],
        [0.0, 35.0, 20.0],
        [-1e4, 1e4, 0.0],
    ],
)
@pytest.mark.parametrize("y", [0, 1, 2])
def test_softmax_loss_and_gradient_exact(z, y):
    loss, grad = softmax_cross_entropy(np.array([z]), np.array([y]))
    exact_loss, exact_grad = mp_softmax_ce(z, y)
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    assert close(float(loss[0]), exact_loss, rtol=1e-15)
    for k in range(3):
        assert close(float(grad[0, k]), exact_grad[k], rtol=1e-15) or abs(grad[0, k]) < 1e-300


def test_logsumexp_softmax_log_softmax_at_extremes():
    z = np.array([[1e3, 0.0, -1e3], [-1e4, -1e4, -1e4]])
    assert np.allclose(logsumexp(z, axis=1), [1e3, -1e4 + np.log(3)], rtol=1e-15)
    p = softmax(z)
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1.0)
    ls = log_softmax(z)
    assert np.all(np.isfinite(ls))
    assert ls[0, 2] == pytest.approx(-2e3, rel=1e-15)
