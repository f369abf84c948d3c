"""The compiled coordinate-descent paths (``cd_kernels``, ``cd_dense``) give the interpreted
solver's answers: the same paths and fits on binary, multinomial (reference, symmetric,
grouped) problems with weights, offsets, penalty factors and without intercept, each
checked against the interpreted solver run with the compiled paths switched off, and the
KKT conditions of every fit verified from the gradient."""

from __future__ import annotations

import numpy as np
import pytest

import softlogit as sl
from softlogit.model.solvers import cd_dense
from softlogit.selection.path import regularization_path


def _data(n, p, k, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 3, size=p) + shift
    B = rng.normal(size=(p, k)) * (rng.random((p, 1)) < 0.5)
    eta = (X - X.mean(0)) @ B
    y = np.array([rng.choice(k, p=np.exp(e - e.max()) / np.exp(e - e.max()).sum()) for e in eta])
    return X, y


def _interpreted(monkeypatch):
    monkeypatch.setattr(cd_dense, "path_applicable", lambda objective: False)
    monkeypatch.setattr(cd_dense, "applicable", lambda *a: False)


CASES = [
    ("binary", dict(), 2, {}),
    ("binary weighted offset", dict(), 2, {"weights": True, "offset": True}),
    ("binary no intercept", dict(fit_intercept=False), 2, {}),
    ("binary factors", dict(penalty_factor=[0.0, 1, 2, 1, 1, 0.5]), 2, {}),
    ("multinomial", dict(), 3, {}),
    ("multinomial symmetric", dict(reference=None), 3, {}),
    ("multinomial grouped", dict(grouped=True), 4, {}),
    ("multinomial standardised", dict(standardize=True), 3, {"shift": 50.0}),
]


@pytest.mark.parametrize("name, params, k, extra", CASES, ids=[c[0] for c in CASES])
def test_compiled_path_equals_interpreted(monkeypatch, name, params, k, extra):
    X, y = _data(300, 6, k, seed=len(name), shift=extra.get("shift", 0.0))
    rng = np.random.default_rng(1)
    kw = {}
    if extra.get("weights"):
        kw["sample_weight"] = rng.uniform(0.2, 3, size=len(y))
    if extra.get("offset"):
        kw["offset"] = rng.normal(scale=0.5, size=len(y))
    Model = sl.LogisticRegression if k == 2 else sl.SoftmaxRegression
    model = Model(**params)
    assert cd_dense.path_applicable  # the compiled path is what runs by default here
    fast = regularization_path(X, y, model=model, l1_ratio=0.5, n_alphas=30, tol=1e-10, **kw)
    _interpreted(monkeypatch)
    slow = regularization_path(X, y, model=model, l1_ratio=0.5, n_alphas=30, tol=1e-10, **kw)
    np.testing.assert_allclose(fast.deviance, slow.deviance, rtol=1e-9)
    np.testing.assert_allclose(fast.coefs, slow.coefs, atol=1e-7)
    np.testing.assert_allclose(fast.intercepts, slow.intercepts, atol=1e-7)
    np.testing.assert_array_equal(fast.n_nonzero, slow.n_nonzero)


def _kkt(model, X, y, alpha, ratio):
    """Largest KKT violation of a binary elastic-net fit, from the gradient alone."""
    beta, b = model.coef_.ravel(), float(model.intercept_[0])
    eta = X @ beta + b
    resid = 1.0 / (1.0 + np.exp(-eta)) - y  # the test's own sigmoid: |eta| is small here
    g = X.T @ resid / len(y) + alpha * (1 - ratio) * beta
    lam = alpha * ratio
    viol = np.where(beta != 0, np.abs(g + lam * np.sign(beta)), np.maximum(np.abs(g) - lam, 0))
    return max(float(viol.max()), abs(float(resid.mean())))


def test_compiled_single_fit_meets_kkt_and_equals_interpreted(monkeypatch):
    X, y = _data(400, 8, 2, seed=3)
    params = dict(penalty="elasticnet", alpha=0.02, l1_ratio=0.7, solver="cd", tol=1e-10)
    fast = sl.LogisticRegression(**params).fit(X, y)
    assert fast.converged_ and _kkt(fast, X, y, 0.02, 0.7) < 1e-8
    assert np.any(fast.coef_ == 0) and np.any(fast.coef_ != 0)
    _interpreted(monkeypatch)
    slow = sl.LogisticRegression(**params).fit(X, y)
    np.testing.assert_allclose(fast.coef_, slow.coef_, atol=1e-9)
    np.testing.assert_array_equal(fast.coef_ == 0, slow.coef_ == 0)


