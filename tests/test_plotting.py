"""Figures: each function returns an Axes whose drawn data match independent computations."""

import base64
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

import softlogit as sl  # noqa: E402
from softlogit import plotting  # noqa: E402
from softlogit.datasets import load_admissions, load_hsbdemo  # noqa: E402


def _data(n_classes, n=300, p=3, seed=0, scale=0.7):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    B = rng.normal(size=(n_classes, p)) * scale
    logits = X @ B.T
    P = np.exp(logits - logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    return X, y


@pytest.fixture(scope="module")
def binary():
    X, y = _data(2, seed=1)
    labels = np.array(["no", "yes"])[y]  # string labels: the positive class is "yes"
    return X, labels, sl.LogisticRegression().fit(X, labels)


@pytest.fixture(scope="module")
def multi():
    X, y = _data(3, seed=6)
    return X, y, sl.SoftmaxRegression().fit(X, y)


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    """No function may call plt.show(); every figure is closed after the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("plt.show() was called")

    monkeypatch.setattr(plt, "show", refuse)
    yield
    plt.close("all")


def _labelled_lines(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def _auc_in(label):
    return float(label.rsplit("AUC = ", 1)[1])


# --------------------------------------------------------------------------- packaging
def test_import_does_not_load_matplotlib():
    code = "import sys, softlogit.product.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_matplotlib_says_how_to_install(binary, monkeypatch):
    X, y, model = binary
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install softlogit\[plot\]"):
        plotting.plot_roc(model, X, y)


def test_drawing_on_a_given_axes_creates_no_figure(binary):
    X, y, model = binary
    fig, ax = plt.subplots()
    before = plt.get_fignums()
    assert plotting.plot_roc(model, X, y, ax=ax) is ax
    assert plotting.plot_calibration(model, X, y, ax=ax) is ax
    assert plt.get_fignums() == before


def test_figure_to_png_base64(binary):
    X, y, model = binary
    ax = plotting.plot_roc(model, X, y)
    for obj in (ax, ax.figure):
        png = base64.b64decode(plotting.figure_to_png_base64(obj))
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


# --------------------------------------------------------------------------- ROC, calibration
def test_roc_binary_matches_sklearn(binary):
    X, y, model = binary
    ax = plotting.plot_roc(model, X, y)
    [line] = _labelled_lines(ax)
    score = model.predict_proba(X)[:, 1]
    fpr, tpr, _ = roc_curve(y, score, pos_label="yes")
    np.testing.assert_allclose(line.get_xdata(), fpr)
    np.testing.assert_allclose(line.get_ydata(), tpr)
    auc = roc_auc_score(y == "yes", score)
    assert _auc_in(line.get_label()) == pytest.approx(auc, abs=5e-4)
    assert ax.get_legend() is not None and 0.6 < auc < 1


def test_roc_softmax_one_vs_rest_per_class(multi):
    X, y, model = multi
    ax = plotting.plot_roc(model, X, y)
    lines = _labelled_lines(ax)
    assert len(lines) == 3
    proba = model.predict_proba(X)
    for k, line in enumerate(lines):
        fpr, tpr, _ = roc_curve(y == k, proba[:, k])
        np.testing.assert_allclose(line.get_xdata(), fpr)
        np.testing.assert_allclose(line.get_ydata(), tpr)
        assert line.get_label().startswith(f"{k} vs rest")
        auc = roc_auc_score(y == k, proba[:, k])
        assert _auc_in(line.get_label()) == pytest.approx(auc, abs=5e-4)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibration_points_match_sklearn(binary, strategy):
    X, y, model = binary
    ax = plotting.plot_calibration(model, X, y, n_bins=8, strategy=strategy)
    curve, diagonal = _labelled_lines(ax)
    observed, predicted = calibration_curve(
        y == "yes", model.predict_proba(X)[:, 1], n_bins=8, strategy=strategy
    )
    np.testing.assert_allclose(curve.get_xdata(), predicted)
    np.testing.assert_allclose(curve.get_ydata(), observed)
    np.testing.assert_allclose(diagonal.get_xdata(), [0, 1])
    np.testing.assert_allclose(diagonal.get_ydata(), [0, 1])


def test_calibration_softmax_one_curve_per_class(multi):
    X, y, model = multi
    ax = plotting.plot_calibration(model, X, y, n_bins=5)
    lines = _labelled_lines(ax)[:-1]
    assert len(lines) == 3
    proba = model.predict_proba(X)
    for k, line in enumerate(lines):
        observed, predicted = calibration_curve(y == k, proba[:, k], n_bins=5, strategy="quantile")
        np.testing.assert_allclose(line.get_xdata(), predicted)
        np.testing.assert_allclose(line.get_ydata(), observed)


# --------------------------------------------------------------------------- coefficients
def _forest(ax, container):
    """(terms, estimates, interval low, interval high) of one error-bar series."""
    data_line, _, (bars,) = container.lines
    ticks, labels = ax.get_yticks(), ax.get_yticklabels()
    names = {int(round(t)): lab.get_text() for t, lab in zip(ticks, labels, strict=True)}
    segments = np.array(bars.get_segments())
    terms = [names[int(round(v))] for v in data_line.get_ydata()]
    return terms, data_line.get_xdata(), segments[:, 0, 0], segments[:, 1, 0]


@pytest.mark.parametrize("odds_ratio", [False, True])
def test_forest_plot_intervals_equal_coef_table(binary, odds_ratio):
    X, y, model = binary
    ax = plotting.plot_coefficients(model, alpha=0.1, odds_ratio=odds_ratio)
    table = model.coef_table(0.1).drop(index="Intercept")
    [container] = ax.containers
    terms, est, low, high = _forest(ax, container)
    f = np.exp if odds_ratio else np.asarray
    expected = table.loc[terms]
    np.testing.assert_allclose(est, f(expected["coef"]), rtol=1e-10)
    np.testing.assert_allclose(low, f(expected["ci_low"]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(high, f(expected["ci_high"]), rtol=1e-10, atol=1e-12)
    assert sorted(terms) == sorted(table.index)
    [reference] = [line for line in ax.get_lines() if np.ptp(line.get_xdata()) == 0]
    assert reference.get_xdata()[0] == (1.0 if odds_ratio else 0.0)
    assert ax.get_xscale() == ("log" if odds_ratio else "linear")


def test_forest_plot_intercept_only_on_request(binary):
    X, y, model = binary
    shown = [t.get_text() for t in plotting.plot_coefficients(model).get_yticklabels()]
    assert "Intercept" not in shown and len(shown) == 3
    ax = plotting.plot_coefficients(model, include_intercept=True)
    terms, est, _, _ = _forest(ax, ax.containers[0])
    assert "Intercept" in terms
    assert est[terms.index("Intercept")] == pytest.approx(model.intercept_[0])


def test_forest_plot_softmax_one_series_per_class():
    data = load_hsbdemo()
    X = data[["write", "ses_middle", "ses_high"]]
    model = sl.SoftmaxRegression().fit(X, data["prog"])
    ax = plotting.plot_coefficients(model)
    table = model.coef_table()
    assert len(ax.containers) == 2  # K - 1 rows against the reference class
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["general vs academic", "vocation vs academic"]
    colours = set()
    for label, container in zip(["general", "vocation"], ax.containers, strict=True):
        _, est, low, high = _forest(ax, container)
        expected = table.xs(label, level="class").drop(index="Intercept")
        np.testing.assert_allclose(np.sort(est), np.sort(expected["coef"]))
        np.testing.assert_allclose(np.sort(low), np.sort(expected["ci_low"]))
        np.testing.assert_allclose(np.sort(high), np.sort(expected["ci_high"]))
        colours.add(container.lines[0].get_color())
    assert len(colours) == 2
    offsets = [c.lines[0].get_ydata() for c in ax.containers]
    assert not np.allclose(offsets[0], offsets[1])  # side by side, not on top of each other


def test_forest_plot_lasso_has_points_only(binary):
    X, y, model = binary
    lasso = sl.LogisticRegression(penalty="l1", alpha=0.02).fit(X, y)
    with pytest.raises(ValueError, match="lasso"):
        lasso.coef_table()
    ax = plotting.plot_coefficients(lasso)
    assert not ax.containers
    [points] = [line for line in ax.get_lines() if line.get_marker() == "o"]
    np.testing.assert_allclose(np.sort(points.get_xdata()), np.sort(lasso.coef_[0]))
    assert "points only" in ax.get_title()


# --------------------------------------------------------------------------- training curves
@pytest.mark.parametrize("data", ["binary", "multi"])
def test_training_curve_newton_and_adam_reach_the_same_objective(data, request):
    X, y, _ = request.getfixturevalue(data)
    ax = plotting.plot_training_curve(X, y)
    newton, adam = _labelled_lines(ax)
    assert newton.get_label().startswith("newton") and adam.get_label().startswith("adam")
    models = ax.softlogit_models
    expected = sl.LogisticRegression if data == "binary" else sl.SoftmaxRegression
    assert set(models) == {"newton", "adam"} and all(type(m) is expected for m in models.values())
    for name, line in (("newton", newton), ("adam", adam)):
        curve = np.asarray(models[name].loss_curve_)
        np.testing.assert_allclose(line.get_xdata(), np.arange(1, curve.size + 1))
        assert line.get_ydata()[-1] < 1e-6  # both end at the minimum
        assert np.all(line.get_ydata() > 0)  # drawable on the log axis
    assert len(adam.get_xdata()) > 10 * len(newton.get_xdata())
    assert ax.softlogit_minimum == pytest.approx(min(models["newton"].loss_curve_))
    np.testing.assert_allclose(models["adam"].coef_, models["newton"].coef_, atol=5e-3)
    assert ax.get_yscale() == "log"


# --------------------------------------------------------------------------- path and CV
def test_path_plot_one_line_per_coefficient():
    data = load_admissions()
    X, y = data[["gre", "gpa", "rank_2", "rank_3", "rank_4"]], data["admit"]
    path = sl.regularization_path(X, y, model=sl.LogisticRegression(standardize=True), n_alphas=25)
    ax = plotting.plot_path(path)
    lines = _labelled_lines(ax)
    assert [line.get_label() for line in lines] == path.feature_names
    for j, line in enumerate(lines):
        np.testing.assert_allclose(line.get_xdata(), np.log(path.alphas))
        np.testing.assert_allclose(line.get_ydata(), path.coefs[:, 0, j])


def test_path_plot_softmax_labels_class_and_feature(multi):
    X, y, _ = multi
    path = sl.regularization_path(X, y, n_alphas=10)
    lines = _labelled_lines(plotting.plot_path(path))
    assert len(lines) == 2 * 3
    assert lines[0].get_label() == "1: x0" and lines[-1].get_label() == "2: x2"
    np.testing.assert_allclose(lines[-1].get_ydata(), path.coefs[:, 1, 2])


def test_cv_plot_curve_and_selected_alphas(binary):
    X, y, _ = binary
    cv = sl.LogisticRegressionCV(n_alphas=12, cv=3, random_state=0).fit(X, y)
    ax = plotting.plot_cv(cv)
    [container] = ax.containers
    data_line, _, (bars,) = container.lines
    np.testing.assert_allclose(data_line.get_xdata(), cv.alphas_[0])
    np.testing.assert_allclose(data_line.get_ydata(), cv.cv_mean_[0])
    segments = np.array(bars.get_segments())
    np.testing.assert_allclose(segments[:, 0, 1], cv.cv_mean_[0] - cv.cv_se_[0])
    np.testing.assert_allclose(segments[:, 1, 1], cv.cv_mean_[0] + cv.cv_se_[0])
    vertical = {
        line.get_label().split(" =")[0]: line.get_xdata()
        for line in ax.get_lines()
        if line.get_label().startswith("alpha_")
    }
    np.testing.assert_allclose(vertical["alpha_"], [cv.alpha_, cv.alpha_])
    np.testing.assert_allclose(vertical["alpha_1se_"], [cv.alpha_1se_, cv.alpha_1se_])
    assert cv.alpha_1se_ >= cv.alpha_ and ax.get_xscale() == "log"


# --------------------------------------------------------------------------- decision regions
def _grid_centres(image, resolution):
    x0, x1, y0, y1 = image.get_extent()
    dx, dy = (x1 - x0) / resolution, (y1 - y0) / resolution
    gx = np.linspace(x0 + dx / 2, x1 - dx / 2, resolution)
    gy = np.linspace(y0 + dy / 2, y1 - dy / 2, resolution)
    return np.meshgrid(gx, gy)


def test_decision_regions_equal_predictions_on_the_grid(multi):
    X, y, model = multi
    ax = plotting.plot_decision_regions(model, X, y, features=(0, 2), resolution=40)
    [image] = ax.images
    xx, yy = _grid_centres(image, 40)
    grid = np.tile(X.mean(axis=0), (xx.size, 1))  # the other feature at its mean
    grid[:, 0], grid[:, 2] = xx.ravel(), yy.ravel()
    expected = np.searchsorted(model.classes_, model.predict(grid)).reshape(40, 40)
    np.testing.assert_array_equal(np.asarray(image.get_array()), expected)
    assert len(np.unique(expected)) == 3
    points = ax.collections
    assert len(points) == 3 and sum(len(c.get_offsets()) for c in points) == len(y)
    np.testing.assert_allclose(points[1].get_offsets(), X[y == 1][:, [0, 2]])


def test_decision_regions_two_feature_model(binary):
    X, y, _ = binary
    model = sl.LogisticRegression().fit(X[:, :2], y)
    ax = plotting.plot_decision_regions(model, X[:, :2], y, resolution=30)
    [image] = ax.images
    xx, yy = _grid_centres(image, 30)
    pred = model.predict(np.column_stack([xx.ravel(), yy.ravel()]))
    np.testing.assert_array_equal(image.get_array(), (pred == "yes").reshape(30, 30))
    assert image.get_extent()[0] < X[:, 0].min() and image.get_extent()[1] > X[:, 0].max()


def test_decision_regions_formula_model_with_held_category():
    data = load_admissions()
    model = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(data)
    ax = plotting.plot_decision_regions(
        model, data, None, features=("gre", "gpa"), resolution=20, hold={"rank": 1}
    )
    [image] = ax.images
    xx, yy = _grid_centres(image, 20)
    grid = data.iloc[np.zeros(xx.size, dtype=int)].reset_index(drop=True)
    grid = grid.assign(gre=xx.ravel(), gpa=yy.ravel(), rank=1)
    expected = model.predict(grid).reshape(20, 20)
    np.testing.assert_array_equal(image.get_array(), expected)
    assert ax.get_xlabel() == "gre" and ax.get_ylabel() == "gpa"
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(data)


def test_forest_plot_symmetric_softmax_points_per_class(multi):
    X, y, _ = multi
    model = sl.SoftmaxRegression(reference=None).fit(X, y)
    ax = plotting.plot_coefficients(model)
    points = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(points) == 3 and not ax.containers  # all K rows, no intervals
    for k, line in enumerate(points):
        np.testing.assert_allclose(np.sort(line.get_xdata()), np.sort(model.coef_[k]))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]


def test_path_plot_labels_rows_after_a_non_default_reference(multi):
    X, y, _ = multi
    model = sl.SoftmaxRegression(reference=1)
    path = sl.regularization_path(X, y, model=model, n_alphas=10)
    assert path.reference == 1
    lines = _labelled_lines(plotting.plot_path(path))
    assert lines[0].get_label() == "0: x0" and lines[-1].get_label() == "2: x2"


def test_decision_regions_title_does_not_count_a_formulas_response():
    frame = load_admissions()[["admit", "gre", "gpa"]]
    model = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(frame)
    ax = plotting.plot_decision_regions(model, frame, None, features=("gre", "gpa"))
    assert ax.get_title() == "Decision regions"


# --------------------------------------------------------------------------- issue 12 item 2
def _tick_boxes(ax):
    """Window extents of the drawn, non-empty x tick labels."""
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    lo, hi = sorted(ax.get_xlim())
    return [
        t.get_window_extent(renderer)
        for t, v in zip(ax.get_xticklabels(), ax.get_xticks(), strict=True)
        if t.get_text() and lo <= v <= hi
    ]


def assert_ticks_apart(ax):
    boxes = sorted(_tick_boxes(ax), key=lambda b: b.x0)
    assert len(boxes) >= 2
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left.x1 <= right.x0, [t.get_text() for t in ax.get_xticklabels()]


@pytest.fixture(scope="module")
def overflowing():
    """gre / 2.5e5: a coefficient of ~670 (odds ratio ~1e292), an upper end beyond exp's
    range."""
    df = load_admissions().assign(gre=lambda d: d.gre / 2.5e5)
    return df, sl.LogisticRegression(formula="admit ~ gre + gpa").fit(df)


@pytest.mark.parametrize("odds_ratio", [False, True])
def test_forest_plot_survives_overflowing_ratios(overflowing, odds_ratio):
    df, model = overflowing
    ax = plotting.plot_coefficients(model, odds_ratio=odds_ratio)
    base64.b64decode(plotting.figure_to_png_base64(ax))  # draws: no OverflowError
    assert_ticks_apart(ax)
    assert all(np.isfinite(ax.get_xlim()))
    terms, est, low, high = _forest(ax, ax.containers[0])
    table = model.coef_table().loc[terms]
    f = np.exp if odds_ratio else np.asarray
    finite = table["ci_high"] < 690  # ends beyond the window run to its edge
    np.testing.assert_allclose(high[finite.to_numpy()], f(table["ci_high"][finite]), rtol=1e-10)
    assert ax.softlogit_clipped == (0 if not odds_ratio else 1)


@pytest.mark.parametrize("binary", [True, False])
def test_forest_plot_title_names_the_axis(binary, multi):
    if binary:
        model = sl.LogisticRegression().fit(*_data(2, seed=3))
        ratio = "Odds ratios"
    else:
        model = multi[2]
        ratio = "Relative-risk ratios"
    assert plotting.plot_coefficients(model, odds_ratio=True).get_title().startswith(ratio)
    assert plotting.plot_coefficients(model).get_title().startswith("Coefficients")


def test_standardised_coefficients_equal_a_fit_on_standardised_features(overflowing):
    """coef * sd(x) is the coefficient of x / sd(x): refit on standardised columns."""
    df, model = overflowing
    ax = plotting.plot_coefficients(model, X=df)
    scaled = df.assign(gre=df.gre / df.gre.std(), gpa=df.gpa / df.gpa.std())
    refit = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(scaled)
    terms, est, low, high = _forest(ax, ax.containers[0])
    expected = refit.coef_table().loc[terms]
    np.testing.assert_allclose(est, expected["coef"], rtol=1e-6)
    np.testing.assert_allclose(low, expected["ci_low"], rtol=1e-6)
    np.testing.assert_allclose(high, expected["ci_high"], rtol=1e-6)
    assert ax.get_title().startswith("Standardised") and "per standard deviation" in ax.get_xlabel()


@pytest.mark.parametrize(
    "lo, hi",
    [(-0.1, 0.2), (-3, 3), (-50, 60), (0, 700), (-690, 690), (2.0, 2.0001), (-1e-6, 1e-6)],
)
def test_ratio_ticks_are_few_inside_and_distinct(lo, hi):
    from softlogit.product import forest

    positions, labels = forest.ratio_ticks(lo, hi)
    assert 1 <= len(positions) <= forest.MAX_TICKS
    assert all(lo - 1e-9 <= p <= hi + 1e-9 for p in positions)
    assert len(set(labels)) == len(labels) and all(len(t) <= 14 for t in labels)


def test_calibration_uses_equal_count_bins_with_counts():
    """143 rows: equal-count bins of ~20 rows (not 10 uniform bins), counts written on the
    plot, Wilson intervals as statsmodels computes them."""
    from statsmodels.stats.proportion import proportion_confint

    X, y = _data(2, n=143, seed=8)
    model = sl.LogisticRegression().fit(X, y)
    ax = plotting.plot_calibration(model, X, y)
    [counts] = ax.softlogit_counts
    assert counts.sum() == 143 and len(counts) == 7 and counts.min() >= 20
    observed, predicted = calibration_curve(
        y, model.predict_proba(X)[:, 1], n_bins=7, strategy="quantile"
    )
    curve = _labelled_lines(ax)[0]
    np.testing.assert_allclose(curve.get_xdata(), predicted)
    np.testing.assert_allclose(curve.get_ydata(), observed)
    written = [int(t.get_text()) for t in ax.texts]
    assert written and set(written) <= set(counts.tolist())
    assert f"of {counts.min()}-{counts.max()} rows" in ax.get_title()
    [bars] = [c for c in ax.collections if c.get_label() == "_interval"]
    segments = np.array(bars.get_segments())
    low, high = proportion_confint(np.round(observed * counts), counts, method="wilson")
    np.testing.assert_allclose(segments[:, 0, 1], low)
    np.testing.assert_allclose(segments[:, 1, 1], high)
    assert "equal-count" in ax.get_title()


@pytest.fixture(scope="module")
def cancer():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    return data.data, data.target


def test_path_plot_labels_the_largest_and_standardises(cancer):
    X, y = cancer
    path = sl.regularization_path(X, y, model=sl.LogisticRegression(standardize=True), n_alphas=12)
    raw = plotting.plot_path(path)
    assert len(_labelled_lines(raw)) == 8 and len(raw.get_lines()) == 31  # 30 + zero line
    ax = plotting.plot_path(path, X=X)
    sd = X.std(ddof=1).to_numpy()
    standardised = path.coefs[:, 0, :] * sd
    lines = {line.get_label().lstrip("_"): line for line in ax.get_lines()}
    for j, name in enumerate(path.feature_names):
        np.testing.assert_allclose(lines[name].get_ydata(), standardised[:, j])
    largest = np.argsort(-np.abs(standardised[-1]))[:8]
    assert sorted(line.get_label() for line in _labelled_lines(ax)) == sorted(
        path.feature_names[j] for j in largest
    )
    assert ax.get_legend() is not None and len(ax.get_legend().get_texts()) == 8
    assert ax.get_ylabel() == "coefficient per SD" and ax.get_title().startswith("Standardised")


@pytest.mark.parametrize("solver", ["newton", "lbfgs", "cd"])
def test_loss_curve_is_the_fits_own_history(binary, solver, monkeypatch):
    X, y, _ = binary
    params = {"penalty": "l1", "alpha": 0.01} if solver == "cd" else {}
    model = sl.LogisticRegression(solver=solver, **params).fit(X, y)
    monkeypatch.setattr(sl.LogisticRegression, "fit", None)  # nothing may refit
    ax = plotting.plot_loss_curve(model)
    [line] = _labelled_lines(ax)
    curve = np.asarray(model.loss_curve_)
    gap = np.maximum(curve - curve.min(), np.finfo(float).eps * max(1, abs(curve.min())))
    np.testing.assert_allclose(line.get_xdata(), np.arange(1, curve.size + 1))
    np.testing.assert_allclose(line.get_ydata(), gap)
    assert line.get_label() == f"{model.solver_}: {curve.size} steps, converged"
