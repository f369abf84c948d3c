"""A formula is data: hostile formulas are refused at fit, at save and at load, before
anything in them is evaluated; model files are read only when they are regular files under a
size limit; the formulas softlogit supports keep working."""

from __future__ import annotations

import ast
import builtins
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from click.testing import CliRunner

import softlogit as sl
from softlogit.data import formula as formula_module
from softlogit.data.formula_grammar import check_formula
from softlogit.product import modelfile as sio
from softlogit.product.cli import main
from softlogit.product.modelfile import ModelFileError

MARK = "MARKER"  # replaced by the path of a file that must never be created

#: Formulas that must never be evaluated. Each parses in formulaic (which would run it), and
#: the old allow-list let several of them through (the first: its backticks hid the call).
HOSTILE = [
    f"admit ~ gpa + I(('`', __import__('os').system('touch {MARK}'), '`', gre)[3])",
    f"admit ~ gre + I(__import__('os').system('touch {MARK}'))",
    f"admit ~ gre + {{__import__('os').system('touch {MARK}')}}",
    "admit ~ gre + I(getattr(getattr(gre, '__class__'), '__base__'))",
    "admit ~ gre + I(().__class__.__base__.__subclasses__())",
    "admit ~ gre + I(__builtins__)",
    "admit ~ gre + `__builtins__`",
    "admit ~ gre + I((lambda: __import__('os'))())",
    f"admit ~ gre + I(\"`\" + str(__import__('os').system('touch {MARK}')) + \"`\")",
    f"admit ~ `gre` + I(`gpa` + __import__('os').system('touch {MARK}'))",
    f'admit ~ gre + I(f\'{{__import__("os").system("touch {MARK}")}}\')',
    "admit ~ gre + I([__import__('os') for _ in gre])",
    "admit ~ gre + I((os := __import__('os')))",
    "admit ~ I(gre + 0*(9**9**9))",
    "admit ~ poly(gre, 100000)",
    "admit ~ (gre + gpa)**30",
    "admit ~ I(gre * 10**10**10)",
    "admit ~ I(gre + (1 << 10**9))",
    "admit ~ bs(gre, df=10**6)",
    "admit ~ I(gre[0])",
    "admit ~ I(gre + len('x' * 10**9))",
    "admit ~ np.os.system('true')",
    "admit ~ np.load('model.npy')",
    "admit ~ I(np.__dict__)",
    "admit ~ C(rank, contrasts=__import__('os'))",
    "admit ~ C(rank, Treatment(reference=__import__('os').getcwd()))",
    "admit ~ C(rank, levels=(__import__('os'),))",
    "admit ~ hashed(gre, 3, hash_func=eval)",
    "admit ~ Q('__builtins__')",
    "admit ~ scale(gre, _state={'center': 0})",
    "admit ~ I(eval('1'))",
    "admit ~ I(\uff45\uff56\uff41\uff4c('1'))",  # fullwidth letters: Python reads them as eval
    "admit ~ I(gre if __import__('os') else gpa)",
    "admit ~ np.log(**{'x': gre})",
    "admit ~ np.where(gre > 0, 'a', 'b')",
    "admit ~ {gre.__class__}",
    "admit ~ I(__import__)",
    "admit ~ I(gre and __import__('os'))",
]
IDS = [f"hostile{i}" for i in range(len(HOSTILE))]
GRAMMAR = "outside the formula grammar|expand to up to"
PACKAGE_ROOT = str(Path(sl.__file__).parents[1])


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def saved_doc(admissions, tmp_path_factory):
    """The JSON of a real saved formula model."""
    path = tmp_path_factory.mktemp("model") / "model.json"
    sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(admissions).save(path)
    return json.loads(path.read_text(encoding="utf-8"))


def armed(formula, folder):
    """``formula`` with its marker file placed in ``folder``; returns (formula, marker)."""
    marker = Path(folder) / "pwned"
    return formula.replace(MARK, str(marker)), marker


