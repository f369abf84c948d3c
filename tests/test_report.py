"""The HTML report: one self-contained file that carries the model's numbers, figures that
decode as PNG, held-out metrics equal to scikit-learn's, an atomic write, and a clean render
in a real headless Chromium."""

import base64
import html
import io
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

import softlogit as sl  # noqa: E402
from softlogit.datasets import load_admissions, load_hsbdemo  # noqa: E402
from softlogit.product import plotting, report  # noqa: E402
from softlogit.product.report import make_report, write_report  # noqa: E402
from softlogit.stats.summary import column_formatters as _formatters  # noqa: E402

from .conftest import make_data  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
BROWSER_TIMEOUT_S = 60


# --------------------------------------------------------------------------- helpers
def _pngs(doc):
    """The embedded images, decoded: each is a PNG that matplotlib can read."""
    images = []
    for payload in DATA_URI.findall(doc):
        raw = base64.b64decode(payload, validate=True)
        assert raw.startswith(PNG_SIGNATURE)
        image = mpimg.imread(io.BytesIO(raw), format="png")
        assert image.ndim == 3 and min(image.shape[:2]) > 50
        images.append(image)
    return images


def _assert_self_contained(doc):
    """A complete document that references nothing outside itself."""
    assert doc.startswith("<!DOCTYPE html>") and doc.rstrip().endswith("</html>")
    lowered = doc.lower()
    for forbidden in ("<link", "<script", 'src="http', "src='http", "@import", "url("):
        assert forbidden not in lowered, forbidden
    sources = re.findall(r"""\bsrc=['"]([^'"]*)""", doc)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    text = DATA_URI.sub("", doc)  # the PNG payloads aside, no URL at all
    assert "http:" not in text and "https:" not in text and "file:" not in text


def _cell(doc, key):
    return _value(doc, key)


def _value(doc, key):
    """The exact number kept in the ``data-value`` of table row ``key``."""
    match = re.search(rf"id='{key}'(?:><th[^>]*>[^<]*</th><td)? data-value='([^']+)'>", doc)
    assert match, f"no row {key!r} with a value"
    return float(match.group(1))


def _assert_coefficients_shown(doc, table):
    """Every formatted entry of the coefficient table is in the report."""
    formats = _formatters(table)
    for column in table.columns:
        for value in table[column]:
            assert html.escape(formats[column](value)) in doc, (column, value)
    for term in table.index.get_level_values(-1):
        assert html.escape(str(term)) in doc


def _assert_fit_statistics(doc, model):
    assert _value(doc, "stat-loglike") == model.loglike_
    assert _value(doc, "stat-null-loglike") == model.null_loglike_
    assert _value(doc, "stat-aic") == model.aic_
    assert _value(doc, "stat-bic") == model.bic_
    assert _value(doc, "stat-pseudo-r2") == model.pseudo_r2_
    assert _value(doc, "stat-nobs") == model.nobs_
    assert _value(doc, "stat-deviance") == model.deviance_


