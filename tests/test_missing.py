"""missing="drop": fits on the complete rows (R's na.omit, statsmodels' missing="drop"),
per-column counts, predictions placed as R's na.exclude, and the default error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import statsmodels.api as smapi

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo

from .rscript import run_r

RTOL = 1e-6
FEATURES = ["gre", "gpa"]


def _holes(frame, columns, counts, seed=0):
    """A copy of ``frame`` with ``counts[j]`` missing values at random rows of ``columns[j]``
    (the rows overlap between columns, so some rows miss two values)."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for column, count in zip(columns, counts, strict=True):
        out[column] = out[column].astype(float if out[column].dtype.kind in "iuf" else object)
        out.loc[rng.choice(len(out), count, replace=False), column] = np.nan
    return out


@pytest.fixture(scope="module")
def adm():
    data = load_admissions()
    data = _holes(data, ["gre", "gpa"], [9, 7])
    data.loc[[3, 50], "rank"] = np.nan
    return data


def _expected_counts(frame, columns):
    missing = frame[columns].isna()
    return int(missing.any(axis=1).sum()), {
        c: int(missing[c].sum()) for c in columns if missing[c].any()
    }


def test_drop_equals_complete_rows_frame(adm):
    m = sl.LogisticRegression(missing="drop").fit(adm[FEATURES], adm["admit"])
    full = adm.dropna(subset=FEATURES)
    ref = sl.LogisticRegression().fit(full[FEATURES], full["admit"])
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-12)
    np.testing.assert_allclose(m.intercept_, ref.intercept_, rtol=1e-12)
    n, counts = _expected_counts(adm, FEATURES)
    assert m.n_dropped_ == n == len(adm) - len(full)
    assert m.dropped_by_column_ == counts
    assert m.nobs_ == len(full)


def test_drop_equals_complete_rows_arrays_weights_offset(adm):
    X = adm[FEATURES].to_numpy()
    y = adm["admit"].to_numpy().astype(object)
    y[[10, 11]] = None
    w = np.linspace(0.5, 2.0, len(adm))
    w[12] = np.nan
    off = np.linspace(-0.2, 0.2, len(adm))
    off[[13, 14]] = np.nan
    m = sl.LogisticRegression(missing="drop").fit(X, y, sample_weight=w, offset=off)
    keep = ~(np.isnan(X).any(1) | pd.isna(y) | np.isnan(w) | np.isnan(off))
    ref = sl.LogisticRegression().fit(
        X[keep], y[keep].astype(int), sample_weight=w[keep], offset=off[keep]
    )
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-12)
    assert m.n_dropped_ == int((~keep).sum())
    assert m.dropped_by_column_["y"] == 2
    assert m.dropped_by_column_["sample_weight"] == 1
    assert m.dropped_by_column_["offset"] == 2
    assert m.dropped_by_column_["x0"] == int(np.isnan(X[:, 0]).sum())


def test_drop_sparse_stored_nan(adm):
    full = adm.dropna(subset=FEATURES)
    X = sp.csr_matrix(adm[FEATURES].fillna(0).to_numpy())
    X.data[[5, 8]] = np.nan  # two stored entries
    rows = X.tocoo().row[[5, 8]]
    m = sl.LogisticRegression(missing="drop").fit(X, adm["admit"].to_numpy())
    keep = np.ones(len(adm), bool)
    keep[rows] = False
    ref = sl.LogisticRegression().fit(X[keep].toarray(), adm["admit"].to_numpy()[keep])
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-10)
    assert m.n_dropped_ == np.unique(rows).size and len(full) < len(adm)


def test_formula_drop_counts_the_formula_columns(adm):
    data = adm.assign(unused=np.where(np.arange(len(adm)) % 5 == 0, np.nan, 1.0))
    formula = "admit ~ gre + gpa + C(rank)"
    m = sl.LogisticRegression(formula=formula, missing="drop").fit(data)
    used = ["gre", "gpa", "rank"]
    full = data.dropna(subset=used)
    ref = sl.LogisticRegression(formula=formula).fit(full)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-12)
    n, counts = _expected_counts(data, used)
    assert m.n_dropped_ == n and m.dropped_by_column_ == counts  # "unused" is not counted
    from formulaic import model_matrix  # formulaic's own na_action="drop" keeps those rows

    kept = model_matrix(formula, data, na_action="drop").rhs
    assert len(kept) == m.nobs_ and list(kept.index) == list(full.index)
    assert m.nobs_ == len(full)
    text = str(m.summary())
    listed = ", ".join(f"{k}: {v}" for k, v in counts.items())
    assert f"Dropped: {n} rows with missing values ({listed})" in text


