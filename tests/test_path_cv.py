"""Regularisation paths and cross-validation."""

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

import softlogit as sl

from .conftest import make_data


@pytest.fixture(scope="module")
def binary():
    return make_data(n=600, p=8, n_classes=2, seed=51)


def test_path_shape_sparsity_and_agreement_with_single_fits(binary):
    X, y = binary
    path = sl.regularization_path(X, y, n_alphas=40)
    assert path.coefs.shape == (40, 1, 8) and np.all(np.diff(path.alphas) < 0)
    assert np.all(path.coefs[0] == 0) and np.any(path.coefs[1] != 0)
    assert np.all(np.diff(path.n_nonzero) >= 0) and path.n_nonzero[-1] == 8
    assert np.all(np.diff(path.deviance) <= 1e-9)
    ratio = path.alphas[0] / path.alphas[-1]
    assert ratio == pytest.approx(1e4)  # glmnet's eps for n > p
    for k in (5, 20, 39):
        m = sl.LogisticRegression(penalty="l1", alpha=path.alphas[k], tol=1e-10).fit(X, y)
        np.testing.assert_allclose(path.coefs[k], m.coef_, atol=1e-6)
        np.testing.assert_allclose(path.intercepts[k], m.intercept_, atol=1e-6)
        assert path.deviance[k] == pytest.approx(-2 * m.loglike_, rel=1e-8)


def test_path_is_piecewise_smooth(binary):
    X, y = binary
    path = sl.regularization_path(X, y, n_alphas=100)
    steps = np.abs(np.diff(path.coefs[:, 0, :], axis=0)).max(axis=1)
    assert steps.max() < 0.1 * np.abs(path.coefs).max()  # no jumps between neighbours


def test_first_alpha_is_the_smallest_with_all_zero_coefficients(binary):
    X, y = binary
    path = sl.regularization_path(X, y, n_alphas=5)
    above = sl.LogisticRegression(penalty="l1", alpha=path.alphas[0] * 1.0001).fit(X, y)
    below = sl.LogisticRegression(penalty="l1", alpha=path.alphas[0] * 0.99).fit(X, y)
    assert np.all(above.coef_ == 0) and np.any(below.coef_ != 0)


@pytest.mark.parametrize("grouped", [False, True])
def test_softmax_and_grouped_paths(grouped):
    X, y = make_data(n=500, p=5, n_classes=3, seed=52)
    model = sl.SoftmaxRegression(grouped=grouped)
    path = sl.regularization_path(X, y, model=model, n_alphas=15, l1_ratio=0.8)
    assert path.coefs.shape == (15, 2, 5) and path.l1_ratio == 0.8
    assert np.all(path.coefs[0] == 0) and np.any(path.coefs[1] != 0)
    k = 10
    m = sl.SoftmaxRegression(
        penalty="elasticnet", l1_ratio=0.8, alpha=path.alphas[k], grouped=grouped, tol=1e-10
    ).fit(X, y)
    np.testing.assert_allclose(path.coefs[k], m.coef_, atol=1e-6)
    if grouped:
        zero = path.coefs == 0
        assert np.array_equal(zero.all(axis=1), zero.any(axis=1))


def test_user_alphas_and_errors(binary):
    X, y = binary
    path = sl.regularization_path(X, y, alphas=[0.001, 0.1])
    assert list(path.alphas) == [0.1, 0.001]
    with pytest.raises(ValueError, match="alphas must be"):
        sl.regularization_path(X, y, alphas=[-1.0])


def brute_force_alpha(X, y, alphas, folds):
    losses = np.zeros((len(alphas), len(folds)))
    for j, (train, test) in enumerate(folds):
        for i, alpha in enumerate(alphas):
            m = sl.LogisticRegression(penalty="l1", alpha=alpha, tol=1e-9).fit(X[train], y[train])
            P = m.predict_proba(X[test])[np.arange(len(test)), y[test]]
            losses[i, j] = -np.mean(np.log(P))
    return losses


def test_cv_picks_the_brute_force_alpha(binary):
    X, y = binary
    cv = sl.LogisticRegressionCV(n_alphas=12, cv=4, random_state=3).fit(X, y)
    folds = list(StratifiedKFold(4, shuffle=True, random_state=3).split(X, y))
    losses = brute_force_alpha(X, y, cv.alphas_[0], folds)
    np.testing.assert_allclose(cv.cv_scores_[0], losses, rtol=1e-5)
    assert cv.alpha_ == cv.alphas_[0][np.argmin(losses.mean(axis=1))]
    se = losses.std(axis=1, ddof=1) / 2
    best = np.argmin(losses.mean(axis=1))
    ok = losses.mean(axis=1) <= losses.mean(axis=1)[best] + se[best]
    assert cv.alpha_1se_ == cv.alphas_[0][ok].max() >= cv.alpha_
    ref = sl.LogisticRegression(penalty="elasticnet", l1_ratio=1.0, alpha=cv.alpha_).fit(X, y)
    np.testing.assert_allclose(cv.coef_, ref.coef_, atol=1e-10)


def test_cv_over_l1_ratios_rule_and_scorer():
    X, y = make_data(n=450, p=4, n_classes=3, seed=53)
    cv = sl.SoftmaxRegressionCV(
        n_alphas=8,
        cv=3,
        l1_ratios=[0.3, 1.0],
        rule="1se",
        random_state=0,
        scoring="accuracy",
        n_jobs=2,
    ).fit(X, y)
    assert cv.cv_mean_.shape == (2, 8) and cv.cv_se_.shape == (2, 8)
    assert cv.alphas_.shape == (2, 8) and cv.l1_ratio_ in (0.3, 1.0)
    assert cv.alpha_selected_ == cv.alpha_1se_ >= cv.alpha_
    r = list(cv.l1_ratios_).index(cv.l1_ratio_)
    assert cv.cv_mean_[r].max() == pytest.approx(cv.cv_mean_.max())
    assert cv.score(X, y) > 0.5
    with pytest.raises(ValueError, match="no standard errors after lasso"):
        cv.coef_table()


@pytest.mark.parametrize("n_classes,grouped", [(2, False), (3, False), (3, True)])
def test_path_is_the_same_with_grown_or_fresh_hessians(monkeypatch, n_classes, grouped):
    """The CD solver's Hessian reuse (grown by new columns at the stored point, or fresh at
    every step) changes the route, never the solutions."""
    from softlogit.model.solvers import cd_store

    X, y = make_data(n=400, p=12, n_classes=n_classes, seed=54)
    model = sl.SoftmaxRegression(grouped=grouped) if n_classes > 2 else None
    paths, grown = [], []
    original = cd_store.HessianStore._grow

    def counting_grow(self, objective, new):
        grown.append(new.size)
        return original(self, objective, new)

    monkeypatch.setattr(cd_store.HessianStore, "_grow", counting_grow)
    for cheap in (0.0, np.inf):
        monkeypatch.setattr(cd_store.HessianStore, "CHEAP", cheap)
        paths.append(sl.regularization_path(X, y, model=model, n_alphas=30, tol=1e-10))
        if cheap == 0.0:
            assert grown, "the stored Hessian never grew"
    np.testing.assert_allclose(paths[0].coefs, paths[1].coefs, atol=1e-7)
    np.testing.assert_allclose(paths[0].deviance, paths[1].deviance, rtol=1e-9)
