"""The library fits scikit-learn's and R users' habits (issue 12, item 4): warnings name the
user's line, readable separation results, softlogit's own unseen-category error, offsets
required at prediction, formula models in model selection, margins of symmetric softmax."""

import warnings

import numpy as np
import pandas as pd
import pytest

import softlogit as sl
from softlogit.exceptions import CollinearityWarning, ConvergenceWarning, PerfectSeparationWarning

from .conftest import make_data


def _recorded(fn):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fn()
    return seen


def _separated():
    X = np.array([[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]])
    return X, np.array([0, 0, 0, 1, 1, 1])


# ---------------------------------------------------------------------- warnings


@pytest.mark.parametrize(
    "category, call",
    [
        (PerfectSeparationWarning, lambda: sl.LogisticRegression().fit(*_separated())),
        (
            ConvergenceWarning,
            lambda: sl.LogisticRegression(max_iter=1).fit(*make_data(n=300, seed=3)),
        ),
        (
            CollinearityWarning,
            lambda: sl.LogisticRegression().fit(
                np.repeat(make_data(n=300, p=1)[0], 2, axis=1), make_data(n=300, p=1)[1]
            ),
        ),
        (UserWarning, lambda: sl.LogisticRegression(alpha=0.5).fit(*make_data(n=200))),
        (
            UserWarning,
            lambda: (
                sl.LogisticRegression()
                .fit(*make_data(n=200, p=2))
                .wald_test("x0 = 0, x1 = 0, x0 + x1 = 0")
            ),
        ),
    ],
    ids=["separation", "convergence", "collinearity", "ignored-alpha", "redundant-restriction"],
)
def test_warnings_point_at_the_callers_line(category, call):
    seen = [w for w in _recorded(call) if issubclass(w.category, category)]
    assert seen, f"no {category.__name__}"
    for w in seen:
        assert w.filename == __file__, f"{category.__name__} attributed to {w.filename}"


def test_formula_and_softmax_warnings_point_at_the_callers_line():
    X, y = make_data(n=300, p=1, n_classes=3, seed=4)
    frame = pd.DataFrame({"a": X[:, 0], "b": 2 * X[:, 0], "y": y})
    seen = _recorded(lambda: sl.SoftmaxRegression(formula="y ~ a + b").fit(frame))
    assert [w.filename for w in seen if w.category is CollinearityWarning] == [__file__]


# ---------------------------------------------------------------------- separation_


def test_separation_result_prints_a_summary_not_the_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(569, 3))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(PerfectSeparationWarning):
        m = sl.LogisticRegression().fit(X, y)
    text = repr(m.separation_)
    assert str(m.separation_) == text
    assert "complete separation" in text and "569 rows" in text
    assert len(text) < 300 and "569," not in text and "array(" not in text
    np.testing.assert_array_equal(m.separation_.rows, np.arange(569))  # the data stay
    assert m.separation_.columns.tolist() == [0]


def test_separation_summary_cuts_long_lists():
    from softlogit.model.separation import SeparationResult

    r = SeparationResult(True, False, np.zeros((2, 31)), np.arange(40), np.arange(30), np.arange(2))
    text = repr(r)
    assert "quasi-complete separation: 40 rows" in text and "(30 in all)" in text
    assert "separated=False" in repr(SeparationResult(False, False, *([np.array([])] * 4)))


# ---------------------------------------------------------------------- unseen categories


@pytest.fixture(scope="module")
def grouped_frame():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=300),
            "g": rng.choice(list("abc"), 300),
            "h": rng.choice(["u", "v"], 300),
            "r": rng.choice([1, 2, 3], 300),
        }
    )
    frame["y"] = (rng.random(300) < 0.4).astype(int)
    return frame


