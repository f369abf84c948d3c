"""Every figure and the report on awkward fits: overflowing ratios, infinite and NaN
interval ends, separation, lasso fits with every coefficient 0, one feature, 300 features,
20 classes, formula models with long names (a parametrised corpus), plus hypothesis-drawn
coefficient tables with inf, NaN and 1e300 entries for the forest plot."""

import base64
import warnings

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.base import BaseEstimator  # noqa: E402

import softlogit as sl  # noqa: E402
from softlogit import plotting  # noqa: E402
from softlogit.datasets import load_admissions  # noqa: E402
from softlogit.product import forest  # noqa: E402
from softlogit.product.report import make_report  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def _fit(make, *args):
    with warnings.catch_warnings():  # separation, convergence: expected of these fits
        warnings.simplefilter("ignore")
        return make().fit(*args)


def _overflow():
    df = load_admissions().assign(gre=lambda d: d.gre / 2.5e5)
    return _fit(lambda: sl.LogisticRegression(formula="admit ~ gre + gpa"), df), df, None


def _aliased():  # a collinear column: NaN standard error, NaN interval ends
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    X = pd.DataFrame({"x": x, "twice_x": 2 * x, "z": rng.normal(size=200)})
    y = (rng.random(200) < 1 / (1 + np.exp(-x))).astype(int)
    return _fit(sl.LogisticRegression, X, y), X, y


def _separated():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"x": rng.normal(size=80), "noise": rng.normal(size=80)})
    y = (X.x > 0).astype(int).to_numpy()
    return _fit(sl.LogisticRegression, X, y), X, y


def _lasso_zero():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(150, 4))
    y = rng.integers(0, 2, size=150)
    model = _fit(lambda: sl.LogisticRegression(penalty="l1", alpha=10.0), X, y)
    assert np.all(model.coef_ == 0)
    return model, X, y


def _one_feature():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 1))
    y = (rng.random(120) < 1 / (1 + np.exp(-2 * X[:, 0]))).astype(int)
    return _fit(sl.LogisticRegression, X, y), X, y


def _many_features():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1500, 300))
    y = (rng.random(1500) < 1 / (1 + np.exp(-X[:, :5].sum(axis=1)))).astype(int)
    return _fit(sl.LogisticRegression, X, y), X, y


def _twenty_classes():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2000, 3))
    B = rng.normal(size=(20, 3))
    logits = X @ B.T
    P = np.exp(logits - logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) < rng.random(2000)[:, None]).sum(axis=1)
    return _fit(sl.SoftmaxRegression, X, y), X, y


def _long_names():
    data = load_admissions()
    long_gre = "graduate_record_examinations_quantitative_and_verbal_" * 2 + "score"
    long_rank = "ranking_of_the_undergraduate_institution_" * 2 + "tier"
    data = data.rename(columns={"gre": long_gre, "rank": long_rank})
    formula = f"admit ~ {long_gre} + gpa + C({long_rank})"
    return _fit(lambda: sl.LogisticRegression(formula=formula), data), data, None


def _firth_cancer():
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame = frame.rename(columns={"target": "diagnosis"})
    formula = "diagnosis ~ " + " + ".join(frame.columns[:-1])
    return _fit(lambda: sl.LogisticRegression(formula=formula, penalty="firth"), frame), frame, None


CORPUS = {
    "overflowing ratios": _overflow,
    "NaN interval ends": _aliased,
    "separated": _separated,
    "lasso all zero": _lasso_zero,
    "one feature": _one_feature,
    "300 features": _many_features,
    "20 classes": _twenty_classes,
    "long names": _long_names,
    "firth, 30 features": _firth_cancer,
}


@pytest.fixture(scope="module", params=list(CORPUS))
def awkward(request):
    return CORPUS[request.param]()


@pytest.fixture(autouse=True)
def _drawing_warns_not(recwarn):
    """Drawing and rendering may not warn (overflow, non-finite positions, tight layout)."""
    yield
    drawn = [w for w in recwarn if "softlogit" not in str(w.filename)]
    assert not [str(w.message) for w in drawn if issubclass(w.category, (RuntimeWarning,))]
    assert not [str(w.message) for w in drawn if "matplotlib" in str(w.filename)]


def _png(ax):
    raw = base64.b64decode(plotting.figure_to_png_base64(ax))
    assert raw.startswith(PNG)


