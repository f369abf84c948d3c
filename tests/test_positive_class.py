"""LogisticRegression(positive_class=...): the modelled class, and every output naming it.

References: the closed form (choosing the other class negates every coefficient, since
logit(1 - p) = -logit(p)), statsmodels' Logit on the recoded response and R's
``glm(relevel(factor(y), ref = other) ~ ...)``; streamed Parquet against in-memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

import softlogit as sl
from softlogit.datasets import load_admissions
from softlogit.product import cli, report_data
from softlogit.product.report import make_report

from .rscript import run_r
from .test_io import rewrite

FEATURES = ["gre", "gpa", "rank_2", "rank_3", "rank_4"]
FORMULA = "res ~ gre + gpa + rank_2 + rank_3 + rank_4"


@pytest.fixture(scope="module")
def adm():
    frame = load_admissions()
    return frame.assign(res=np.where(frame["admit"] == 1, "yes", "no"))


def _params(model):
    return np.r_[model.intercept_, model.coef_.ravel()]


def test_the_smaller_label_negates_every_coefficient(adm):
    X, y = adm[FEATURES], adm["admit"]
    default = sl.LogisticRegression().fit(X, y)
    zero = sl.LogisticRegression(positive_class=0).fit(X, y)
    assert zero.classes_.tolist() == [1, 0] and default.classes_.tolist() == [0, 1]
    np.testing.assert_allclose(_params(zero), -_params(default), rtol=1e-10)
    np.testing.assert_allclose(
        zero.coef_table()["std_err"], default.coef_table()["std_err"], rtol=1e-10
    )
    # predict_proba columns follow classes_; decision_function is the log-odds of classes_[1]
    proba = zero.predict_proba(X)
    np.testing.assert_allclose(proba, default.predict_proba(X)[:, ::-1], rtol=1e-12)
    np.testing.assert_allclose(zero.decision_function(X), -default.decision_function(X))
    np.testing.assert_array_equal(zero.predict(X), zero.classes_[np.argmax(proba, axis=1)])
    np.testing.assert_array_equal(zero.predict(X), default.predict(X))
    # the larger label is today's model
    one = sl.LogisticRegression(positive_class=1).fit(X, y)
    np.testing.assert_array_equal(_params(one), _params(default))


def test_statsmodels_logit_on_the_recoded_response(adm):
    m = sl.LogisticRegression(positive_class="no", tol=1e-12).fit(adm[FEATURES], adm["res"])
    ref = sm.Logit((adm["res"] == "no").astype(float), sm.add_constant(adm[FEATURES])).fit(
        disp=0, method="newton", tol=1e-14
    )
    table = m.coef_table()
    np.testing.assert_allclose(table["coef"], ref.params, rtol=1e-6)
    np.testing.assert_allclose(table["std_err"], ref.bse, rtol=1e-6)
    assert m.classes_.tolist() == ["yes", "no"]
    np.testing.assert_allclose(m.predict_proba(adm[FEATURES])[:, 1], ref.predict(), rtol=1e-6)


def test_r_glm_with_the_other_level_as_reference(adm, tmp_path):
    path = tmp_path / "adm.csv"
    adm[["res", *FEATURES]].to_csv(path, index=False)
    r = run_r(
        f"d <- read.csv('{path}'); d$res <- relevel(factor(d$res), ref = 'yes')\n"
        f"f <- glm({FORMULA}, binomial, d, control = glm.control(epsilon = 1e-14))\n"
        "cat(format(c(coef(f), sqrt(diag(vcov(f)))), digits = 17))"
    )
    m = sl.LogisticRegression(formula=FORMULA, positive_class="no", tol=1e-12).fit(adm)
    table = m.coef_table()
    np.testing.assert_allclose(table["coef"], r[:6], rtol=1e-6)
    np.testing.assert_allclose(table["std_err"], r[6:], rtol=1e-6)


def test_formula_matches_arrays_and_labels_the_tables(adm):
    f = sl.LogisticRegression(formula=FORMULA, positive_class="no").fit(adm)
    a = sl.LogisticRegression(positive_class="no").fit(adm[FEATURES], adm["res"])
    np.testing.assert_allclose(_params(f), _params(a), rtol=1e-10)
    assert f.classes_.tolist() == ["yes", "no"]
    for table in (f.coef_table(), f.odds_ratios()):
        assert table.attrs["modelled"] == "P(res = 'no')"
        assert str(table).startswith("P(res = 'no')")
    text = str(f.summary())
    assert "Modelled:             P(res = 'no')" in text
    assert "Classes:              yes, no (reference: yes)" in text
    soft = sl.SoftmaxRegression(formula=FORMULA, reference="yes").fit(adm)
    assert "Reference class:      'yes'" in str(soft.summary())
    assert soft.coef_table().attrs["modelled"] == "reference class 'yes'"
    # the softmax with reference 'yes' is the logistic model of 'no'
    np.testing.assert_allclose(_params(soft), _params(f), rtol=1e-7)


def test_unknown_labels_and_values_are_errors(adm):
    with pytest.raises(ValueError, match=r"positive_class='maybe' is not a class.*'no', 'yes'"):
        sl.LogisticRegression(positive_class="maybe").fit(adm[FEATURES], adm["res"])
    with pytest.raises(ValueError, match="positive_class=1 is not a class"):
        sl.LogisticRegression(positive_class=1).fit(adm[FEATURES], adm["res"])
    with pytest.raises(InvalidParameterError, match="positive_class="):
        sl.LogisticRegression(positive_class=["no"]).fit(adm[FEATURES], adm["res"])


def test_class_weight_and_partial_fit(adm):
    X, y = adm[FEATURES], adm["res"]
    weights = {"yes": 2.0, "no": 1.0}
    a = sl.LogisticRegression(class_weight=weights).fit(X, y)
    b = sl.LogisticRegression(class_weight=weights, positive_class="no").fit(X, y)
    np.testing.assert_allclose(_params(b), -_params(a), rtol=1e-9)
    # the class weights equal frequency weights on the rows
    w = np.where(y == "yes", 2.0, 1.0)
    c = sl.LogisticRegression(positive_class="no").fit(X, y, sample_weight=w)
    np.testing.assert_allclose(_params(b), _params(c), rtol=1e-9)
    p = sl.LogisticRegression(solver="sgd", positive_class="no", random_state=0)
    p.partial_fit(X.to_numpy()[:50], y[:50], classes=["no", "yes"])
    p.partial_fit(X.to_numpy()[50:], y[50:])
    assert p.classes_.tolist() == ["yes", "no"]
    assert p.predict_proba(X.to_numpy()).shape == (len(y), 2)


def test_streamed_parquet_equals_in_memory(adm, tmp_path):
    path = tmp_path / "adm.parquet"
    adm[["res", *FEATURES]].to_parquet(path)
    memory = sl.LogisticRegression(positive_class="no").fit(adm[FEATURES], adm["res"])
    scan = sl.scan_parquet(path, target="res", features=FEATURES, batch_rows=64)
    streamed = sl.LogisticRegression(positive_class="no").fit(scan)
    assert streamed.classes_.tolist() == ["yes", "no"]
    np.testing.assert_allclose(_params(streamed), _params(memory), rtol=1e-8)
    np.testing.assert_allclose(
        streamed.coef_table()["std_err"], memory.coef_table()["std_err"], rtol=1e-8
    )
    on_dask = sl.scan_parquet(path, target="res", features=FEATURES, dask=True)
    dask_fit = sl.LogisticRegression(positive_class="no").fit(on_dask)
    assert dask_fit.classes_.tolist() == ["yes", "no"]
    np.testing.assert_allclose(_params(dask_fit), _params(memory), rtol=1e-8)
    bal = sl.LogisticRegression(positive_class="no", class_weight="balanced")
    np.testing.assert_allclose(
        _params(bal.fit(scan)),
        _params(clone(bal).fit(adm[FEATURES], adm["res"])),
        rtol=1e-8,
    )


def test_model_file_round_trip_and_old_files(adm, tmp_path):
    m = sl.LogisticRegression(formula=FORMULA, positive_class="no").fit(adm)
    m.save(tmp_path / "m.json")
    back = sl.load(tmp_path / "m.json")
    assert back.positive_class == "no" and back.classes_.tolist() == ["yes", "no"]
    np.testing.assert_array_equal(back.predict_proba(adm), m.predict_proba(adm))
    assert "P(res = 'no')" in str(back.summary())
    # a file written before positive_class existed loads with None (and sorted classes)
    sl.LogisticRegression(formula=FORMULA).fit(adm).save(tmp_path / "old.json")
    rewrite(tmp_path / "old.json", lambda doc: doc["params"].pop("positive_class"))
    assert sl.load(tmp_path / "old.json").positive_class is None
    # a file whose class order disagrees with its positive_class is refused
    rewrite(tmp_path / "m.json", lambda doc: doc["params"].update(positive_class="yes"))
    with pytest.raises(ValueError, match="fitted.classes"):
        sl.load(tmp_path / "m.json")


def test_report_names_the_modelled_class(adm):
    m = sl.LogisticRegression(formula=FORMULA, positive_class="no").fit(adm)
    html = make_report(m, adm)
    assert "P(res = &#x27;no&#x27;)" in html
    assert "predict() gives class no when P(no) &gt; 0.5" in html
    # the metrics are the model's, whichever class it describes
    default = sl.LogisticRegression(formula=FORMULA).fit(adm)
    ours, ref = (
        report_data._metrics(m, adm, adm["res"]),
        report_data._metrics(default, adm, adm["res"]),
    )
    for key in ("metric-log-loss", "metric-auc", "metric-brier", "metric-accuracy"):
        np.testing.assert_allclose(ours[key], ref[key], rtol=1e-10)


def test_plots_follow_the_class_order(adm):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from softlogit.product.plotting import plot_decision_regions, plot_roc

    X, y = adm[["gre", "gpa"]], adm["res"]
    m = sl.LogisticRegression(positive_class="no").fit(X, y)
    default = sl.LogisticRegression().fit(X, y)
    codes = np.asarray(plot_decision_regions(m, X, y).images[0].get_array()).astype(int)
    ref = np.asarray(plot_decision_regions(default, X, y).images[0].get_array()).astype(int)
    # the regions' codes index each model's classes_: the same labels everywhere
    np.testing.assert_array_equal(m.classes_[codes], default.classes_[ref])
    assert len(np.unique(codes)) == 2
    assert "positive class no" in plot_roc(m, X, y).get_title()


def test_cross_validation_scores_as_the_sorted_model(adm):
    X, y = adm[FEATURES], adm["res"]
    options = {"cv": 3, "random_state": 0, "scoring": "roc_auc", "n_alphas": 5}
    a = sl.LogisticRegressionCV(**options).fit(X, y)
    b = sl.LogisticRegressionCV(positive_class="no", **options).fit(X, y)
    np.testing.assert_allclose(b.cv_scores_, a.cv_scores_, rtol=1e-10)
    assert b.cv_mean_.max() > 0.6  # the AUC, not 1 - AUC
    np.testing.assert_allclose(_params(b), -_params(a), rtol=1e-6)


def test_onnx_labels_follow_the_class_order(adm):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    m = sl.LogisticRegression(positive_class="no").fit(adm[FEATURES], adm["res"])
    proto = m.to_onnx()
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    X = adm[FEATURES].to_numpy(dtype=np.float32)
    label, proba = sess.run(["label", "probabilities"], {"X": X})
    np.testing.assert_allclose(proba, m.predict_proba(adm[FEATURES]), atol=1e-5)
    agree = np.asarray(label).astype(str) == m.predict(adm[FEATURES]).astype(str)
    assert agree.mean() > 0.99  # float32 rounding may flip rows at p = 0.5


def test_cli_positive_for_both_labels(adm, tmp_path):
    path = tmp_path / "adm.csv"
    adm[["res", *FEATURES]].to_csv(path, index=False)
    runner = CliRunner()
    common = ["fit", str(path), "--target", "res"]
    fits = {}
    for label in ("yes", "no"):
        out = tmp_path / f"{label}.json"
        result = runner.invoke(cli.main, [*common, "--positive", label, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert f"modelled: P(res = '{label}')" in result.stderr
        assert f"Modelled:             P(res = '{label}')" in result.stdout
        fits[label] = sl.load(out)
        assert type(fits[label]) is sl.LogisticRegression
        assert fits[label].classes_[1] == label
    np.testing.assert_allclose(_params(fits["no"]), -_params(fits["yes"]), rtol=1e-7)
    plain = runner.invoke(cli.main, common)
    assert plain.exit_code == 0, plain.output
    assert "--positive no models the other" in plain.stderr
    pred = runner.invoke(cli.main, ["predict", str(tmp_path / "no.json"), str(path), "--proba"])
    assert pred.exit_code == 0, pred.output
    frame = pd.read_csv(pd.io.common.StringIO(pred.stdout))
    assert frame.columns[-2:].tolist() == ["proba_yes", "proba_no"]
    np.testing.assert_allclose(
        frame["proba_no"], fits["no"].predict_proba(adm[FEATURES])[:, 1], rtol=1e-6
    )
