"""``softlogit demo``'s printout: the GLM view's summary, the two views, K = 2 softmax equal to
the logistic fit, the report's place and what to try next, and clean number formatting."""

from __future__ import annotations

import re

import numpy as np
import pytest
import statsmodels.api as sm
from click.testing import CliRunner

from softlogit.datasets import load_admissions, load_hsbdemo
from softlogit.product import cli, demo

ADM = ["gre", "gpa", "rank_2", "rank_3", "rank_4"]
HSB = ["write", "ses_middle", "ses_high"]


@pytest.fixture(scope="module")
def printout():
    text, diff = demo.run_demo(report_path="some/where/demo-report.html")
    return text, diff


def _block(text, title):
    """The lines of the ``== title ... ==`` section."""
    start = text.index(f"== {title}")
    end = text.find("\n== ", start + 1)
    return text[start : end if end > 0 else len(text)]


def _table_rows(block, header_word):
    """``{term: [numbers]}`` of the table whose header line starts with ``header_word``s."""
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [header_word])
    rows = {}
    for line in lines[start + 1 :]:
        parts = line.split()
        if not parts or not re.match(r"^-?[0-9.]", parts[-1]):
            break
        rows[parts[0]] = [float(v) for v in parts[1:]]
    return rows


def _statsmodels_logit():
    adm = load_admissions()
    return sm.Logit(adm["admit"], sm.add_constant(adm[ADM])).fit(disp=0)


def test_binary_summary_shows_standard_errors_and_p_values(printout):
    block = _block(printout[0], "Binary")
    assert "std_err" in block and "P>|z|" in block and "Log-likelihood:" in block
    rows = _table_rows(block, "term")  # the summary's coefficient table comes first
    ref = _statsmodels_logit()
    for name in ADM:
        _coef, se, z, p = rows[name][:4]
        np.testing.assert_allclose(se, ref.bse[name], rtol=5e-4)
        np.testing.assert_allclose(p, ref.pvalues[name], rtol=5e-3)
        np.testing.assert_allclose(z, ref.tvalues[name], rtol=5e-4)


def test_softmax_summary_shows_standard_errors(printout):
    block = _block(printout[0], "Softmax: prog")
    assert "std_err" in block and "P>|z|" in block
    hsb = load_hsbdemo()
    codes = hsb["prog"].map({"academic": 0, "general": 1, "vocation": 2})
    ref = sm.MNLogit(codes, sm.add_constant(hsb[HSB])).fit(disp=0)
    # the general-vs-academic write row: "general  write  coef  std_err ..."
    write = next(x for x in block.splitlines() if x.split()[:2] == ["general", "write"]).split()
    np.testing.assert_allclose(float(write[3]), ref.bse.loc["write", 0], rtol=5e-3)


def test_k2_softmax_equals_logistic_and_the_demo_says_so(printout):
    block = _block(printout[0], "Softmax with K = 2")
    rows = _table_rows(block, "term")
    assert list(rows) == ["Intercept", *ADM]
    ref = _statsmodels_logit().params.to_numpy()
    logistic = np.array([rows[t][0] for t in rows])
    softmax = np.array([rows[t][1] for t in rows])
    np.testing.assert_allclose(logistic, ref, atol=1e-6)  # 6 printed decimals
    np.testing.assert_allclose(softmax, logistic, atol=1e-12)
    largest = float(re.search(r"softmax - logistic\| coefficient: ([0-9.e+-]+)", block)[1])
    assert largest < 1e-8 and "(equal to rounding)" in block
    assert max(abs(v[2]) for v in rows.values()) < 1e-8  # the difference column


def test_two_views_agree_and_binary_tables_have_no_class_level(printout):
    text, diff = printout
    assert 0 <= diff < 1e-4
    binary = _block(text, "Binary")
    # the network comparison: rows are terms, no "class 1" index level
    rows = _table_rows(binary[binary.index("The network view") :], "term")
    assert list(rows) == ["Intercept", *ADM]
    assert not re.search(r"^class\s*$|^class\s+term|^1\s+Intercept", binary, flags=re.M)
    ref = _statsmodels_logit().params.to_numpy()
    np.testing.assert_allclose([rows[t][0] for t in rows], ref, atol=1e-6)  # newton column
    np.testing.assert_allclose([rows[t][1] for t in rows], ref, atol=1e-4)  # adam column


def test_no_negative_zero_anywhere(printout):
    assert "-0.000000" not in printout[0]
    assert not re.search(r"-0\.0+(?![0-9])(?!e)", printout[0])
    assert demo._fixed(-1e-9) == " 0.000000" and demo._fixed(-0.5) == "-0.500000"
    assert demo._small(-0.0) == " 0.0e+00" and demo._small(-1.5e-6) == "-1.5e-06"


def test_the_report_and_what_to_try_next(printout):
    text = printout[0]
    assert "HTML report of the admissions model: some/where/demo-report.html" in text
    assert "What to try next:" in text and "softlogit fit" in text and "--help" in text
    alone = demo._closing(None)  # run_demo() without a report path ends with this
    assert "none written" in alone and "--report PATH" in alone


def test_cli_demo_passes_where_it_writes_the_report(tmp_path, monkeypatch):
    seen = []

    def fake(report_path=None):
        seen.append(report_path)
        return f"demo text, report {report_path}", 0.0

    monkeypatch.setattr("softlogit.product.demo.run_demo", fake)
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(cli.main, ["demo", "--report", "mine.html"])
    assert out.exit_code == 0 and "report mine.html" in out.stdout
    assert (tmp_path / "mine.html").exists()
    out = CliRunner().invoke(cli.main, ["demo", "--no-report"])
    assert out.exit_code == 0 and seen == ["mine.html", None]
