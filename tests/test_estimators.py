"""scikit-learn compatibility and estimator behaviour."""

import unittest

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator

import softlogit as sl

from .conftest import make_data

# Unpenalised MLEs do not exist on the tiny p > n data sets of the sample-weight equivalence
# checks (softlogit warns about perfect separation there): fitted values then depend on how
# far the solver follows the diverging coefficients. The same checks pass with an L2 penalty.
NO_MLE = {
    "check_sample_weight_equivalence_on_dense_data": "MLE does not exist (separation)",
    "check_sample_weight_equivalence_on_sparse_data": "MLE does not exist (separation)",
}

# The CV estimator's folds see p > n data where the lasso path is solved to a KKT tolerance
# of 1e-7; the check compares decision functions to 1e-9.
CV_TOLERANCE = {
    "check_sample_weight_equivalence_on_dense_data": "path solved to KKT tolerance 1e-7",
    "check_sample_weight_equivalence_on_sparse_data": "path solved to KKT tolerance 1e-7",
}


@pytest.mark.filterwarnings("ignore::softlogit.PerfectSeparationWarning")
@pytest.mark.filterwarnings("ignore::softlogit.CollinearityWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "estimator,expected_failures",
    [
        (sl.LogisticRegression(), NO_MLE),
        (sl.SoftmaxRegression(), NO_MLE),
        (sl.LogisticRegression(penalty="l2", alpha=0.01), {}),
        (sl.SoftmaxRegression(penalty="l2", alpha=0.01), {}),
        (sl.SoftmaxRegression(reference=None, penalty="l2", alpha=0.01, solver="lbfgs"), {}),
        (sl.LogisticRegression(penalty="l1", alpha=0.01), {}),
        (sl.LogisticRegressionCV(n_alphas=5, cv=3), CV_TOLERANCE),
    ],
    ids=[
        "logistic",
        "softmax",
        "logistic-l2",
        "softmax-l2",
        "softmax-symmetric-l2",
        "logistic-l1",
        "logistic-cv",
    ],
)
def test_check_estimator(estimator, expected_failures):
    # the expected failures are skipped rather than run (they are slow for the CV estimator)
    checks = list(
        estimator_checks_generator(estimator, expected_failed_checks=expected_failures, mark="skip")
    )
    failed = []
    for est, check in checks:
        try:
            check(est)
        except (pytest.skip.Exception, unittest.SkipTest):
            continue
        except Exception as err:  # noqa: BLE001 - collect every failing check
            failed.append((getattr(check, "func", check).__name__, str(err)[:200]))
    assert not failed
    assert len(checks) > 40


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["no", "yes"]),
        np.array([False, True]),
        np.array([3, 7]),
        np.array([-1.0, 2.0]),
    ],
)
def test_labels_of_any_type(labels):
    X, y = make_data(n=200, p=2, n_classes=2, seed=3)
    m = sl.LogisticRegression().fit(X, labels[y])
    assert np.array_equal(m.classes_, np.sort(labels))
    ref = sl.LogisticRegression().fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-12)
    assert set(m.predict(X)) <= set(labels)


def test_pandas_categorical_labels_sorted():
    X, y = make_data(n=300, p=2, n_classes=3, seed=4)
    cat = pd.Series(pd.Categorical(np.array(["z", "a", "m"])[y], categories=["z", "m", "a"]))
    m = sl.SoftmaxRegression().fit(X, cat)
    assert list(m.classes_) == ["a", "m", "z"]
    assert m.reference_ == "a"
    assert m.coef_.shape == (2, 2)


def test_class_weight_dict_and_balanced_equal_explicit_weights():
    X, y = make_data(n=300, p=2, n_classes=2, seed=5)
    m = sl.LogisticRegression(class_weight={0: 3.0, 1: 1.0}).fit(X, y)
    ref = sl.LogisticRegression().fit(X, y, sample_weight=np.where(y == 0, 3.0, 1.0))
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-12)
    bal = sl.LogisticRegression(class_weight="balanced").fit(X, y)
    counts = np.bincount(y)
    w = (len(y) / (2 * counts))[y]
    ref_b = sl.LogisticRegression().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(bal.coef_, ref_b.coef_, atol=1e-12)


def test_prediction_methods_are_consistent(multi_data):
    X, y = multi_data
    m = sl.SoftmaxRegression().fit(X, y)
    P = m.predict_proba(X)
    np.testing.assert_allclose(np.exp(m.predict_log_proba(X)), P, atol=1e-14)
    D = m.decision_function(X)
    assert D.shape == (len(y), 4)
    np.testing.assert_allclose(D[:, 0], 0.0)
    assert np.array_equal(m.predict(X), m.classes_[np.argmax(P, axis=1)])
    assert m.score(X, y) == pytest.approx(np.mean(m.predict(X) == y))


def test_log_proba_finite_for_extreme_inputs(binary_data):
    X, y = binary_data
    m = sl.LogisticRegression().fit(X, y)
    far = X[:3] * 1e6
    lp = m.predict_log_proba(far)
    assert np.all(np.isfinite(lp)) and np.all(lp <= 0)
    assert np.isfinite(lp).all() and lp.min() < -1e4


def test_offset_shifts_the_linear_predictor(binary_data):
    X, y = binary_data
    m = sl.LogisticRegression().fit(X, y)
    off = np.linspace(-1, 1, len(y))
    np.testing.assert_allclose(
        m.decision_function(X, offset=off), m.decision_function(X) + off, atol=1e-12
    )
    with_off = sl.LogisticRegression().fit(X, y, offset=np.full(len(y), 0.5))
    np.testing.assert_allclose(with_off.intercept_, m.intercept_ - 0.5, atol=1e-7)
    np.testing.assert_allclose(with_off.coef_, m.coef_, atol=1e-7)


def test_public_helpers_report_and_plots_use(admissions):
    """``response_values``, ``has_lasso_penalty`` and ``selected_estimator`` are the public
    doors the report and plots go through (no private estimator methods)."""
    m = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(admissions)
    np.testing.assert_array_equal(m.response_values(admissions), admissions["admit"].to_numpy())
    with pytest.raises(ValueError, match="formula"):
        sl.LogisticRegression().fit(admissions[["gre"]], admissions["admit"]).response_values(
            admissions
        )
    assert not m.has_lasso_penalty
    assert sl.LogisticRegression(penalty="l1", alpha=0.1).has_lasso_penalty
    assert not sl.LogisticRegression(penalty="l2", alpha=0.1).has_lasso_penalty
    cv = sl.LogisticRegressionCV(l1_ratios=[0.5], n_alphas=5, cv=3).fit(
        admissions[["gre", "gpa"]], admissions["admit"]
    )
    chosen = cv.selected_estimator()
    assert type(chosen) is sl.LogisticRegression
    assert chosen.alpha == cv.alpha_selected_ and chosen.l1_ratio == cv.l1_ratio_
    np.testing.assert_allclose(
        chosen.fit(admissions[["gre", "gpa"]], admissions["admit"]).coef_, cv.coef_, rtol=1e-6
    )
