"""The summary report, as text and HTML."""

import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo
from softlogit.stats import summary as summary_module
from softlogit.stats.summary import (
    Summary,
    column_formatters,
    format_column,
    format_number,
    format_pvalues,
    signif_stars,
)


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


# --------------------------------------------------------------------------- number formats
def _rscript():
    found = shutil.which("Rscript")
    if found is None:
        pytest.skip("R is not installed")
    return found


def _r_strings(expression):
    """The character vector an R expression returns, one element a line."""
    done = subprocess.run(
        [_rscript(), "-e", f"writeLines({expression})"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.splitlines()


P_VALUE_CASES = [
    [0.000465, 0.038465, 0.015388, 0.032829, 0.000104, 0.000205],
    [1e-20, 0.5, 0.0012],
    [1e-20, 3e-7, 0.2],
    [0.2, 0.91, 1.0],
    [1e-20, 1e-30],
    [0.0, 0.04, 0.7],
    [0.123456, 0.0000123, 0.05, 1e-300],
    [0.99999, 0.00099, 2.5e-12],
]


@pytest.mark.parametrize("values", P_VALUE_CASES)
def test_pvalues_print_as_r_format_pval(values):
    vector = "c(" + ", ".join(repr(v) for v in values) + ")"
    expected = _r_strings(f"format.pval({vector}, digits = 3)")
    assert format_pvalues(values) == [e.strip() for e in expected]


@pytest.mark.parametrize(
    "values",
    [[-3.9899791, 0.0022644, 0.8040375], [1.1399509, 0.001094, 0.3318193], [1e-9, 2.5, -3e5]],
)
def test_columns_format_as_r_format(values):
    vector = "c(" + ", ".join(repr(v) for v in values) + ")"
    expected = _r_strings(f"format({vector}, digits = 4)")
    assert format_column(values, 4) == [e.strip() for e in expected]


def test_large_statistics_keep_their_digits():
    """A fit with total weight 2M: AIC, BIC and the log-likelihood keep every digit of their
    integer part and 4 decimals (not 1.908e+06), so two models can be compared."""
    data = load_admissions()
    weights = np.full(len(data), 5000.0)
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(
        data, sample_weight=weights
    )
    assert m.aic_ > 1e6
    text = str(m.summary())
    for value in (m.aic_, m.bic_, m.loglike_, m.null_loglike_):
        assert f"{value:.4f}" in text
    assert "e+06" not in text
    assert format_number(1908123.45678) == "1908123.4568"
    assert format_number(float("inf")) == "inf" and format_number(float("nan")) == "NA"


def _table_lines(text):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("term"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("="))
    return lines[start:end]


def test_coefficient_columns_line_up_on_the_decimal_point():
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(load_admissions())
    lines = _table_lines(str(m.summary()))
    header, rows = lines[0], lines[1:]
    assert len(rows) == 6
    titles = ["coef", "std_err", "z", "P>|z|", "ci_low", "ci_high"]
    ends = [header.index(t) + len(t) for t in titles]  # right-aligned under their titles
    for row in rows:
        for end in ends:
            assert row[end - 1] != " " and (end == len(row) or row[end] == " "), row
    for end in ends:  # the decimal points of a column share one position
        points = {row.rfind(".", 0, end) for row in rows}
        assert len(points) == 1, (end, rows)


def test_tiny_p_values_print_below_machine_epsilon():
    rng = np.random.default_rng(0)
    x = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-3 * x))).astype(int)
    m = sl.LogisticRegression().fit(pd.DataFrame({"x": x}), y)
    assert m.coef_table().loc["x", "p_value"] < 2.2e-16
    text = str(m.summary())
    [row] = [line for line in _table_lines(text) if line.startswith("x ")]
    assert "<2e-16" in row
    assert "&lt;2e-16" in m.summary()._repr_html_()


def test_significance_stars_are_optional(monkeypatch):
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(load_admissions())
    s = m.summary()
    assert "***" not in str(s) and "Signif. codes" not in str(s)
    starred = Summary(s.title, s.header, s.table, s.notes, signif_stars=True)
    text = str(starred)
    assert "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1" in text
    table = m.coef_table()
    for term, p in table["p_value"].items():
        [row] = [line for line in _table_lines(text) if line.startswith(f"{term} ")]
        # R's symnum cut points: (0, 0.001, 0.01, 0.05, 0.1, 1]
        code = "***" if p <= 0.001 else "**" if p <= 0.01 else "*" if p <= 0.05 else ""
        assert row.rstrip().endswith(code) if code else not row.rstrip().endswith("*")
    assert "***" in starred._repr_html_() and "Signif. codes" in starred._repr_html_()
    assert signif_stars([0.0005, 0.005, 0.03, 0.07, 0.5, np.nan]) == [
        "***",
        "**",
        "*",
        ".",
        " ",
        "",
    ]
    monkeypatch.setattr(summary_module, "SIGNIF_STARS", True)
    assert "Signif. codes" in str(m.summary())


class Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.header_rows = 0
        self.in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "thead":
            self.in_head = True
        if tag == "tr" and self.in_head:
            self.header_rows += 1

    def handle_endtag(self, tag):
        if tag == "thead":
            self.in_head = False


@pytest.mark.parametrize("multi", [False, True])
def test_html_table_has_one_header_row(multi):
    if multi:
        m = sl.SoftmaxRegression(formula="prog ~ C(ses) + write").fit(load_hsbdemo())
        first = ["class", "term"]
    else:
        m = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(load_admissions())
        first = ["term"]
    html = m.summary()._repr_html_()
    parser = Rows()
    parser.feed(html)
    assert parser.header_rows == 1
    cells = Cells()
    cells.feed(html[html.index("<thead>") :])
    assert cells.text[: len(first) + 1] == [*first, "coef"]


def test_column_formatters_share_a_layout():
    table = pd.DataFrame({"coef": [1.5, -0.0012346, 250.0], "p_value": [0.5, 1e-20, 0.0012]})
    formats = column_formatters(table)
    assert [formats["coef"](v) for v in table["coef"]] == ["1.500000", "-0.001235", "250.000000"]
    assert [formats["p_value"](v) for v in table["p_value"]] == ["0.5000", "<2e-16", "0.0012"]


def test_estimator_summary_passes_significance_stars_through():
    from softlogit.datasets import load_admissions

    m = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(load_admissions())
    assert "Signif. codes" in str(m.summary(signif_stars=True))
    assert "Signif. codes" not in str(m.summary())