def test_statsmodels_logit_missing_drop(adm):
    m = sl.LogisticRegression(missing="drop").fit(adm[FEATURES], adm["admit"])
    exog = smapi.add_constant(adm[FEATURES])
    ref = smapi.Logit(adm["admit"], exog, missing="drop").fit(disp=0)
    assert ref.nobs == m.nobs_
    table = m.coef_table()
    np.testing.assert_allclose(table["coef"].to_numpy(), ref.params.to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(table["std_err"].to_numpy(), ref.bse.to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(m.loglike_, ref.llf, rtol=RTOL)


def test_statsmodels_glm_weights_missing_drop(adm):
    w = np.linspace(0.5, 2.0, len(adm))
    w[[20, 21, 22]] = np.nan
    m = sl.LogisticRegression(missing="drop").fit(adm[FEATURES], adm["admit"], sample_weight=w)
    keep = adm[FEATURES].notna().all(axis=1).to_numpy() & ~np.isnan(w)
    exog = smapi.add_constant(adm[FEATURES])
    ref = smapi.GLM(
        adm["admit"][keep], exog[keep], family=smapi.families.Binomial(), freq_weights=w[keep]
    ).fit()
    table = m.coef_table()
    np.testing.assert_allclose(table["coef"].to_numpy(), ref.params.to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(table["std_err"].to_numpy(), ref.bse.to_numpy(), rtol=RTOL)


def test_statsmodels_mnlogit_missing_drop():
    data = _holes(load_hsbdemo(), ["write", "math"], [6, 4], seed=1)
    m = sl.SoftmaxRegression(missing="drop").fit(data[["write", "math"]], data["prog"])
    exog = smapi.add_constant(data[["write", "math"]])
    codes = pd.Categorical(data["prog"], categories=m.classes_).codes
    ref = smapi.MNLogit(pd.Series(codes, index=data.index), exog, missing="drop").fit(disp=0)
    assert ref.nobs == m.nobs_
    ours = m.coef_table()
    for k, label in enumerate(m.classes_[1:]):
        np.testing.assert_allclose(
            ours.loc[label]["coef"].to_numpy(), ref.params.iloc[:, k].to_numpy(), rtol=RTOL
        )
        np.testing.assert_allclose(
            ours.loc[label]["std_err"].to_numpy(), ref.bse.iloc[:, k].to_numpy(), rtol=RTOL
        )


def test_r_glm_na_omit(adm, tmp_path):
    path = tmp_path / "adm.csv"
    adm.to_csv(path, index=False, na_rep="NA")
    out = run_r(
        f"d <- read.csv('{path.as_posix()}')\n"
        "f <- glm(admit ~ gre + gpa + factor(rank), family=binomial, data=d, "
        "na.action=na.omit)\n"
        "cat(format(c(nobs(f), length(f$na.action), coef(f), "
        "sqrt(diag(vcov(f)))), digits=17), '\\n')\n"
    )
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)", missing="drop").fit(adm)
    k = m.coef_.size + 1
    assert out[0] == m.nobs_ and out[1] == m.n_dropped_
    table = m.coef_table()
    np.testing.assert_allclose(table["coef"].to_numpy(), out[2 : 2 + k], rtol=RTOL)
    np.testing.assert_allclose(table["std_err"].to_numpy(), out[2 + k :], rtol=RTOL)


def test_predict_places_missing_rows(adm):
    m = sl.LogisticRegression(missing="drop").fit(adm[FEATURES], adm["admit"])
    missing = adm[FEATURES].isna().any(axis=1).to_numpy()
    full = adm[FEATURES][~missing]
    proba = m.predict_proba(adm[FEATURES])
    assert proba.shape == (len(adm), 2)
    assert np.isnan(proba[missing]).all()
    np.testing.assert_array_equal(proba[~missing], m.predict_proba(full))
    np.testing.assert_array_equal(
        m.predict_log_proba(adm[FEATURES])[~missing], m.predict_log_proba(full)
    )
    eta = m.decision_function(adm[FEATURES])
    assert np.isnan(eta[missing]).all() and eta.shape == (len(adm),)
    labels = m.predict(adm[FEATURES])
    assert labels.dtype == object and all(v is None for v in labels[missing])
    np.testing.assert_array_equal(labels[~missing].astype(int), m.predict(full))
    assert m.predict(full).dtype.kind == "i"  # complete rows: the labels' own type
    p, lo, hi = m.predict_proba(adm[FEATURES], return_ci=True)
    assert np.isnan(lo[missing]).all() and np.isfinite(hi[~missing]).all()
    none = m.predict_proba(adm[FEATURES][missing])
    assert none.shape == (int(missing.sum()), 2) and np.isnan(none).all()


def test_predict_formula_and_softmax_places_missing_rows(adm):
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)", missing="drop").fit(adm)
    missing = adm[["gre", "gpa", "rank"]].isna().any(axis=1).to_numpy()
    new = adm.drop(columns="admit")
    proba = m.predict_proba(new)
    assert np.isnan(proba[missing]).all()
    np.testing.assert_array_equal(proba[~missing], m.predict_proba(new[~missing]))
    data = _holes(load_hsbdemo(), ["write"], [5], seed=2)
    s = sl.SoftmaxRegression(missing="drop").fit(data[["write", "math"]], data["prog"])
    eta = s.decision_function(data[["write", "math"]])
    assert eta.shape == (len(data), 3) and np.isnan(eta[data["write"].isna()]).all()
    labels = s.predict(data[["write", "math"]])
    assert labels[data["write"].isna().to_numpy()].tolist() == [None] * 5


def test_default_raises_naming_row_and_column(adm):
    row, col = np.argwhere(adm[FEATURES].isna().to_numpy())[0]
    where = rf"row {row}, column {col} \('{FEATURES[col]}'\)"
    with pytest.raises(ValueError, match=where):
        sl.LogisticRegression().fit(adm[FEATURES], adm["admit"])
    m = sl.LogisticRegression().fit(adm[FEATURES].fillna(0), adm["admit"])
    with pytest.raises(ValueError, match=where):
        m.predict(adm[FEATURES])


def test_infinite_values_stay_errors(adm):
    X = adm[FEATURES].copy()
    X.loc[0, "gpa"] = np.inf
    with pytest.raises(ValueError, match="inf at row 0"):
        sl.LogisticRegression(missing="drop").fit(X, adm["admit"])


def test_missing_parameter_is_validated():
    with pytest.raises(ValueError, match="missing='omit'"):
        sl.LogisticRegression(missing="omit").fit(np.eye(4), [0, 1, 0, 1])


def test_every_row_missing_is_a_clear_error():
    X = np.full((4, 1), np.nan)
    with pytest.raises(ValueError, match="drops every one of the 4 rows"):
        sl.LogisticRegression(missing="drop").fit(X, [0, 1, 0, 1])


# ------------------------------------------------------------------ streamed and Dask
STREAM_RTOL = 1e-8


@pytest.fixture(scope="module")
def table(adm):
    data = adm[["admit", "gre", "gpa", "rank"]].copy()
    data["w"] = np.linspace(0.5, 2.0, len(data))
    data.loc[[3, 4], "w"] = np.nan
    data.loc[[7], "admit"] = np.nan  # a missing label
    return data


def _in_memory(table, features):
    return sl.LogisticRegression(missing="drop").fit(
        table[features], table["admit"], sample_weight=table["w"]
    )


def _same_fit(a, b):
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=STREAM_RTOL)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=STREAM_RTOL)
    se_a, se_b = a.coef_table()["std_err"], b.coef_table()["std_err"]
    np.testing.assert_allclose(se_a.to_numpy(), se_b.to_numpy(), rtol=STREAM_RTOL)
    np.testing.assert_allclose(a.loglike_, b.loglike_, rtol=STREAM_RTOL)
    np.testing.assert_allclose(a.null_loglike_, b.null_loglike_, rtol=STREAM_RTOL)
    assert a.nobs_ == pytest.approx(b.nobs_, rel=1e-12)
    assert a.n_dropped_ == b.n_dropped_


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_streamed_drop_equals_in_memory(table, tmp_path, kind):
    features = ["gre", "gpa", "rank"]
    path = tmp_path / f"t.{kind}"
    if kind == "parquet":
        table.to_parquet(path, row_group_size=64)
        scan = sl.scan_parquet(path, target="admit", features=features, weight="w", batch_rows=50)
    else:
        table.to_csv(path, index=False)
        scan = sl.scan_csv(path, target="admit", features=features, weight="w", batch_rows=50)
    streamed = sl.LogisticRegression(missing="drop").fit(scan)
    ref = _in_memory(table, features)
    _same_fit(streamed, ref)
    expected = {c: int(table[c].isna().sum()) for c in ["admit", *features, "w"]}
    assert streamed.dropped_by_column_ == {k: v for k, v in expected.items() if v}
    assert streamed.n_dropped_ == int(table[["admit", *features, "w"]].isna().any(axis=1).sum())
    with pytest.raises(ValueError, match=r"column '\w+' has a missing value at row \d+"):
        sl.LogisticRegression().fit(scan)


