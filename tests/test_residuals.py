"""Residuals and influence measures against R's residuals.glm / rstandard / rstudent /
influence.measures / dfbeta (binary glm: a factor and an interaction, a weighted fit with
zero weights, an offset fit) and nnet's residuals.multinom; the rest by definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo

from .rscript import run_r

FORMULA = "admit ~ gre + gpa + C(rank) + gre:gpa"
R_FORMULA = "admit ~ gre + gpa + factor(rank) + gre:gpa"
KINDS = ["response", "pearson", "deviance", "working"]
HAT_KINDS = ["standardized_deviance", "standardized_pearson", "studentized"]
MEASURES = ["dffit", "cov_r", "cooks_d", "hat"]

R_SCRIPT = """
d <- read.csv("{path}")
ctl <- glm.control(epsilon = 1e-15, maxit = 200)
f <- suppressWarnings(glm({formula}, family = binomial, data = d, weights = w,
                          offset = off, control = ctl))
im <- influence.measures(f)$infmat
out <- c(residuals(f, "response"), residuals(f, "pearson"), residuals(f, "deviance"),
         residuals(f, "working"), rstandard(f), rstandard(f, type = "pearson"), rstudent(f),
         as.vector(dfbeta(f)), as.vector(dfbetas(f)), as.vector(im[, ncol(im) - 3:0]),
         influence(f)$sigma, cooks.distance(f), hatvalues(f))
cat(format(out, digits = 17), "\\n")
"""


def _case(name):
    adm = load_admissions()
    rng = np.random.default_rng(13)
    n = len(adm)
    w = np.ones(n)
    off = np.zeros(n)
    if name == "weighted":
        w = rng.uniform(0.2, 3.0, n).round(3)
        w[[5, 77, 300]] = 0.0
    if name == "offset":
        off = 0.4 * (adm["gpa"].to_numpy() - 3.4) + rng.normal(0, 0.3, n).round(4)
    return adm.assign(w=w, off=off)


@pytest.fixture(scope="module", params=["factor_interaction", "weighted", "offset"])
def case(request, tmp_path_factory):
    data = _case(request.param)
    path = tmp_path_factory.mktemp("r") / "adm.csv"
    data.to_csv(path, index=False, float_format="%.17g")
    out = run_r(R_SCRIPT.format(path=path.as_posix(), formula=R_FORMULA))
    model = sl.LogisticRegression(formula=FORMULA, tol=1e-12).fit(
        data,
        sample_weight=data["w"].to_numpy() if request.param == "weighted" else None,
        offset=data["off"].to_numpy() if request.param == "offset" else None,
    )
    used = data["w"].to_numpy() > 0
    n, u, p = len(data), int(used.sum()), model.results_.k_params
    sizes = [n] * 4 + [u] * 3 + [u * p] * 2 + [u * 4] + [u] * 3
    parts = np.split(out, np.cumsum(sizes)[:-1])
    assert out.size == sum(sizes)
    ref = dict(zip(KINDS + HAT_KINDS, parts[:7], strict=True))
    ref["dfbeta"] = parts[7].reshape(p, u).T
    ref["dfbetas"] = parts[8].reshape(p, u).T
    ref.update(dict(zip(MEASURES, parts[9].reshape(4, u), strict=True)))
    ref["sigma"], ref["cooks_distance"], ref["hatvalues"] = parts[10:]
    return request.param, data, model, used, ref


def _close(actual, expected, rtol=1e-6):
    """Equal to ``rtol`` relative to the largest reference value (entries near 0 of a
    column are compared on that column's scale)."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape
    scale = np.nanmax(np.abs(expected), axis=0)
    bound = rtol * np.abs(expected) + 1e-2 * rtol * scale
    worst = np.nanmax(np.abs(actual - expected) / bound)
    assert worst <= 1.0, f"off by {worst:.3g} times the tolerance"
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))


@pytest.mark.parametrize("kind", KINDS)
def test_residuals_equal_r(case, kind):
    _, _, model, used, ref = case
    got, expected = model.residuals(kind=kind), ref[kind]
    if kind in ("response", "working"):
        # R's binomial()$initialize sets y to 0 where the weight is 0: those rows differ
        got, expected = got[used], expected[used]
    _close(got, expected)


