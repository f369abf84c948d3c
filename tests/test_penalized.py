"""Lasso, elastic net and the grouped multinomial lasso by proximal Newton coordinate descent."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression as SkLogistic

import softlogit as sl

from .conftest import make_data


def saga(X, y, alpha, l1_ratio):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SkLogistic(
            C=1 / (len(y) * alpha), l1_ratio=l1_ratio, solver="saga", tol=1e-13, max_iter=300_000
        ).fit(X, y)


def gradient_of_mean_nll(X, y, coef, intercept, K):
    """Gradient of the mean NLL in the symmetric or binary layout, written out with numpy."""
    eta = X @ coef.T + intercept
    if K == 2 and coef.shape[0] == 1:
        p = 1 / (1 + np.exp(-eta[:, 0]))
        r = (p - y)[:, None]
    else:
        P = softmax(eta, axis=1)
        r = P - np.eye(K)[y]
    return r.T @ X / len(y), r.mean(axis=0)


def kkt(X, y, model, alpha, l1_ratio, K):
    coef = model.coef_
    g, gb = gradient_of_mean_nll(X, y, coef, model.intercept_, K)
    g = g + alpha * (1 - l1_ratio) * coef
    lam = alpha * l1_ratio
    viol = np.where(coef != 0, np.abs(g + lam * np.sign(coef)), np.maximum(np.abs(g) - lam, 0))
    return max(viol.max(), np.abs(gb).max())


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.1])
@pytest.mark.parametrize("sparse", [False, True])
def test_binary_elastic_net_equals_saga_and_meets_kkt(l1_ratio, sparse):
    X, y = make_data(n=400, p=6, n_classes=2, seed=41)
    Xin = sp.csr_matrix(X) if sparse else X
    alpha = 0.03
    m = sl.LogisticRegression(penalty="elasticnet", l1_ratio=l1_ratio, alpha=alpha, tol=1e-10).fit(
        Xin, y
    )
    ref = saga(Xin, y, alpha, l1_ratio)
    assert m.converged_ and m.solver_ == "cd"
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-5)
    np.testing.assert_allclose(m.intercept_, ref.intercept_, atol=1e-5)
    assert kkt(X, y, m, alpha, l1_ratio, 2) < 1e-7
    if l1_ratio == 1.0:
        assert np.sum(m.coef_ == 0.0) >= 1  # exact zeros


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("sparse", [False, True])
def test_multinomial_elastic_net_equals_saga(l1_ratio, sparse):
    X, y = make_data(n=500, p=5, n_classes=3, seed=42)
    Xin = sp.csr_matrix(X) if sparse else X
    alpha = 0.01
    m = sl.SoftmaxRegression(
        reference=None, penalty="elasticnet", l1_ratio=l1_ratio, alpha=alpha, tol=1e-10
    ).fit(Xin, y)
    ref = saga(Xin, y, alpha, l1_ratio)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-5)
    np.testing.assert_allclose(m.intercept_, ref.intercept_ - ref.intercept_.mean(), atol=1e-5)
    assert kkt(X, y, m, alpha, l1_ratio, 3) < 1e-7
    assert np.sum(m.coef_ == 0.0) >= 1


def test_reference_parameterisation_lasso_meets_kkt():
    X, y = make_data(n=500, p=5, n_classes=3, seed=43)
    alpha = 0.02
    m = sl.SoftmaxRegression(penalty="l1", alpha=alpha, tol=1e-10).fit(X, y)
    full = np.vstack([np.zeros(5), m.coef_])
    b = np.r_[0.0, m.intercept_]
    g, gb = gradient_of_mean_nll(X, y, full, b, 3)
    g, gb = g[1:], gb[1:]
    coef = m.coef_
    viol = np.where(coef != 0, np.abs(g + alpha * np.sign(coef)), np.maximum(np.abs(g) - alpha, 0))
    assert max(viol.max(), np.abs(gb).max()) < 1e-7
    assert np.any(coef == 0)


def test_grouped_lasso_drops_features_for_all_classes():
    X, y = make_data(n=500, p=6, n_classes=3, seed=44, scale=0.5)
    X[:, 4:] = np.random.default_rng(0).normal(size=(500, 2))  # pure noise columns
    alpha = 0.03
    m = sl.SoftmaxRegression(penalty="l1", alpha=alpha, grouped=True, tol=1e-9).fit(X, y)
    zero_cols = np.all(m.coef_ == 0, axis=0)
    assert zero_cols.any() and np.array_equal(zero_cols, np.all(m.coef_ == 0, axis=0))
    assert not np.any((m.coef_ == 0).any(axis=0) & ~zero_cols)  # no partial zeros
    full = np.vstack([np.zeros(6), m.coef_])
    g, _ = gradient_of_mean_nll(X, y, full, np.r_[0.0, m.intercept_], 3)
    g = g[1:]
    for j in range(6):
        norm = np.linalg.norm(m.coef_[:, j])
        if norm > 0:
            np.testing.assert_allclose(g[:, j], -alpha * m.coef_[:, j] / norm, atol=1e-6)
        else:
            assert np.linalg.norm(g[:, j]) <= alpha + 1e-7
    big = sl.SoftmaxRegression(penalty="l1", alpha=5.0, grouped=True).fit(X, y)
    assert np.all(big.coef_ == 0)


def test_standardize_penalises_standardised_coefficients():
    X, y = make_data(n=400, p=4, n_classes=2, seed=45)
    X = X * np.array([1.0, 10.0, 0.1, 3.0]) + 5.0
    alpha = 0.02
    m = sl.LogisticRegression(
        penalty="elasticnet", l1_ratio=0.7, alpha=alpha, standardize=True, tol=1e-10
    ).fit(X, y)
    mu, sd = X.mean(axis=0), X.std(axis=0)
    z = sl.LogisticRegression(penalty="elasticnet", l1_ratio=0.7, alpha=alpha, tol=1e-10).fit(
        (X - mu) / sd, y
    )
    np.testing.assert_allclose(m.coef_, z.coef_ / sd, atol=1e-7)
    np.testing.assert_allclose(m.intercept_, z.intercept_ - (z.coef_ / sd) @ mu, atol=1e-7)


def test_penalty_factor_zero_leaves_a_feature_unpenalised():
    X, y = make_data(n=400, p=4, n_classes=2, seed=46)
    m = sl.LogisticRegression(penalty="l1", alpha=0.5, penalty_factor=[0, 1, 1, 1]).fit(X, y)
    assert m.coef_[0, 0] != 0 and np.all(m.coef_[0, 1:] == 0)
    g, _ = gradient_of_mean_nll(X, y, m.coef_, m.intercept_, 2)
    assert abs(g[0, 0]) < 1e-7


def test_lasso_models_refuse_standard_errors_but_summarise():
    X, y = make_data(n=300, p=3, n_classes=2, seed=47)
    m = sl.LogisticRegression(penalty="l1", alpha=0.01).fit(X, y)
    with pytest.raises(ValueError, match="no standard errors after lasso"):
        m.coef_table()
    text = str(m.summary())
    assert "no standard errors after selection" in text and "std_err" not in text
    assert "Prob > chi2" in text and "n/a (lasso)" in text  # no naive LR p-value either
    ridge = sl.LogisticRegression(penalty="l2", alpha=0.01).fit(X, y)
    assert np.all(np.isfinite(ridge.coef_table()["std_err"]))


def test_l1_objective_and_loss_curve():
    X, y = make_data(n=300, p=3, n_classes=2, seed=48)
    m = sl.LogisticRegression(penalty="l1", alpha=0.02).fit(X, y)
    g, gb = gradient_of_mean_nll(X, y, m.coef_, m.intercept_, 2)
    eta = X @ m.coef_[0] + m.intercept_[0]
    nll = np.mean(np.logaddexp(0, eta) - y * eta)
    assert m.objective(X, y) == pytest.approx(nll + 0.02 * np.abs(m.coef_).sum(), rel=1e-12)
    assert m.loss_curve_[-1] == pytest.approx(m.objective(X, y), rel=1e-12)
    assert np.all(np.diff(m.loss_curve_) <= 1e-15)


def test_alpha_without_a_penalty_is_not_silently_ignored():
    X, y = make_data(n=200, p=2, seed=61)
    with pytest.warns(UserWarning, match="alpha=0.5 is ignored with penalty=None"):
        sl.LogisticRegression(alpha=0.5).fit(X, y)
