"""The command line offers what the library does (issue 12, item 3): weights, offsets, class
weights, iteration limits, cross-validation, the positive class, id columns in predictions,
robust covariances from a model file, and report paths checked before the fit.

Every fit is compared with the library's own fit of the same rows (and statsmodels for the
robust standard errors), in memory and streamed where the library streams.
"""

import json
import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner
from sklearn.datasets import load_breast_cancer

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo
from softlogit.product import cli, cli_data, modelfile

ADM = ["gre", "gpa", "rank_2", "rank_3", "rank_4"]
HSB = ["write", "ses_middle", "ses_high"]


def _invoke(*args, ok=True):
    result = CliRunner().invoke(cli.main, [str(a) for a in args])
    if ok and result.exit_code != 0:
        raise AssertionError(f"exit {result.exit_code}: {result.stderr}") from result.exception
    return result


def _error(*args, code):
    result = _invoke(*args, ok=False)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


def _params(model):
    return np.column_stack([model.intercept_, model.coef_])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Admissions with a weight and an offset column; hsbdemo with one offset per class."""
    folder = tmp_path_factory.mktemp("cli-options")
    rng = np.random.default_rng(0)
    adm = load_admissions()
    adm["w"] = rng.integers(1, 4, len(adm)).astype(float)
    adm["off"] = rng.normal(scale=0.3, size=len(adm))
    adm["row_id"] = [f"r{i}" for i in range(len(adm))]
    hsb = load_hsbdemo()
    for k in range(3):
        hsb[f"o{k}"] = rng.normal(scale=0.2, size=len(hsb))
    out = {"adm_frame": adm, "hsb_frame": hsb}
    for name, frame in (("adm", adm), ("hsb", hsb)):
        for ext in ("csv", "parquet"):
            path = folder / f"{name}.{ext}"
            frame.to_csv(path, index=False) if ext == "csv" else frame.to_parquet(path)
            out[f"{name}.{ext}"] = path
    return out


# ------------------------------------------------------------------ weights and offsets
@pytest.mark.parametrize("ext", ["csv", "parquet"])
@pytest.mark.parametrize("stream", ["--no-stream", "--stream"])
def test_weight_and_offset_columns(data, tmp_path, ext, stream):
    adm = data["adm_frame"]
    out = tmp_path / "m.json"
    _invoke(
        "fit", data[f"adm.{ext}"], "--target", "admit", "--features", ",".join(ADM),
        "--weight", "w", "--offset", "off", stream, "--out", out,
    )  # fmt: skip
    ref = sl.LogisticRegression().fit(
        adm[ADM], adm["admit"], sample_weight=adm["w"], offset=adm["off"]
    )
    np.testing.assert_allclose(_params(sl.load(out)), _params(ref), rtol=0, atol=1e-8)
    assert sl.load(out).nobs_ == adm["w"].sum()


def test_weight_and_offset_without_features_are_not_features(data, tmp_path):
    adm = data["adm_frame"][["admit", *ADM, "w", "off"]]
    path = tmp_path / "d.csv"
    adm.to_csv(path, index=False)
    _invoke("fit", path, "--target", "admit", "--weight", "w", "--offset", "off", "--out",
            tmp_path / "m.json")  # fmt: skip
    model = sl.load(tmp_path / "m.json")
    assert list(model.feature_names_in_) == ADM
    ref = sl.LogisticRegression().fit(adm[ADM], adm["admit"], sample_weight=adm["w"],
                                      offset=adm["off"])  # fmt: skip
    np.testing.assert_allclose(_params(model), _params(ref), rtol=0, atol=1e-8)


@pytest.mark.parametrize("stream", ["--no-stream", "--stream"])
def test_softmax_offsets_one_per_class(data, tmp_path, stream):
    hsb = data["hsb_frame"]
    out = tmp_path / "m.json"
    _invoke("fit", data["hsb.parquet"], "--target", "prog", "--features", ",".join(HSB),
            "--offset", "o0,o1,o2", stream, "--out", out)  # fmt: skip
    ref = sl.SoftmaxRegression().fit(hsb[HSB], hsb["prog"], offset=hsb[["o0", "o1", "o2"]])
    np.testing.assert_allclose(_params(sl.load(out)), _params(ref), rtol=0, atol=1e-8)


def test_formula_with_weight(data, tmp_path):
    adm = data["adm_frame"]
    out = tmp_path / "m.json"
    formula = "admit ~ gre + gpa + C(rank)"
    _invoke("fit", data["adm.csv"], "--formula", formula, "--weight", "w", "--out", out)
    ref = sl.LogisticRegression(formula=formula).fit(adm, sample_weight=adm["w"])
    np.testing.assert_allclose(_params(sl.load(out)), _params(ref), rtol=0, atol=1e-8)


# ------------------------------------------------------------------ class weights
@pytest.mark.parametrize("stream", ["--no-stream", "--stream"])
@pytest.mark.parametrize("spec", ["balanced", "0=1,1=3"])
def test_class_weight(data, tmp_path, stream, spec):
    adm = data["adm_frame"]
    out = tmp_path / "m.json"
    _invoke("fit", data["adm.parquet"], "--target", "admit", "--features", ",".join(ADM),
            "--class-weight", spec, stream, "--out", out)  # fmt: skip
    weights = "balanced" if spec == "balanced" else {0: 1.0, 1: 3.0}
    ref = sl.LogisticRegression(class_weight=weights).fit(adm[ADM], adm["admit"])
    np.testing.assert_allclose(_params(sl.load(out)), _params(ref), rtol=0, atol=1e-8)
    assert sl.load(out).class_weight == weights


def test_class_weight_errors(data):
    common = ["fit", data["adm.csv"], "--target", "admit", "--features", "gre,gpa"]
    assert "LABEL=WEIGHT" in _error(*common, "--class-weight", "0:1", code=2)
    assert "LABEL=WEIGHT" in _error(*common, "--class-weight", "0=-1", code=2)
    err = _error(*common, "--class-weight", "0=1,yes=2", code=1)
    assert "--class-weight 'yes' is not a class" in err


# ------------------------------------------------------------------ iterations
@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    frame = X.assign(target=y)
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    path = tmp_path_factory.mktemp("cancer") / "cancer.csv"
    frame.to_csv(path, index=False)
    return path, frame.drop(columns="target"), frame["target"]


def test_max_iter_and_tol_reach_the_estimator(cancer, tmp_path):
    """Firth on breast cancer (the fix the separation warning recommends): --max-iter
    and --tol are the library's max_iter and tol. The reference fits the frame as the
    command line reads it (pyarrow's columns: the Newton path depends on the layout)."""
    path, _, _ = cancer
    frame = cli_data.read_frame(cli_data.open_table(str(path)))
    X, y = frame.drop(columns="target"), frame["target"]
    base = ["fit", path, "--target", "target", "--penalty", "firth"]
    for extra, params in (
        (["--max-iter", "20"], {"max_iter": 20}),
        (["--max-iter", "300"], {"max_iter": 300}),
        (["--tol", "1e-3"], {"tol": 1e-3}),
    ):
        out = tmp_path / "m.json"
        result = _invoke(*base, *extra, "--out", out)
        ref = sl.LogisticRegression(penalty="firth", **params).fit(X, y)
        model = sl.load(out)
        assert (model.n_iter_, model.converged_) == (ref.n_iter_, ref.converged_)
        np.testing.assert_allclose(_params(model), _params(ref), rtol=0, atol=1e-8)
        assert model.get_params()["max_iter"] == params.get("max_iter")
        if params.get("max_iter") == 20:
            assert model.n_iter_ == 20 and not model.converged_
            assert "ConvergenceWarning" in result.stderr
    assert sl.load(tmp_path / "m.json").tol == 1e-3
    _error(*base, "--max-iter", "0", code=2)
    _error(*base, "--tol", "0", code=2)


# ------------------------------------------------------------------ cross-validation
def test_cv_fits_the_cv_estimator(data, tmp_path):
    adm = data["adm_frame"]
    out = tmp_path / "m.json"
    result = _invoke("fit", data["adm.csv"], "--target", "admit", "--features", ",".join(ADM),
                     "--cv", "3", "--random-state", "0", "--out", out)  # fmt: skip
    ref = sl.LogisticRegressionCV(cv=3, random_state=0).fit(adm[ADM], adm["admit"])
    model = sl.load(out)
    assert type(model) is sl.LogisticRegressionCV and model.alpha_ == ref.alpha_
    np.testing.assert_allclose(_params(model), _params(ref), rtol=0, atol=1e-10)
    assert f"alpha {ref.alpha_selected_:.6g}" in result.stderr


def test_cv_softmax_elasticnet(data, tmp_path):
    hsb = data["hsb_frame"]
    out = tmp_path / "m.json"
    _invoke("fit", data["hsb.csv"], "--target", "prog", "--features", ",".join(HSB), "--cv", "3",
            "--penalty", "elasticnet", "--l1-ratio", "0.5", "--random-state", "1",
            "--out", out)  # fmt: skip
    ref = sl.SoftmaxRegressionCV(cv=3, penalty="elasticnet", l1_ratio=0.5, random_state=1)
    ref.fit(hsb[HSB], hsb["prog"])
    model = sl.load(out)
    assert type(model) is sl.SoftmaxRegressionCV and model.l1_ratio_ == 0.5
    np.testing.assert_allclose(_params(model), _params(ref), rtol=0, atol=1e-10)


def test_cv_usage_errors(data):
    common = ["fit", data["adm.csv"], "--target", "admit", "--cv", "3"]
    assert "--cv needs the data in memory" in _error(*common, "--stream", code=2)
    assert "cross-validation chooses alpha" in _error(*common, "--alpha", "0.1", code=2)
    assert "not firth" in _error(*common, "--penalty", "firth", code=2)
    _error(*common[:-1], "1", code=2)


# ------------------------------------------------------------------ the positive class
@pytest.mark.parametrize("stream", ["--no-stream", "--stream"])
def test_positive_class(data, tmp_path, stream):
    adm = data["adm_frame"]
    common = ["fit", data["adm.parquet"], "--target", "admit", "--features", ",".join(ADM), stream]
    ref = sl.LogisticRegression().fit(adm[ADM], adm["admit"])
    _invoke(*common, "--positive", "1", "--out", tmp_path / "one.json")
    one = sl.load(tmp_path / "one.json")
    assert type(one) is sl.LogisticRegression
    np.testing.assert_allclose(_params(one), _params(ref), rtol=0, atol=1e-8)
    result = _invoke(*common, "--positive", "0", "--out", tmp_path / "zero.json")
    zero = sl.load(tmp_path / "zero.json")
    assert "modelled: P(admit = 0)" in result.stderr
    assert "Modelled:             P(admit = 0)" in result.stdout
    # the log-odds of admit = 0: every coefficient changes sign
    np.testing.assert_allclose(_params(zero), -_params(ref), rtol=0, atol=1e-7)
    assert type(zero) is sl.LogisticRegression and zero.classes_.tolist() == [1, 0]
    np.testing.assert_allclose(zero.predict_proba(adm[ADM]), ref.predict_proba(adm[ADM])[:, ::-1],
                               atol=1e-8)  # fmt: skip


def test_positive_class_of_float_labels_and_errors(data, tmp_path):
    frame = data["adm_frame"][["admit", *ADM]].assign(admit=lambda d: d["admit"].astype(float))
    path = tmp_path / "f.csv"
    frame.to_csv(path, index=False)  # labels 0.0 and 1.0
    _invoke("fit", path, "--target", "admit", "--positive", "0", "--out", tmp_path / "m.json")
    assert sl.load(tmp_path / "m.json").positive_class == 0.0
    _invoke("fit", path, "--target", "admit", "--positive", "0", "--model", "softmax",
            "--out", tmp_path / "s.json")  # fmt: skip
    assert sl.load(tmp_path / "s.json").reference_ == 1.0
    assert "2 classes, not 3" in _error("fit", data["hsb.csv"], "--target", "prog",
                                        "--positive", "general", code=1)  # fmt: skip
    assert "not a class of the target" in _error("fit", path, "--target", "admit",
                                                 "--positive", "2", code=1)  # fmt: skip
    assert "give one" in _error("fit", path, "--target", "admit", "--positive", "0",
                                "--reference", "1", code=2)  # fmt: skip


# ------------------------------------------------------------------ predict --id
@pytest.mark.parametrize("ext", ["csv", "parquet"])
@pytest.mark.parametrize("formula", [False, True])
def test_predict_ids_and_batches(data, tmp_path, monkeypatch, ext, formula):
    adm = data["adm_frame"]
    model_path = tmp_path / "m.json"
    how = (
        ["--formula", "admit ~ gre + gpa + C(rank)"]
        if formula
        else ["--target", "admit", "--features", "gre,gpa"]
    )
    _invoke("fit", data["adm.csv"], *how, "--out", model_path)
    sizes = []
    real = cli_data.prediction_frame

    def spy(model, frame, *args):
        sizes.append(len(frame))
        return real(model, frame, *args)

    monkeypatch.setattr(cli_data, "prediction_frame", spy)
    out = tmp_path / f"p.{ext}"
    _invoke("predict", model_path, data[f"adm.{ext}"], "--proba", "--id", "row_id", "--id",
            "admit", "--batch-rows", "37", "--out", out)  # fmt: skip
    assert sizes == [37] * 10 + [30]  # 400 rows, 37 at a time
    table = pd.read_csv(out) if ext == "csv" else pd.read_parquet(out)
    assert list(table.columns) == ["row_id", "admit", "label", "proba_0", "proba_1"]
    assert table["row_id"].tolist() == adm["row_id"].tolist()
    assert table["admit"].tolist() == adm["admit"].tolist()
    model = sl.load(model_path)
    X = adm if formula else adm[["gre", "gpa"]]
    np.testing.assert_array_equal(table["label"], model.predict(X))
    np.testing.assert_allclose(table[["proba_0", "proba_1"]], model.predict_proba(X), atol=1e-12)
    # running it again replaces its own output; without the ids it is not its kind
    _invoke("predict", model_path, data[f"adm.{ext}"], "--id", "row_id", "--id", "admit",
            "--out", out)  # fmt: skip
    assert "--force" in _error("predict", model_path, data[f"adm.{ext}"], "--out", out, code=1)


def test_predict_id_errors(data, tmp_path):
    model_path = tmp_path / "m.json"
    _invoke("fit", data["adm.csv"], "--target", "admit", "--features", "gre,gpa", "--out",
            model_path)  # fmt: skip
    assert "'nope' is not in" in _error("predict", model_path, data["adm.csv"], "--id", "nope",
                                        code=1)  # fmt: skip
    assert "own columns" in _error("predict", model_path, data["adm.csv"], "--id", "label",
                                   code=2)  # fmt: skip
    _error("predict", model_path, data["adm.csv"], "--batch-rows", "0", code=2)


def test_predict_ids_with_a_model_fitted_on_arrays(data, tmp_path):
    adm = data["adm_frame"]
    model = sl.LogisticRegression().fit(adm[["gre", "gpa"]].to_numpy(), adm["admit"].to_numpy())
    model.save(tmp_path / "m.json")
    path = tmp_path / "d.csv"
    adm[["row_id", "gre", "gpa"]].to_csv(path, index=False)
    result = _invoke("predict", tmp_path / "m.json", path, "--id", "row_id", "--proba")
    table = pd.read_csv(__import__("io").StringIO(result.stdout))
    assert table["row_id"].tolist() == adm["row_id"].tolist()
    np.testing.assert_allclose(
        table[["proba_0", "proba_1"]],
        model.predict_proba(adm[["gre", "gpa"]].to_numpy()),
        atol=1e-12,
    )


# ------------------------------------------------------------------ robust covariances
@pytest.fixture(scope="module")
def spector(tmp_path_factory):
    frame = sm.datasets.spector.load_pandas().data
    path = tmp_path_factory.mktemp("spector") / "spector.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.mark.parametrize("stream", ["--no-stream", "--stream"])
def test_summary_robust_covariances_from_the_model_file(spector, tmp_path, stream):
    path, frame = spector
    X, y = frame[["GPA", "TUCE", "PSI"]], frame["GRADE"]
    out = tmp_path / "m.json"
    _invoke("fit", path, "--target", "GRADE", stream, "--out", out)
    fitted = sl.LogisticRegression().fit(X, y)
    loaded = sl.load(out)
    for cov_type in ("HC0", "HC1"):
        text = _invoke("summary", out, "--cov-type", cov_type).stdout
        assert text.strip() == str(fitted.summary(cov_type=cov_type)).strip()
        pd.testing.assert_frame_equal(
            loaded.coef_table(cov_type=cov_type), fitted.coef_table(cov_type=cov_type),
            rtol=1e-9, atol=0,
        )  # fmt: skip
    # statsmodels' Logit HC0; HC1 is HC0 * n / (n - k) (README: statsmodels' own "HC1" for
    # Logit and GLM applies no correction, so the reference applies it to HC0)
    exog = sm.add_constant(X)
    hc0 = sm.Logit(y, exog).fit(disp=0, cov_type="HC0").cov_params().to_numpy()
    n, k = len(y), exog.shape[1]
    for cov_type, ref in (("HC0", hc0), ("HC1", hc0 * n / (n - k))):
        np.testing.assert_allclose(loaded.cov_params(cov_type=cov_type), ref, rtol=1e-6,
                                   atol=1e-10)  # fmt: skip


def test_softmax_robust_covariances_are_stored(data, tmp_path):
    hsb = data["hsb_frame"]
    model = sl.SoftmaxRegression(formula="prog ~ write + C(ses)").fit(hsb)
    model.save(tmp_path / "m.json")
    loaded = sl.load(tmp_path / "m.json")
    for cov_type in ("HC0", "HC1"):
        pd.testing.assert_frame_equal(loaded.cov_params(cov_type=cov_type),
                                      model.cov_params(cov_type=cov_type), rtol=1e-10)  # fmt: skip
    loaded.save(tmp_path / "again.json")  # a loaded model passes its HC0 on
    again = sl.load(tmp_path / "again.json")
    pd.testing.assert_frame_equal(
        again.coef_table(cov_type="HC1"), model.coef_table(cov_type="HC1"), rtol=1e-10
    )


def test_a_file_without_robust_covariances_says_so(spector, tmp_path):
    path, _ = spector
    out = tmp_path / "m.json"
    _invoke("fit", path, "--target", "GRADE", "--out", out)
    doc = json.loads(out.read_text())
    for key in ("covariance_hc0", "covariance_hc0_omitted"):  # as files written before
        del doc["results"][key]
    doc["sha256"] = modelfile._checksum(doc)
    out.write_text(json.dumps(doc))
    err = _error("summary", out, "--cov-type", "HC1", code=1)
    assert "holds no robust covariance" in err and "refit" in err
    _invoke("summary", out)  # nonrobust still works


# ------------------------------------------------------------------ report paths
@pytest.fixture
def no_fit(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the fit ran although an option was refused")

    monkeypatch.setattr(sl.LogisticRegression, "fit", forbidden)


def test_report_extension_is_checked_before_the_fit(data, tmp_path, no_fit):
    report = tmp_path / "r.pdf"
    err = _error("fit", data["adm.csv"], "--target", "admit", "--report", report, code=2)
    assert "name it .html or .htm" in err and not report.exists()
    assert len(err.strip().splitlines()[-1]) < 200


def test_report_command_and_demo_refuse_other_extensions(data, tmp_path):
    model_path = tmp_path / "m.json"
    _invoke("fit", data["adm.csv"], "--target", "admit", "--features", "gre,gpa", "--out",
            model_path)  # fmt: skip
    err = _error("report", model_path, data["adm.csv"], "--out", tmp_path / "r.pdf", code=2)
    assert "name it .html or .htm" in err and not (tmp_path / "r.pdf").exists()
    assert "name it .html" in _error("demo", "--report", tmp_path / "d.png", code=2)
    _invoke("report", model_path, data["adm.csv"], "--out", tmp_path / "r.htm")


def test_predict_reads_parquet_without_decoding_whole_row_groups(tmp_path):
    """One row group of 2M rows (16 MB decoded) read 10,000 rows at a time: pyarrow's own
    allocation counter (deterministic, not the process's memory) stays far below the row
    group, where the dataset scanner decoded all of it at once."""
    import pyarrow as pa

    n = 2_000_000
    path = tmp_path / "one_group.parquet"
    x = np.random.default_rng(0).standard_normal(n)
    pd.DataFrame({"x": x}).to_parquet(path, row_group_size=n)
    table = cli_data.open_table(str(path))
    base, peak, rows = pa.total_allocated_bytes(), 0, 0
    for frame in cli_data.iter_frames(table, ["x"], 10_000):
        peak = max(peak, pa.total_allocated_bytes() - base)
        np.testing.assert_array_equal(frame["x"].to_numpy(), x[rows : rows + len(frame)])
        rows += len(frame)
    assert rows == n
    assert peak < n * 8 / 3, f"{peak / 2**20:.1f} MiB held for a 15.3 MiB row group"


def test_report_of_an_offset_model_takes_the_offset_column(data, tmp_path):
    """fit --report and report --offset use the offset column; without it, report says
    --offset is needed; the report names the data file."""
    adm, out, page = data["adm_frame"], tmp_path / "m.json", tmp_path / "r.html"
    _invoke(
        "fit", data["adm.csv"], "--target", "admit", "--features", ",".join(ADM),
        "--offset", "off", "--out", out, "--report", page,
    )  # fmt: skip
    assert "adm.csv" in page.read_text()
    assert "--offset" in _error(
        "report", out, data["adm.csv"], "--out", tmp_path / "x.html", code=2
    )
    again = tmp_path / "again.html"
    _invoke("report", out, data["adm.csv"], "--offset", "off", "--out", again)
    m = sl.load(out)
    proba = m.predict_proba(adm[ADM], offset=adm["off"].to_numpy())
    from sklearn.metrics import log_loss

    for doc in (page.read_text(), again.read_text()):
        value = float(re.search(r"id='metric-log-loss-train'[^>]*data-value='([^']+)'", doc)[1])
        assert value == pytest.approx(log_loss(adm["admit"], proba), rel=1e-10)


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_predict_of_an_offset_model_takes_the_offset_column(data, tmp_path, ext):
    adm, out, preds = data["adm_frame"], tmp_path / "m.json", tmp_path / "p.csv"
    _invoke(
        "fit", data[f"adm.{ext}"], "--target", "admit", "--features", ",".join(ADM),
        "--offset", "off", "--out", out,
    )  # fmt: skip
    assert "--offset" in _error("predict", out, data[f"adm.{ext}"], "--out", preds, code=2)
    _invoke(
        "predict", out, data[f"adm.{ext}"], "--offset", "off", "--proba", "--batch-rows", 150,
        "--out", preds,
    )  # fmt: skip
    got = pd.read_csv(preds)
    expected = sl.load(out).predict_proba(adm[ADM], offset=adm["off"].to_numpy())[:, 1]
    np.testing.assert_allclose(got["proba_1"], expected, rtol=1e-12)


@pytest.mark.parametrize("penalty", ["flic", "flac"])
def test_fit_offers_firth_intercept_corrections(data, tmp_path, penalty):
    adm, out = data["adm_frame"], tmp_path / "m.json"
    _invoke(
        "fit", data["adm.csv"], "--target", "admit", "--features", ",".join(ADM),
        "--penalty", penalty, "--out", out,
    )  # fmt: skip
    ref = sl.LogisticRegression(penalty=penalty).fit(adm[ADM], adm["admit"])
    np.testing.assert_allclose(_params(sl.load(out)), _params(ref), rtol=0, atol=1e-8)
