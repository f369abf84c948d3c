"""The compiled fused binary pass (:mod:`softlogit.model.pass_kernels`) against the numpy
route it replaces, and the pass counter the benchmarks read."""

import numpy as np
import pytest

from softlogit.data.sources import InMemorySource
from softlogit.model import objective as objective_module
from softlogit.model.families import Bernoulli, Categorical
from softlogit.model.objective import NEAR_CERTAIN, Objective, PassCounter
from softlogit.model.penalties import L2, NoPenalty


def _problem(intercept, weights, offset, far, extreme, n=300, p=6, chunk_rows=64):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(n, p)) + (1e4 if far else 0.0)
    y = (rng.random(n) < 0.4).astype(np.int64)
    w = rng.uniform(0.0, 2.0, n) if weights else np.ones(n)
    off = rng.normal(size=(n, 1)) if offset else None
    obj = Objective(Bernoulli(), InMemorySource(X, y, w, off, chunk_rows), NoPenalty(), intercept)
    theta = rng.normal(size=obj.n_params) * (40.0 if extreme else 0.3)
    if far and intercept:
        theta[-1] -= 1e4 * theta[:p].sum()  # logits of order 1 on columns far from 0
    return obj, theta


@pytest.fixture(autouse=True)
def _fused_on_small_data(monkeypatch):
    """The kernel serves only large data by default; these tests use small data."""
    monkeypatch.setattr(objective_module, "FUSED_MIN_ENTRIES", 0)


def _numpy_route(obj, monkeypatch, method, theta):
    monkeypatch.setattr(objective_module, "FUSED_BINARY", False)
    try:
        return getattr(obj.on_source(obj.source), method)(theta)
    finally:
        monkeypatch.setattr(objective_module, "FUSED_BINARY", True)


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("offset", [False, True])
@pytest.mark.parametrize("far", [False, True])
@pytest.mark.parametrize("extreme", [False, True])
def test_fused_binary_pass_equals_the_numpy_route(
    monkeypatch, intercept, weights, offset, far, extreme
):
    obj, theta = _problem(intercept, weights, offset, far, extreme)
    chunk = next(obj.source.chunks())
    assert obj._fused_binary(chunk)
    for method in ("value_grad_hess_centered", "value_grad_hess"):
        fused = getattr(obj.on_source(obj.source), method)(theta)
        ref = _numpy_route(obj, monkeypatch, method, theta)
        # both round the logits to about eps * sum_j |x_j b_j| (large far from 0: 1e4 x 40),
        # and sums of terms of the size of X's entries
        coef, intercept = obj.split(theta)
        eta_err = 1e-15 * (np.max(np.abs(obj.source.X) @ np.abs(coef[0])) + abs(intercept[0]))
        size = np.max(np.abs(obj.source.X))
        assert fused[0] == pytest.approx(ref[0], rel=1e-13, abs=10 * eta_err)
        atol = 1e-14 * size * (1 + 10 * eta_err)
        np.testing.assert_allclose(fused[1], ref[1], rtol=1e-11, atol=atol)
        atol = (1e-13 + 10 * eta_err) * np.max(np.abs(ref[2]))
        np.testing.assert_allclose(fused[2], ref[2], rtol=1e-11, atol=atol)
    for threshold in NEAR_CERTAIN:
        fresh = obj.on_source(obj.source)
        fresh.value(theta)
        assert fresh.near_certain_rows(theta, threshold) == pytest.approx(
            _count_near(obj, theta, threshold)
        )


def _count_near(obj, theta, threshold):
    X, y, w = obj.source.X, obj.source.y, obj.source.weight
    coef, intercept = obj.split(theta)
    eta = X @ coef[0] + intercept[0]
    if obj.source.offset is not None:
        eta = eta + obj.source.offset[:, 0]
    u = np.where(y == 1, -eta, eta)
    loss = np.logaddexp(0.0, u)
    return float(np.sum((loss < threshold) & (w > 0)))


def test_fused_pass_serves_only_dense_c_ordered_binary_chunks():
    rng = np.random.default_rng(2)
    X, y, w = rng.normal(size=(20, 3)), rng.integers(0, 2, 20), np.ones(20)
    binary = Objective(Bernoulli(), InMemorySource(X, y, w), L2(0.1))
    assert binary._fused_binary(next(binary.source.chunks()))
    fortran = Objective(Bernoulli(), InMemorySource(np.asfortranarray(X), y, w), L2(0.1))
    assert not fortran._fused_binary(next(fortran.source.chunks()))
    two_class = Objective(Categorical(2, 0), InMemorySource(X, y, w), L2(0.1))
    assert not two_class._fused_binary(next(two_class.source.chunks()))


def test_pass_counter_counts_rows_and_hessian_passes():
    obj, theta = _problem(True, True, False, False, False)
    with PassCounter() as counter:
        obj.value_grad(theta)
        obj.value_grad_hess(theta + 0.1)
        obj.value_grad_hess(theta + 0.1)  # the pass cache: no pass
        obj.on_subsample(100).value(theta)
    assert counter.passes == [(300, False), (300, True), (100, False)]
    assert counter.row_passes(300) == pytest.approx(2 + 1 / 3)
    assert counter.row_passes(300, hessian=True) == 1
    obj.value(theta - 0.1)
    assert len(counter.passes) == 3  # inactive outside the block