def _assert_metrics(doc, model, X, y, column="test"):
    """The metrics table's ``column`` ("train" or "test") equals scikit-learn on the same
    rows."""
    y = np.asarray(y)

    def _value(doc, key):
        return _cell(doc, f"{key}-{column}")

    proba = model.predict_proba(X)
    classes = model.classes_
    assert _value(doc, "metric-n") == y.size
    assert _value(doc, "metric-log-loss") == pytest.approx(
        log_loss(y, proba, labels=classes), rel=1e-12
    )
    assert _value(doc, "metric-accuracy") == accuracy_score(y, model.predict(X))
    if classes.size == 2:
        positive = (y == classes[1]).astype(int)
        assert _value(doc, "metric-auc") == pytest.approx(roc_auc_score(positive, proba[:, 1]))
        assert _value(doc, "metric-brier") == pytest.approx(
            brier_score_loss(positive, proba[:, 1]), rel=1e-12
        )
    else:
        expected = roc_auc_score(y, proba, multi_class="ovr", labels=classes)
        assert _value(doc, "metric-auc-ovr") == pytest.approx(expected)
        assert f"metric-brier-{column}" not in doc


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch):
    """Reproducible documents: the report's date comes from SOURCE_DATE_EPOCH."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


@pytest.fixture(autouse=True)
def _no_pyplot_figures():
    """The report draws off-screen: no pyplot figure may be left open."""
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


@pytest.fixture(scope="module")
def binary_split():
    X, y = make_data(n=600, p=4, n_classes=2, seed=1)
    labels = np.array(["no", "yes"])[y]
    model = sl.LogisticRegression().fit(X[:400], labels[:400])
    return model, X[:400], labels[:400], X[400:], labels[400:]


@pytest.fixture(scope="module")
def softmax2():
    X, y = make_data(n=500, p=2, n_classes=3, seed=2)
    return sl.SoftmaxRegression().fit(X, y), X, y


@pytest.fixture(scope="module")
def binary_doc(binary_split):
    model, X, y, X_test, y_test = binary_split
    return make_report(model, X, y, X_test=X_test, y_test=y_test)


# --------------------------------------------------------------------------- content
def test_binary_report_with_held_out_data(binary_split, binary_doc):
    model, _, _, X_test, y_test = binary_split
    doc = binary_doc
    _assert_self_contained(doc)
    # forest plots (ratios, standardised), ROC, calibration, history (4 features: no regions)
    assert len(_pngs(doc)) == 5
    _assert_coefficients_shown(doc, model.coef_table())
    _assert_fit_statistics(doc, model)
    _assert_metrics(doc, model, X_test, y_test)
    assert "Evaluation: held-out" in doc and "Evaluation: in-sample" not in doc
    assert "held-out test data (n = 200)" in doc
    assert "odds_ratio" in doc and "Optimisation history" in doc
    for text in ("LogisticRegression", "no, yes", "positive class: yes", "newton"):
        assert text in doc


def test_confusion_matrix_table_counts(binary_split, binary_doc):
    model, _, _, X_test, y_test = binary_split
    predicted = model.predict(X_test)
    for true in model.classes_:
        counts = [int(np.sum((y_test == true) & (predicted == p))) for p in model.classes_]
        row = f"<tr><th>{true}</th>" + "".join(f"<td>{c}</td>" for c in counts) + "</tr>"
        assert row in binary_doc


def test_softmax_two_features_in_sample(softmax2):
    model, X, y = softmax2
    doc = make_report(model, X, y)
    _assert_self_contained(doc)
    # forest plots (2), ROC, calibration, decision regions, optimisation history
    assert len(_pngs(doc)) == 6
    assert "Decision regions" in doc
    assert "Evaluation: in-sample" in doc and "in-sample, so optimistic" in doc
    assert "Evaluation: held-out" not in doc
    _assert_coefficients_shown(doc, model.coef_table())
    _assert_fit_statistics(doc, model)
    _assert_metrics(doc, model, X, y, "train")
    assert "rrr" in doc and "multinomial logit (softmax)" in doc


def test_formula_binary_admissions():
    data = load_admissions()
    formula = "admit ~ gre + gpa + C(rank)"
    model = sl.LogisticRegression(formula=formula).fit(data.iloc[:300])
    doc = make_report(model, data.iloc[:300], X_test=data.iloc[300:])
    _assert_self_contained(doc)
    assert len(_pngs(doc)) == 5  # five design columns: no decision regions
    assert html.escape(formula) in doc and "C(rank)[T.4]" in doc
    _assert_coefficients_shown(doc, model.coef_table())
    _assert_fit_statistics(doc, model)
    _assert_metrics(doc, model, data.iloc[300:], data["admit"].iloc[300:])


def test_formula_softmax_hsbdemo():
    data = load_hsbdemo()
    model = sl.SoftmaxRegression(formula="prog ~ C(ses) + write").fit(data)
    doc = make_report(model, data)
    _assert_self_contained(doc)
    assert len(_pngs(doc)) == 5
    for text in ("vocation", "C(ses)[T.middle]", "Reference class</th><td>academic</td>"):
        assert text in doc
    _assert_coefficients_shown(doc, model.coef_table())
    _assert_metrics(doc, model, data, data["prog"], "train")


def test_formula_with_two_numeric_columns_draws_decision_regions():
    data = load_admissions()
    model = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(data)
    doc = make_report(model, data)
    assert len(_pngs(doc)) == 6 and "Decision regions" in doc


def test_lasso_report_has_no_standard_errors_or_p_values(binary_split):
    model, X, y, _, _ = binary_split
    lasso = sl.LogisticRegression(penalty="l1", alpha=0.02).fit(X, y)
    doc = make_report(lasso, X, y)
    _assert_self_contained(doc)
    for absent in ("p_value", "std_err", "ci_low", "stat-lr-pvalue", "P&gt;|z|"):
        assert absent not in doc
    assert "No standard errors" in doc
    assert "Optimisation history" in doc and "cd, " in doc  # the fit's own history
    assert len(_pngs(doc)) == 5
    for value in np.r_[lasso.intercept_, lasso.coef_.ravel()]:
        assert _formatters(lasso.summary().table)["coef"](value) in doc


@pytest.mark.parametrize(
    "params, described",
    [
        ({"penalty": "l2", "alpha": 0.1}, "L2 (ridge), alpha=0.1"),
        ({"penalty": "firth"}, "Firth"),
    ],
)
def test_penalty_is_described(binary_split, params, described):
    _, X, y, _, _ = binary_split
    model = sl.LogisticRegression(**params).fit(X, y)
    doc = make_report(model, X, y)
    assert html.escape(described) in doc and "Optimisation history" in doc
    _assert_coefficients_shown(doc, model.coef_table())


def test_model_only_report(softmax2):
    model = softmax2[0]
    doc = make_report(model, title="Only the <model> & no data")
    _assert_self_contained(doc)
    assert len(_pngs(doc)) == 2  # the forest plot and the optimisation history
    assert "<title>Only the &lt;model&gt; &amp; no data</title>" in doc
    for absent in ("Evaluation", "Training curve", "Decision regions", "metric-", "Data</h2>"):
        assert absent not in doc
    _assert_fit_statistics(doc, model)


def test_text_is_escaped():
    X, y = make_data(n=300, p=3, n_classes=2, seed=4)
    labels = np.array(["<b>lo</b>", "hi & 'x'"])[y]
    model = sl.LogisticRegression().fit(X, labels)
    doc = make_report(model, X, labels, title="<script>alert(1)</script>")
    _assert_self_contained(doc)
    assert "<b>" not in doc and "<script" not in doc
    assert "&lt;b&gt;lo&lt;/b&gt;" in doc and "&lt;script&gt;alert(1)" in doc


def test_cross_validated_model_gets_its_curve():
    X, y = make_data(n=300, p=3, n_classes=2, seed=5)
    model = sl.LogisticRegressionCV(penalty="l2", n_alphas=8, cv=3, random_state=0).fit(X, y)
    doc = make_report(model, X, y)
    _assert_self_contained(doc)
    assert "Cross-validation" in doc and "chosen by cross-validation" in doc
    # forest plots (2), ROC, calibration, optimisation history, CV curve
    assert len(_pngs(doc)) == 6


def test_sparse_and_list_inputs(softmax2):
    sparse = pytest.importorskip("scipy.sparse")
    model, X, y = softmax2
    for rows in (sparse.csr_matrix(X), X.tolist()):
        doc = make_report(model, rows, y)
        assert len(_pngs(doc)) == 6 and "Decision regions" in doc
        _assert_metrics(doc, model, X, y, "train")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"y": [0, 1]}, "y was given without X"),
        ({"y_test": [0, 1]}, "y_test was given without X_test"),
    ],
)
def test_labels_without_rows_are_rejected(softmax2, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_report(softmax2[0], **kwargs)


def test_rows_need_labels_unless_formula(softmax2):
    model, X, _ = softmax2
    with pytest.raises(ValueError, match="y is required"):
        make_report(model, X)
    data = load_admissions()
    formula_model = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(data)
    with pytest.raises(ValueError, match="the response comes from X"):
        make_report(formula_model, data, data["admit"])


# --------------------------------------------------------------------------- atomic write
def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_report_writes_the_document(softmax2, tmp_path):
    model = softmax2[0]
    path = write_report(model, tmp_path / "report.html", title="T")
    assert path == tmp_path / "report.html"
    assert path.read_text(encoding="utf-8") == make_report(model, title="T")
    assert os.listdir(tmp_path) == ["report.html"]
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # not mkstemp's 0o600


def test_write_report_keeps_the_mode_of_an_existing_file(softmax2, tmp_path):
    path = tmp_path / "report.html"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    write_report(softmax2[0], path)
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_failed_rendering_leaves_the_old_file(binary_split, tmp_path, monkeypatch):
    model, X, y, _, _ = binary_split
    path = tmp_path / "report.html"
    path.write_text("previous report", encoding="utf-8")

    def broken(*args, **kwargs):
        raise RuntimeError("ROC failed")

    monkeypatch.setattr(plotting, "plot_roc", broken)
    with pytest.raises(RuntimeError, match="ROC failed"):
        write_report(model, path, X, y)
    assert path.read_text(encoding="utf-8") == "previous report"
    assert os.listdir(tmp_path) == ["report.html"]


def test_failed_write_leaves_the_old_file_and_no_temporary(softmax2, tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    path.write_text("previous report", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_report(softmax2[0], path)
    assert path.read_text(encoding="utf-8") == "previous report"
    assert os.listdir(tmp_path) == ["report.html"]


# --------------------------------------------------------------------------- browser
def _chromium():
    """The Chromium binary; skip without one, unless SOFTLOGIT_REQUIRE_BROWSER=1 (CI)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("SOFTLOGIT_REQUIRE_BROWSER") == "1":
        pytest.fail(
            "SOFTLOGIT_REQUIRE_BROWSER=1 but no 'chromium' or 'chromium-browser' on PATH; "
            "install it (Debian: apt-get install -y --no-install-recommends chromium)"
        )
    pytest.skip("no chromium binary (set SOFTLOGIT_REQUIRE_BROWSER=1 to make this a failure)")