def hand_written(doc, formula, path):
    """A model file: ``doc`` with ``formula`` swapped in and a valid checksum."""
    doc = json.loads(json.dumps(doc))
    doc["params"]["formula"] = doc["formula"]["formula"] = formula
    doc["formula"]["rhs"] = formula.split("~", 1)[1].strip()
    doc["sha256"] = sio._checksum(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def grammar_message(formula):
    with pytest.raises(ValueError) as refused:
        check_formula(formula)
    return str(refused.value)


@pytest.fixture(scope="module")
def warm(admissions):
    """Every module a fit or a load imports lazily, imported (importing compiles code)."""
    for cls in (sl.LogisticRegression, sl.LogisticRegressionCV):
        cls(formula="admit ~ gre + C(rank)").fit(admissions)


@pytest.fixture
def nothing_evaluated(monkeypatch, warm):
    """Fail if formulaic is asked to evaluate a formula, or Python to run code."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a hostile formula reached evaluation")

    def parse_only(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:  # ast.parse (the grammar's own parsing) is fine
            forbidden()
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    real_compile = builtins.compile
    monkeypatch.setattr(formula_module, "model_matrix", forbidden)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", parse_only)
    yield
    monkeypatch.undo()


# ---------------------------------------------------------------------- refused everywhere


def test_the_corpus_is_large_and_formulaic_would_run_it():
    assert len(HOSTILE) >= 25
    assert len(set(HOSTILE)) == len(HOSTILE)


@pytest.mark.parametrize("formula", HOSTILE, ids=IDS)
def test_refused_at_fit_before_evaluation(formula, admissions, tmp_path, nothing_evaluated):
    formula, marker = armed(formula, tmp_path)
    for cls in (sl.LogisticRegression, sl.LogisticRegressionCV):
        with pytest.raises(ValueError, match=GRAMMAR):
            cls(formula=formula).fit(admissions)
    assert not marker.exists()


@pytest.mark.parametrize("formula", HOSTILE, ids=IDS)
def test_refused_at_save(formula, admissions, tmp_path):
    formula, marker = armed(formula, tmp_path)
    model = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(admissions)
    path = tmp_path / "model.json"
    model.formula = formula  # changed after fitting: the grammar speaks first
    with pytest.raises(ValueError, match=GRAMMAR):
        model.save(path)
    model._formula.formula = formula  # as if the design itself held it
    with pytest.raises(ValueError, match=GRAMMAR):
        sio.save(model, path)
    assert not path.exists() and not marker.exists()


@pytest.mark.parametrize("formula", HOSTILE, ids=IDS)
def test_refused_at_load_of_a_file_with_a_valid_checksum(
    formula, saved_doc, tmp_path, nothing_evaluated
):
    formula, marker = armed(formula, tmp_path)
    path = hand_written(saved_doc, formula, tmp_path / "model.json")
    with pytest.raises(ModelFileError) as refused:
        sl.load(path)
    assert grammar_message(formula) in str(refused.value)  # the grammar refused it
    assert not marker.exists()


def run_python(args, cwd, timeout=120):
    """Run ``python args...`` in a fresh interpreter importing this softlogit."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


PREDICT_API = (
    "import sys, pandas as pd, softlogit as sl; "
    "sl.load(sys.argv[1]).predict_proba(pd.read_csv(sys.argv[2]))"
)


@pytest.mark.parametrize("formula", [HOSTILE[0], HOSTILE[1], "admit ~ I(gre + 0*(9**9**9))"])
def test_no_marker_through_the_api_and_the_cli(formula, saved_doc, admissions, tmp_path):
    formula, marker = armed(formula, tmp_path)
    model = hand_written(saved_doc, formula, tmp_path / "model.json")
    data = tmp_path / "data.csv"
    admissions.to_csv(data, index=False)
    api = run_python(["-c", PREDICT_API, str(model), str(data)], tmp_path)
    assert api.returncode != 0 and "ModelFileError" in api.stderr, api.stderr[-2000:]
    assert "outside the formula grammar" in api.stderr
    assert not marker.exists()
    cli = run_python(["-m", "softlogit.product.cli", "predict", str(model), str(data)], tmp_path)
    assert cli.returncode == 1, cli.stderr[-2000:]
    assert "outside the formula grammar" in cli.stderr and cli.stdout == ""
    assert not marker.exists()


# ---------------------------------------------------------------------- what still works

POSITIVE = [
    "admit ~ gre + gpa + C(rank)",
    "admit ~ gre + gpa",
    "admit ~ gre + gpa - 1",
    "admit ~ 0 + gre",
    "admit ~ 1",
    "admit ~ np.log(gre) + gpa * C(rank, Treatment(reference=4))",
    "admit ~ C(rank, contr.sum) + np.sqrt(gre) + I(gpa**2) + poly(gre, 3)",
    "admit ~ C(rank, Sum) + np.log1p(gpa) + np.exp(gpa / 4) + I(gre // 100) + I(rank % 2)",
    "admit ~ bs(gpa, df=4) + cr(gre, df=4)",
    "admit ~ center(gpa) + scale(gre) + C(rank, levels=[1, 2, 3, 4])",
    "admit ~ standardize(gre) + I(gre > 500) + np.clip(gpa, 2.5, 3.9) + abs(gpa - 3)",
    "admit ~ `gre` + `gpa`:C(rank, Helmert)",
    "admit ~ (gre + gpa + C(rank))**2",
    "admit ~ gre + gpa/C(rank) + {gpa**3}",
]


@pytest.mark.parametrize("formula", POSITIVE)
def test_supported_formulas_fit_save_load_and_predict_identically(formula, admissions, tmp_path):
    model = sl.LogisticRegression(formula=formula).fit(admissions)
    model.save(tmp_path / "model.json")
    loaded = sl.load(tmp_path / "model.json")
    new = admissions.iloc[::-3]
    for method in ("predict", "predict_proba", "decision_function"):
        a, b = getattr(model, method)(new), getattr(loaded, method)(new)
        assert a.tobytes() == b.tobytes(), method
    assert str(model.summary()) == str(loaded.summary())


@pytest.mark.parametrize(
    "formula",
    [
        "admit ~ C(rank, Sum) + np.sqrt(gre) + I(gpa**2)",
        "admit ~ np.log(gre) + gpa * C(rank, Treatment(reference=4))",
        "admit ~ center(gpa) + I(gre // 100) + I(gpa % 1) + np.log1p(gre)",
    ],
)
def test_checked_formulas_fit_as_statsmodels(formula, admissions):
    model = sl.LogisticRegression(formula=formula).fit(admissions)
    ref = smf.logit(formula, admissions).fit(disp=0, method="newton", tol=1e-12)
    ours = model.coef_table()
    names = list(ours.index)  # the same names, in formulaic's order
    np.testing.assert_allclose(ours["coef"], ref.params[names], rtol=1e-6)
    np.testing.assert_allclose(ours["std_err"], ref.bse[names], rtol=1e-6)


def test_backtick_names_with_spaces_and_quotes(admissions, tmp_path):
    frame = admissions.rename(columns={"gre": "gre score", "gpa": "it's gpa"})
    formula = "admit ~ `gre score` + np.log(`it's gpa`) + I(`gre score` / 100)"
    model = sl.LogisticRegression(formula=formula).fit(frame)
    model.save(tmp_path / "m.json")
    loaded = sl.load(tmp_path / "m.json")
    assert model.predict_proba(frame).tobytes() == loaded.predict_proba(frame).tobytes()


def test_dot_fits_with_the_data_but_a_model_file_needs_the_terms(admissions, tmp_path):
    frame = admissions[["admit", "gre", "gpa"]]
    model = sl.LogisticRegression(formula="admit ~ .").fit(frame)
    explicit = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(frame)
    np.testing.assert_array_equal(model.coef_, explicit.coef_)
    with pytest.raises(ValueError, match="written out"):
        model.save(tmp_path / "m.json")


# ---------------------------------------------------------------------- the grammar's bounds


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ poly(x, 51)", "degree= of poly"),
        ("y ~ bs(x, df=51)", "df= of bs"),
        ("y ~ I(x**101)", "exponent 101"),
        ("y ~ I(((x**10)**10)**2)", "degree 200"),
        ("y ~ I(x + 10.0**301)", "beyond"),
        ("y ~ I(x * 1e309)", "constant"),
        ("y ~ I(x + 1/0)", "infinite, undefined"),
        ("y ~ (a + b)**14", "expand to up to"),
        ("y ~ " + "*".join(f"x{i}" for i in range(15)), "expand to up to"),
        ("y ~ x**100", "from 1 to 64"),
        ("y ~ x | z", "2 parts separated by '|'"),
        ("y | w ~ x", "2 parts separated by '|'"),
        ("~ x", "needs a response"),
        ("y ~ " + "+".join(["x"] * 60_000), "characters"),
        ("y ~ C(g, levels=['a', 'b', 'c'])", "at most 2 literals"),
    ],
)
def test_bounds(formula, message):
    with pytest.raises(ValueError, match=message.replace("|", r"\|").replace("*", r"\*")):
        check_formula(formula, max_levels=2)