def test_dask_drop_equals_in_memory(table):
    dd = pytest.importorskip("dask.dataframe")
    features = ["gre", "gpa", "rank"]
    frame = dd.from_pandas(table, npartitions=4)
    fitted = sl.LogisticRegression(missing="drop").fit(
        frame[features], frame["admit"], sample_weight=frame["w"]
    )
    ref = _in_memory(table, features)
    _same_fit(fitted, ref)
    assert fitted.dropped_by_column_ == ref.dropped_by_column_
    with pytest.raises(ValueError, match="contains NaN at row"):
        sl.LogisticRegression().fit(frame[features], frame["admit"].fillna(0))


def test_dask_softmax_drop_equals_in_memory():
    da = pytest.importorskip("dask.array")
    data = _holes(load_hsbdemo(), ["write", "math"], [6, 4], seed=3)
    X = data[["write", "math"]].to_numpy()
    y = data["prog"].to_numpy()
    fitted = sl.SoftmaxRegression(missing="drop").fit(
        da.from_array(X, chunks=(37, 2)), da.from_array(y, chunks=37)
    )
    ref = sl.SoftmaxRegression(missing="drop").fit(X, y)
    _same_fit(fitted, ref)
    assert fitted.dropped_by_column_ == ref.dropped_by_column_ == {"x0": 6, "x1": 4}


