"""Typed weights (issue 15): probability weights against R's survey::svyglm, analytic
weights against statsmodels' GLM(var_weights=), and every path using the weight type's
covariance (streamed and Dask fits equal to the in-memory ones)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import softlogit as sl

from .rscript import run_r, write_csv_for_r

RTOL = 1e-6


def _data(n=400, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    eta = 0.3 + X @ np.array([0.8, -0.6])
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    w = rng.uniform(0.2, 5.0, n)
    clusters = rng.integers(0, 40, n)
    strata = clusters % 4
    return X, y, w, clusters, strata


def _svyglm(tmp_path, X, y, w, clusters, strata, ids, strata_formula):
    design_cols = np.column_stack([X, clusters, strata])
    path = write_csv_for_r(tmp_path / "svy.csv", design_cols, y, w)
    strata_arg = "" if strata_formula is None else f", strata={strata_formula}"
    script = f"""
    d <- read.csv("{path.as_posix()}")
    des <- svydesign(ids={ids}{strata_arg}, weights=~w, data=d, nest=TRUE)
    f <- svyglm(y ~ x0 + x1, design=des, family=quasibinomial(),
                control=glm.control(epsilon=1e-14, maxit=100))
    cat(format(c(coef(f), sqrt(diag(vcov(f)))), digits=17), "\\n")
    """
    out = run_r(script, packages=("survey",))
    return out[:3], out[3:]


@pytest.mark.parametrize(
    "ids, strata_formula, use_clusters, use_strata",
    [
        ("~x2", "~x3", True, True),
        ("~x2", None, True, False),
        ("~1", "~x3", False, True),
        ("~1", None, False, False),
    ],
)
def test_probability_weights_match_svyglm(tmp_path, ids, strata_formula, use_clusters, use_strata):
    X, y, w, clusters, strata = _data()
    coef_r, se_r = _svyglm(tmp_path, X, y, w, clusters, strata, ids, strata_formula)
    m = sl.LogisticRegression().fit(
        X,
        y,
        probability_weight=w,
        clusters=clusters if use_clusters else None,
        strata=strata if use_strata else None,
    )
    table = m.coef_table()
    np.testing.assert_allclose(table["coef"], coef_r, rtol=RTOL)
    np.testing.assert_allclose(table["std_err"], se_r, rtol=RTOL)
    assert m.weight_type_ == "probability"
    assert m.nobs_ == X.shape[0]


def test_survey_standard_errors_do_not_depend_on_the_weights_scale():
    X, y, w, clusters, strata = _data()
    fits = [
        sl.LogisticRegression().fit(
            X, y, probability_weight=c * w, clusters=clusters, strata=strata
        )
        for c in (1.0, 100.0)
    ]
    a, b = (f.coef_table() for f in fits)
    np.testing.assert_allclose(a["std_err"], b["std_err"], rtol=1e-8)
    np.testing.assert_allclose(a["coef"], b["coef"], rtol=1e-8)
    # frequency weights x100 shrink the nonrobust standard errors 10x (the symptom)
    f1, f100 = (sl.LogisticRegression().fit(X, y, sample_weight=c * w) for c in (1.0, 100.0))
    ratio = f1.coef_table()["std_err"] / f100.coef_table()["std_err"]
    np.testing.assert_allclose(ratio, 10.0, rtol=1e-6)


def test_softmax_probability_weights_are_scale_invariant_and_match_binary():
    X, y, w, clusters, strata = _data()
    s1, s100 = (
        sl.SoftmaxRegression().fit(X, y, probability_weight=c * w, clusters=clusters)
        for c in (1.0, 100.0)
    )
    b = sl.LogisticRegression().fit(X, y, probability_weight=w, clusters=clusters)
    np.testing.assert_allclose(s1.coef_table()["std_err"], s100.coef_table()["std_err"], rtol=1e-8)
    np.testing.assert_allclose(
        s1.coef_table()["std_err"].to_numpy(), b.coef_table()["std_err"].to_numpy(), rtol=1e-7
    )


def _statsmodels_glm(X, y, w, cov_type, groups=None):
    sm = pytest.importorskip("statsmodels.api")
    exog = sm.add_constant(X)
    glm = sm.GLM(y, exog, family=sm.families.Binomial(), var_weights=w)
    kwds = {} if groups is None else {"cov_kwds": {"groups": groups}}
    with warnings.catch_warnings():  # "cov_type not fully supported with var_weights"
        warnings.simplefilter("ignore")
        return glm.fit(cov_type=cov_type, **kwds)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "cluster"])
def test_analytic_weights_match_statsmodels_var_weights(cov_type):
    X, y, w, clusters, _ = _data()
    groups = clusters if cov_type == "cluster" else None
    # statsmodels' GLM gives HC0's sandwich for "HC1" too (no correction outside OLS):
    # softlogit's HC1 is HC0 times n / (n - k) with n rows, OLS's definition
    ref = _statsmodels_glm(X, y, w, "HC0" if cov_type == "HC1" else cov_type, groups)
    n, k = X.shape[0], X.shape[1] + 1
    factor = np.sqrt(n / (n - k)) if cov_type == "HC1" else 1.0
    m = sl.LogisticRegression().fit(X, y, analytic_weight=w)
    table = m.coef_table(cov_type=cov_type, groups=groups)
    np.testing.assert_allclose(table["coef"], ref.params, rtol=RTOL)
    np.testing.assert_allclose(table["std_err"], factor * ref.bse, rtol=RTOL)
    assert m.weight_type_ == "analytic"
    assert m.nobs_ == ref.nobs
    assert m.df_resid_ == ref.df_resid
    np.testing.assert_allclose(m.loglike_, ref.llf, rtol=RTOL)


def test_one_weight_type_and_design_only_with_probability_weights():
    X, y, w, clusters, _ = _data()
    with pytest.raises(ValueError, match="one weight type"):
        sl.LogisticRegression().fit(X, y, sample_weight=w, probability_weight=w)
    with pytest.raises(ValueError, match="probability_weight"):
        sl.LogisticRegression().fit(X, y, analytic_weight=w, clusters=clusters)
    with pytest.raises(ValueError, match="only one PSU"):
        strata = np.arange(X.shape[0]) % 3
        one = np.where(strata == 0, 0, clusters)  # stratum 0 holds a single cluster
        sl.LogisticRegression().fit(X, y, probability_weight=w, clusters=one, strata=strata)


def test_no_likelihood_tests_under_probability_weights():
    X, y, w, clusters, strata = _data()
    full = sl.LogisticRegression().fit(X, y, probability_weight=w, clusters=clusters)
    small = sl.LogisticRegression().fit(X[:, :1], y, probability_weight=w, clusters=clusters)
    assert np.isnan(full.lr_stat_) and np.isnan(full.lr_pvalue_)
    assert np.isnan(full.aic_) and np.isnan(full.bic_)
    with pytest.raises(ValueError, match="Wald"):
        sl.lr_test(small, full)
    with pytest.raises(ValueError, match="wald_test"):
        full.anova()
    with pytest.raises(ValueError, match="not valid under probability"):
        full.coef_table(cov_type="nonrobust")
    summary = full.summary()
    labels = [label for label, _ in summary.header]
    assert "Wald chi2(2)" in labels and "AIC" not in labels and "BIC" not in labels
    assert not any(label.startswith("LR chi2") for label in labels)
    text = str(summary)
    assert "probability" in text and "survey" in text and "no LR test" in text
    slopes = full.wald_test("x0 = 0, x1 = 0")
    assert f"{slopes.statistic:.4f}" in text


def test_margins_and_prediction_intervals_use_the_survey_covariance():
    X, y, w, clusters, strata = _data()
    m = sl.LogisticRegression().fit(X, y, probability_weight=w, clusters=clusters, strata=strata)
    _, lo, hi = m.predict_proba(X[:5], return_ci=True)
    _, lo_s, hi_s = m.predict_proba(X[:5], return_ci=True, cov_type="survey")
    _, lo_h, _ = m.predict_proba(X[:5], return_ci=True, cov_type="HC0")
    np.testing.assert_array_equal(lo, lo_s)
    np.testing.assert_array_equal(hi, hi_s)
    assert not np.allclose(lo, lo_h, rtol=1e-4)
    # the delta method by hand: se of x_0' b with the survey covariance
    V = m.cov_params().to_numpy()
    x1 = np.r_[1.0, X[0]]
    eta = m.decision_function(X[:1])[0]
    se = np.sqrt(x1 @ V @ x1)
    np.testing.assert_allclose(lo[0, 1], 1 / (1 + np.exp(-(eta - 1.959963984540054 * se))))
    me = m.marginal_effects(X, kind="column")
    me_s = m.marginal_effects(X, kind="column", cov_type="survey")
    pd.testing.assert_frame_equal(me, me_s)


def _parquet(tmp_path, X, y, w):
    frame = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "y": y, "w": w})
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path, row_group_size=97)
    return path


@pytest.mark.parametrize("kind", ["probability", "analytic"])
def test_streamed_and_dask_fits_equal_in_memory(tmp_path, kind):
    X, y, w, _, _ = _data()
    memory = sl.LogisticRegression().fit(X, y, **{f"{kind}_weight": w})
    path = _parquet(tmp_path, X, y, w)
    scan = sl.scan_parquet(path, "y", features=["x0", "x1"], batch_rows=101)
    streamed = sl.LogisticRegression().fit(scan, **{f"{kind}_weight": "w"})
    da = pytest.importorskip("dask.array")
    dX, dy, dw = (da.from_array(a, chunks=113) for a in (X, y, w))
    on_dask = sl.LogisticRegression().fit(dX, dy, **{f"{kind}_weight": dw})
    for other in (streamed, on_dask):
        assert other.weight_type_ == kind
        for cov_type in (None, "HC0", "HC1"):
            a, b = memory.coef_table(cov_type=cov_type), other.coef_table(cov_type=cov_type)
            np.testing.assert_allclose(b["coef"], a["coef"], rtol=1e-8)
            np.testing.assert_allclose(b["std_err"], a["std_err"], rtol=1e-8)
        assert other.nobs_ == memory.nobs_


@pytest.mark.parametrize("kind", ["probability", "analytic"])
def test_model_files_keep_the_weight_type_and_its_covariance(tmp_path, kind):
    X, y, w, clusters, strata = _data()
    design = {"clusters": clusters, "strata": strata} if kind == "probability" else {}
    m = sl.LogisticRegression().fit(X, y, **{f"{kind}_weight": w}, **design)
    m.save(tmp_path / "m.json")
    loaded = sl.load(tmp_path / "m.json")
    assert loaded.weight_type_ == kind
    for cov_type in (None, "HC0", "HC1"):
        pd.testing.assert_frame_equal(
            loaded.coef_table(cov_type=cov_type), m.coef_table(cov_type=cov_type)
        )
    assert loaded.nobs_ == m.nobs_
    assert str(loaded.summary()) == str(m.summary())


def _cli(*args):
    from click.testing import CliRunner

    from softlogit.product import cli

    result = CliRunner().invoke(cli.main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("stream", [False, True])
def test_cli_weight_types(tmp_path, stream):
    X, y, w, clusters, strata = _data()
    frame = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "y": y, "w": w, "c": clusters})
    frame["s"] = strata
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    flag = "--stream" if stream else "--no-stream"
    design = ["--cluster", "c", "--strata", "s"]
    out = tmp_path / "m.json"
    text = _cli(
        "fit",
        path,
        "--target",
        "y",
        "--features",
        "x0,x1",
        "--weight",
        "w",
        "--weight-type",
        "probability",
        *design,
        flag,
        "--out",
        out,
    )
    m = sl.LogisticRegression().fit(X, y, probability_weight=w, clusters=clusters, strata=strata)
    loaded = sl.load(out)
    assert loaded.weight_type_ == "probability"
    np.testing.assert_allclose(loaded.coef_table()["std_err"], m.coef_table()["std_err"], rtol=1e-8)
    assert "Weights:" in text and "probability" in text and "survey" in text
    assert "Wald chi2(2)" in text
    text = _cli("summary", out)
    assert "survey" in text
    analytic = _cli(
        "fit",
        path,
        "--target",
        "y",
        "--features",
        "x0,x1",
        "--weight",
        "w",
        "--weight-type",
        "analytic",
        flag,
    )
    assert "analytic" in analytic and "LR chi2(2)" in analytic


def test_cli_refuses_a_design_without_probability_weights(tmp_path):
    from click.testing import CliRunner

    from softlogit.product import cli

    X, y, w, clusters, _ = _data(n=50)
    frame = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "y": y, "w": w, "c": clusters})
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    args = ["fit", str(path), "--target", "y", "--weight", "w", "--cluster", "c"]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code != 0 and "--weight-type probability" in result.output


@pytest.mark.parametrize("use_clusters, use_strata", [(True, True), (True, False), (False, True)])
def test_streamed_and_dask_survey_designs_equal_in_memory(tmp_path, use_clusters, use_strata):
    X, y, w, clusters, strata = _data()
    frame = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "y": y, "w": w})
    frame["c"], frame["s"] = clusters, np.array(["a", "b", "c", "d"])[strata]
    frame.to_parquet(tmp_path / "rows.parquet", row_group_size=97)
    design = {"clusters": clusters if use_clusters else None}
    design["strata"] = strata if use_strata else None
    memory = sl.LogisticRegression().fit(X, y, probability_weight=w, **design)
    scan = sl.scan_parquet(tmp_path / "rows.parquet", "y", features=["x0", "x1"], batch_rows=89)
    streamed = sl.LogisticRegression().fit(
        scan,
        probability_weight="w",
        clusters="c" if use_clusters else None,
        strata="s" if use_strata else None,
    )
    da = pytest.importorskip("dask.array")
    on_dask = sl.LogisticRegression().fit(
        da.from_array(X, chunks=113),
        da.from_array(y, chunks=113),
        probability_weight=da.from_array(w, chunks=113),
        clusters=da.from_array(clusters, chunks=113) if use_clusters else None,
        strata=da.from_array(frame["s"].to_numpy(), chunks=113) if use_strata else None,
    )
    a = memory.coef_table()
    for other in (streamed, on_dask):
        b = other.coef_table()
        np.testing.assert_allclose(b["coef"], a["coef"], rtol=1e-8)
        np.testing.assert_allclose(b["std_err"], a["std_err"], rtol=1e-8)
        assert other.nobs_ == memory.nobs_
        assert "clusters" in str(other.summary()) or not use_clusters
