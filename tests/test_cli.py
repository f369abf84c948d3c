"""The command line, run as a user runs it."""

import io
import json
import os
import re
import stat
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import softlogit
import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo
from softlogit.product import cli, cli_data
from softlogit.product.demo import run_demo


def test_softlogit_demo_runs_and_both_views_agree(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "softlogit", "demo"],
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
        [sys.executable, "-m", "softlogit", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and "demo" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "softlogit", "frobnicate"],
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
        [sys.executable, "-m", "softlogit", *map(str, args)],
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
    out.write_text("label\nold\n")  # earlier predictions: replaced without --force
    monkeypatch.setattr(cli_data, "PREDICT_BATCH_ROWS", 50)
    result = _invoke("predict", model_path, tmp_path / "new.csv", "--out", out, ok=False)
    assert result.exit_code == 1 and "unseen category" in result.stderr
    assert out.read_text() == "label\nold\n"  # the old file, and no temporary file left
    assert sorted(os.listdir(tmp_path)) == ["m.json", "new.csv", "pred.csv"]


def test_demo_report_option(tmp_path, monkeypatch):
    monkeypatch.setattr("softlogit.product.demo.run_demo", lambda **_: ("demo text", 0.0))
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
    monkeypatch.setattr("softlogit.product.demo.run_demo", lambda **_: ("demo text", 0.0))
    monkeypatch.chdir(tmp_path)
    result = _invoke("demo")
    assert result.stdout.startswith("demo text") and os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------
# writes never destroy what they replace: inputs, other files, special files, folders
# ---------------------------------------------------------------------------------------
def _refused(*args):
    """A command refused with exit 1 and one ``Error:`` line, before any work (no stdout)."""
    result = _invoke(*args, ok=False)
    assert result.exit_code == 1, (args, result.stdout, result.stderr)
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == "", result.stdout  # refused before the fit / prediction
    return result.stderr


@pytest.fixture
def nothing_renamed(monkeypatch):
    """A refused write must not reach the rename (nor link a temporary file into place)."""

    def forbidden(*args, **kwargs):
        raise AssertionError(f"a refused write reached the rename: {args}")

    monkeypatch.setattr(os, "replace", forbidden)
    monkeypatch.setattr(os, "link", forbidden)


@pytest.fixture
def own(tmp_path):
    """Data (CSV, Parquet, a folder), a model file, its report, and links to the data."""
    adm = load_admissions()
    paths = {"csv": tmp_path / "d.csv", "parquet": tmp_path / "d.parquet"}
    adm.to_csv(paths["csv"], index=False)
    adm.to_parquet(paths["parquet"])
    paths["folder"] = tmp_path / "parts"
    paths["folder"].mkdir()
    adm.iloc[:200].to_csv(paths["folder"] / "part-0.csv", index=False)
    adm.iloc[200:].to_csv(paths["folder"] / "part-1.csv", index=False)
    paths["model"] = tmp_path / "m.json"
    _invoke("fit", paths["csv"], "--target", "admit", "--features", "gre,gpa", "--out",
            paths["model"])  # fmt: skip
    paths["model.csv"] = tmp_path / "model.csv"  # a model file may have any name
    paths["model.csv"].write_bytes(paths["model"].read_bytes())
    paths["report"] = tmp_path / "r.html"
    _invoke("report", paths["model"], paths["csv"], "--out", paths["report"])
    paths["hard"] = tmp_path / "hard.csv"
    os.link(paths["csv"], paths["hard"])
    paths["soft"] = tmp_path / "soft.parquet"
    paths["soft"].symlink_to("d.parquet")
    return paths


