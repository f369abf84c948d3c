"""Formulas at every scale: streamed Parquet/CSV and Dask fits with a formula equal the
in-memory formula fit (1e-8), their learnt encoding equals formulaic's on the whole data, and
``offset(...)`` terms match R's glm and statsmodels (1e-6)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import softlogit as sl
from softlogit.product import cli
from softlogit.product.modelfile import load, save

from .rscript import run_r

pytest.importorskip("pyarrow")
FORMULA = "y ~ C(g) + bs(z, df=5) + center(x):C(g) + I(x**2)"
OFFSET_FORMULA = "y ~ x + C(g) + offset(np.log(t))"


def _data(n=1200, seed=3):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "z": rng.uniform(1.0, 5.0, size=n),
            "g": rng.choice(["a", "b", "c"], size=n),
            "t": rng.uniform(0.5, 3.0, size=n),
        }
    )
    frame.loc[n - 100 :, "g"] = rng.choice(["c", "d"], size=100)  # "d" only in the last part
    eta = 0.4 * frame.x - 0.2 * frame.z + (frame.g == "b") + 0.5 * np.log(frame.t)
    frame["y"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    return frame


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def parts(data, tmp_path_factory):
    """Three Parquet files and one CSV file of the data."""
    folder = tmp_path_factory.mktemp("formula-stream")
    for i, start in enumerate(range(0, len(data), 400)):
        data.iloc[start : start + 400].to_parquet(folder / f"part-{i}.parquet")
    data.to_csv(folder / "all.csv", index=False)
    return folder


def _fit(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dask: string labels become objects
        return model.fit(X)


def _assert_same_fit(m, ref, rtol=1e-8):
    assert list(m.feature_names_in_) == list(ref.feature_names_in_)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(m.intercept_, ref.intercept_, rtol=rtol)
    a, b = m.coef_table(), ref.coef_table()
    np.testing.assert_allclose(a["std_err"], b["std_err"], rtol=rtol)
    assert m.loglike_ == pytest.approx(ref.loglike_, rel=1e-10)


@pytest.mark.parametrize("formula", [FORMULA, OFFSET_FORMULA])
def test_streamed_parquet_equals_in_memory(data, parts, formula):
    ref = sl.LogisticRegression(formula=formula).fit(data)
    pattern = str(parts / "*.parquet")
    on_model = _fit(sl.LogisticRegression(formula=formula), sl.scan_parquet(pattern, batch_rows=97))
    on_scan = _fit(
        sl.LogisticRegression(), sl.scan_parquet(pattern, formula=formula, batch_rows=97)
    )
    _assert_same_fit(on_model, ref)
    _assert_same_fit(on_scan, ref)
    assert on_scan.formula == formula and not on_scan.has_offset_
    assert "C(g)[T.d]" in ref.feature_names_in_  # a level of the last batches only
    np.testing.assert_allclose(on_scan.predict_proba(data), ref.predict_proba(data), rtol=1e-8)


def test_streamed_csv_equals_in_memory(data, parts):
    ref = sl.LogisticRegression(formula=FORMULA).fit(data)
    m = _fit(
        sl.LogisticRegression(), sl.scan_csv(parts / "all.csv", formula=FORMULA, batch_rows=50)
    )
    _assert_same_fit(m, ref)


def test_dask_frames_equal_in_memory(data, parts):
    dd = pytest.importorskip("dask.dataframe")
    ref = sl.LogisticRegression(formula=OFFSET_FORMULA).fit(data)
    frame = dd.from_pandas(data, npartitions=5)
    _assert_same_fit(_fit(sl.LogisticRegression(formula=OFFSET_FORMULA), frame), ref)
    scan = sl.scan_parquet(parts / "*.parquet", formula=OFFSET_FORMULA, dask=True)
    _assert_same_fit(_fit(sl.LogisticRegression(), scan), ref)


def test_learnt_state_equals_the_whole_data(data, parts):
    """bs() knots, center()'s mean and C()'s levels: formulaic's state on all rows."""
    ref = sl.LogisticRegression(formula=FORMULA).fit(data)._formula.spec
    m = _fit(
        sl.LogisticRegression(formula=FORMULA), sl.scan_parquet(parts / "*.parquet", batch_rows=64)
    )
    spec = m._formula.spec
    knots = spec.transform_state["bs(z, df=5)"]["knots"]
    np.testing.assert_allclose(knots, ref.transform_state["bs(z, df=5)"]["knots"], rtol=1e-12)
    # df=5, degree 3, no intercept column: 2 inner knots at the terciles, boundaries min/max
    inner = np.quantile(data.z, [1 / 3, 2 / 3])
    np.testing.assert_allclose(knots[4:6], inner, rtol=1e-12)
    assert knots[0] == data.z.min() and knots[-1] == data.z.max()
    center = spec.transform_state["center(x)"]["center"]
    assert center == pytest.approx(data.x.mean(), rel=1e-12)
    assert spec.encoder_state["C(g)"][1]["categories"] == ["a", "b", "c", "d"]


