"""The command line, run as a user runs it."""

import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import softlogit
import softlogit as sl
from softlogit import cli, cli_data
from softlogit.datasets import load_admissions, load_hsbdemo
from softlogit.demo import run_demo


def test_softlogit_demo_runs_and_both_views_agree(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "softlogit.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert os.listdir(tmp_path) == ["softlogit-demo-report.html"]  # the default report
    assert "Binary: admit" in out and "Softmax: prog" in out
    for name in ("gre", "gpa", "rank_2", "write", "ses_high", "vocation", "general"):
        assert name in out
    diffs = [float(v) for v in re.findall(r"between the two views: ([0-9.e+-]+)", out)]
    assert len(diffs) == 2 and max(diffs) < 1e-4
    lls = re.findall(r"log-likelihood: newton (-[0-9.]+)", out)
    # R's glm(admit ~ gre + gpa + factor(rank)) on these data: residual deviance 458.52
    assert abs(float(lls[0]) - (-458.52 / 2)) < 0.005


def test_run_demo_returns_difference():
    text, diff = run_demo()
    assert 0 <= diff < 1e-4 and "Intercept" in text


def test_cli_help_and_bad_command():
    ok = subprocess.run(
        [sys.executable, "-m", "softlogit.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and "demo" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "softlogit.cli", "frobnicate"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "No such command" in bad.stderr


# ---------------------------------------------------------------------------------------
# fit | predict | summary | report, end to end
# ---------------------------------------------------------------------------------------
ADM_FEATURES = ["gre", "gpa", "rank_2", "rank_3", "rank_4"]
HSB_FEATURES = ["write", "ses_middle", "ses_high"]


def _run(*args, timeout=120):
    """The command line in a fresh interpreter, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "softlogit.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _invoke(*args, ok=True):
    """The command line in this process (click's runner; stdout and stderr apart)."""
    result = CliRunner().invoke(cli.main, [str(a) for a in args])
    if ok and result.exit_code != 0:
        raise AssertionError(f"exit {result.exit_code}: {result.stderr}") from result.exception
    return result


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The bundled admissions (binary) and hsbdemo (3 classes) data as CSV and Parquet."""
    folder = tmp_path_factory.mktemp("cli-data")
    out = {}
    for name, frame in (("adm", load_admissions()), ("hsb", load_hsbdemo())):
        for ext in ("csv", "parquet"):
            path = folder / f"{name}.{ext}"
            frame.to_csv(path, index=False) if ext == "csv" else frame.to_parquet(path)
            out[f"{name}.{ext}"] = path
    return out


def _coef(model):
    """Intercepts and coefficients of a fitted model or a model file, side by side."""
    if isinstance(model, (str, os.PathLike)):
        model = softlogit.load(model)
    return np.column_stack([model.intercept_, model.coef_])


def _other_format(name):
    """adm.csv -> adm.parquet and back."""
    stem, ext = name.split(".")
    return f"{stem}.{'parquet' if ext == 'csv' else 'csv'}"


def _check_predictions(table, model, frame):
    """CLI predictions equal the in-process model's on the same rows."""
    np.testing.assert_array_equal(table["label"].astype(str), model.predict(frame).astype(str))
    proba = table[[f"proba_{c}" for c in model.classes_]].to_numpy()
    np.testing.assert_allclose(proba, model.predict_proba(frame), rtol=0, atol=1e-10)


def test_round_trip_as_a_user_runs_it(files, tmp_path):
    """Binary fit on CSV -> model file and report -> predictions on stdout, in fresh processes."""
    model_path, report_path = tmp_path / "m.json", tmp_path / "fit.html"
    features = ",".join(ADM_FEATURES)
    fit = _run(
        "fit",
        files["adm.csv"],
        "--target",
        "admit",
        "--features",
        features,
        "--out",
        model_path,
        "--report",
        report_path,
    )
    assert fit.returncode == 0, fit.stderr
    assert fit.stdout.startswith("softlogit LogisticRegression") and "rank_4" in fit.stdout
    assert "saved" not in fit.stdout and "model saved" in fit.stderr
    assert "Traceback" not in fit.stderr
    assert report_path.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    pred = _run("predict", model_path, files["adm.csv"], "--proba")
    assert pred.returncode == 0, pred.stderr
    table = pd.read_csv(io.StringIO(pred.stdout))
    adm = load_admissions()
    mine = softlogit.LogisticRegression().fit(adm[ADM_FEATURES], adm["admit"])
    assert list(table.columns) == ["label", "proba_0", "proba_1"] and len(table) == 400
    _check_predictions(table, mine, adm[ADM_FEATURES])
    assert np.abs(_coef(model_path) - _coef(mine)).max() < 1e-8


CASES = {
    "binary-parquet": (
        "adm.parquet", ["--target", "admit", "--features", ",".join(ADM_FEATURES)],
        lambda d: softlogit.LogisticRegression().fit(d[ADM_FEATURES], d["admit"]), ADM_FEATURES,
    ),
    "softmax-csv-reference": (
        "hsb.csv",
        ["--target", "prog", "--features", ",".join(HSB_FEATURES), "--reference", "vocation"],
        lambda d: softlogit.SoftmaxRegression(reference="vocation").fit(d[HSB_FEATURES], d["prog"]),
        HSB_FEATURES,
    ),
    "formula-softmax-parquet": (
        "hsb.parquet", ["--formula", "prog ~ write + C(ses)"],
        lambda d: softlogit.SoftmaxRegression(formula="prog ~ write + C(ses)").fit(d), None,
    ),
    "formula-binary-csv": (
        "adm.csv", ["--formula", "admit ~ gre + gpa + C(rank)", "--cov-type", "HC1"],
        lambda d: softlogit.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(d),
        None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_fit_save_predict_summary_report(files, tmp_path, case):
    data, options, make, features = CASES[case]
    frame = load_admissions() if data.startswith("adm") else load_hsbdemo()
    mine = make(frame)
    model_path = tmp_path / "model.json"
    fit = _invoke("fit", files[data], *options, "--out", model_path)
    assert fit.stdout.startswith(f"softlogit {type(mine).__name__}")
    assert np.abs(_coef(model_path) - _coef(mine)).max() < 1e-8
    # predictions, in batches of 37 rows, to a file of the other format
    out = tmp_path / ("pred.parquet" if data.endswith(".csv") else "pred.csv")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_data, "PREDICT_BATCH_ROWS", 37)
        pred = _invoke("predict", model_path, files[data], "--out", out, "--proba")
    assert f"{len(frame)} predictions written" in pred.stderr and pred.stdout == ""
    table = pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out)
    rows = frame if features is None else frame[features]
    _check_predictions(table, mine, rows)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    # the stored model's summary is the fitted one's (nonrobust)
    stored = _invoke("summary", model_path).stdout
    assert stored == str(mine.summary()) + "\n"
    if "HC1" in options:
        assert "Covariance:           HC1" in fit.stdout and "HC1 sandwich" in fit.stdout
    else:
        assert stored == fit.stdout
    # the report, with held-out data (here: the other file format)
    other = files[_other_format(data)]
    target = [] if features is None else ["--target", options[1]]
    html = tmp_path / "report.html"
    _invoke("report", model_path, files[data], "--test", other, "--out", html, *target)
    text = html.read_text(encoding="utf-8")
    assert "held-out" in text.lower() and "Coefficients" in text


def test_fit_report_and_string_reference_of_integer_labels(files, tmp_path):
    """--reference is matched against the string form of integer labels."""
    html = tmp_path / "r.html"
    result = _invoke(
        "fit",
        files["adm.csv"],
        "--formula",
        "rank ~ gre + gpa",
        "--reference",
        "3",
        "--report",
        html,
    )
    assert "SoftmaxRegression" in result.stdout and "(reference: 3)" in result.stdout
    assert "report written" in result.stderr and html.stat().st_size > 10_000
    binary = _invoke(
        "fit", files["adm.csv"], "--target", "admit", "--features", "gre", "--reference", "0"
    )
    assert "LogisticRegression" in binary.stdout
    softmax = _invoke(
        "fit",
        files["adm.csv"],
        "--target",
        "admit",
        "--features",
        "gre",
        "--model",
        "softmax",
        "--reference",
        "1",
    )
    assert "(reference: 1)" in softmax.stdout


@pytest.mark.parametrize(
    ("data", "target", "features", "extra"),
    [
        ("adm.parquet", "admit", ADM_FEATURES, []),
        ("hsb.csv", "prog", HSB_FEATURES, ["--reference", "general", "--cov-type", "HC0"]),
    ],
)
def test_streamed_fit_equals_in_memory_fit(files, tmp_path, data, target, features, extra):
    args = ["fit", files[data], "--target", target, "--features", ",".join(features), *extra]
    streamed = _invoke(*args, "--stream", "--out", tmp_path / "stream.json")
    in_memory = _invoke(*args, "--no-stream", "--out", tmp_path / "memory.json")
    assert "streaming" in streamed.stderr and "streaming" not in in_memory.stderr
    # the summary on stdout stays clean: iteration lines and progress go to stderr
    assert streamed.stdout.startswith("softlogit ") and "newton iter" not in streamed.stdout
    assert "pass 1" not in streamed.stdout
    assert "newton iter" in streamed.stderr
    diff = _coef(tmp_path / "stream.json") - _coef(tmp_path / "memory.json")
    assert np.abs(diff).max() < 1e-8
    assert softlogit.load(tmp_path / "stream.json").n_features_in_ == len(features)


def test_large_inputs_stream_by_default(files, tmp_path, monkeypatch):
    monkeypatch.setattr(cli_data, "STREAM_BYTES", 0)
    result = _invoke(
        "fit",
        files["adm.csv"],
        "--target",
        "admit",
        "--features",
        "gre,gpa",
        "--report",
        tmp_path / "r.html",
    )
    assert "streaming" in result.stderr and "shows the model only" in result.stderr
    formula = _invoke("fit", files["adm.csv"], "--formula", "admit ~ gre + gpa")
    assert "streaming" not in formula.stderr  # formulas need the data in memory


def test_folders_globs_and_empty_tables(files, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    adm = load_admissions()
    adm.iloc[:150].to_parquet(folder / "part-0.parquet")
    adm.iloc[150:].to_parquet(folder / "part-1.parquet")
    (folder / "_SUCCESS").write_text("")
    model_path = tmp_path / "m.json"
    _invoke("fit", folder, "--target", "admit", "--features", "gre,gpa", "--out", model_path)
    whole = _invoke("fit", files["adm.parquet"], "--target", "admit", "--features", "gre,gpa")
    globbed = _invoke(
        "fit",
        str(folder / "part-*.parquet"),
        "--target",
        "admit",
        "--features",
        "gre,gpa",
        "--stream",
    )
    assert whole.stdout == globbed.stdout == _invoke("summary", model_path).stdout
    empty = tmp_path / "empty.csv"
    empty.write_text("gre,gpa\n")
    result = _invoke("predict", model_path, empty, "--proba")
    assert result.stdout.splitlines() == ["label,proba_0,proba_1"]


def test_failed_predict_leaves_the_old_file(files, tmp_path, monkeypatch):
    model_path, out = tmp_path / "m.json", tmp_path / "pred.csv"
    _invoke("fit", files["hsb.csv"], "--formula", "prog ~ write + C(ses)", "--out", model_path)
    new = load_hsbdemo()
    new.loc[len(new) - 1, "ses"] = "unheard-of"  # an unseen category in the last batch
    new.to_csv(tmp_path / "new.csv", index=False)
    out.write_text("old\n")
    monkeypatch.setattr(cli_data, "PREDICT_BATCH_ROWS", 50)
    result = _invoke("predict", model_path, tmp_path / "new.csv", "--out", out, ok=False)
    assert result.exit_code == 1 and "unseen category" in result.stderr
    assert out.read_text() == "old\n"  # the old file, and no temporary file left behind
    assert sorted(os.listdir(tmp_path)) == ["m.json", "new.csv", "pred.csv"]


def test_demo_report_option(tmp_path, monkeypatch):
    monkeypatch.setattr("softlogit.demo.run_demo", lambda: ("demo text", 0.0))
    monkeypatch.chdir(tmp_path)
    assert _invoke("demo", "--no-report").stdout == "demo text\n"
    assert os.listdir(tmp_path) == []
    _invoke("demo", "--report", "demo.html")
    assert os.listdir(tmp_path) == ["demo.html"]
    assert "LogisticRegression" in (tmp_path / "demo.html").read_text(encoding="utf-8")


def test_every_command_has_help():
    for command in ([], ["fit"], ["predict"], ["summary"], ["report"], ["demo"]):
        result = _invoke(*command, "--help")
        assert "Usage:" in result.stdout and "--help" in result.stdout


# ---------------------------------------------------------------------------------------
# errors: 2 for bad usage, 1 for bad data or files, one line without a traceback
# ---------------------------------------------------------------------------------------
def _error(*args, code):
    result = _invoke(*args, ok=False)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.stderr
    return result.stderr


@pytest.fixture
def model_file(files, tmp_path):
    path = tmp_path / "m.json"
    _invoke("fit", files["adm.csv"], "--target", "admit", "--features", "gre,gpa", "--out", path)
    return path


def test_data_errors_exit_1(files, tmp_path, model_file):
    adm, hsb = files["adm.csv"], files["hsb.csv"]
    cases = [
        (["fit", tmp_path / "nope.csv", "--target", "admit"], "no such file"),
        (["fit", tmp_path / "*.parquet", "--target", "admit"], "matches no files"),
        (["fit", model_file, "--target", "admit"], "cannot tell the format"),
        (["fit", adm, "--target", "nope"], "column 'nope' is not in"),
        (["fit", adm, "--target", "admit", "--features", "gre,nope"], "column 'nope'"),
        (["fit", adm, "--target", "admit", "--features", "gre,nope", "--stream"], "'nope'"),
        (["fit", adm, "--formula", "admit ~ gre + nosuch"], "formula error"),
        (["fit", adm, "--formula", "admit ~ gre + ("], "formula error"),
        (["fit", hsb, "--target", "prog", "--features", "write", "--model", "logistic"],
         "Only binary"),
        (["fit", hsb, "--target", "prog", "--features", "write", "--reference", "x"],
         "'x' is not a class"),
        (["fit", adm, "--target", "admit", "--features", "gre", "--reference", "1"],
         "reference is its first class, '0'"),
        (["fit", adm, "--target", "admit", "--features", "gre", "--penalty", "firth", "--solver",
          "adam"], "firth"),
        (["predict", tmp_path / "nope.json", adm], "no such model file"),
        (["predict", model_file, hsb], "column 'gre' is not in"),
        (["summary", model_file, "--cov-type", "HC1"], "needs the training rows"),
        (["report", model_file, hsb, "--target", "prog", "--out", tmp_path / "r.html"],
         "column 'gre'"),
    ]  # fmt: skip
    for args, message in cases:
        stderr = _error(*args, code=1)
        assert stderr.startswith("Error: ") and message in stderr, (args, stderr)
        assert len(stderr.strip().splitlines()) == 1, stderr


def test_corrupted_model_files_exit_1(model_file, files):
    text = model_file.read_text()
    doc = json.loads(text)
    doc["fitted"]["coef"]["data"][0] += 1.0
    model_file.write_text(json.dumps(doc))
    assert "checksum mismatch" in _error("summary", model_file, code=1)
    model_file.write_text(text[: len(text) // 2])
    assert "not valid JSON" in _error("predict", model_file, files["adm.csv"], code=1)


def test_usage_errors_exit_2(files, tmp_path, model_file):
    adm = files["adm.csv"]
    cases = [
        (["fit", adm], "give either --target"),
        (["fit", adm, "--target", "admit", "--formula", "admit ~ gre"], "give either"),
        (["fit", adm, "--formula", "admit ~ gre", "--features", "gre"], "--features goes"),
        (["fit", adm, "--formula", "admit ~ gre", "--stream"], "in memory"),
        (["fit", adm, "--target", "admit", "--features", "admit,gre"], "also in --features"),
        (["fit", adm, "--target", "admit", "--features", ","], "--features"),
        (["fit", adm, "--target", "admit", "--solver", "magic"], "'magic' is not one of"),
        (["fit", adm, "--target", "admit", "--model", "probit"], "--model"),
        (["fit", adm, "--target", "admit", "--alpha", "-1"], "--alpha"),
        (["fit", adm, "--target", "admit", "--penalty", "l2"], "needs --alpha"),
        (["fit", adm, "--target", "admit", "--alpha", "0.1"], "--alpha goes with"),
        (["fit", adm, "--target", "admit", "--penalty", "elasticnet", "--alpha", "1"],
         "--l1-ratio"),
        (["fit", adm, "--target", "admit", "--cov-type", "hc1"], "--cov-type"),
        (["predict", model_file, adm, "--out", tmp_path / "p.txt"], "--out"),
        (["report", model_file, adm, "--target", "admit"], "--out"),
        (["summary"], "MODEL"),
    ]  # fmt: skip
    for args, message in cases:
        stderr = _error(*args, code=2)
        assert "Error: " in stderr and message in stderr, (args, stderr)


def test_report_target_defaults_to_the_fitted_label_column(files, tmp_path, model_file):
    adm = files["adm.csv"]
    _invoke("report", model_file, adm, "--out", tmp_path / "r.html")  # fitted with --target
    assert "admit" in sl.load(model_file).summary().__str__()
    frame = load_admissions()
    unnamed = sl.LogisticRegression().fit(frame[["gre", "gpa"]], frame["admit"].to_numpy())
    unnamed.save(tmp_path / "u.json")
    stderr = _error("report", tmp_path / "u.json", adm, "--out", tmp_path / "u.html", code=2)
    assert "--target is needed" in stderr


def test_traceback_only_with_debug(model_file):
    model_file.write_text("{ not json")
    plain = _run("summary", model_file)
    assert plain.returncode == 1 and plain.stdout == ""
    assert (
        plain.stderr.startswith("Error: cannot load model file") and "Traceback" not in plain.stderr
    )
    assert len(plain.stderr.strip().splitlines()) == 1
    debug = _run("--debug", "summary", model_file)
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
    assert "ModelFileError" in debug.stderr


def test_demo_without_matplotlib_skips_the_report(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    monkeypatch.setattr("softlogit.demo.run_demo", lambda: ("demo text", 0.0))
    monkeypatch.chdir(tmp_path)
    result = _invoke("demo")
    assert result.stdout.startswith("demo text") and os.listdir(tmp_path) == []
