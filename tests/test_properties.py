"""Invariants that must hold for any data (hypothesis)."""

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import softlogit as sl
from softlogit.model.families import Categorical

from .conftest import make_data

SETTINGS = settings(
    derandomize=True, max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def quiet_fit(model, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args, **kw)


@SETTINGS
@given(seed=st.integers(0, 10_000), K=st.integers(2, 5), scale=st.floats(0.01, 300.0))
def test_probabilities_in_unit_interval_and_sum_to_one(seed, K, scale):
    rng = np.random.default_rng(seed)
    fam = Categorical(K, None)
    eta = rng.normal(size=(20, K)) * scale
    P = fam.probabilities(eta)
    assert np.all((P >= 0) & (P <= 1))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(fam.log_probabilities(eta)), P, atol=1e-15)


@SETTINGS
@given(seed=st.integers(0, 10_000), shift=st.floats(-1e3, 1e3), K=st.integers(2, 4))
def test_shifting_all_symmetric_logits_changes_nothing(seed, shift, K):
    rng = np.random.default_rng(seed)
    fam = Categorical(K, None)
    eta = rng.normal(size=(15, K)) * 3
    y = rng.integers(0, K, 15)
    np.testing.assert_allclose(fam.probabilities(eta + shift), fam.probabilities(eta), atol=1e-12)
    np.testing.assert_allclose(fam.loglike(eta + shift, y), fam.loglike(eta, y), atol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 10_000), K=st.integers(2, 4), row=st.integers(0, 79))
def test_duplicated_row_equals_weight_two(seed, K, row):
    X, y = make_data(n=80, p=2, n_classes=K, seed=seed, scale=0.5)
    model = sl.SoftmaxRegression if K > 2 else sl.LogisticRegression
    w = np.ones(80)
    w[row] = 2.0
    weighted = quiet_fit(model(penalty="l2", alpha=0.01, tol=1e-11), X, y, sample_weight=w)
    dup = quiet_fit(
        model(penalty="l2", alpha=0.01, tol=1e-11), np.vstack([X, X[row]]), np.r_[y, y[row]]
    )
    np.testing.assert_allclose(weighted.coef_, dup.coef_, atol=1e-8)
    np.testing.assert_allclose(weighted.predict_proba(X), dup.predict_proba(X), atol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 10_000), perm=st.permutations([0, 1, 2]))
def test_permuting_class_labels_permutes_outputs(seed, perm):
    X, y = make_data(n=150, p=2, n_classes=3, seed=seed, scale=0.5)
    names = np.array(["a", "b", "c"])
    relabel = names[np.asarray(perm)]
    m1 = quiet_fit(
        sl.SoftmaxRegression(reference=None, penalty="l2", alpha=0.01, tol=1e-11), X, names[y]
    )
    m2 = quiet_fit(
        sl.SoftmaxRegression(reference=None, penalty="l2", alpha=0.01, tol=1e-11), X, relabel[y]
    )
    # class names[k] in m1 is class relabel[k] in m2; both have sorted classes_ a, b, c
    order = np.searchsorted(m2.classes_, relabel)
    np.testing.assert_allclose(m2.predict_proba(X)[:, order], m1.predict_proba(X), atol=1e-8)
    assert np.array_equal(relabel[np.searchsorted(names, m1.predict(X))], m2.predict(X))