def test_the_bounds_admit_what_real_models_use():
    check_formula("y ~ poly(x, 50) + bs(z, df=50) + I(x**100) + (a + b + c)**3")
    check_formula("y ~ " + " + ".join(f"x{i}" for i in range(2000)))
    check_formula("y ~ C(g, levels=['a', 'b', 'c'])", max_levels=3)


def test_multi_part_formula_is_refused_at_fit_with_a_clear_message(admissions):
    with pytest.raises(ValueError, match=r"2 parts separated by '\|'.*single part"):
        sl.LogisticRegression(formula="admit ~ gre | gpa").fit(admissions)


def test_state_longer_than_the_model_is_refused(saved_doc, tmp_path):
    doc = json.loads(json.dumps(saved_doc))
    doc["formula"]["encoder_state"]["C(rank)"]["state"]["$dict"][0][1] = list(range(10**4))
    doc["sha256"] = sio._checksum(doc)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ModelFileError, match="encoding state holds a list of 10000 values"):
        sl.load(path)


# ---------------------------------------------------------------------- the file itself


@pytest.fixture
def saved(admissions, tmp_path):
    path = tmp_path / "model.json"
    sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(admissions).save(path)
    return path


def test_a_file_over_the_limit_is_refused_before_it_is_read(saved, monkeypatch):
    def forbidden(raw):
        raise AssertionError("an oversized file was read and parsed")

    size = saved.stat().st_size
    monkeypatch.setattr(sio, "_parse", forbidden)
    with pytest.raises(ModelFileError, match=f"{size} bytes, more than the limit of {size - 1}"):
        sl.load(saved, max_bytes=size - 1)
    monkeypatch.setenv(sio.MAX_BYTES_VARIABLE, str(size - 1))
    with pytest.raises(ModelFileError, match="SOFTLOGIT_MAX_MODEL_BYTES"):
        sl.load(saved)
    monkeypatch.undo()
    monkeypatch.setenv(sio.MAX_BYTES_VARIABLE, str(size))
    assert sl.load(saved).n_features_in_ == 5
    assert sl.load(saved, max_bytes=size).n_features_in_ == 5