@pytest.fixture
def chromium():
    return _chromium()


def _render(browser, page, workdir):
    """Screenshot ``page`` in headless Chromium; returns (screenshot path, stderr, the page
    URL, the URLs the page requested from the network)."""
    shot = workdir / "screenshot.png"
    netlog = workdir / "netlog.json"
    url = page.resolve().as_uri()
    command = [
        browser,
        "--headless",
        "--no-sandbox",  # root in a container: the setuid sandbox is unavailable
        "--disable-gpu",
        "--disable-dev-shm-usage",  # small /dev/shm in containers
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        f"--user-data-dir={workdir / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--vmodule=file_url_loader_factory=1",  # log every file:// load
        f"--log-net-log={netlog}",  # and every network request
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        url,
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"chromium did not finish within {BROWSER_TIMEOUT_S} s: {err}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert shot.exists(), done.stderr[-3000:]
    return shot, done.stderr, url, _page_requests(netlog)


def _page_requests(netlog):
    """URLs of network requests made by a file:// page (not Chromium's own services):
    their network isolation key is the file:// site."""
    if not netlog.exists():
        return []
    text = netlog.read_text(encoding="utf-8", errors="replace").rstrip().rstrip(",")
    if not text.endswith("}"):  # the log may end without closing its event list
        text += "]}"
    events = json.loads(text).get("events", [])
    return sorted(
        {
            e["params"]["url"]
            for e in events
            if "url" in e.get("params", {})
            and str(e["params"].get("network_isolation_key", "")).startswith("file://")
        }
    )


def _problems(stderr, url, requests):
    """Console messages, uncaught errors and loads of anything besides the page itself."""
    problems = [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line or "Uncaught" in line or "net::ERR_" in line
    ]
    for loaded in re.findall(r"FileURLLoader::Start: (\S+)", stderr):
        if loaded != url:
            problems.append(f"loaded {loaded}")
    problems += [f"requested {r}" for r in requests]
    return problems


def _assert_not_blank(shot):
    image = mpimg.imread(shot)[:, :, :3]
    assert image.shape[:2] == (2000, 1200)
    non_white = np.any(image < 0.98, axis=2).mean()
    colours = np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0).shape[0]
    assert non_white > 0.01, f"screenshot is blank: {non_white:.2%} non-white pixels"
    assert colours > 16, f"screenshot has only {colours} colours"