def test_offset_matches_r_glm(data, tmp_path):
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    m = sl.LogisticRegression(formula=OFFSET_FORMULA).fit(data)
    r = run_r(
        f"d <- read.csv('{path}')\n"
        "f <- glm(y ~ x + factor(g) + offset(log(t)), binomial, data=d)\n"
        "cat(format(c(coef(f), sqrt(diag(vcov(f)))), digits=17), '\\n')"
    )
    k = len(m.feature_names_in_) + 1
    table = m.coef_table()
    np.testing.assert_allclose(table["coef"].to_numpy(), r[:k], rtol=1e-6)
    np.testing.assert_allclose(table["std_err"].to_numpy(), r[k:], rtol=1e-6)


def test_offset_matches_statsmodels_and_explicit_offset(data):
    sm = pytest.importorskip("statsmodels.api")
    m = sl.LogisticRegression(formula=OFFSET_FORMULA).fit(data)
    plain = sl.LogisticRegression(formula="y ~ x + C(g)").fit(data, offset=np.log(data.t))
    X = sm.add_constant(m._formula.transform(data).to_numpy())
    ref = sm.GLM(data.y, X, family=sm.families.Binomial(), offset=np.log(data.t)).fit()
    table = m.coef_table()
    np.testing.assert_allclose(table["coef"], ref.params, rtol=1e-6)
    np.testing.assert_allclose(table["std_err"], ref.bse, rtol=1e-6)
    np.testing.assert_allclose(m.coef_, plain.coef_, rtol=1e-8)
    # predict evaluates offset(np.log(t)) on the new rows; plain needs offset=
    eta = plain.decision_function(data, offset=np.log(data.t))
    np.testing.assert_allclose(m.decision_function(data), eta, rtol=1e-10)
    both = sl.LogisticRegression(formula=OFFSET_FORMULA).fit(data, offset=np.ones(len(data)))
    assert both.has_offset_ and both.intercept_[0] == pytest.approx(m.intercept_[0] - 1, rel=1e-6)


def test_model_file_round_trip_and_unseen_level(data, parts, tmp_path):
    m = _fit(sl.LogisticRegression(), sl.scan_parquet(parts / "*.parquet", formula=OFFSET_FORMULA))
    save(m, tmp_path / "m.json")
    back = load(tmp_path / "m.json")
    assert back.formula == OFFSET_FORMULA
    np.testing.assert_allclose(back.predict_proba(data), m.predict_proba(data), rtol=1e-12)
    new = data.head(3).assign(g=["a", "e", "b"])
    with pytest.raises(ValueError, match="unseen category.*'e'"):
        back.predict(new)