# ------------------------------------------------------------------ model files and the CLI
def test_model_file_keeps_missing_and_counts(adm, tmp_path):
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)", missing="drop").fit(adm)
    path = tmp_path / "m.json"
    m.save(path)
    back = sl.load(path)
    assert back.missing == "drop"
    assert back.n_dropped_ == m.n_dropped_ and back.dropped_by_column_ == m.dropped_by_column_
    new = adm.drop(columns="admit")
    np.testing.assert_array_equal(back.predict_proba(new), m.predict_proba(new))
    assert "Dropped:" in str(back.summary())
    plain = sl.LogisticRegression().fit(adm[FEATURES].fillna(0), adm["admit"])
    plain.save(tmp_path / "p.json")
    old = sl.load(tmp_path / "p.json")
    assert old.missing == "raise" and not hasattr(old, "n_dropped_")


def _cli(*args):
    from click.testing import CliRunner

    from softlogit.product import cli

    result = CliRunner().invoke(cli.main, [str(a) for a in args])
    assert result.exit_code == 0, result.stderr
    return result


@pytest.mark.parametrize("stream", ["--no-stream", "--stream"])
def test_cli_fit_and_predict_missing_drop(table, tmp_path, stream):
    data = tmp_path / "t.parquet"
    table.to_parquet(data, row_group_size=64)
    model = tmp_path / "m.json"
    features = ["gre", "gpa", "rank"]
    fit = _cli(
        "fit", data, "--target", "admit", "--features", ",".join(features), "--weight", "w",
        "--missing", "drop", "--out", model, stream, "--report", tmp_path / "r.html",
    )  # fmt: skip
    ref = _in_memory(table, features)
    n = ref.n_dropped_
    assert f"dropped {n} rows with missing values" in fit.stderr
    assert f"Dropped: {n} rows with missing values" in fit.stdout
    out = tmp_path / "p.csv"
    _cli("predict", model, data, "--proba", "--batch-rows", "37", "--out", out)
    pred = pd.read_csv(out)
    missing = table[features].isna().any(axis=1).to_numpy()
    assert pred["label"][missing].isna().all() and pred["proba_1.0"][missing].isna().all()
    expected = ref.predict_proba(table[features][~missing])[:, 1]
    np.testing.assert_allclose(pred["proba_1.0"][~missing], expected, rtol=1e-8)
    _cli("report", model, data, "--out", tmp_path / "r2.html", "--force")  # complete rows