def _labels_apart(ax):
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    lo, hi = sorted(ax.get_xlim())
    boxes = sorted(
        (
            t.get_window_extent(renderer)
            for t, v in zip(ax.get_xticklabels(), ax.get_xticks(), strict=True)
            if t.get_text() and lo <= v <= hi
        ),
        key=lambda b: b.x0,
    )
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left.x1 <= right.x0, [t.get_text() for t in ax.get_xticklabels()]


def _axes():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = Figure(figsize=(6.4, 6), layout="constrained")
    FigureCanvasAgg(figure)
    return figure.subplots()


@pytest.mark.parametrize("odds_ratio", [False, True])
@pytest.mark.parametrize("standardised", [False, True])
def test_forest_plot(awkward, odds_ratio, standardised):
    model, X, _ = awkward
    ax = plotting.plot_coefficients(
        model, odds_ratio=odds_ratio, ax=_axes(), X=X if standardised else None
    )
    assert all(np.isfinite(ax.get_xlim()))
    _png(ax)
    _labels_apart(ax)


def test_prediction_plots(awkward):
    model, X, y = awkward
    for draw in (plotting.plot_roc, plotting.plot_calibration):
        _png(draw(model, X, y, ax=_axes()))
    _png(plotting.plot_loss_curve(model, ax=_axes()))
    if model.coef_.shape[1] == 2 and not isinstance(X, pd.DataFrame):
        _png(plotting.plot_decision_regions(model, X, y, ax=_axes(), resolution=30))


def test_report(awkward):
    model, X, y = awkward
    doc = make_report(model, X, y)
    assert doc.startswith("<!DOCTYPE html>") and "Evaluation: in-sample" in doc
    assert doc.count("data:image/png;base64,") >= 4


@pytest.mark.parametrize("name", ["one feature", "lasso all zero", "separated"])
def test_path_plot(name):
    _, X, y = CORPUS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = sl.regularization_path(X, y, n_alphas=8)
    for standardise in (None, X):
        _png(plotting.plot_path(path, ax=_axes(), X=standardise))


# --------------------------------------------------------------------------- hypothesis
_values = st.one_of(
    st.floats(-800, 800, allow_nan=False),
    st.sampled_from([np.inf, -np.inf, np.nan, 690.0, -690.0, 1e300, 0.0]),
)


class _Stub(BaseEstimator):
    """A fitted binary model whose coefficient table is given (for the forest plot)."""

    has_lasso_penalty = False

    def __init__(self, table):
        self.table = table
        self.coef_ = np.zeros((1, len(table)))
        self.classes_ = np.array([0, 1])

    def fit(self):  # pragma: no cover - never called
        raise AssertionError

    def coef_table(self, alpha=0.05, cov_type="nonrobust", groups=None):
        return self.table


@st.composite
def _tables(draw):
    n = draw(st.integers(1, 12))
    rows = []
    for _ in range(n):
        coef, a, b = draw(_values), draw(_values), draw(_values)
        rows.append((coef, min(a, b) if a == a and b == b else a, max(a, b) if a == a else b))
    frame = pd.DataFrame(rows, columns=["coef", "ci_low", "ci_high"])
    frame.index = pd.Index([f"term_{j}" for j in range(n)], name="term")
    return frame


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=_tables(), odds_ratio=st.booleans())
def test_forest_plot_draws_any_table(table, odds_ratio):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plotting.plot_coefficients(_Stub(table), odds_ratio=odds_ratio, ax=_axes())
        _png(ax)
    lo, hi = ax.get_xlim()
    assert np.isfinite([lo, hi]).all() and lo < hi
    _labels_apart(ax)


@settings(max_examples=200, deadline=None)
@given(
    est=st.lists(_values, min_size=1, max_size=8),
    width=st.one_of(st.floats(0, 1e4), st.sampled_from([np.inf, np.nan])),
    ratio=st.booleans(),
)
def test_window_is_finite_and_holds_the_reference(est, width, ratio):
    est = np.array(est)
    with np.errstate(invalid="ignore"):
        low, high = est - width, est + width
    lo, hi = forest.window([est], [low], [high], ratio)
    assert np.isfinite([lo, hi]).all() and lo < 0 + 1e-12 and hi > 0 - 1e-12 and lo < hi
    if ratio:
        assert -forest.LOG_LIMIT <= lo and hi <= forest.LOG_LIMIT
    positions, labels = forest.ratio_ticks(lo, hi)
    assert 1 <= len(positions) <= forest.MAX_TICKS and len(set(labels)) == len(labels)