@pytest.mark.parametrize("kind", HAT_KINDS)
def test_standardized_and_studentized_equal_r(case, kind):
    _, _, model, used, ref = case
    got = model.residuals(kind=kind)
    _close(got[used], ref[kind])
    assert np.all(np.isnan(got[~used]))  # zero-weight rows: not part of the fit (R drops them)


def test_influence_measures_equal_r(case):
    name, _, model, used, ref = case
    table = model.influence()
    p = model.results_.k_params
    terms = model.coef_table().index.tolist()
    assert list(table.columns[:p]) == [f"dfbeta_{t}" for t in terms]
    assert list(table.columns[p : 2 * p]) == [f"dfbetas_{t}" for t in terms]
    rows = table[used]
    _close(rows.iloc[:, :p], ref["dfbeta"])
    _close(rows.iloc[:, p : 2 * p], ref["dfbetas"])
    for col in MEASURES:
        _close(rows[col], ref[col])
    _close(rows["sigma"], ref["sigma"])
    _close(rows["cooks_d"], ref["cooks_distance"])
    _close(rows["hat"], ref["hatvalues"])
    assert table[~used].isna().all(axis=None)


def test_explicit_rows_equal_training_rows(case):
    name, data, model, _, _ = case
    w = data["w"].to_numpy() if name == "weighted" else None
    off = data["off"].to_numpy() if name == "offset" else None
    for kind in ["deviance", "studentized"]:
        np.testing.assert_array_equal(
            model.residuals(data, kind=kind, sample_weight=w, offset=off),
            model.residuals(kind=kind),
        )
    pd.testing.assert_frame_equal(
        model.influence(data, sample_weight=w, offset=off), model.influence()
    )


def test_hat_values_sum_to_the_parameters_and_dfbeta_approximates_a_refit():
    adm = load_admissions()
    model = sl.LogisticRegression(formula=FORMULA, tol=1e-12).fit(adm)
    table = model.influence()
    assert table["hat"].sum() == pytest.approx(model.results_.k_params, rel=1e-10)
    # the deviance residual squared sums to the deviance
    assert np.sum(model.residuals() ** 2) == pytest.approx(model.deviance_, rel=1e-12)
    # one-step dfbeta is close to the change of an actual refit without the row
    i = int(table["cooks_d"].idxmax())
    refit = sl.LogisticRegression(formula=FORMULA, tol=1e-12).fit(adm.drop(index=i))
    change = model.coef_table()["coef"] - refit.coef_table()["coef"]
    approx = table.iloc[i, : change.size].to_numpy()
    # R's dfbeta scales with the deviance residual; the textbook one-step (Pregibon) with
    # the Pearson residual
    ratio = model.residuals(kind="pearson")[i] / model.residuals(kind="deviance")[i]
    scale = np.abs(change).max()
    np.testing.assert_allclose(approx * ratio, change, rtol=0.1, atol=0.01 * scale)
    assert np.abs(approx - change).max() > 0.2 * scale  # R's own is cruder


def test_large_linear_predictors_stay_finite():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 1))
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    model = sl.LogisticRegression(tol=1e-12).fit(X, y)
    big = np.array([[800.0 / model.coef_[0, 0]], [-800.0 / model.coef_[0, 0]]])
    dev = model.residuals(big, [0, 0], kind="deviance")
    assert np.all(np.isfinite(dev))
    eta = model.decision_function(big)
    assert dev[0] == pytest.approx(-np.sqrt(2 * (eta[0] + np.log1p(np.exp(-eta[0])))), rel=1e-12)
    assert model.residuals(big, [1, 0], kind="response") == pytest.approx([0.0, 0.0], abs=1e-300)


def test_bad_kinds_and_penalised_fits_are_refused():
    adm = load_admissions()
    model = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(adm)
    with pytest.raises(ValueError, match="is not a residual"):
        model.residuals(kind="partial")
    ridge = sl.LogisticRegression(formula="admit ~ gre + gpa", penalty="l2", alpha=0.1).fit(adm)
    assert ridge.residuals(kind="pearson").shape == (len(adm),)
    with pytest.raises(ValueError, match="unpenalised"):
        ridge.influence()
    multi = sl.SoftmaxRegression(formula="prog ~ write + C(ses)").fit(load_hsbdemo())
    with pytest.raises(ValueError, match="binary glm"):
        multi.influence()
    with pytest.raises(ValueError, match="multinomial"):
        multi.residuals(kind="deviance")
    assert model.residuals(kind="rstudent") == pytest.approx(model.residuals(kind="studentised"))