def test_no_command_writes_over_its_own_input(own, nothing_renamed):
    csv, pq, model, folder = own["csv"], own["parquet"], own["model"], own["folder"]
    before = {p: p.read_bytes() for p in own.values() if p.is_file()}
    fit = ["fit", csv, "--target", "admit", "--features", "gre,gpa"]
    cases = [  # (arguments, the output named, the input named)
        ([*fit, "--out", csv], csv, csv),
        ([*fit, "--report", csv], csv, csv),
        ([*fit, "--stream", "--out", csv], csv, csv),
        ([*fit, "--out", own["hard"]], own["hard"], csv),  # a hard link: the same inode
        (["fit", pq, "--target", "admit", "--out", pq], pq, pq),
        (["fit", own["soft"], "--target", "admit", "--report", pq], pq, own["soft"]),
        (["fit", folder, "--target", "admit", "--out", folder / "part-1.csv"],
         folder / "part-1.csv", folder / "part-1.csv"),
        (["predict", model, csv, "--out", csv], csv, csv),
        (["predict", model, pq, "--out", pq], pq, pq),
        (["predict", model, pq, "--out", own["soft"]], own["soft"], pq),
        (["predict", own["model.csv"], csv, "--out", own["model.csv"]],
         own["model.csv"], own["model.csv"]),
        (["report", model, csv, "--out", model], model, model),
        (["report", model, csv, "--out", csv], csv, csv),
        (["report", model, csv, "--test", pq, "--out", own["soft"]], own["soft"], pq),
    ]  # fmt: skip
    for args, out, source in cases:
        stderr = _refused(*args)
        assert "never writes over its own input" in stderr, (args, stderr)
        assert repr(str(out)) in stderr and repr(str(source)) in stderr, (args, stderr)
    stderr = _refused(*fit, "--out", own["report"], "--report", own["report"])
    assert "are the same file" in stderr and "--out" in stderr and "--report" in stderr
    stderr = _refused(*fit, "--out", csv, "--force")  # --force never allows it
    assert "never writes over its own input" in stderr
    assert {p: p.read_bytes() for p in before} == before
    assert own["soft"].is_symlink()


def test_existing_files_softlogit_did_not_write_need_force(files, tmp_path, monkeypatch):
    adm = files["adm.csv"]
    fit = ["fit", adm, "--target", "admit", "--features", "gre,gpa"]
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    stderr = _refused(*fit, "--out", notes)
    assert f"--out {str(notes)!r} exists and is not a softlogit model file" in stderr
    assert "--force" in stderr and notes.read_text() == "my notes\n"
    _invoke(*fit, "--out", notes, "--force")
    assert sl.load(notes).n_features_in_ == 2
    _invoke(*fit, "--out", notes)  # now a model file: replaced without --force
    pretty = tmp_path / "pretty.json"  # a model file edited by hand (indented, unchecked)
    pretty.write_text(json.dumps(json.loads(notes.read_text()), indent=2) + "\n")
    _invoke(*fit, "--out", pretty)
    (tmp_path / "empty.json").write_text("")  # nothing to lose
    _invoke(*fit, "--out", tmp_path / "empty.json")
    # reports
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><html><body>my page</body></html>")
    assert "is not a softlogit report" in _refused(*fit, "--report", page)
    model = tmp_path / "m.json"
    _invoke(*fit, "--out", model)
    assert "is not a softlogit report" in _refused("report", model, adm, "--out", page)
    monkeypatch.setattr("softlogit.product.demo.run_demo", lambda **_: ("demo text", 0.0))
    assert "is not a softlogit report" in _refused("demo", "--report", page)
    assert page.read_text().endswith("my page</body></html>")
    _invoke("report", model, adm, "--out", page, "--force")
    _invoke(*fit, "--report", page)  # now a softlogit report
    _invoke("demo", "--report", page)
    assert "LogisticRegression" in page.read_text()
    # predictions (CSV and Parquet): the columns label and proba_<class> mark them
    for name, write in (("p.csv", pd.DataFrame.to_csv), ("p.parquet", pd.DataFrame.to_parquet)):
        table = tmp_path / name
        write(pd.DataFrame({"a": [1, 2], "b": [3, 4]}), table)
        before = table.read_bytes()
        stderr = _refused("predict", model, adm, "--out", table)
        assert "is not a softlogit predictions file" in stderr and table.read_bytes() == before
        _invoke("predict", model, adm, "--out", table, "--force")
        _invoke("predict", model, adm, "--out", table, "--proba")  # earlier predictions
        read = pd.read_csv if name.endswith(".csv") else pd.read_parquet
        assert list(read(table).columns) == ["label", "proba_0", "proba_1"]


