"""Firth's bias-reduced logistic regression against closed forms and a direct optimiser."""

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit, log_expit

import softlogit as sl

from .conftest import make_data


def two_by_two(a, b, c, d):
    """x = 1: a successes, b failures; x = 0: c successes, d failures."""
    x = np.r_[np.ones(a + b), np.zeros(c + d)]
    y = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)]
    return x[:, None], y


@pytest.mark.parametrize("cells", [(13, 0, 6, 14), (7, 3, 4, 9), (0, 5, 9, 2)])
def test_two_by_two_table_equals_half_cell_correction(cells):
    a, b, c, d = cells
    X, y = two_by_two(a, b, c, d)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no separation warning: Firth estimates exist
        m = sl.LogisticRegression(penalty="firth", tol=1e-12).fit(X, y)
    assert m.converged_
    np.testing.assert_allclose(
        m.coef_[0, 0], np.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5))), rtol=1e-9
    )
    np.testing.assert_allclose(m.intercept_[0], np.log((c + 0.5) / (d + 0.5)), rtol=1e-9)


def penalised_loglike(theta, X1, y):
    eta = X1 @ theta
    ll = np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta))
    w = expit(eta) * expit(-eta)
    return ll + 0.5 * np.linalg.slogdet(X1.T @ (X1 * w[:, None]))[1]


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_matches_direct_maximisation_of_the_penalised_likelihood(solver):
    X, y = make_data(n=60, p=2, n_classes=2, seed=31, scale=1.5)
    X1 = np.column_stack([X, np.ones(60)])
    direct = minimize(
        lambda t: -penalised_loglike(t, X1, y), np.zeros(3), method="BFGS", options={"gtol": 1e-10}
    ).x
    m = sl.LogisticRegression(penalty="firth", solver=solver, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(np.r_[m.coef_[0], m.intercept_], direct, rtol=1e-5, atol=1e-6)
    mle = sl.LogisticRegression().fit(X, y)
    assert np.all(np.abs(m.coef_) < np.abs(mle.coef_))  # shrunk toward zero


def test_standard_errors_are_inverse_fisher_information_at_the_estimate():
    X, y = make_data(n=80, p=2, n_classes=2, seed=32)
    m = sl.LogisticRegression(penalty="firth", tol=1e-10).fit(X, y)
    X1 = np.column_stack([np.ones(80), X])
    p = m.predict_proba(X)[:, 1]
    cov = np.linalg.inv(X1.T @ (X1 * (p * (1 - p))[:, None]))
    np.testing.assert_allclose(m.coef_table()["std_err"], np.sqrt(np.diag(cov)), rtol=1e-8)
    assert "penalty='firth'" in str(m.summary())
    assert m.loglike_ < sl.LogisticRegression().fit(X, y).loglike_


def test_finite_under_complete_separation_and_softmax_k2_agrees():
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    X, y = np.column_stack([x, rng.normal(size=40)]), (x > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = sl.LogisticRegression(penalty="firth").fit(X, y)
        s = sl.SoftmaxRegression(penalty="firth").fit(X, y)
    assert m.converged_ and np.all(np.isfinite(m.coef_)) and abs(m.coef_[0, 0]) < 50
    np.testing.assert_allclose(s.coef_, m.coef_, atol=1e-7)


def test_firth_limits_are_explained(multi_data):
    X, y = multi_data  # multinomial Firth exists since issue 13 (test_firth_multinomial.py)
    assert sl.SoftmaxRegression(penalty="firth").fit(X, y).converged_
    Xb, yb = make_data(n=50, p=2, n_classes=2, seed=1)
    with pytest.raises(ValueError, match="needs solver 'newton' or 'lbfgs'"):
        sl.LogisticRegression(penalty="firth", solver="adam").fit(Xb, yb)


# ---------------------------------------------------------------------- breast cancer


def modified_score_step(X1, y, theta):
    r"""Firth's modified score :math:`U^* = X^T[y - p + h(1/2 - p)]` as a scoring step
    :math:`I^{-1} U^*` in standard errors (scale-free), computed here from scratch."""
    p = expit(X1 @ theta)
    w = p * (1 - p)
    info_inv = np.linalg.inv(X1.T @ (X1 * w[:, None]))
    h = w * np.einsum("ij,jk,ik->i", X1, info_inv, X1)
    step = info_inv @ (X1.T @ (y - p + h * (0.5 - p)))
    return np.max(np.abs(step) / np.sqrt(np.diag(info_inv)))


@pytest.fixture(scope="module")
def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.data.set_axis([c.replace(" ", "_") for c in data.data.columns], axis=1)
    return frame.assign(y=data.target)


@pytest.mark.parametrize("as_formula", [False, True])
def test_firth_converges_on_breast_cancer_within_the_default_budget(breast_cancer, as_formula):
    """The separation warning recommends penalty='firth': on breast cancer (completely
    separated, columns from 1e-3 to 1e3) it converges with the default max_iter, from the
    array and from the formula's (Fortran-ordered) design alike, and the estimate solves
    Firth's modified score equation."""
    X, y = breast_cancer.drop(columns="y"), breast_cancer["y"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning
        if as_formula:
            formula = "y ~ " + " + ".join(X.columns)
            m = sl.LogisticRegression(penalty="firth", formula=formula).fit(breast_cancer)
        else:
            m = sl.LogisticRegression(penalty="firth").fit(X.to_numpy(), y)
    assert m.converged_ and m.n_iter_ < 100
    X1 = np.column_stack([np.ones(len(y)), X.to_numpy()])
    theta = np.r_[m.intercept_, m.coef_.ravel()]
    assert modified_score_step(X1, y, theta) < 1e-6


def test_breast_cancer_against_brglm2(breast_cancer, tmp_path):
    """R's brglm2 (type='AS_mean', Firth's adjustment) on the standardised columns: its
    estimate solves the modified score equation computed here, and so does ours. The
    penalised likelihood has several local maxima on these data (brglm2's, ours and others
    have log-likelihoods + log det I / 2 of -27.32, -27.40, ...), so the estimates differ:
    both are stationary points, neither is claimed to be the global maximum."""
    from .rscript import run_r, write_csv_for_r

    X, y = breast_cancer.drop(columns="y").to_numpy(), breast_cancer["y"].to_numpy()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    write_csv_for_r(tmp_path / "bc.csv", Z, y)
    out = run_r(
        f"d <- read.csv('{tmp_path / 'bc.csv'}')\n"
        "f <- glm(y ~ ., family=binomial, data=d, method='brglmFit', type='AS_mean',\n"
        "         control=brglmControl(maxit=2000, epsilon=1e-10))\n"
        "cat(format(c(f$converged, coef(f)), digits=17), '\\n')",
        packages=("brglm2",),
    )
    assert out[0] == 1
    Z1 = np.column_stack([np.ones(len(y)), Z])
    assert modified_score_step(Z1, y, out[1:]) < 1e-6
    m = sl.LogisticRegression(penalty="firth").fit(Z, y)
    assert m.converged_ and modified_score_step(Z1, y, np.r_[m.intercept_, m.coef_.ravel()]) < 1e-6