# ---------------------------------------------------------------------- multinomial


def test_multinomial_response_residuals_equal_nnet(tmp_path):
    hsb = load_hsbdemo()
    path = tmp_path / "hsb.csv"
    hsb.to_csv(path, index=False)
    script = f"""
    d <- read.csv("{path.as_posix()}")
    d$prog <- factor(d$prog); d$ses <- factor(d$ses, levels = c("high", "low", "middle"))
    f <- multinom(prog ~ write + ses + math, data = d, trace = FALSE, reltol = 1e-15,
                  maxit = 1000)
    cat(format(as.vector(residuals(f)), digits = 17), "\\n")
    """
    out = run_r(script, packages=("nnet",))
    model = sl.SoftmaxRegression(formula="prog ~ write + C(ses) + math", tol=1e-12).fit(hsb)
    got = model.residuals(kind="response")
    assert got.shape == (len(hsb), 3)
    ref = out.reshape(3, -1).T
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("reference", ["first", "vocation", None])
def test_multinomial_pearson_by_definition(reference):
    hsb = load_hsbdemo()
    rng = np.random.default_rng(1)
    w = rng.uniform(0.5, 2, len(hsb))
    model = sl.SoftmaxRegression(formula="prog ~ write + C(ses)", reference=reference)
    model.fit(hsb, sample_weight=w)
    P = model.predict_proba(hsb)
    Y = (hsb["prog"].to_numpy()[:, None] == model.classes_[None, :]).astype(float)
    expected = np.sqrt(w)[:, None] * (Y - P) / np.sqrt(P * (1 - P))
    np.testing.assert_allclose(model.residuals(kind="pearson"), expected, rtol=1e-10)
    np.testing.assert_allclose(model.residuals(kind="response"), Y - P, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(model.residuals(kind="response").sum(axis=1), 0, atol=1e-12)


# ---------------------------------------------------------------------- streamed


def _numeric_admissions():
    adm = load_admissions()
    return adm.assign(gregpa=adm["gre"] * adm["gpa"], w=np.linspace(0.5, 2, len(adm)))


FEATURES = ["gre", "gpa", "rank_2", "rank_3", "rank_4", "gregpa"]


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_streamed_fit_writes_the_in_memory_diagnostics(tmp_path, ext):
    pytest.importorskip("pyarrow")
    data = _numeric_admissions()
    source = tmp_path / f"adm.{ext}"
    if ext == "parquet":
        data.to_parquet(source)
        scan = sl.scan_parquet(source, target="admit", features=FEATURES, weight="w", batch_rows=64)
    else:
        data.to_csv(source, index=False)
        scan = sl.scan_csv(source, target="admit", features=FEATURES, weight="w", batch_rows=64)
    streamed = sl.LogisticRegression(tol=1e-12).fit(scan)
    memory = sl.LogisticRegression(tol=1e-12).fit(
        data[FEATURES], data["admit"], sample_weight=data["w"]
    )
    out = tmp_path / f"diagnostics.{ext}"
    assert streamed.write_diagnostics(out) == len(data)
    back = pd.read_parquet(out) if ext == "parquet" else pd.read_csv(out)
    expected = memory.influence()
    for kind in ["deviance", "pearson", "studentized"]:
        np.testing.assert_allclose(back[kind], memory.residuals(kind=kind), rtol=1e-6)
    np.testing.assert_allclose(back[expected.columns], expected, rtol=1e-6, atol=1e-12)
    # an in-memory model written over a scan of the same rows
    out2 = tmp_path / f"again.{ext}"
    memory.write_diagnostics(out2, data=scan, columns=["fitted"], influence=False)
    back2 = pd.read_parquet(out2) if ext == "parquet" else pd.read_csv(out2)
    assert list(back2.columns) == ["fitted"]
    np.testing.assert_allclose(back2["fitted"], memory.predict_proba(data[FEATURES])[:, 1])


def test_centred_coordinates_map_dfbeta_to_the_raw_intercept():
    """A column at 1.7e9 + 60 z is fitted in centred coordinates: hat values and the
    slopes' dfbetas are those of z, and dfbeta of the intercept maps as b' = b - c beta'."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 2))
    y = (X @ [1.0, -0.5] + rng.logistic(size=300) > 0).astype(int)
    shifted = X.copy()
    shifted[:, 0] = 1.7e9 + 60.0 * X[:, 0]
    plain = sl.LogisticRegression(tol=1e-12).fit(X, y).influence()
    model = sl.LogisticRegression(tol=1e-12).fit(shifted, y)
    assert model.results_._objective.center is not None
    got = model.influence()
    np.testing.assert_allclose(got["hat"], plain["hat"], rtol=1e-6)
    np.testing.assert_allclose(got["dfbetas_x0"], plain["dfbetas_x0"], rtol=1e-6, atol=1e-9)
    slope = plain["dfbeta_x0"] / 60.0
    np.testing.assert_allclose(got["dfbeta_x0"], slope, rtol=1e-6, atol=1e-6 * slope.abs().max())
    expected = plain["dfbeta_Intercept"] - 1.7e9 / 60.0 * plain["dfbeta_x0"]
    scale = expected.abs().max()
    np.testing.assert_allclose(got["dfbeta_Intercept"], expected, rtol=1e-5, atol=1e-6 * scale)


def test_sparse_rows_equal_dense_rows():
    import scipy.sparse as sp

    rng = np.random.default_rng(4)
    X = rng.normal(size=(250, 3)) * (rng.random((250, 3)) < 0.5)
    y = (X @ [1.0, -1.0, 0.5] + rng.logistic(size=250) > 0).astype(int)
    dense = sl.LogisticRegression(tol=1e-12).fit(X, y)
    sparse = sl.LogisticRegression(tol=1e-12).fit(sp.csr_matrix(X), y)
    pd.testing.assert_frame_equal(sparse.influence(), dense.influence(), rtol=1e-8)


def test_plots_draw_the_diagnostics():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from softlogit import plotting

    adm = load_admissions()
    model = sl.LogisticRegression(formula=FORMULA).fit(adm)
    ax = plotting.plot_residuals(model, kind="pearson")
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 1], model.residuals(kind="pearson"))
    np.testing.assert_allclose(points[:, 0], model.decision_function(adm))
    ax = plotting.plot_influence(model, n_labels=2)
    points = ax.collections[0].get_offsets()
    table = model.influence()
    np.testing.assert_allclose(points[:, 0], table["hat"])
    np.testing.assert_allclose(points[:, 1], model.residuals(kind="standardized_pearson"))
    p = model.results_.k_params
    contour = ax.lines[1]  # the first Cook's distance line: level 0.5, upper branch
    h, r = contour.get_data()
    np.testing.assert_allclose(r, np.sqrt(0.5 * p * (1 - h) / h))
    labels = {t.get_text() for t in ax.texts} - {"0.5", "1"}  # less the contour levels
    assert labels == {str(i) for i in table["cooks_d"].nlargest(2).index}
    plt.close("all")


def test_write_diagnostics_checks_its_arguments(tmp_path):
    pytest.importorskip("pyarrow")
    data = _numeric_admissions().assign(off=0.1)
    data.to_parquet(tmp_path / "a.parquet")
    scan = sl.scan_parquet(tmp_path / "a.parquet", target="admit", features=FEATURES)
    model = sl.LogisticRegression().fit(data[FEATURES], data["admit"], offset=data["off"])
    with pytest.raises(ValueError, match="offset"):
        model.write_diagnostics(tmp_path / "x.csv", data=scan)
    with pytest.raises(ValueError, match="unknown columns"):
        model.write_diagnostics(tmp_path / "x.csv", columns=["leverage"])
    with pytest.raises(ValueError, match="file_format"):
        model.write_diagnostics(tmp_path / "x.csv", file_format="xlsx")
    assert not (tmp_path / "x.csv").exists()
    with_offset = sl.scan_parquet(
        tmp_path / "a.parquet", target="admit", features=FEATURES, offset="off"
    )
    model.write_diagnostics(tmp_path / "x.pq", data=with_offset, influence=False)
    back = pd.read_parquet(tmp_path / "x.pq")
    np.testing.assert_allclose(back["deviance"], model.residuals(), rtol=1e-10)