SPARSE_CASES = [
    ("plain", dict(), {}),
    ("standardised weighted offset", dict(standardize=True), {"weights": True, "offset": True}),
    ("no intercept factors", dict(fit_intercept=False, penalty_factor=[0.0] + [1.0] * 59), {}),
]


@pytest.mark.parametrize("name, params, extra", SPARSE_CASES, ids=[c[0] for c in SPARSE_CASES])
def test_compiled_sparse_path_equals_interpreted(monkeypatch, name, params, extra):
    """glmnet's naive updates on sparse columns (centring carried as a shift) give the
    path the interpreted solver gives with its Hessians."""
    import scipy.sparse as sp

    from softlogit.model.solvers import cd_sparse

    rng = np.random.default_rng(7)
    X = sp.random(2000, 60, density=0.05, format="csr", random_state=2)
    X.data = rng.normal(size=X.nnz) + 1.0  # columns far from centred
    eta = X @ (rng.normal(size=60) * (rng.random(60) < 0.3)) * 2 - 0.5
    y = (rng.random(2000) < 1 / (1 + np.exp(-eta))).astype(int)
    kw = {}
    if extra.get("weights"):
        kw["sample_weight"] = rng.uniform(0.2, 3, size=len(y))
    if extra.get("offset"):
        kw["offset"] = rng.normal(scale=0.5, size=len(y))
    model = sl.LogisticRegression(**params)
    calls = []
    original = cd_sparse.path

    def spy(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(cd_sparse, "path", spy)
    fast = regularization_path(X, y, model=model, l1_ratio=0.5, n_alphas=25, tol=1e-10, **kw)
    assert calls  # the compiled sparse path ran
    monkeypatch.setattr(cd_sparse, "path_applicable", lambda objective: False)
    slow = regularization_path(X, y, model=model, l1_ratio=0.5, n_alphas=25, tol=1e-10, **kw)
    np.testing.assert_allclose(fast.deviance, slow.deviance, rtol=1e-9)
    np.testing.assert_allclose(fast.coefs, slow.coefs, atol=1e-6)
    np.testing.assert_allclose(fast.intercepts, slow.intercepts, atol=1e-6)
    np.testing.assert_array_equal(fast.n_nonzero, slow.n_nonzero)


def test_cv_folds_are_standardised_on_their_own_rows():
    """Each fold's path is the path fitted on the fold's training rows alone (as
    ``cv.glmnet``): with ``standardize=True`` the penalty uses the fold's own column scales,
    so the held-out losses equal those of a standalone path on the training rows."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    test = np.sort(rng.choice(len(y), 114, replace=False))
    train = np.setdiff1d(np.arange(len(y)), test)
    cv = sl.LogisticRegressionCV(l1_ratios=[0.5], cv=[(train, test)] * 2, standardize=True)
    cv.fit(X, y)
    alone = regularization_path(
        X[train], y[train], model=sl.LogisticRegression(standardize=True), l1_ratio=0.5,
        alphas=cv.alphas_[0], tol=1e-7,
    )  # fmt: skip
    for k in (0, 20, 60, 99):
        beta, b = alone.coefs[k][0], alone.intercepts[k][0]
        eta = X[test] @ beta + b
        loss = np.mean(np.logaddexp(0, eta) - y[test] * eta)
        assert abs(cv.cv_mean_[0][k] - loss) < 1e-6 * loss, (k, cv.cv_mean_[0][k], loss)


def test_compiled_sparse_single_fit_equals_interpreted(monkeypatch):
    import scipy.sparse as sp

    from softlogit.model.solvers import cd_sparse

    rng = np.random.default_rng(11)
    X = sp.random(1500, 40, density=0.08, format="csr", random_state=3)
    X.data = rng.normal(size=X.nnz) + 0.5
    eta = X @ (rng.normal(size=40) * (rng.random(40) < 0.4)) * 2
    y = (rng.random(1500) < 1 / (1 + np.exp(-eta))).astype(int)
    params = dict(penalty="elasticnet", alpha=0.003, l1_ratio=0.6, tol=1e-10)
    calls = []
    original = cd_sparse.solve
    monkeypatch.setattr(cd_sparse, "solve", lambda *a: calls.append(1) or original(*a))
    fast = sl.LogisticRegression(**params).fit(X, y)
    assert calls and fast.converged_
    assert np.any(fast.coef_ == 0) and np.any(fast.coef_ != 0)
    assert _kkt(fast, X.toarray(), y, 0.003, 0.6) < 1e-8
    monkeypatch.setattr(cd_sparse, "applicable", lambda objective: False)
    slow = sl.LogisticRegression(**params).fit(X, y)
    np.testing.assert_allclose(fast.coef_, slow.coef_, atol=1e-8)
    np.testing.assert_array_equal(fast.coef_ == 0, slow.coef_ == 0)
