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
