"""Marginal effects: statsmodels' get_margeff as the oracle, plus checks that need no oracle
(derivatives of predict_proba, a finite-difference Jacobian, K=2 softmax == binary)."""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from softlogit import CollinearityWarning, LogisticRegression, SoftmaxRegression
from softlogit.datasets import load_admissions, load_hsbdemo
from softlogit.stats.margins import _effects_and_jacobian, _Layer, marginal_effects

from .conftest import make_data

sm = pytest.importorskip("statsmodels.api")
numdiff = pytest.importorskip("statsmodels.tools.numdiff")

RTOL = 1e-6
TIGHT = {"tol": 1e-12}  # both fits converged far enough that 1e-6 compares the effects
COLUMNS = ["dy_dx", "std_err", "z", "p_value", "ci_low", "ci_high"]
ADMIT_TERMS = ["gre", "gpa", "rank_2", "rank_3", "rank_4"]
HSB_TERMS = ["write", "ses_middle", "ses_high"]
AT_DUMMY = [(at, dummy) for at in ("overall", "mean") for dummy in (False, True)]


def sm_fit(model_class, y, X, **kwargs):
    """statsmodels fit with a constant, Newton to a tight tolerance."""
    exog = sm.add_constant(np.asarray(X, dtype=float), has_constant="add")
    return model_class(np.asarray(y), exog).fit(disp=0, method="newton", tol=1e-12, **kwargs)


def assert_frame_matches(ours, frame):
    assert list(ours.columns) == COLUMNS
    np.testing.assert_allclose(ours.to_numpy(), frame.to_numpy(), rtol=RTOL, atol=0)


def with_dummy(n, p, n_classes, seed):
    """Generated data whose last column is a 0/1 dummy."""
    X, y = make_data(n=n, p=p, n_classes=n_classes, seed=seed)
    X[:, -1] = (X[:, -1] > 0.3).astype(float)
    return X, y


@pytest.fixture(scope="module")
def admissions():
    data = load_admissions()
    formula = "admit ~ " + " + ".join(ADMIT_TERMS)
    model = LogisticRegression(formula=formula, **TIGHT).fit(data)
    return model, sm_fit(sm.Logit, data["admit"], data[ADMIT_TERMS])


@pytest.fixture(scope="module")
def hsbdemo():
    data = load_hsbdemo()
    model = SoftmaxRegression(formula="prog ~ " + " + ".join(HSB_TERMS), **TIGHT).fit(data)
    codes = np.unique(data["prog"], return_inverse=True)[1]
    return model, sm_fit(sm.MNLogit, codes, data[HSB_TERMS]), data


@pytest.fixture(scope="module")
def softmax3():
    X, y = with_dummy(500, 3, 3, seed=5)
    return X, y, SoftmaxRegression(**TIGHT).fit(X, y)


# ---------------------------------------------------------------------- statsmodels


@pytest.mark.parametrize("at, dummy", AT_DUMMY)
def test_admissions_matches_statsmodels_logit(admissions, at, dummy):
    model, res = admissions
    ours = marginal_effects(model, at=at, dummy=dummy)
    assert list(ours.index) == ADMIT_TERMS and ours.index.name == "term"
    assert_frame_matches(ours, res.get_margeff(at=at, dummy=dummy).summary_frame())


@pytest.mark.parametrize("at", ["overall", "mean"])
def test_hsbdemo_matches_statsmodels_mnlogit(hsbdemo, at):
    model, res, _ = hsbdemo
    ours = marginal_effects(model, at=at)
    assert ours.index.names == ["class", "term"]
    assert list(ours.index) == [(c, t) for c in model.classes_ for t in HSB_TERMS]
    assert_frame_matches(ours, res.get_margeff(at=at).summary_frame())


@pytest.mark.parametrize("at", ["overall", "mean"])
def test_hsbdemo_dummy_matches_statsmodels_complex_step(hsbdemo, at):
    """statsmodels' MNLogit dummy=True standard errors fail unless the number of classes
    equals the number of exog columns (a broadcasting error, statsmodels issue #4158); its
    effects with a complex-step Jacobian (how it differentiates continuous effects) are the
    reference here."""
    model, res, _ = hsbdemo
    mnl, params = res.model, res.params.ravel(order="F")
    exog = mnl.exog if at == "overall" else mnl.exog.mean(axis=0, keepdims=True)
    J, k = int(mnl.J), int(mnl.K)

    def effects(theta):
        per_row = mnl._derivative_exog(theta, exog, "dydx", np.array([2, 3]))
        return per_row.reshape(len(exog), k, J, order="F")[:, 1:].mean(axis=0).ravel(order="F")

    jac = numdiff.approx_fprime_cs(params, effects)
    se = np.sqrt(np.diag(jac @ res.cov_params() @ jac.T))
    ours = marginal_effects(model, at=at, dummy=True)
    np.testing.assert_allclose(ours["dy_dx"], effects(params), rtol=RTOL)
    np.testing.assert_allclose(ours["std_err"], se, rtol=RTOL)