def test_output_paths_are_checked_before_the_work(files, model_file, tmp_path, monkeypatch,
                                                  nothing_renamed):  # fmt: skip
    adm = files["adm.csv"]
    fit = ["fit", adm, "--target", "admit", "--features", "gre,gpa"]
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "fifo", tmp_path / "fifo.csv")  # a link to the FIFO
    missing = tmp_path / "no" / "such"
    cases = [
        ([*fit, "--out", missing / "m.json"], "the folder .*no/such' does not exist"),
        ([*fit, "--stream", "--report", missing / "r.html"], "does not exist"),
        ([*fit, "--out", tmp_path / "fifo"], "it is a FIFO"),
        ([*fit, "--out", "/dev/null"], "'/dev/null': it is a character device"),
        ([*fit, "--out", "/dev/null", "--force"], "it is a character device"),
        (["predict", model_file, adm, "--out", missing / "p.csv"], "does not exist"),
        (["predict", model_file, adm, "--out", tmp_path / "fifo.csv"], "a symbolic link to a FIFO"),
        (["report", model_file, adm, "--out", tmp_path / "fifo"], "it is a FIFO"),
    ]
    for args, message in cases:
        assert re.search(message, _refused(*args)), args
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    # a folder that is not writable (as root only os.access can tell: it is asked)
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **k: str(p) != str(locked) and real(p, m, **k))
    assert "is not writable" in _refused(*fit, "--out", locked / "m.json")
    assert "is not writable" in _refused(*fit, "--report", locked / "r.html")
    assert os.listdir(locked) == []


def test_readme_command_lines_run_and_run_again(tmp_path, monkeypatch):
    """The README's command-line block, as written, twice (the second run replaces the
    first run's outputs, which softlogit wrote)."""
    import shlex
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Command line\s+```bash\n(.*?)```", text, flags=re.S).group(1)
    commands = [shlex.split(line, comments=True)[1:] for line in block.splitlines()
                if line.startswith("softlogit ")]  # fmt: skip
    assert len(commands) >= 5
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("softlogit.product.demo.run_demo", lambda **_: ("demo text", 0.0))
    adm = load_admissions()
    adm.to_csv("admissions.csv", index=False)
    rng = np.random.default_rng(7)
    abc = pd.DataFrame(rng.standard_normal((300, 3)), columns=["a", "b", "c"])
    abc.assign(y=(abc["a"] + rng.standard_normal(300) > 0).astype(int)).to_parquet("big.parquet")
    abc.assign(row_id=np.arange(300)).to_parquet("new.parquet")
    abc.assign(admit=(abc["b"] > 0).astype(int)).to_csv("test.csv", index=False)
    yes = np.where(abc["a"] - abc["c"] + rng.standard_normal(300) > 0, "yes", "no")
    d = abc.assign(w=rng.integers(1, 3, 300), off=0.1 * rng.standard_normal(300), y=yes)
    d.to_csv("d.csv", index=False)
    trials = rng.integers(1, 8, 300)
    s = rng.binomial(trials, 1 / (1 + np.exp(-abc["a"].to_numpy())))
    groups = pd.DataFrame({"x": abc["a"], "s": s, "f": trials - s})
    groups.loc[[4, 9], "x"] = np.nan  # --missing drop
    groups.to_csv("groups.csv", index=False)
    psu = rng.integers(0, 40, 300)
    survey = d[["a", "y", "w"]].assign(psu=psu, st=psu % 4)
    survey.to_csv("survey.csv", index=False)
    for _ in range(2):
        for args in commands:
            _invoke(*args)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


# ---------------------------------------------------------------------------------------
# interrupted commands leave no temporary file
# ---------------------------------------------------------------------------------------
SLOW_PREDICT = """
import sys, time
from softlogit import files
from softlogit.product import cli, cli_data

files.USE_ANONYMOUS = False  # a named temporary file: only the command can remove it
real, calls = cli_data.prediction_frame, []

def slow(model, frame, *args):
    calls.append(1)
    if len(calls) == 3:  # two batches written to the temporary file: wait to be stopped
        print("mid-write", flush=True)
        time.sleep(120)
    return real(model, frame, *args)

cli_data.prediction_frame = slow
cli.main(sys.argv[1:], prog_name="softlogit")
"""


def test_a_stopped_or_killed_predict_leaves_its_old_output_and_no_temporary(files, model_file,
                                                                           tmp_path):  # fmt: skip
    import signal

    script = tmp_path / "slow_predict.py"
    script.write_text(SLOW_PREDICT)
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "pred.csv"
    out.write_text("label\nearlier\n")
    args = [sys.executable, str(script), "predict", str(model_file), str(files["adm.csv"]),
            "--out", str(out), "--batch-rows", "50"]  # fmt: skip
    for number, code in ((signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGKILL, -9)):
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline() == "mid-write\n"
        assert [p for p in os.listdir(outdir) if p.endswith(".tmp")]  # the write is under way
        proc.send_signal(number)
        proc.communicate(timeout=60)
        assert proc.returncode == code
        assert out.read_text() == "label\nearlier\n"
        left = [p for p in os.listdir(outdir) if p != "pred.csv"]
        assert left == [] if number == signal.SIGTERM else len(left) == 1  # SIGKILL: stays
    _invoke("predict", model_file, files["adm.csv"], "--out", out)  # the next write
    assert os.listdir(outdir) == ["pred.csv"] and len(pd.read_csv(out)) == 400