def test_report_renders_in_chromium(chromium, binary_split, tmp_path):
    model, X, y, X_test, y_test = binary_split
    page = write_report(model, tmp_path / "report.html", X, y, X_test=X_test, y_test=y_test)
    shot, stderr, url, requests = _render(chromium, page, tmp_path)
    assert _problems(stderr, url, requests) == []
    assert f"FileURLLoader::Start: {url}" in stderr  # the load log works: the page was seen
    _assert_not_blank(shot)


def test_browser_check_catches_broken_pages(chromium, tmp_path):
    """The checks above are not vacuous with this Chromium: a page with a missing file, a
    remote image and script errors is caught on every count."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><h1>broken</h1><img src='missing.png'>"
        "<img src='http://example.invalid/x.png'>"
        "<script>console.error('bad'); undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    _, stderr, url, requests = _render(chromium, page, tmp_path)
    problems = "\n".join(_problems(stderr, url, requests))
    assert "missing.png" in problems
    assert "http://example.invalid/x.png" in problems
    assert "bad" in problems and "Uncaught" in problems


# --------------------------------------------------------------------------- issue 12 item 2
def _section_html(doc, anchor):
    start = doc.index(f"<section id='{anchor}'>")
    return doc[start : doc.index("</section>", start)]


def test_overflowing_odds_ratios_still_render(tmp_path):
    """gre / 2.5e5 has a coefficient of ~670: exp overflows at the interval's upper end."""
    df = load_admissions().assign(gre=lambda d: d.gre / 2.5e5)
    model = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(df)
    assert model.coef_table().loc["gre", "ci_high"] > np.log(np.finfo(float).max)
    path = sl.write_report(model, tmp_path / "r.html", X=df)
    doc = path.read_text(encoding="utf-8")
    _assert_self_contained(doc)
    assert len(_pngs(doc)) == 6  # forest (2), ROC, calibration, decision regions, history
    assert ">inf<" in _section_html(doc, "coefficients")  # the overflowing ratio, said so