@pytest.mark.parametrize(
    "formula, column, levels",
    [
        ("y ~ x + C(g)", "g", ["z", "q"]),
        ("y ~ x + h", "h", ["w"]),
        ("y ~ x + C(r)", "r", [7]),
        ("y ~ x + C(g, Treatment('b')):x", "g", ["q"]),
    ],
)
def test_unseen_category_is_softlogits_own_error(grouped_frame, formula, column, levels):
    m = sl.LogisticRegression(formula=formula).fit(grouped_frame)
    new = grouped_frame.head(len(levels) + 1).copy()
    new[column] = list(levels) + [grouped_frame[column].iloc[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no formulaic warning on the way
        with pytest.raises(ValueError, match="unseen category") as err:
            m.predict(new)
    text = str(err.value)
    assert f"column {column!r}" in text and str(levels) in text
    assert "cast to nan" not in text and "skew" not in text


def test_unseen_level_of_an_expression_has_no_formulaic_text(grouped_frame):
    m = sl.LogisticRegression(formula="y ~ C(np.round(x))").fit(grouped_frame)
    new = grouped_frame.head(2).assign(x=[50.0, 0.0])
    with pytest.raises(ValueError, match="unseen category") as err:
        m.predict(new)
    assert "50.0" in str(err.value) and "cast to nan" not in str(err.value)


# ---------------------------------------------------------------------- offsets


@pytest.mark.parametrize("K", [2, 3])
def test_a_model_fitted_with_an_offset_needs_one_to_predict(K):
    X, y = make_data(n=300, p=2, n_classes=K, seed=5)
    off = np.linspace(-1, 1, len(y))
    model = sl.LogisticRegression() if K == 2 else sl.SoftmaxRegression()
    m = model.fit(X, y, offset=off)
    assert m.has_offset_
    methods = [m.predict, m.predict_proba, m.predict_log_proba, m.decision_function]
    methods += [lambda X: m.predict_proba(X, return_ci=True), lambda X: m.score(X, y)]
    for method in methods:
        with pytest.raises(ValueError, match="fitted with an offset: pass offset="):
            method(X)
    eta = m.decision_function(X, offset=off)
    np.testing.assert_allclose(
        eta - m.decision_function(X, offset=np.zeros(len(y))),
        (off if K == 2 else np.column_stack([np.zeros_like(off)] + [off] * (K - 1))),
        atol=1e-12,
    )
    assert not sl.LogisticRegression().fit(X[:, :1], y % 2).has_offset_


def test_partial_fit_remembers_the_offset():
    X, y = make_data(n=200, p=2, seed=6)
    m = sl.LogisticRegression(solver="sgd", random_state=0)
    m.partial_fit(X, y, classes=[0, 1], offset=np.ones(len(y)))
    m.partial_fit(X, y)
    assert m.has_offset_
    with pytest.raises(ValueError, match="fitted with an offset"):
        m.predict(X)


def test_cv_scorers_see_the_offset():
    """The held-out log loss of a scikit-learn scorer equals the default CV loss (the mean
    cross-entropy), which includes the offset: so does the scorer's."""
    X, y = make_data(n=400, p=3, seed=7)
    off = np.random.default_rng(1).normal(size=len(y)) * 2
    kw = dict(penalty="l2", n_alphas=5, cv=3, random_state=0)
    default = sl.LogisticRegressionCV(**kw).fit(X, y, offset=off)
    scored = sl.LogisticRegressionCV(scoring="neg_log_loss", **kw).fit(X, y, offset=off)
    np.testing.assert_allclose(scored.cv_scores_, -default.cv_scores_, rtol=1e-9)
    assert scored.has_offset_


# ---------------------------------------------------------------------- model selection


FORMULA = "admit ~ gre + gpa + C(rank)"


def _manual_fold_scores(model, data, metric, folds):
    """Per fold: fit on the training rows, then the metric on the held-out ones."""
    out = []
    for train, test in folds.split(data, data["admit"]):
        m = sklearn_clone(model).fit(data.iloc[train])
        held = data.iloc[test]
        out.append(metric(m, held, held["admit"].to_numpy()))
    return np.array(out)


def sklearn_clone(model):
    from sklearn.base import clone

    return clone(model)


def test_cross_val_score_of_a_formula_model_with_its_data_alone(admissions):
    from sklearn.model_selection import KFold, cross_val_score

    model = sl.LogisticRegression(formula=FORMULA)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Scoring failed"
        scores = cross_val_score(model, admissions, cv=KFold(4))
    expected = _manual_fold_scores(
        model, admissions, lambda m, d, y: np.mean(m.predict(d) == y), KFold(4)
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-12)
    assert np.all(np.isfinite(scores)) and 0.5 < scores.mean() < 0.9
    m = sklearn_clone(model).fit(admissions)
    assert m.score(admissions) == m.score(admissions, admissions["admit"])


@pytest.mark.parametrize("scoring", ["accuracy", "neg_log_loss", "roc_auc"])
def test_named_scorers_with_the_response_column(admissions, scoring):
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    metrics = {
        "accuracy": lambda m, d, y: accuracy_score(y, m.predict(d)),
        "neg_log_loss": lambda m, d, y: -log_loss(y, m.predict_proba(d)),
        "roc_auc": lambda m, d, y: roc_auc_score(y, m.predict_proba(d)[:, 1]),
    }
    model = sl.LogisticRegression(formula=FORMULA)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = cross_val_score(model, admissions, admissions["admit"], scoring=scoring, cv=3)
    expected = _manual_fold_scores(model, admissions, metrics[scoring], StratifiedKFold(3))
    np.testing.assert_allclose(scores, expected, rtol=1e-10)


def test_grid_search_over_a_formula_model(admissions):
    from sklearn.model_selection import GridSearchCV, KFold

    model = sl.SoftmaxRegression(formula="rank ~ gre + gpa + admit", penalty="l2")
    grid = {"alpha": [0.01, 0.2]}
    search = GridSearchCV(model, grid, cv=KFold(3), error_score="raise").fit(admissions)
    for alpha, mean in zip(grid["alpha"], search.cv_results_["mean_test_score"], strict=True):
        by_hand = []
        for train, test in KFold(3).split(admissions):
            m = sklearn_clone(model).set_params(alpha=alpha).fit(admissions.iloc[train])
            held = admissions.iloc[test]
            by_hand.append(np.mean(m.predict(held) == held["rank"].to_numpy()))
        assert mean == pytest.approx(np.mean(by_hand), rel=1e-12)
    scored = GridSearchCV(model, grid, scoring="neg_log_loss", error_score="raise")
    scored.fit(admissions, admissions["rank"])
    assert np.isfinite(scored.best_score_) and scored.best_score_ < 0


def test_score_without_labels_needs_a_formula(binary_data):
    X, y = binary_data
    m = sl.LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="score needs the true labels y"):
        m.score(X)
    assert m.score(X, y) == np.mean(m.predict(X) == y)


# ---------------------------------------------------------------------- relative risk ratios


@pytest.fixture(scope="module")
def four_classes():
    X, y = make_data(n=800, p=3, n_classes=4, seed=2)
    labels = np.array(["a", "b", "c", "d"])[y]
    fits = {
        ref: sl.SoftmaxRegression(reference=ref, tol=1e-12).fit(X, labels)
        for ref in (None, "first", "c")
    }
    return X, labels, fits


def test_relative_risk_ratios_of_a_symmetric_softmax(four_classes):
    _, _, fits = four_classes
    for cov_type in ("nonrobust", "HC0"):
        sym = fits[None].relative_risk_ratios(cov_type=cov_type)  # against the first class
        ref = fits["first"].relative_risk_ratios(cov_type=cov_type)
        pd.testing.assert_index_equal(sym.index, ref.index)
        np.testing.assert_allclose(sym.to_numpy(), ref.to_numpy(), rtol=1e-8)
        against_c = fits[None].relative_risk_ratios(cov_type=cov_type, base="c")
        fitted_c = fits["c"].relative_risk_ratios(cov_type=cov_type)
        pd.testing.assert_index_equal(against_c.index, fitted_c.index)
        np.testing.assert_allclose(against_c.to_numpy(), fitted_c.to_numpy(), rtol=1e-8)
    rebased = fits["first"].relative_risk_ratios(base="c")  # a reference fit, rebased
    np.testing.assert_allclose(
        rebased.to_numpy(), fits["c"].relative_risk_ratios().to_numpy(), rtol=1e-8
    )
    assert fits["c"].relative_risk_ratios(base="c").equals(fits["c"].relative_risk_ratios())
    with pytest.raises(ValueError, match="base='z' is not a class label"):
        fits[None].relative_risk_ratios(base="z")
    with pytest.raises(ValueError, match="reference=None"):  # its own K rows: not identified
        fits[None].coef_table()


def test_rebased_ratios_keep_aliased_terms_unestimated():
    X, y = make_data(n=400, p=2, n_classes=3, seed=3)
    X = np.column_stack([X, X[:, 0] - X[:, 1]])
    with pytest.warns(CollinearityWarning):
        sym = sl.SoftmaxRegression(reference=None).fit(X, y)
    with pytest.warns(CollinearityWarning):
        ref2 = sl.SoftmaxRegression(reference=2).fit(X, y)
    a, b = sym.relative_risk_ratios(base=2), ref2.relative_risk_ratios()
    assert a["ci_low"].isna().sum() == 2 and a.loc[(0, "x2"), "rrr"] == 1.0
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-7)