# ---------------------------------------------------------------------------------------
# data the command line reads: empty, blank labels, wide headers, files that disagree
# ---------------------------------------------------------------------------------------
def test_a_header_only_csv_has_no_rows(tmp_path):
    empty = tmp_path / "h.csv"
    empty.write_text("gre,gpa,admit\n")
    for extra in ([], ["--stream"], ["--no-stream"]):
        stderr = _refused("fit", empty, "--target", "admit", *extra)
        assert f"{str(empty)!r} has no rows" in stderr, stderr
    assert "has no rows" in _refused("fit", empty, "--formula", "admit ~ gre")


def test_a_blank_label_is_a_missing_value(tmp_path):
    adm = load_admissions().astype({"admit": str})
    adm.loc[5, "admit"] = "  "
    path = tmp_path / "blank.csv"
    adm.to_csv(path, index=False)
    for extra in (["--target", "admit", "--features", "gre,gpa"],
                  ["--formula", "admit ~ gre + gpa"]):  # fmt: skip
        stderr = _refused("fit", path, *extra)
        assert "column 'admit' has a missing value (a blank cell) at row 5" in stderr, stderr
    streamed = _error("fit", path, "--target", "admit", "--features", "gre,gpa", "--stream", code=1)
    lines = streamed.strip().splitlines()  # the note "streaming ...", then the error
    assert lines[0].startswith("streaming") and len(lines) == 2
    assert lines[1] == "Error: column 'admit' has a missing value (a blank cell) at row 5"


def test_a_csv_whose_header_is_longer_than_a_block_is_read(tmp_path):
    """20,000 columns, a 3.3 MB header line: fits (in memory and streamed) and predicts."""
    import statsmodels.api as smx

    rng = np.random.default_rng(12)
    p, n = 20_000, 60
    names = [f"c{j:05d}_" + "x" * 160 for j in range(p)]
    X = np.round(rng.standard_normal((n, p)), 2)
    y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    path = tmp_path / "wide.csv"
    with open(path, "w") as fh:
        fh.write(",".join([*names, "y"]) + "\n")
        np.savetxt(fh, np.column_stack([X, y]), delimiter=",", fmt=["%.2f"] * p + ["%d"])
    assert os.path.getsize(path) > 3.3e6 + n * p * 4
    ref = smx.Logit(y, smx.add_constant(X[:, :2])).fit(disp=0, method="newton", tol=1e-12)
    features = ",".join(names[:2])
    for extra in ([], ["--stream"]):
        out = tmp_path / f"m{len(extra)}.json"
        _invoke("fit", path, "--target", "y", "--features", features, "--out", out, *extra)
        np.testing.assert_allclose(_coef(out).ravel(), ref.params, rtol=1e-7, atol=1e-9)
    _invoke("predict", tmp_path / "m0.json", path, "--out", tmp_path / "p.csv", "--proba")
    proba = pd.read_csv(tmp_path / "p.csv")["proba_1"].to_numpy()
    np.testing.assert_allclose(proba, ref.predict(smx.add_constant(X[:, :2])), atol=1e-9)


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_files_that_disagree_are_named(tmp_path, ext):
    adm = load_admissions()
    cases = {
        "missing": (adm.iloc[200:].drop(columns="gpa"), "column 'gpa' is not in '.*b.{ext}'"),
        "text": (adm.iloc[200:].assign(admit="yes"),
                 "column 'admit' holds numbers .* in '.*a.{ext}' but text .* in '.*b.{ext}'"),
    }  # fmt: skip
    for name, (second, message) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        for part, frame in (("a", adm.iloc[:200]), ("b", second)):
            target = folder / f"{part}.{ext}"
            frame.to_csv(target, index=False) if ext == "csv" else frame.to_parquet(target)
        for extra in (["--target", "admit", "--features", "gre,gpa"],
                      ["--target", "admit", "--features", "gre,gpa", "--stream"],
                      ["--formula", "admit ~ gre + gpa"]):  # fmt: skip
            stderr = _refused("fit", folder, *extra)
            assert re.search(message.format(ext=ext), stderr), (extra, stderr)