def test_write_report_refuses_other_formats(softmax2, tmp_path):
    for name in ("r.pdf", "r.png", "report", "r.html.txt"):
        with pytest.raises(ValueError, match=re.escape(repr(str(tmp_path / name)))):
            write_report(softmax2[0], tmp_path / name)
    assert os.listdir(tmp_path) == []
    for name in ("a.html", "b.HTM"):
        assert write_report(softmax2[0], tmp_path / name).exists()


def test_parameters_row_is_not_a_wrapped_repr():
    data = load_admissions().rename(columns={"gre": "graduate_record_examination_score"})
    formula = "admit ~ graduate_record_examination_score + gpa + C(rank)"
    model = sl.LogisticRegression(formula=formula, penalty="l2", alpha=0.01).fit(data)
    doc = make_report(model)
    row = re.search(r"<tr id='model-parameters'>.*?</tr>", doc).group(0)
    assert "&#x27; &#x27;" not in row and "' '" not in row  # sklearn's wrapped repr
    assert "penalty=&#x27;l2&#x27;" in row and "alpha=0.01" in row
    assert "formula=" not in row  # shown whole in its own row
    assert (
        f"<tr id='model-formula'><th scope='row'>Formula</th><td>{html.escape(formula)}</td>" in doc
    )


def test_nothing_is_shown_twice(binary_split, binary_doc):
    doc = binary_doc
    assert doc.count(">Log-likelihood<") == 1 and doc.count(">AIC<") == 1
    assert doc.count("class='confusion'") == 1 and "Confusion matrix:" not in doc  # no figure
    assert doc.count("class='coef-table'") == 1
    coefficients = _section_html(doc, "coefficients")
    assert coefficients.count("<thead><tr>") == 1 and coefficients.count("</tr></thead>") == 1
    assert "<th scope='col'>term</th><th scope='col'>coef</th>" in coefficients
    model_table = _section_html(doc, "model")
    assert "data-value" not in model_table  # no number set apart (right-aligned) from the text
    assert "<tr id='model-n-iter'><th scope='row'>Iterations</th><td>" in model_table


def test_history_is_the_fits_own_and_nothing_is_refitted(monkeypatch):
    from softlogit.exceptions import ConvergenceWarning

    X, y = make_data(n=300, p=3, n_classes=2, seed=7)
    with pytest.warns(ConvergenceWarning):
        model = sl.LogisticRegression(solver="adam", max_iter=5, random_state=0).fit(X, y)

    def refuse(*args, **kwargs):
        raise AssertionError("the report refitted the model")

    monkeypatch.setattr(sl.LogisticRegression, "fit", refuse)
    doc = make_report(model, X, y)
    history = _section_html(doc, "optimisation-history")
    assert "adam, 5 steps, NOT converged" in history and len(_pngs(history)) == 1
    assert "Warning" not in doc


def test_data_section(binary_split):
    model, X, y, X_test, y_test = binary_split
    doc = make_report(model, X, y, X_test=X_test, y_test=y_test)
    data = _section_html(doc, "data")
    assert _value(data, "data-rows-train") == 400 and _value(data, "data-rows-test") == 200
    assert _value(data, "data-missing-train") == 0
    for k, c in enumerate(model.classes_):
        for cid, labels in (("train", y), ("test", y_test)):
            assert _value(data, f"class-{k}-{cid}-count") == np.sum(labels == c)
            assert _value(data, f"class-{k}-{cid}-share") == pytest.approx(np.mean(labels == c))
    for j in range(X.shape[1]):  # mean, sd, min, max of every feature
        row = re.search(rf"<tr id='feature-{j}'>.*?</tr>", data).group(0)
        shown = [float(v) for v in re.findall(r"data-value='([^']+)'", row)]
        col = X[:, j]
        expected = [0, col.mean(), col.std(ddof=1), col.min(), col.max()]
        np.testing.assert_allclose(shown, expected, rtol=1e-12)


