"""Model files: exact round trips, refused content, atomic writes, nothing executed on load."""

from __future__ import annotations

import ast
import builtins
import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import KFold

import softlogit as sl
from softlogit import datasets
from softlogit.product import modelfile as sio
from softlogit.product.modelfile import ModelFileError, NoTrainingDataError, StoredResults


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def hsb():
    return datasets.load_hsbdemo()


def roundtrip(model, tmp_path, name="model.json"):
    path = tmp_path / name
    sio.save(model, path)
    return sio.load(path)


def assert_bitwise(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype.kind == "O":
        assert [(type(x), x) for x in a.ravel()] == [(type(x), x) for x in b.ravel()]
    else:
        assert a.tobytes() == b.tobytes()


def assert_same_predictions(original, loaded, X):
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        assert_bitwise(getattr(original, method)(X), getattr(loaded, method)(X))


def assert_same_inference(original, loaded):
    assert str(original.summary()) == str(loaded.summary())
    assert original.summary()._repr_html_() == loaded.summary()._repr_html_()
    for method in ("coef_table", "cov_params"):
        pd.testing.assert_frame_equal(
            getattr(original, method)(), getattr(loaded, method)(), check_exact=True
        )


def rewrite(path, edit):
    """Edit a model file's JSON and store it with a recomputed (valid) checksum."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc)
    doc["sha256"] = sio._checksum(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")


# ---------------------------------------------------------------------- round trips


def test_binary_round_trip(admissions, tmp_path):
    X, y = admissions[["gre", "gpa"]].to_numpy(), admissions["admit"].to_numpy()
    model = sl.LogisticRegression().fit(X, y)
    loaded = roundtrip(model, tmp_path)
    assert type(loaded) is sl.LogisticRegression
    assert isinstance(loaded.results_, StoredResults)
    assert_same_predictions(model, loaded, X[::3] * 1.01)
    assert_same_inference(model, loaded)
    pd.testing.assert_frame_equal(model.odds_ratios(), loaded.odds_ratios(), check_exact=True)
    for name in sio.STATS + ("n_iter_", "converged_", "solver_", "loss_curve_", "n_features_in_"):
        assert getattr(loaded, name) == getattr(model, name), name
        assert type(getattr(loaded, name)) is type(getattr(model, name)), name
    assert loaded.get_params() == model.get_params()


@pytest.mark.parametrize("reference", ["first", "vocation", None])
def test_softmax_round_trip_with_string_labels(hsb, tmp_path, reference):
    X, y = hsb[["write", "math", "ses_middle", "ses_high"]], hsb["prog"].to_numpy()
    model = sl.SoftmaxRegression(reference=reference).fit(X, y)
    loaded = roundtrip(model, tmp_path)
    assert_bitwise(model.classes_, loaded.classes_)
    assert loaded.reference_ == model.reference_
    assert_same_predictions(model, loaded, X.iloc[::-2])
    assert str(model.summary()) == str(loaded.summary())
    if reference is None:
        with pytest.raises(ValueError, match="reference"):
            loaded.coef_table()
    else:
        assert_same_inference(model, loaded)
        rrr = model.relative_risk_ratios(), loaded.relative_risk_ratios()
        pd.testing.assert_frame_equal(*rrr, check_exact=True)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 7]),
        np.array([-1.0, 2.0]),
        np.array(["no", "yes"]),
        np.array(["no", "yes"], dtype=object),
        np.array([False, True]),
    ],
    ids=["int", "float", "str", "object", "bool"],
)
def test_label_types(admissions, tmp_path, labels):
    X = admissions[["gre", "gpa"]].to_numpy()
    y = labels[admissions["admit"].to_numpy()]
    model = sl.LogisticRegression().fit(X, y)
    loaded = roundtrip(model, tmp_path)
    assert_bitwise(model.classes_, loaded.classes_)
    assert_same_predictions(model, loaded, X)


def test_formula_binary_with_categorical_terms(admissions, tmp_path):
    model = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(admissions)
    loaded = roundtrip(model, tmp_path)
    new = admissions.sample(60, random_state=3).drop(columns="admit")
    assert_same_predictions(model, loaded, new)
    assert_same_inference(model, loaded)
    assert "Response:             admit" in str(loaded.summary())
    unseen = new.assign(rank=new["rank"].replace({4: 9}))
    with pytest.raises(ValueError, match="unseen category"):
        loaded.predict(unseen)


def test_formula_softmax_with_categorical_terms(hsb, tmp_path):
    model = sl.SoftmaxRegression(formula="prog ~ C(ses) + write").fit(hsb)
    loaded = roundtrip(model, tmp_path)
    assert_same_predictions(model, loaded, hsb.iloc[::-3])
    assert_same_inference(model, loaded)
    me = model.marginal_effects(X=hsb.head(40)), loaded.marginal_effects(X=hsb.head(40))
    pd.testing.assert_frame_equal(*me, check_exact=True)


def test_formula_with_stateful_transforms(hsb, tmp_path):
    formula = (
        "prog ~ C(ses, Treatment(reference='middle')) + center(write) + scale(read)"
        " + poly(math, 2) + np.log(science) + female:write"
    )
    model = sl.SoftmaxRegression(formula=formula).fit(hsb)
    loaded = roundtrip(model, tmp_path)
    shifted = hsb.assign(write=hsb["write"] + 3.5, math=hsb["math"] * 0.9).iloc[::2]
    assert_same_predictions(model, loaded, shifted)
    assert_same_inference(model, loaded)


def test_l2_model(admissions, tmp_path):
    model = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)", penalty="l2", alpha=0.01)
    model.fit(admissions)
    loaded = roundtrip(model, tmp_path)
    assert_same_predictions(model, loaded, admissions)
    assert_same_inference(model, loaded)


def test_l1_model_has_no_covariance(hsb, tmp_path):
    model = sl.SoftmaxRegression(formula="prog ~ C(ses) + write + math", penalty="l1", alpha=0.02)
    model.fit(hsb)
    loaded = roundtrip(model, tmp_path)
    assert_same_predictions(model, loaded, hsb)
    assert str(model.summary()) == str(loaded.summary())
    doc = json.loads((tmp_path / "model.json").read_text())
    assert doc["results"]["covariance"] is None
    with pytest.raises(ValueError, match="lasso"):
        loaded.coef_table()


def test_aliased_column_nan_covariance(admissions, tmp_path):
    X = admissions[["gre", "gpa"]].assign(gre2=admissions["gre"] * 2)
    model = sl.LogisticRegression().fit(X, admissions["admit"])
    assert model.aliased_.any()
    loaded = roundtrip(model, tmp_path)
    assert_same_predictions(model, loaded, X)
    assert_same_inference(model, loaded)  # NaN rows of the aliased column included
    assert np.isnan(loaded.cov_params().to_numpy()).any()


def test_separated_data_keep_their_diagnosis(tmp_path):
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    model = sl.LogisticRegression().fit(X, y)
    assert model.separation_ is not None
    loaded = roundtrip(model, tmp_path)
    assert str(loaded.summary()) == str(model.summary())
    for field in ("separated", "complete", "direction", "rows", "columns", "classes"):
        assert_bitwise(getattr(loaded.separation_, field), getattr(model.separation_, field))


def test_firth_and_params_with_arrays_and_dicts(admissions, tmp_path):
    X, y = admissions[["gre", "gpa", "rank"]].to_numpy(), admissions["admit"].to_numpy()
    model = sl.LogisticRegression(penalty="firth").fit(X, y)
    assert_same_inference(model, roundtrip(model, tmp_path))
    weighted = sl.LogisticRegression(
        penalty="l2",
        alpha=0.05,
        penalty_factor=np.array([1.0, 0.0, 2.0]),
        class_weight={0: 1, 1: 2.5},
    ).fit(X, y)
    loaded = roundtrip(weighted, tmp_path)
    assert_bitwise(loaded.penalty_factor, weighted.penalty_factor)
    assert loaded.class_weight == {0: 1, 1: 2.5}
    assert_same_predictions(weighted, loaded, X)


def test_cv_model(admissions, tmp_path):
    X, y = admissions[["gre", "gpa", "rank"]], admissions["admit"]
    model = sl.LogisticRegressionCV(cv=3, n_alphas=8, random_state=0).fit(X, y)
    loaded = roundtrip(model, tmp_path)
    assert type(loaded) is sl.LogisticRegressionCV
    assert_same_predictions(model, loaded, X)
    assert loaded.alpha_ == model.alpha_ and loaded.l1_ratio_ == model.l1_ratio_
    assert_bitwise(loaded.cv_mean_, model.cv_mean_)
    assert str(loaded.summary()) == str(model.summary())


def test_partial_fit_model_without_results(admissions, tmp_path):
    X, y = admissions[["gre", "gpa"]].to_numpy() / 100, admissions["admit"].to_numpy()
    model = sl.LogisticRegression(solver="sgd", random_state=0).partial_fit(X, y, classes=[0, 1])
    loaded = roundtrip(model, tmp_path)
    assert_same_predictions(model, loaded, X)
    with pytest.raises(NotFittedError):
        loaded.summary()


def test_loaded_inference_needs_no_training_rows_until_it_must(hsb, tmp_path):
    model = sl.SoftmaxRegression(formula="prog ~ C(ses) + write").fit(hsb)
    other = sl.SoftmaxRegression(formula="prog ~ write").fit(hsb)
    loaded, loaded_other = roundtrip(model, tmp_path), roundtrip(other, tmp_path, "other.json")
    assert str(model.wald_test("write = 0")) == str(loaded.wald_test("write = 0"))
    assert str(sl.lr_test(other, model)) == str(sl.lr_test(loaded_other, loaded))
    with_ci = model.predict_proba(hsb, return_ci=True), loaded.predict_proba(hsb, return_ci=True)
    for a, b in zip(*with_ci, strict=True):
        assert_bitwise(a, b)
    for call in (  # HC0/HC1 are stored (tests/test_cli_robust.py)
        lambda m: m.cov_params(cov_type="cluster", groups=hsb["schtyp"]),
        lambda m: m.marginal_effects(kind="column"),
    ):
        call(model)  # the fitted model has its training rows
        with pytest.raises(NoTrainingDataError, match="training rows"):
            call(loaded)
    with pytest.raises(ValueError, match="not one of"):
        loaded.coef_table(cov_type="HC7")


def test_loaded_model_refits(admissions, tmp_path):
    model = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(admissions)
    loaded = roundtrip(model, tmp_path)
    refit = loaded.fit(admissions)
    pd.testing.assert_frame_equal(
        refit.coef_table(cov_type="HC0"), model.coef_table(cov_type="HC0")
    )


# ---------------------------------------------------------------------- refused models


def test_refuses_other_estimators(admissions, tmp_path):
    X, y = admissions[["gre", "gpa"]].to_numpy(), admissions["admit"].to_numpy()

    class Custom(sl.LogisticRegression):
        pass

    for model in (SkLogisticRegression().fit(X, y), Custom().fit(X, y)):
        with pytest.raises(TypeError, match="can be saved"):
            sio.save(model, tmp_path / "m.json")
    with pytest.raises(NotFittedError):
        sio.save(sl.LogisticRegression(), tmp_path / "m.json")
    assert not list(tmp_path.iterdir())


def test_refuses_parameters_json_cannot_hold(admissions, tmp_path):
    X, y = admissions[["gre", "gpa"]], admissions["admit"]
    cv = sl.LogisticRegressionCV(cv=KFold(3), n_alphas=5).fit(X, y)
    with pytest.raises(TypeError, match=r"cv = KFold"):
        sio.save(cv, tmp_path / "m.json")
    rng = sl.LogisticRegression(random_state=np.random.default_rng(0)).fit(X, y)
    with pytest.raises(TypeError, match="random_state"):
        sio.save(rng, tmp_path / "m.json")
    assert not list(tmp_path.iterdir())


def test_refuses_formula_terms_that_could_run_code(admissions, tmp_path):
    with pytest.raises(ValueError, match="np.fmax"):  # at fit, before anything is evaluated
        sl.LogisticRegression(formula="admit ~ gre + np.fmax(gpa, 3)").fit(admissions)
    model = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(admissions)
    model.formula = model._formula.formula = "admit ~ gre + np.fmax(gpa, 3)"
    with pytest.raises(ValueError, match="np.fmax"):
        sio.save(model, tmp_path / "m.json")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ np.load(x)",
        "y ~ np.linalg.norm(x)",
        "y ~ {__import__('os')}",
        "y ~ I(().__class__)",
        "y ~ hashed(x, 3, hash_func=eval)",
        "y ~ getattr(x, 'a')",
        "y ~ open(x)",
        "y ~ __import__('os').system('echo hi')",
    ],
)
def test_check_formula_refuses(formula):
    with pytest.raises(ValueError):
        sio.check_formula(formula)


def test_check_formula_allows_ordinary_terms():
    sio.check_formula(
        "y ~ C(g, contr.sum) + C(h, Treatment('b')) + np.log(x) + `a b` + I(x**2) + poly(x, 3)"
        " + center(z) + abs(x) + x:z - 1"
    )


# ---------------------------------------------------------------------- bad files


@pytest.fixture
def saved(admissions, tmp_path):
    model = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(admissions)
    path = tmp_path / "model.json"
    sio.save(model, path)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        sio.load(tmp_path / "nothing.json")


def test_truncated_file(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not valid JSON.*truncated"):
        sio.load(saved)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"hello, world", "not valid JSON"),
        (b"\x80\x04\x95\xff", "not a UTF-8"),
        (b"[1, 2, 3]", "not a softlogit model file"),
        (b'{"a": 1, "a": 2}', "duplicate keys"),
        (b'{"format": "softlogit-model", "x": NaN}', "NaN is not valid JSON"),
    ],
)
def test_not_a_model_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        sio.load(path)


def test_pickle_file_is_refused_not_unpickled(admissions, tmp_path):
    model = sl.LogisticRegression().fit(admissions[["gre"]], admissions["admit"])
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    with pytest.raises(ModelFileError):
        sio.load(path)


def test_flipped_digit_fails_the_checksum(saved):
    text = saved.read_text(encoding="utf-8")
    start = text.index('"coef":{"data":[') + len('"coef":{"data":[')
    pos = next(i for i in range(start + 3, len(text)) if text[i].isdigit())
    flipped = "1" if text[pos] != "1" else "2"
    saved.write_text(text[:pos] + flipped + text[pos + 1 :], encoding="utf-8")
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        sio.load(saved)


def test_wrong_tag_and_versions(saved):
    original = saved.read_text(encoding="utf-8")
    cases = [
        ("format", "sklearn-model", "not a softlogit model file"),
        ("format_version", 2, "newer than 1: upgrade softlogit"),
        ("format_version", "1", "invalid format_version"),
        ("format_version", 0, "invalid format_version"),
    ]
    for key, value, message in cases:
        saved.write_text(original, encoding="utf-8")
        rewrite(saved, lambda doc, k=key, v=value: doc.__setitem__(k, v))
        with pytest.raises(ModelFileError, match=message):
            sio.load(saved)
    doc = json.loads(original)
    del doc["sha256"]
    saved.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ModelFileError, match="no sha256 checksum"):
        sio.load(saved)


def _truncate_coef(doc):
    coef = doc["fitted"]["coef"]
    coef["shape"], coef["data"] = [1, 4], coef["data"][:4]


def _bad_covariance(doc):
    cov = doc["results"]["covariance"]
    n = cov["shape"][0]
    cov["shape"], cov["data"] = [n, n - 1], cov["data"][: n * (n - 1)]


def _set(section, key, value):
    return lambda doc: doc[section].__setitem__(key, value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (_truncate_coef, r"fitted.coef has shape \(1, 4\); expected \(1, 5\)"),
        (lambda d: d["fitted"]["coef"]["data"].pop(), "needs 5 values, not 4"),
        (lambda d: d["fitted"]["coef"]["data"].__setitem__(0, "nan"), "non-finite"),
        (lambda d: d["fitted"]["intercept"].__setitem__("shape", [1, 1]), "intercept has shape"),
        (_bad_covariance, r"covariance has shape \(6, 5\), not \(6, 6\)"),
        (lambda d: d["fitted"]["classes"]["data"].reverse(), "not sorted"),
        (_set("fitted", "reference", 3), "reference"),
        (_set("fitted", "n_features_in", 4), "expected"),
        (_set("fitted", "solver", "magic"), "solver"),
        (lambda d: d["fitted"]["coef"].__setitem__("dtype", "<c16"), "not allowed"),
        (lambda d: d["fitted"].pop("aliased"), "fitted.aliased is missing"),
        (_set("fitted", "n_iter", True), "n_iter must be int"),
        (lambda d: d.__setitem__("estimator", "Pipeline"), "unknown estimator"),
        (_set("params", "magic", 1), "not parameters of LogisticRegression"),
        (_set("params", "alpha", {"$pickle": "..."}), "unknown tag"),
        (lambda d: d["formula"]["structure"][3]["columns"].pop(), "do not match the features"),
        (lambda d: d["results"]["stats"].pop("aic_"), "results.stats must hold"),
        (lambda d: d["results"]["stats"].__setitem__("deviance_", 1.0), "deviance_"),
    ],
)
def test_inconsistent_content_is_named(saved, edit, message):
    rewrite(saved, edit)
    with pytest.raises(ModelFileError, match=message):
        sio.load(saved)


# ---------------------------------------------------------------------- atomic writes


@pytest.fixture
def model(admissions):
    return sl.LogisticRegression().fit(admissions[["gre", "gpa"]], admissions["admit"])


def test_failed_dump_leaves_the_old_file(monkeypatch, saved, model):
    before = saved.read_bytes()

    def half_then_fail(obj, fh, **kwargs):
        fh.write(json.dumps(obj, **kwargs)[:100])
        raise OSError("disk full")

    monkeypatch.setattr(sio.json, "dump", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        sio.save(model, saved)
    assert saved.read_bytes() == before
    assert list(saved.parent.iterdir()) == [saved]


def test_failed_replace_leaves_the_old_file(monkeypatch, saved, model):
    before = saved.read_bytes()

    def refuse(src, dst):
        raise PermissionError("rename refused")

    monkeypatch.setattr(sio.os, "replace", refuse)
    with pytest.raises(PermissionError):
        sio.save(model, saved)
    assert saved.read_bytes() == before
    assert list(saved.parent.iterdir()) == [saved]
    sio.load(saved)


def test_failed_first_write_leaves_nothing(monkeypatch, tmp_path, model):
    monkeypatch.setattr(sio.json, "dump", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        sio.save(model, tmp_path / "new.json")
    assert not list(tmp_path.iterdir())


def test_save_syncs_then_replaces(monkeypatch, tmp_path, model):
    calls = []
    real_fsync, real_replace = sio.os.fsync, sio.os.replace
    monkeypatch.setattr(sio.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(
        sio.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))
    )
    sio.save(model, tmp_path / "m.json")
    assert calls[:2] == ["fsync", "replace"]
    sio.save(model, tmp_path / "m.json")  # overwriting an existing file works
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


# ---------------------------------------------------------------------- nothing runs on load


def test_load_never_evaluates_or_unpickles(monkeypatch, saved, admissions):
    def forbidden(*args, **kwargs):
        raise AssertionError("load must not evaluate or unpickle anything")

    def parse_only(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:  # ast.parse (formula syntax) is fine, code is not
            forbidden()
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    real_compile = builtins.compile
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", parse_only)
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    loaded = sio.load(saved)
    monkeypatch.undo()
    assert loaded.predict(admissions).shape == (400,)


def test_code_in_strings_is_just_data(admissions, tmp_path):
    marker = tmp_path / "pwned"
    code = f"__import__('os').system('touch {marker}')"
    X = admissions[["gre", "gpa"]].to_numpy()
    y = np.where(admissions["admit"] == 1, code, "no")
    model = sl.LogisticRegression().fit(X, y)
    loaded = roundtrip(model, tmp_path)
    assert set(loaded.predict(X)) <= {code, "no"}
    assert not marker.exists()


def test_formula_with_code_is_refused_on_load(saved, tmp_path):
    marker = tmp_path / "pwned"
    evil = f"admit ~ gre + gpa + C(rank) + I(__import__('os').system('touch {marker}'))"

    def edit(doc):
        doc["params"]["formula"] = doc["formula"]["formula"] = evil

    rewrite(saved, edit)
    with pytest.raises(ModelFileError, match="formula"):
        sio.load(saved)
    assert not marker.exists()


# ---------------------------------------------------------------------- values


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        -0.0,
        5e-324,
        np.float32(0.1),
        np.int64(-7),
        np.str_("a"),
        np.bool_(True),
        (1, "a", None),
        {0: np.float64(52.775), "k": [1.5, float("inf")]},
        np.array([[1.0, np.nan], [-np.inf, 2.0]]),
        np.array(["x", "yz"]),
    ],
)
def test_values_round_trip_exactly(value):
    doc = json.loads(json.dumps(sio._value_out(value, "v"), allow_nan=False))
    back = sio._value_in(doc, "v")
    assert type(back) is type(value)
    as_text = [np.asarray(v, dtype=object).astype(str) for v in (back, value)]
    assert_bitwise(*as_text)  # the same values, numpy scalar types included
    if isinstance(value, (float, np.floating)) and value == value:
        assert np.asarray(back).tobytes() == np.asarray(value).tobytes()


def test_estimator_save_method_and_package_load(admissions, tmp_path):
    model = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(admissions)
    path = tmp_path / "m.json"
    model.save(path)
    loaded = sl.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(admissions), model.predict_proba(admissions))
    assert str(loaded.summary()) == str(model.summary())


def test_a_loaded_offset_model_still_requires_the_offset(tmp_path, admissions):
    """``has_offset_`` travels in the model file: the loaded model refuses to predict without
    the offset, as the fitted one does, and predicts the same with it."""
    X, y = admissions[["gre", "gpa"]], admissions["admit"]
    offset = np.linspace(-0.5, 0.5, len(y))
    m = sl.LogisticRegression().fit(X, y, offset=offset)
    m.save(tmp_path / "m.json")
    back = sl.load(tmp_path / "m.json")
    assert back.has_offset_
    with pytest.raises(ValueError, match="offset"):
        back.predict_proba(X)
    np.testing.assert_allclose(
        back.predict_proba(X, offset=offset), m.predict_proba(X, offset=offset)
    )
    plain = sl.LogisticRegression().fit(X, y)
    plain.save(tmp_path / "p.json")
    assert not sl.load(tmp_path / "p.json").has_offset_