def test_a_padded_file_is_refused_by_its_size(saved):
    with saved.open("ab") as fh:
        fh.truncate(sio.DEFAULT_MAX_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ModelFileError, match="more than the limit"):
        sl.load(saved)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "100"])
def test_max_bytes_must_be_a_positive_integer(saved, bad):
    with pytest.raises(ValueError, match="max_bytes"):
        sl.load(saved, max_bytes=bad)


def test_the_environment_variable_must_be_a_number(saved, monkeypatch):
    monkeypatch.setenv(sio.MAX_BYTES_VARIABLE, "lots")
    with pytest.raises(ValueError, match="SOFTLOGIT_MAX_MODEL_BYTES='lots'"):
        sl.load(saved)


def test_the_default_limit_holds_a_large_softmax(saved):
    """A K=50, p=2000 softmax stores 49 * 2001 coefficients (plus 49 intercepts); measured
    from a real file, they need a small fraction of the default limit."""
    doc = json.loads(saved.read_text(encoding="utf-8"))
    per_number = len(json.dumps(doc["fitted"]["coef"])) / len(doc["fitted"]["coef"]["data"])
    assert 49 * 2002 * per_number * 2 < sio.DEFAULT_MAX_BYTES


def test_devices_and_directories_are_refused_by_kind(tmp_path):
    with pytest.raises(ModelFileError, match="character device, not a regular file"):
        sl.load(os.devnull)
    with pytest.raises(ModelFileError, match="directory, not a regular file"):
        sl.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        sl.load(tmp_path / "missing.json")


FIFO_SCRIPT = """
import os, stat, sys
import softlogit as sl
from softlogit.product import modelfile as sio
fifo, regular = sys.argv[1], sys.argv[2]
for attempt in ("plain", "swapped after stat"):
    try:
        sl.load(fifo)
    except sio.ModelFileError as err:
        assert "FIFO (named pipe), not a regular file" in str(err), err
        print("refused", attempt)
    real_stat = os.stat
    sio.os.stat = lambda path, *a, **k: real_stat(regular)  # the FIFO appears after the stat
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_and_never_blocks(saved, tmp_path):
    fifo = tmp_path / "model.fifo"
    os.mkfifo(fifo)
    run = run_python(["-c", FIFO_SCRIPT, str(fifo), str(saved)], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split("\n")[:2] == ["refused plain", "refused swapped after stat"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("command", ["predict", "summary", "report"])
def test_the_cli_names_what_a_model_path_is(command, tmp_path, admissions):
    fifo = tmp_path / "model.fifo"
    os.mkfifo(fifo)
    data = tmp_path / "data.csv"
    admissions.to_csv(data, index=False)
    extra = {"predict": [str(data)], "summary": [], "report": [str(data), "--out", "r.html"]}
    for path, kind in ((fifo, "FIFO (named pipe)"), (os.devnull, "character device")):
        result = CliRunner().invoke(main, [command, str(path), *extra[command]])
        assert result.exit_code == 1, result.output
        assert f"{kind}, not a regular file" in result.output
        assert "no such model file" not in result.output


# ---------------------------------------------------------------------- data frames only


def test_strings_in_the_data_stay_data(tmp_path):
    marker = tmp_path / "pwned"
    code = f"__import__('os').system('touch {marker}')"
    frame = pd.DataFrame({"y": [0, 1] * 20, "g": [code, "b", "c", "b"] * 10, "x": range(40)})
    model = sl.LogisticRegression(formula="y ~ C(g) + x").fit(frame)
    model.save(tmp_path / "m.json")
    assert sl.load(tmp_path / "m.json").predict(frame).shape == (40,)
    assert not marker.exists()