def test_missing_values_are_counted():
    data = load_admissions()
    data["note"] = np.where(np.arange(len(data)) % 10 == 0, np.nan, 1.0)  # not in the model
    model = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(data)
    doc = make_report(model, data.iloc[:300], X_test=data.iloc[300:])
    assert _value(doc, "data-missing-train") == 30 and _value(doc, "data-missing-test") == 10
    names = list(data.columns)
    j = names.index("note")
    assert _value(doc, f"feature-{j}-missing") == 30


def test_training_and_test_metrics_side_by_side(binary_split, binary_doc):
    model, X, y, X_test, y_test = binary_split
    _assert_metrics(binary_doc, model, X, y, "train")
    _assert_metrics(binary_doc, model, X_test, y_test, "test")
    assert "<th scope='col'>training</th><th scope='col'>test (held-out)</th>" in binary_doc


def test_threshold_table_matches_sklearn(binary_split, binary_doc):
    from sklearn.metrics import f1_score, precision_score, recall_score

    model, _, _, X_test, y_test = binary_split
    truth = (y_test == "yes").astype(int)
    score = model.predict_proba(X_test)[:, 1]
    for t in report.report_data.THRESHOLDS:
        pred = (score > t).astype(int)
        key = f"threshold-{round(100 * t)}"
        assert _value(binary_doc, f"{key}-predicted") == pred.sum()
        assert _value(binary_doc, f"{key}-precision") == pytest.approx(
            precision_score(truth, pred, zero_division=0)
        )
        assert _value(binary_doc, f"{key}-recall") == pytest.approx(recall_score(truth, pred))
        assert _value(binary_doc, f"{key}-f1") == pytest.approx(f1_score(truth, pred))
    predicted = model.predict(X_test)  # the 0.5 row is what predict() does
    assert _value(binary_doc, "metric-precision-test") == pytest.approx(
        precision_score(y_test, predicted, pos_label="yes")
    )
    assert _value(binary_doc, "metric-f1-test") == pytest.approx(
        f1_score(y_test, predicted, pos_label="yes")
    )


def test_softmax_per_class_table_matches_sklearn(softmax2):
    from sklearn.metrics import precision_recall_fscore_support

    model, X, y = softmax2
    doc = make_report(model, X, y)
    p, r, f, s = precision_recall_fscore_support(y, model.predict(X), labels=model.classes_)
    for k in range(model.classes_.size):
        assert _value(doc, f"class-metric-{k}-precision") == pytest.approx(p[k])
        assert _value(doc, f"class-metric-{k}-recall") == pytest.approx(r[k])
        assert _value(doc, f"class-metric-{k}-f1") == pytest.approx(f[k])
        assert _value(doc, f"class-metric-{k}-support") == s[k]


def test_about_section_names_date_version_and_data(binary_split):
    model, X, y, X_test, y_test = binary_split
    doc = make_report(
        model,
        X,
        y,
        X_test=X_test,
        y_test=y_test,
        data_name="bc <train>.csv",
        test_data_name="bc_test.csv",
    )
    about = _section_html(doc, "about")
    assert "<td>2023-11-14T22:13:20+00:00</td>" in about  # SOURCE_DATE_EPOCH=1700000000
    assert f"<td>{sl.__version__}</td>" in about
    assert "<td>bc &lt;train&gt;.csv</td>" in about and "<td>bc_test.csv</td>" in about
    assert "in-memory data (no name given)" in make_report(model, X, y)


def test_offset_model_report_predicts_with_the_offsets():
    """A model fitted with an offset needs the report's offsets (a clear error without), and
    the metrics are those of predictions with them."""
    adm = load_admissions()
    X, y = adm[["gre", "gpa"]], adm["admit"]
    offset = np.linspace(-1.0, 1.0, len(y))
    m = sl.LogisticRegression().fit(X, y, offset=offset)
    with pytest.raises(ValueError, match="offset="):
        sl.make_report(m, X, y)
    doc = sl.make_report(m, X, y, offset=offset)
    proba = m.predict_proba(X, offset=offset)
    assert _cell(doc, "metric-log-loss-train") == pytest.approx(log_loss(y, proba), rel=1e-12)
    assert _cell(doc, "metric-accuracy-train") == accuracy_score(y, m.predict(X, offset=offset))
