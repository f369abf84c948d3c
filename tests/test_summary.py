"""The summary report, as text and HTML."""

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo


class Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text = []

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())


def test_binary_summary_text_and_html():
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(load_admissions())
    s = m.summary()
    text = str(s)
    for piece in (
        "LogisticRegression",
        "admit",
        "Observations:",
        "400",
        "reference: 0",
        "Log-likelihood:",
        f"{m.loglike_:.4f}",
        "LR chi2(5):",
        "Pseudo R2",
        f"{m.aic_:.4f}",
        f"{m.bic_:.4f}",
        "Converged:",
        "yes",
        "C(rank)[T.4]",
    ):
        assert piece in text, piece
    assert s.table.equals(m.coef_table())
    parser = Cells()
    parser.feed(s._repr_html_())
    assert "Log-likelihood" in parser.text and "C(rank)[T.2]" in parser.text
    assert f"{m.loglike_:.4f}" in parser.text


def test_softmax_summary_shows_classes_and_robust_note():
    m = sl.SoftmaxRegression(formula="prog ~ C(ses) + write").fit(load_hsbdemo())
    text = str(m.summary(cov_type="HC1"))
    assert "academic, general, vocation (reference: academic)" in text
    assert "vocation" in text and "Covariance:" in text and "HC1" in text
    se = m.coef_table(cov_type="HC1").loc[("vocation", "write"), "std_err"]
    assert f"{se:.4g}" in text


def test_summary_warns_about_separation_aliasing_and_penalty():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    df = pd.DataFrame({"x": x, "x2": 2 * x})
    y = (x > 0).astype(int)
    with pytest.warns(Warning):
        m = sl.LogisticRegression().fit(df, y)
    text = str(m.summary())
    assert "perfect separation (complete)" in text and "Converged:            NO" in text
    assert "aliased (collinear) columns fixed at 0" in text and "['x2']" in text
    p = sl.LogisticRegression(penalty="l2", alpha=0.1).fit(df[["x"]], y)
    assert "penalty='l2'" in str(p.summary())


def test_symmetric_summary_lists_all_classes_without_standard_errors():
    m = sl.SoftmaxRegression(formula="prog ~ write", reference=None).fit(load_hsbdemo())
    s = m.summary()
    assert list(s.table.columns) == ["coef"] and len(s.table) == 6
    assert "reference=None" in str(s)


def test_summary_names_the_response_column():
    frame = load_admissions()
    named = sl.LogisticRegression().fit(frame[["gre", "gpa"]], frame["admit"])
    assert named.response_name_ == "admit" and "Response" in str(named.summary())
    assert any("admit" in line for line in str(named.summary()).splitlines() if "Response" in line)
    unnamed = sl.LogisticRegression().fit(frame[["gre", "gpa"]], frame["admit"].to_numpy())
    assert unnamed.response_name_ is None
