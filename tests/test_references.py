"""Against independent references: statsmodels (unpenalised MLE) and scikit-learn (L2), plus
the K = 2 softmax == binary identity."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as smapi
from sklearn.linear_model import LogisticRegression as SkLogistic

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo

from .conftest import make_data


def sm_logit(X, y):
    return (
        smapi.Logit(y, smapi.add_constant(X))
        .fit(method="newton", disp=0, tol=1e-12, maxiter=100)
        .params
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_mle_equals_statsmodels_logit(seed):
    X, y = make_data(n=400, p=5, n_classes=2, seed=seed)
    ref = sm_logit(X, y)
    for solver in ("newton", "lbfgs"):
        m = sl.LogisticRegression(solver=solver).fit(X, y)
        np.testing.assert_allclose(m.intercept_[0], ref[0], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(m.coef_[0], ref[1:], rtol=1e-6, atol=1e-8)


def test_admissions_equals_statsmodels_logit():
    df = load_admissions()
    X = df[["gre", "gpa", "rank_2", "rank_3", "rank_4"]]
    ref = sm_logit(X, df["admit"])
    m = sl.LogisticRegression().fit(X, df["admit"])
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_[0]], ref.values, rtol=1e-6)
    assert list(m.feature_names_in_) == list(X.columns)


def sm_mnlogit(X, codes):
    res = smapi.MNLogit(codes, smapi.add_constant(X)).fit(
        method="newton", disp=0, tol=1e-12, maxiter=100
    )
    return np.asarray(res.params).T  # (K-1, 1 + p): intercept first


@pytest.mark.parametrize("seed", [3, 4])
def test_softmax_mle_equals_statsmodels_mnlogit(seed):
    X, y = make_data(n=600, p=3, n_classes=4, seed=seed)
    ref = sm_mnlogit(X, y)
    for solver in ("newton", "lbfgs"):
        m = sl.SoftmaxRegression(solver=solver).fit(X, y)
        np.testing.assert_allclose(m.intercept_, ref[:, 0], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(m.coef_, ref[:, 1:], rtol=1e-6, atol=1e-8)


def test_hsbdemo_equals_statsmodels_mnlogit_with_string_labels():
    df = load_hsbdemo()
    X = df[["write", "ses_middle", "ses_high"]]
    m = sl.SoftmaxRegression().fit(X, df["prog"])
    assert list(m.classes_) == ["academic", "general", "vocation"]
    assert m.reference_ == "academic"
    ref = sm_mnlogit(X, pd.Categorical(df["prog"]).codes)
    np.testing.assert_allclose(np.column_stack([m.intercept_, m.coef_]), ref, rtol=1e-6)


def sk_fit(X, y, alpha, **kw):
    C = 1.0 / (len(y) * alpha)
    return SkLogistic(C=C, tol=1e-12, max_iter=10_000, **kw).fit(X, y)


@pytest.mark.parametrize("alpha", [0.01, 0.3])
def test_binary_l2_equals_scikit_learn(alpha):
    X, y = make_data(n=500, p=4, n_classes=2, seed=5)
    ref = sk_fit(X, y, alpha)
    for solver in ("newton", "lbfgs"):
        m = sl.LogisticRegression(penalty="l2", alpha=alpha, solver=solver).fit(X, y)
        np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(m.intercept_, ref.intercept_, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("alpha", [0.01, 0.3])
def test_multinomial_l2_equals_scikit_learn_symmetric(alpha):
    X, y = make_data(n=600, p=3, n_classes=3, seed=6)
    ref = sk_fit(X, y, alpha)
    m = sl.SoftmaxRegression(reference=None, penalty="l2", alpha=alpha).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    ref_b = ref.intercept_ - ref.intercept_.mean()
    np.testing.assert_allclose(m.intercept_, ref_b, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
@pytest.mark.parametrize("kw", [{}, {"penalty": "l2", "alpha": 0.02}])
def test_softmax_with_two_classes_equals_logistic(solver, kw):
    X, y = make_data(n=500, p=4, n_classes=2, seed=8)
    w = np.random.default_rng(0).uniform(0.5, 2, size=500)
    off = np.random.default_rng(1).normal(size=500) * 0.3
    binary = sl.LogisticRegression(solver="newton", **kw).fit(X, y, sample_weight=w, offset=off)
    soft = sl.SoftmaxRegression(solver=solver, tol=1e-10, **kw).fit(
        X, y, sample_weight=w, offset=off
    )
    np.testing.assert_allclose(soft.coef_, binary.coef_, atol=1e-8, rtol=0)
    np.testing.assert_allclose(soft.intercept_, binary.intercept_, atol=1e-8, rtol=0)
    np.testing.assert_allclose(
        soft.predict_proba(X, offset=off), binary.predict_proba(X, offset=off), atol=1e-9
    )
    np.testing.assert_allclose(
        soft.decision_function(X, offset=off), binary.decision_function(X, offset=off), atol=1e-7
    )


def test_symmetric_two_class_coefficients_are_plus_minus_half_binary():
    X, y = make_data(n=500, p=4, n_classes=2, seed=9)
    binary = sl.LogisticRegression().fit(X, y)
    sym = sl.SoftmaxRegression(reference=None).fit(X, y)
    assert sym.coef_.shape == (2, 4)
    np.testing.assert_allclose(sym.coef_[1], binary.coef_[0] / 2, atol=1e-8)
    np.testing.assert_allclose(sym.coef_[0], -binary.coef_[0] / 2, atol=1e-8)
    np.testing.assert_allclose(
        sym.intercept_, [-binary.intercept_[0] / 2, binary.intercept_[0] / 2], atol=1e-8
    )
    adam = sl.SoftmaxRegression(
        reference=None, solver="adam", tol=1e-8, max_iter=20_000, random_state=0
    ).fit(X, y)
    np.testing.assert_allclose(adam.coef_, sym.coef_, rtol=1e-4, atol=1e-5)


def test_symmetric_and_reference_parameterisations_map_onto_each_other(multi_data):
    X, y = multi_data
    ref = sl.SoftmaxRegression().fit(X, y)
    sym = sl.SoftmaxRegression(reference=None).fit(X, y)
    other = sl.SoftmaxRegression(reference=2).fit(X, y)
    full = np.vstack([np.zeros(X.shape[1]), ref.coef_])
    np.testing.assert_allclose(sym.coef_, full - full.mean(axis=0), atol=1e-8)
    np.testing.assert_allclose(sym.coef_.sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(other.coef_, np.delete(full - full[2], 2, axis=0), atol=1e-8)
    for m in (sym, other):
        np.testing.assert_allclose(m.predict_proba(X), ref.predict_proba(X), atol=1e-9)