def test_cli_default_still_raises(table, tmp_path):
    from click.testing import CliRunner

    from softlogit.product import cli

    data = tmp_path / "t.csv"
    table.to_csv(data, index=False)
    result = CliRunner().invoke(cli.main, ["fit", str(data), "--target", "admit"])
    assert result.exit_code == 1 and "contains NaN at row" in result.stderr


def test_score_uses_the_predicted_rows(adm):
    m = sl.LogisticRegression(missing="drop").fit(adm[FEATURES], adm["admit"])
    complete = adm.dropna(subset=FEATURES)
    assert m.score(adm[FEATURES], adm["admit"]) == m.score(complete[FEATURES], complete["admit"])


def test_polars_frame_drop(adm):
    pl = pytest.importorskip("polars")
    frame = pl.from_pandas(adm[FEATURES])  # NaN becomes null
    m = sl.LogisticRegression(missing="drop").fit(frame, adm["admit"].to_numpy())
    ref = sl.LogisticRegression(missing="drop").fit(adm[FEATURES], adm["admit"])
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-12)
    assert m.dropped_by_column_ == ref.dropped_by_column_
    proba = m.predict_proba(frame)
    assert np.isnan(proba[adm[FEATURES].isna().any(axis=1).to_numpy()]).all()


def test_partial_fit_drops_each_batch(adm):
    X, y = adm[FEATURES].to_numpy() / [800, 4], adm["admit"].to_numpy()
    keep = ~np.isnan(X).any(axis=1)
    a = sl.LogisticRegression(solver="sgd", missing="drop", random_state=0)
    b = sl.LogisticRegression(solver="sgd", random_state=0)
    a.partial_fit(X, y, classes=[0, 1])
    b.partial_fit(X[keep], y[keep], classes=[0, 1])
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12)


def test_drop_takes_the_rows_of_typed_weights_clusters_and_trials():
    """missing="drop" drops a row whose probability weight is missing, and subsets the
    survey design and the binomial trials with the other arguments: the fit equals the
    complete rows' fit."""
    rng = np.random.default_rng(1)
    n = 300
    X = rng.normal(size=(n, 2))
    y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    w, clusters = rng.uniform(0.5, 3, n), rng.integers(0, 30, n)
    Xm, wm = X.copy(), w.copy()
    Xm[[3, 7], 0], wm[11] = np.nan, np.nan
    keep = np.ones(n, bool)
    keep[[3, 7, 11]] = False
    design = {"clusters": clusters, "strata": clusters % 3}
    m = sl.LogisticRegression(missing="drop").fit(Xm, y, probability_weight=wm, **design)
    ref = sl.LogisticRegression().fit(
        X[keep], y[keep], probability_weight=w[keep], **{k: v[keep] for k, v in design.items()}
    )
    assert m.n_dropped_ == 3 and m.dropped_by_column_ == {"x0": 2, "probability_weight": 1}
    np.testing.assert_allclose(m.coef_table(), ref.coef_table(), rtol=1e-12)
    trials = rng.integers(1, 6, n)
    prop = rng.binomial(trials, 0.4) / trials
    prop_m = prop.copy()
    prop_m[5] = np.nan
    m = sl.LogisticRegression(missing="drop").fit(X, prop_m, trials=trials)
    keep = np.arange(n) != 5
    ref = sl.LogisticRegression().fit(X[keep], prop[keep], trials=trials[keep])
    assert m.n_dropped_ == 1
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-12)
    assert m.deviance_ == pytest.approx(ref.deviance_, rel=1e-12)