def test_cli_streamed_formula_round_trip(data, parts, tmp_path):
    runner = CliRunner()
    out = tmp_path / "m.json"
    args = ["fit", str(parts / "all.csv"), "--formula", OFFSET_FORMULA, "--stream"]
    result = runner.invoke(cli.main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    ref = sl.LogisticRegression(formula=OFFSET_FORMULA).fit(data)
    np.testing.assert_allclose(load(out).coef_, ref.coef_, rtol=1e-8)
    pred = tmp_path / "p.csv"
    result = runner.invoke(
        cli.main,
        ["predict", str(out), str(parts / "all.csv"), "--proba", "--batch-rows", "77",
         "--out", str(pred)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    got = pd.read_csv(pred)["proba_1"].to_numpy()
    np.testing.assert_allclose(got, ref.predict_proba(data)[:, 1], rtol=1e-8)


def test_unsupported_and_conflicting_formulas(data, parts):
    scan = sl.scan_parquet(parts / "*.parquet", formula="y ~ C(np.floor(x))")
    with pytest.raises(ValueError, match=r"C\(np.floor\(x\)\).*categorical term must be a column"):
        sl.LogisticRegression().fit(scan)
    with pytest.raises(ValueError, match="left side must be a column"):
        sl.scan_parquet(parts / "*.parquet", formula="I(y > 0) ~ x")
    with pytest.raises(ValueError, match="give the formula to one of them"):
        sl.LogisticRegression(formula="y ~ x").fit(
            sl.scan_parquet(parts / "*.parquet", formula="y ~ z")
        )
    with pytest.raises(ValueError, match="leave out target="):
        sl.scan_parquet(parts / "*.parquet", target="y", formula="y ~ x")
    with pytest.raises(ValueError, match="make the scan without target="):
        target_scan = sl.scan_parquet(parts / "*.parquet", target="y", features=["x"])
        sl.LogisticRegression(formula="y ~ x").fit(target_scan)
    with pytest.raises(ValueError, match="offset.*term of its own"):
        sl.LogisticRegression(formula="y ~ x + offset(t):x").fit(data)


def test_offset_terms_reach_residuals_goodness_and_paths(data):
    """Where new rows are evaluated, offset(...) terms count as offset= does."""
    m = sl.LogisticRegression(formula=OFFSET_FORMULA).fit(data)
    plain = sl.LogisticRegression(formula="y ~ x + C(g)").fit(data, offset=np.log(data.t))
    o = np.log(data.t)
    np.testing.assert_allclose(m.residuals(data), plain.residuals(data, offset=o), rtol=1e-8)
    a = m.goodness_of_fit(data)
    b = plain.goodness_of_fit(data, offset=o)
    assert str(a) == str(b)
    path_a = sl.regularization_path(
        data, None, model=sl.LogisticRegression(formula=OFFSET_FORMULA), n_alphas=5
    )
    path_b = sl.regularization_path(
        data, None, model=sl.LogisticRegression(formula="y ~ x + C(g)"), offset=o, n_alphas=5
    )
    np.testing.assert_allclose(path_a.coefs, path_b.coefs, rtol=1e-8, atol=1e-12)


def test_softmax_and_weights_on_streams(data, parts):
    frame = data.assign(k=np.where(data.y == 1, "yes", np.where(data.x > 0, "no", "maybe")))
    frame["w"] = np.linspace(0.5, 2.0, len(frame))
    folder = parts / "softmax"
    folder.mkdir(exist_ok=True)
    for i, start in enumerate(range(0, len(frame), 300)):
        frame.iloc[start : start + 300].to_parquet(folder / f"p{i}.parquet")
    formula = "k ~ x + C(g) + poly(z, 2)"
    ref = sl.SoftmaxRegression(formula=formula).fit(frame, sample_weight=frame.w)
    scan = sl.scan_parquet(folder, formula=formula, weight="w", batch_rows=111)
    _assert_same_fit(_fit(sl.SoftmaxRegression(), scan), ref)


def test_fitted_encoding_is_applied_to_new_scans(data, parts, tmp_path):
    """Evaluating a fitted formula model on new files applies its encoding (no level "d"
    in the new rows: the columns stay the model's)."""
    m = sl.LogisticRegression(formula=OFFSET_FORMULA).fit(data)
    new = data.iloc[:300]
    assert "d" not in set(new.g)
    new.to_parquet(tmp_path / "new.parquet")
    scan = sl.scan_parquet(tmp_path / "new.parquet", batch_rows=70)
    assert str(m.goodness_of_fit(scan)) == str(m.goodness_of_fit(new))
    from softlogit.stats.influence import write_diagnostics

    write_diagnostics(m, tmp_path / "diag.csv", data=scan)
    got = pd.read_csv(tmp_path / "diag.csv")
    np.testing.assert_allclose(got["linear_predictor"], m.decision_function(new), rtol=1e-10)
    np.testing.assert_allclose(got["deviance"], m.residuals(new, kind="deviance"), rtol=1e-10)


def test_missing_values_and_category_columns(data, tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    ref = sl.LogisticRegression(formula=OFFSET_FORMULA).fit(data)
    cat = data.assign(g=data.g.astype("category"))  # read as its values: levels sorted
    _assert_same_fit(
        _fit(sl.LogisticRegression(formula=OFFSET_FORMULA), dd.from_pandas(cat, 4)), ref
    )
    bad = data.copy()
    bad.loc[500, "g"] = None
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="column 'g' has a missing value at row 500"):
        sl.LogisticRegression().fit(
            sl.scan_parquet(tmp_path / "bad.parquet", formula=OFFSET_FORMULA, batch_rows=90)
        )
    with pytest.raises(ValueError, match="column 'g' has a missing value at row 500"):
        _fit(sl.LogisticRegression(formula=OFFSET_FORMULA), dd.from_pandas(bad, npartitions=3))


def test_partial_fit_takes_the_offset_terms(data):
    kwargs = {"solver": "sgd", "random_state": 0, "batch_size": 100}
    m = sl.LogisticRegression(formula=OFFSET_FORMULA, **kwargs)
    plain = sl.LogisticRegression(formula="y ~ x + C(g)", **kwargs)
    o = np.log(data.t)
    for part in (slice(0, None, 2), slice(1, None, 2)):  # "d" in both halves
        m.partial_fit(data.iloc[part], data.y.iloc[part], classes=[0, 1])
        plain.partial_fit(data.iloc[part], data.y.iloc[part], classes=[0, 1], offset=o[part])
    assert not m.has_offset_
    np.testing.assert_allclose(m.coef_, plain.coef_, rtol=1e-12)


# ------------------------------------------------------------------ cbind() counts responses
BINOMIAL = "cbind(s, f) ~ x + C(g) + center(z)"
MULTINOMIAL = "cbind(n3, n1, n2) ~ x + C(g) + center(z)"
GROUPED = ("loglike_", "deviance_", "null_deviance_", "aic_", "bic_", "nobs_", "df_resid_")


def _counts_data(data, seed=5):
    """The formula data with binomial and 3-class counts per row (zeros included) and
    prior weights."""
    rng = np.random.default_rng(seed)
    n = len(data)
    trials = rng.integers(0, 7, size=n)
    p = 1 / (1 + np.exp(-(0.5 * data.x - 0.3 * data.z + (data.g == "b"))))
    s = rng.binomial(trials, p)
    C = np.array([rng.multinomial(k, [0.2, 0.3 + 0.1 * (g == "c"), 0.5 - 0.1 * (g == "c")])
                  for k, g in zip(trials + 1, data.g, strict=True)])  # fmt: skip
    return data.assign(
        s=s, f=trials - s, n1=C[:, 0], n2=C[:, 1], n3=C[:, 2], w=rng.uniform(0.5, 2.0, n)
    )


@pytest.fixture(scope="module")
def counts(data):
    return _counts_data(data)


@pytest.fixture(scope="module")
def counts_parts(counts, tmp_path_factory):
    """Three Parquet files (row groups of 50) and one CSV file of the counts data."""
    folder = tmp_path_factory.mktemp("cbind-stream")
    for i, start in enumerate(range(0, len(counts), 400)):
        counts.iloc[start : start + 400].to_parquet(folder / f"part-{i}.parquet", row_group_size=50)
    counts.to_csv(folder / "all.csv", index=False, float_format="%.17g")
    return folder


def _assert_same_counts_fit(m, ref, rtol=1e-8):
    _assert_same_fit(m, ref, rtol)
    assert m.counts_response_ and list(m.classes_) == list(ref.classes_)
    for name in GROUPED:
        assert getattr(m, name) == pytest.approx(getattr(ref, name), rel=rtol), name
    np.testing.assert_allclose(
        m.coef_table(cov_type="HC0")["std_err"], ref.coef_table(cov_type="HC0")["std_err"], rtol
    )


def _cbind_sources(counts, counts_parts, formula):
    """The streamed and Dask ways to fit ``formula`` with prior weights ``w``."""
    parquet = str(counts_parts / "*.parquet")
    yield "parquet", sl.scan_parquet(parquet, formula=formula, weight="w", batch_rows=37), {}
    csv = sl.scan_csv(counts_parts / "all.csv", formula=formula, weight="w", batch_rows=41)
    yield "csv", csv, {}
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.from_pandas(counts, npartitions=4)
    yield "dask", frame, {"sample_weight": frame["w"]}
    yield "dask scan", sl.scan_parquet(parquet, formula=formula, weight="w", dask=True), {}


@pytest.mark.parametrize(
    "estimator, formula",
    [(sl.LogisticRegression, BINOMIAL), (sl.SoftmaxRegression, MULTINOMIAL)],
)
def test_cbind_formula_streams_equal_in_memory(counts, counts_parts, estimator, formula):
    ref = estimator(formula=formula).fit(counts, sample_weight=counts.w.to_numpy())
    assert "C(g)[T.d]" in ref.feature_names_in_  # a level of the last file only
    for where, X, kwargs in _cbind_sources(counts, counts_parts, formula):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # dask: string columns as objects
            m = estimator(formula=formula if where == "dask" else None).fit(X, **kwargs)
        try:
            _assert_same_counts_fit(m, ref)
        except AssertionError as err:
            raise AssertionError(f"{where}: {err}") from None
        assert m.formula == formula and m.response_name_ == formula.split(" ~")[0]
        np.testing.assert_allclose(m.predict_proba(counts), ref.predict_proba(counts), rtol=1e-8)


def test_streamed_cbind_formula_matches_r_glm(counts, counts_parts, tmp_path):
    path = tmp_path / "d.csv"
    counts.to_csv(path, index=False, float_format="%.17g")
    m = sl.LogisticRegression().fit(
        sl.scan_parquet(
            counts_parts / "*.parquet", formula="cbind(s, f) ~ x + C(g)", weight="w", batch_rows=64
        )
    )
    r = run_r(
        f"d <- read.csv('{path}')\n"
        "f <- glm(cbind(s, f) ~ x + factor(g), binomial, data=d, weights=w)\n"
        "cat(format(c(coef(f), sqrt(diag(vcov(f))), deviance(f), logLik(f)), digits=17))"
    )
    k = len(m.feature_names_in_) + 1
    table = m.coef_table()
    np.testing.assert_allclose(table["coef"].to_numpy(), r[:k], rtol=1e-6)
    np.testing.assert_allclose(table["std_err"].to_numpy(), r[k : 2 * k], rtol=1e-6)
    assert m.deviance_ == pytest.approx(r[2 * k], rel=1e-6)
    assert m.loglike_ == pytest.approx(r[2 * k + 1], rel=1e-6)


def test_streamed_cbind_model_file_round_trip(counts, counts_parts, tmp_path):
    ref = sl.SoftmaxRegression(formula=MULTINOMIAL).fit(counts)
    m = sl.SoftmaxRegression().fit(
        sl.scan_parquet(counts_parts / "*.parquet", formula=MULTINOMIAL, batch_rows=90)
    )
    save(m, tmp_path / "m.json")
    back = load(tmp_path / "m.json")
    assert back.formula == MULTINOMIAL and list(back.classes_) == ["n1", "n2", "n3"]
    assert back.deviance_ == pytest.approx(ref.deviance_, rel=1e-8)
    np.testing.assert_allclose(back.predict_proba(counts), ref.predict_proba(counts), rtol=1e-8)
    assert str(back.summary()) == str(m.summary())


def test_cli_streamed_cbind_formula_round_trip(counts, counts_parts, tmp_path):
    runner = CliRunner()
    out = tmp_path / "m.json"
    args = ["fit", str(counts_parts / "all.csv"), "--formula", BINOMIAL, "--stream"]
    result = runner.invoke(cli.main, [*args, "--weight", "w", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "grouped scale" in result.output
    ref = sl.LogisticRegression(formula=BINOMIAL).fit(counts, sample_weight=counts.w.to_numpy())
    back = load(out)
    np.testing.assert_allclose(back.coef_, ref.coef_, rtol=1e-8)
    assert back.deviance_ == pytest.approx(ref.deviance_, rel=1e-8)
    pred = tmp_path / "p.csv"
    result = runner.invoke(
        cli.main,
        ["predict", str(out), str(counts_parts / "all.csv"), "--proba", "--out", str(pred)],
    )
    assert result.exit_code == 0, result.output
    got = pd.read_csv(pred)["proba_1"].to_numpy()
    np.testing.assert_allclose(got, ref.predict_proba(counts)[:, 1], rtol=1e-8)
    result = runner.invoke(cli.main, [*args, "--weight", "w", "--weight-type", "analytic"])
    assert result.exit_code != 0 and "frequency weights" in result.output


def test_cbind_formula_stream_errors(counts, counts_parts, tmp_path):
    files = counts_parts / "*.parquet"
    with pytest.raises(ValueError, match="2 columns, not 3.*SoftmaxRegression"):
        sl.LogisticRegression().fit(sl.scan_parquet(files, formula=MULTINOMIAL))
    with pytest.raises(ValueError, match="left side must be a column"):
        sl.scan_parquet(files, formula="cbind(s, nope) ~ x")
    bad = counts.copy()
    bad.loc[321, "f"] = -1
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match=r"row 21.*-1.*from row 300"):
        sl.LogisticRegression().fit(
            sl.scan_parquet(tmp_path / "bad.parquet", formula=BINOMIAL, batch_rows=100)
        )


def test_cbind_formula_on_the_estimator_and_evaluation_on_scans(counts, counts_parts):
    """A bare scan takes the estimator's cbind formula; goodness_of_fit and roc_auc of new
    scans read through the fitted encoding equal the in-memory model's on its rows."""
    formula = "cbind(s, f) ~ x + C(g)"
    ref = sl.LogisticRegression(formula=formula).fit(counts)
    files = counts_parts / "*.parquet"
    m = sl.LogisticRegression(formula=formula).fit(sl.scan_parquet(files, batch_rows=70))
    _assert_same_counts_fit(m, ref)
    new = sl.scan_parquet(files, formula=formula, batch_rows=55)
    a, b = ref.goodness_of_fit(), m.goodness_of_fit(new)
    assert b.nobs == pytest.approx(counts.s.sum() + counts.f.sum(), rel=1e-12) == a.nobs
    assert b.brier == pytest.approx(a.brier, rel=1e-8)
    for name in ("pearson", "hosmer_lemeshow"):
        assert getattr(b, name).statistic == pytest.approx(getattr(a, name).statistic, rel=1e-8)
    assert m.roc_auc(new).auc == pytest.approx(ref.roc_auc().auc, rel=1e-10)
