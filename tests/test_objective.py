"""Objective value, gradient, Hessian and Hessian-vector product against finite differences
and an independent direct computation, over binary/softmax x intercept x weights x offset x
L2, with small chunks so that summation over chunks is exercised."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp

from softlogit.data.sources import InMemorySource
from softlogit.model.families import Bernoulli, Categorical
from softlogit.model.objective import Objective
from softlogit.model.penalties import L2, NoPenalty

from .conftest import make_data

FAMILIES = {
    "binary": lambda: Bernoulli(),
    "softmax-ref0": lambda: Categorical(3, 0),
    "softmax-ref2": lambda: Categorical(3, 2),
    "softmax-symmetric": lambda: Categorical(3, None),
}


def build(family_name, intercept, weights, offset, l2, sparse=False, chunk_rows=7):
    fam = FAMILIES[family_name]()
    K = fam.n_classes
    X, y = make_data(n=40, p=3, n_classes=K, seed=3)
    rng = np.random.default_rng(4)
    w = rng.uniform(0.2, 2.0, size=40) if weights else np.ones(40)
    off = rng.normal(size=(40, K)) if offset else None
    off_free = None if off is None else fam.offset_to_free(off)
    Xs = sp.csr_matrix(X) if sparse else X
    source = InMemorySource(Xs, y, w, off_free, chunk_rows=chunk_rows)
    obj = Objective(fam, source, L2(0.3) if l2 else NoPenalty(), intercept)
    theta = rng.normal(size=obj.n_params) * 0.5
    return obj, theta, (X, y, w, off, fam)


def direct_value(obj, theta, data):
    """Mean weighted NLL + penalty computed from the full logits in one shot."""
    X, y, w, off, fam = data
    coef, intercept = obj.split(theta)
    eta = X @ coef.T + intercept
    full = fam.full_logits(eta) + (0 if off is None else off)
    nll = logsumexp(full, axis=1) - full[np.arange(len(y)), y]
    return w @ nll / w.sum() + obj.penalty.value(coef)


CASES = [
    (fam, icpt, wts, off, l2)
    for fam in FAMILIES
    for icpt in (True, False)
    for wts in (False, True)
    for off in (False, True)
    for l2 in (False, True)
]


@pytest.mark.parametrize("family_name,intercept,weights,offset,l2", CASES)
def test_gradient_and_hessian_match_finite_differences(family_name, intercept, weights, offset, l2):
    obj, theta, data = build(family_name, intercept, weights, offset, l2)
    f, g, H = obj.value_grad_hess(theta)
    assert f == pytest.approx(direct_value(obj, theta, data), rel=1e-12)
    assert f == pytest.approx(obj.value(theta), rel=1e-14)
    h = 1e-6
    eye = np.eye(theta.size)
    fd_grad = np.array(
        [(obj.value(theta + h * e) - obj.value(theta - h * e)) / (2 * h) for e in eye]
    )
    np.testing.assert_allclose(g, fd_grad, rtol=1e-6, atol=1e-8)
    fd_hess = np.array(
        [
            (obj.value_grad(theta + h * e)[1] - obj.value_grad(theta - h * e)[1]) / (2 * h)
            for e in eye
        ]
    )
    np.testing.assert_allclose(H, fd_hess, rtol=1e-5, atol=1e-7)
    v = np.random.default_rng(5).normal(size=theta.size)
    np.testing.assert_allclose(obj.hessp(theta, v), H @ v, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("family_name", list(FAMILIES))
def test_sparse_and_chunk_size_do_not_change_anything(family_name):
    obj, theta, _ = build(family_name, True, True, True, True, chunk_rows=40)
    obj_s, _, _ = build(family_name, True, True, True, True, sparse=True, chunk_rows=3)
    f, g, H = obj.value_grad_hess(theta)
    fs, gs, Hs = obj_s.value_grad_hess(theta)
    assert fs == pytest.approx(f, rel=1e-13)
    np.testing.assert_allclose(gs, g, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Hs, H, rtol=1e-12, atol=1e-14)


def test_the_pass_cache_serves_only_the_same_point_up_to_rounding():
    """A point a few ulps away reuses the last pass; any real move makes a new one."""
    obj, theta, _ = build("softmax-ref0", True, True, False, False)
    calls = []
    original = obj.source.reduce
    obj.source.reduce = lambda fn: calls.append(1) or original(fn)
    f, g, H = obj.value_grad_hess(theta)
    nudged = theta * (1 + 2 * np.finfo(float).eps)
    assert obj.value_grad_hess(nudged)[0] == f and len(calls) == 1
    assert obj.value(theta + 1e-9) != f and len(calls) == 2
    assert obj.value_grad(theta)[0] == pytest.approx(f, rel=1e-15) and len(calls) == 3


def test_subsample_objectives_follow_the_penalty_of_their_copy():
    """Penalised copies share the pass cache; each gets a subsample objective with its own
    penalty, over the same rows."""
    X, y = make_data(n=400, p=3, n_classes=2, seed=8)
    obj = Objective(Bernoulli(), InMemorySource(X, y, np.ones(400)), NoPenalty())
    small = obj.on_subsample(100)
    assert obj.on_subsample(100) is small and small.source.n_rows == 100
    ridge = obj.with_penalty(L2(0.5))
    small_ridge = ridge.on_subsample(100)
    assert small_ridge.penalty is ridge.penalty and small.penalty is obj.penalty
    np.testing.assert_array_equal(small_ridge.source.X, small.source.X)
    assert obj.on_subsample(400) is None  # no more rows than that


def test_binary_family_equals_categorical_with_two_classes():
    X, y = make_data(n=50, p=2, n_classes=2, seed=7)
    w = np.ones(50)
    theta = np.array([0.3, -0.2, 0.1])
    objs = [
        Objective(fam, InMemorySource(X, y, w), NoPenalty())
        for fam in (Bernoulli(), Categorical(2, 0))
    ]
    (f1, g1, H1), (f2, g2, H2) = (o.value_grad_hess(theta) for o in objs)
    assert f1 == pytest.approx(f2, rel=1e-14)
    np.testing.assert_allclose(g1, g2, rtol=1e-12)
    np.testing.assert_allclose(H1, H2, rtol=1e-12)


def test_objective_finite_at_extreme_linear_predictors():
    X = np.array([[1.0], [-1.0], [2.0]])
    y = np.array([1, 0, 0])
    for fam in (Bernoulli(), Categorical(2, 0), Categorical(2, None)):
        obj = Objective(fam, InMemorySource(X, y, np.ones(3)), NoPenalty(), fit_intercept=False)
        theta = np.full(obj.n_params, 1e3) if fam.n_outputs == 1 else np.array([-1e3, 1e3])
        f, g, H = obj.value_grad_hess(theta)
        assert np.isfinite(f) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))
        # rows 0 and 1 are predicted perfectly; row 2 has loss ~ 2000 (eta_gap = 2e3 * 2 / 2)
        assert f == pytest.approx((2e3 * (2 if fam.n_outputs == 2 else 1)) / 3, rel=1e-12)


def _param_index(obj, cols):
    """Flat parameter indices of design columns ``cols`` in every class."""
    return (np.arange(obj.m)[:, None] * obj.q + np.asarray(cols)[None, :]).ravel()


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("family_name", list(FAMILIES))
def test_column_and_cross_hessian_blocks_are_blocks_of_the_full_hessian(
    family_name, intercept, sparse
):
    obj, theta, _ = build(family_name, intercept, True, True, False, sparse=sparse)
    _, g_full, H = obj.value_grad_hess(theta)
    last = obj.q - 1  # the intercept column when there is one
    rows, cols = np.unique([0, 2, last]), np.unique([1, last])
    _, g, H_cols = obj.value_grad_hess_cols(theta, rows)
    np.testing.assert_allclose(g, g_full, rtol=1e-13)
    ri, ci = _param_index(obj, rows), _param_index(obj, cols)
    np.testing.assert_allclose(H_cols, H[np.ix_(ri, ri)], rtol=1e-12, atol=1e-14)
    cross = obj.hessian_cross(theta, rows, cols)
    np.testing.assert_allclose(cross, H[np.ix_(ri, ci)], rtol=1e-12, atol=1e-14)
    every = np.arange(obj.q)
    np.testing.assert_allclose(obj.hessian_cross(theta, every, every), H, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("family_name", ["binary", "softmax-ref0", "softmax-symmetric"])
def test_centred_hessian_maps_to_the_raw_one(family_name, sparse):
    """Hessians are summed over the design centred at a reference point; mapped back they
    equal the uncentred sums, and the centred ones are the Hessian of the reparameterised
    objective (checked by finite differences of the centred gradient)."""
    obj, theta, _ = build(family_name, True, True, True, True, sparse=sparse)
    c = np.array([3.0, -2.0, 0.5])
    centred = Objective(obj.family, obj.source, obj.penalty, True, center=c)
    raw = Objective(obj.family, obj.source, obj.penalty, True, center=None)
    np.testing.assert_allclose(
        centred.value_grad_hess(theta)[2], raw.value_grad_hess(theta)[2], rtol=1e-10, atol=1e-12
    )
    _, _, H_psi = centred.value_grad_hess_centered(theta)
    psi, h = centred.centering.to_psi(theta), 1e-6
    fd = np.empty_like(H_psi)
    for j in range(psi.size):
        e = np.zeros_like(psi)
        e[j] = h
        g_plus = centred.value_grad_hess_centered(centred.centering.to_theta(psi + e))[1]
        g_minus = centred.value_grad_hess_centered(centred.centering.to_theta(psi - e))[1]
        fd[:, j] = (g_plus - g_minus) / (2 * h)
    np.testing.assert_allclose(H_psi, fd, rtol=1e-5, atol=1e-7)