@pytest.mark.parametrize("at, dummy", AT_DUMMY)
def test_generated_binary_matches_statsmodels(at, dummy):
    X, y = with_dummy(400, 3, 2, seed=4)
    model = LogisticRegression(**TIGHT).fit(X, y)
    res = sm_fit(sm.Logit, y, X)
    ours = marginal_effects(model, at=at, dummy=dummy)
    assert list(ours.index) == ["x0", "x1", "x2"]
    assert_frame_matches(ours, res.get_margeff(at=at, dummy=dummy).summary_frame())


@pytest.mark.parametrize("at, dummy", AT_DUMMY)
def test_generated_softmax_matches_statsmodels(softmax3, at, dummy):
    """Three classes, two features and the constant: J == K, the one shape for which
    statsmodels' own MNLogit dummy standard errors work."""
    X, y, _ = softmax3
    X = X[:, 1:]
    model = SoftmaxRegression(**TIGHT).fit(X, y)
    res = sm_fit(sm.MNLogit, y, X)
    assert_frame_matches(
        marginal_effects(model, at=at, dummy=dummy),
        res.get_margeff(at=at, dummy=dummy).summary_frame(),
    )


@pytest.mark.parametrize("at", ["overall", "mean"])
def test_weights_are_duplicated_rows(at):
    """Training weights (X=None) average like frequency weights: statsmodels on repeated rows."""
    X, y = with_dummy(300, 3, 2, seed=6)
    w = np.random.default_rng(0).integers(1, 4, size=y.size)
    model = LogisticRegression(**TIGHT).fit(X, y, sample_weight=w)
    res = sm_fit(sm.Logit, np.repeat(y, w), np.repeat(X, w, axis=0))
    frame = res.get_margeff(at=at, dummy=True).summary_frame()
    assert_frame_matches(marginal_effects(model, at=at, dummy=True), frame)


@pytest.mark.parametrize("cov_type", ["HC0", "cluster"])
def test_robust_covariance_matches_statsmodels(cov_type):
    X, y = make_data(n=300, p=3, n_classes=2, seed=7)
    groups = np.arange(y.size) % 17
    model = LogisticRegression(**TIGHT).fit(X, y)
    kwargs = {"cov_type": cov_type}
    if cov_type == "cluster":
        kwargs["cov_kwds"] = {"groups": groups}
    res = sm_fit(sm.Logit, y, X, **kwargs)
    ours = marginal_effects(
        model, cov_type=cov_type, groups=groups if cov_type == "cluster" else None
    )
    assert_frame_matches(ours, res.get_margeff().summary_frame())


# ---------------------------------------------------------------------- no oracle


@pytest.mark.parametrize("at, dummy", AT_DUMMY)
def test_softmax_with_two_classes_equals_logistic(at, dummy):
    X, y = with_dummy(300, 3, 2, seed=8)
    binary = marginal_effects(LogisticRegression(**TIGHT).fit(X, y), at=at, dummy=dummy)
    softmax = marginal_effects(SoftmaxRegression(**TIGHT).fit(X, y), at=at, dummy=dummy)
    np.testing.assert_allclose(softmax.loc[1].to_numpy(), binary.to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(softmax.loc[0, "dy_dx"], -binary["dy_dx"], rtol=1e-7)
    np.testing.assert_allclose(softmax.loc[0, "std_err"], binary["std_err"], rtol=1e-7)


@pytest.mark.parametrize("at, dummy", AT_DUMMY)
def test_softmax_effects_sum_to_zero_over_classes(softmax3, at, dummy):
    _, _, model = softmax3
    effects = marginal_effects(model, at=at, dummy=dummy)["dy_dx"].unstack("class")
    np.testing.assert_allclose(effects.sum(axis=1), 0.0, atol=1e-14)


@pytest.mark.parametrize("at", ["overall", "mean"])
def test_effects_are_derivatives_of_predict_proba(softmax3, at):
    X, _, model = softmax3
    rows = X if at == "overall" else X.mean(axis=0, keepdims=True)
    ours = marginal_effects(model, at=at, dummy=True)["dy_dx"].unstack("term")
    h = 1e-5
    for j, term in enumerate(["x0", "x1"]):
        up, down = rows.copy(), rows.copy()
        up[:, j] += h
        down[:, j] -= h
        diff = (model.predict_proba(up) - model.predict_proba(down)).mean(axis=0) / (2 * h)
        np.testing.assert_allclose(ours[term], diff, rtol=1e-7, atol=1e-10)
    one, zero = rows.copy(), rows.copy()
    one[:, 2], zero[:, 2] = 1.0, 0.0
    change = (model.predict_proba(one) - model.predict_proba(zero)).mean(axis=0)
    np.testing.assert_allclose(ours["x2"], change, rtol=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_jacobian_matches_central_differences(softmax3, fit_intercept):
    """The analytic Jacobian against central differences of the effects in the parameters
    (reference in the middle, so the free classes are not simply 1..K-1)."""
    X, y, _ = softmax3
    model = SoftmaxRegression(reference=1, fit_intercept=fit_intercept).fit(X, y)
    layer = _Layer.of(model)
    w = np.full(y.size, 1.0 / y.size)
    _, jac = _effects_and_jacobian(layer, X, w, np.array([2]))
    theta = np.column_stack([layer.intercept, layer.coef]) if fit_intercept else layer.coef

    def effects(t):
        T = t.reshape(theta.shape)
        coef, intercept = (T[:, 1:], T[:, 0]) if fit_intercept else (T, layer.intercept)
        moved = dataclasses.replace(layer, coef=coef, intercept=intercept)
        return _effects_and_jacobian(moved, X, w, np.array([2]))[0].ravel()

    numeric = numdiff.approx_fprime(theta.ravel(), effects, centered=True)
    np.testing.assert_allclose(jac.reshape(numeric.shape), numeric, atol=1e-8)


def test_reference_class_does_not_change_effects(softmax3):
    """Effects and delta-method errors are invariant to the parameterisation."""
    X, y, first = softmax3
    other = SoftmaxRegression(reference=2, **TIGHT).fit(X, y)
    a, b = marginal_effects(first, dummy=True), marginal_effects(other, dummy=True)
    pd.testing.assert_index_equal(a.index, b.index)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-7)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1"])
@pytest.mark.parametrize("at, dummy", AT_DUMMY)
def test_symmetric_softmax_has_the_effects_of_a_reference_fit(softmax3, at, dummy, cov_type):
    """reference=None: the same probabilities, so the same effects and errors, computed
    through the identified layout of its results."""
    X, y, first = softmax3
    symmetric = SoftmaxRegression(reference=None, **TIGHT).fit(X, y)
    a = marginal_effects(symmetric, at=at, dummy=dummy, cov_type=cov_type)
    b = marginal_effects(first, at=at, dummy=dummy, cov_type=cov_type)
    pd.testing.assert_index_equal(a.index, b.index)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-8, atol=1e-10)
    pd.testing.assert_frame_equal(
        symmetric.marginal_effects(at=at, dummy=dummy, cov_type=cov_type, kind="column"), a
    )


def test_sparse_equals_dense(softmax3):
    X, y, dense = softmax3
    sparse = SoftmaxRegression(**TIGHT).fit(sp.csr_matrix(X), y)
    for at in ("overall", "mean"):
        np.testing.assert_allclose(
            marginal_effects(sparse, at=at, dummy=True).to_numpy(),
            marginal_effects(dense, at=at, dummy=True).to_numpy(),
            rtol=1e-9,
        )


def test_new_data_and_formula_frames(hsbdemo):
    model, _, data = hsbdemo
    pd.testing.assert_frame_equal(marginal_effects(model, X=data), marginal_effects(model))
    part = marginal_effects(model, X=data.iloc[:50], at="mean")
    rows = model._design(data.iloc[:50], None, reset=False)[0]
    at_mean = pd.DataFrame(rows.mean(axis=0, keepdims=True), columns=HSB_TERMS)
    at_mean["prog"] = "general"
    np.testing.assert_allclose(
        part["dy_dx"], marginal_effects(model, X=at_mean, at="overall")["dy_dx"], rtol=1e-12
    )


def test_aliased_column_has_nan_std_err():
    X, y = make_data(n=300, p=2, n_classes=2, seed=9)
    with pytest.warns(CollinearityWarning):
        model = LogisticRegression().fit(np.column_stack([X, X[:, 0] + X[:, 1]]), y)
    table = marginal_effects(model)
    reduced = marginal_effects(LogisticRegression().fit(X, y))
    assert np.isnan(table.loc["x2", "std_err"]) and table.loc["x2", "dy_dx"] == 0.0
    np.testing.assert_allclose(table.iloc[:2].to_numpy(), reduced.to_numpy(), rtol=1e-7)


# ---------------------------------------------------------------------- errors


def test_error_paths(softmax3):
    X, y, model = softmax3
    with pytest.raises(ValueError, match="at='median' is not one of"):
        marginal_effects(model, at="median")
    with pytest.raises(ValueError, match="alpha must be in"):
        marginal_effects(model, alpha=1.5)
    with pytest.raises(ValueError, match="features"):
        marginal_effects(model, X=X[:, :2])
    with pytest.raises(ValueError, match="groups"):
        marginal_effects(model, cov_type="cluster")
    with pytest.raises(ValueError, match="not fitted"):
        marginal_effects(SoftmaxRegression())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        marginal_effects(model, alpha=0.1)


def test_estimator_method_delegates():
    data = load_admissions()
    m = LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(data)
    pd.testing.assert_frame_equal(
        m.marginal_effects(dummy=True, kind="column"), marginal_effects(m, dummy=True)
    )


def test_an_intercept_only_model_has_no_marginal_effects_and_says_so():
    m = LogisticRegression(formula="admit ~ 1").fit(load_admissions())
    with pytest.raises(ValueError, match="no features"):
        m.marginal_effects()
