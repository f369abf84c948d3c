"""``softlogit demo``: one model, two views, one answer, on bundled data.

Fits the UCLA admissions data (binary) and the hsbdemo program choice (3 classes) twice: by
Newton/IRLS (the GLM view) and by Adam on mini-batches (the one-neuron / one-layer network
view). It prints the GLM view's summary (standard errors, p-values), both coefficient sets,
the log-likelihoods and their largest difference; then shows that a softmax regression on
two classes is the logistic regression, and ends with where the report is and what to try
next.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets import load_admissions, load_hsbdemo
from ..estimators import LogisticRegression, SoftmaxRegression
from ..stats.summary import format_fixed

ADAM = {"solver": "adam", "tol": 1e-7, "max_iter": 20_000, "random_state": 0}
BINARY_FEATURES = ["gre", "gpa", "rank_2", "rank_3", "rank_4"]
SOFTMAX_FEATURES = ["write", "ses_middle", "ses_high"]

NEXT_STEPS = """\
What to try next:
  softlogit fit data.csv --formula "y ~ x1 + C(group)" --out model.json --report report.html
  softlogit summary model.json
  softlogit predict model.json new.csv --proba --out predictions.csv
  softlogit --help                     (every command and option; also docs/cli.md)
  In Python: m.coef_table(cov_type="HC1"), m.wald_test("gpa = 0, gre = 0"),
  m.marginal_effects(X), m.predict_proba(X, return_ci=True), m.conf_int(method="profile"),
  m.anova(type=2), m.goodness_of_fit(), m.residuals(), sl.LogisticRegressionCV()
  (docs/tutorial.md and the chapters it links to)."""


def _fixed(value):
    """``value`` with 6 decimals and a sign column, never ``-0.000000``."""
    return format_fixed(value, 6, sign=" ")


def _small(value):
    """A difference in scientific notation (``0.0e+00`` for zero of either sign)."""
    return f"{value + 0.0: .1e}"


def _loglike(model, X, y):
    return -model.objective(X, y) * len(y)


def _layer_table(models, X):
    """``[intercept, coef]`` of each model as columns, over the table's rows: ``term`` for one
    coefficient row, else ``(class, term)`` for the non-reference classes."""
    first = next(iter(models.values()))
    terms = ["Intercept", *X.columns]
    if first.coef_.shape[0] == 1:
        index = pd.Index(terms, name="term")
    else:
        rows = [str(c) for c in first.classes_[1:]]
        index = pd.MultiIndex.from_product([rows, terms], names=["class", "term"])
    columns = {name: np.column_stack([m.intercept_, m.coef_]).ravel() for name, m in models.items()}
    return pd.DataFrame(columns, index=index)


def _formatted(table):
    formatters = {c: (_small if c == "difference" else _fixed) for c in table.columns}
    return table.to_string(formatters=formatters)


def _compare(title, make, X, y):
    glm = make(solver="newton").fit(X, y)
    net = make(**ADAM).fit(X, y)
    table = _layer_table({"newton": glm, "adam": net}, X)
    table["difference"] = table["adam"] - table["newton"]
    largest = float(np.max(np.abs(table["difference"])))
    lines = [
        f"== {title} ==",
        "The GLM view (Newton/IRLS) with standard errors and p-values:",
        str(glm.summary()),
        "",
        "The network view (Adam on mini-batches) reaches the same coefficients:",
        _formatted(table),
        f"log-likelihood: newton {_loglike(glm, X, y):.6f} ({glm.n_iter_} iterations), "
        f"adam {_loglike(net, X, y):.6f} ({net.n_iter_} epochs)",
        f"largest |coefficient difference| between the two views: {largest:.2e}",
        "",
    ]
    return "\n".join(lines), largest, glm


def _two_class_softmax(X, y, logistic):
    """A SoftmaxRegression on the two admissions classes against the logistic fit."""
    two = SoftmaxRegression(solver="newton").fit(X, y)
    table = _layer_table({"logistic": logistic, "softmax K=2": two}, X)
    table["difference"] = table["softmax K=2"] - table["logistic"]
    largest = float(np.max(np.abs(table["difference"])))
    verdict = "equal" if largest < 1e-8 else "NOT equal"
    lines = [
        "== Softmax with K = 2 is logistic regression (admissions) ==",
        f"SoftmaxRegression on the two classes (reference {two.reference_}): one row of "
        "log-odds, as LogisticRegression",
        _formatted(table),
        f"largest |K=2 softmax - logistic| coefficient: {largest:.1e} ({verdict} to rounding)",
        "",
    ]
    return "\n".join(lines), largest


def _closing(report_path):
    if report_path is None:
        where = "HTML report: none written (softlogit demo --report PATH writes one)."
    else:
        where = f"HTML report of the admissions model: {report_path} (open it in a browser)."
    return f"{where}\n\n{NEXT_STEPS}\n"


def run_demo(report_path=None):
    """Run both comparisons and the K = 2 check.

    Parameters
    ----------
    report_path : str or path, optional
        Where the caller writes the admissions model's HTML report, for the closing lines
        (``softlogit demo`` passes its ``--report``); None says that no report is written.

    Returns
    -------
    text : str
        The demo's printout.
    difference : float
        The largest coefficient difference between the GLM and the network views.
    """
    adm = load_admissions()
    hsb = load_hsbdemo()
    X, y = adm[BINARY_FEATURES], adm["admit"]
    text_b, diff_b, logistic = _compare(
        "Binary: admit ~ gre + gpa + rank (UCLA admissions, LogisticRegression)",
        LogisticRegression,
        X,
        y,
    )
    text_s, diff_s, _ = _compare(
        "Softmax: prog ~ write + ses (hsbdemo, SoftmaxRegression, reference 'academic')",
        SoftmaxRegression,
        hsb[SOFTMAX_FEATURES],
        hsb["prog"],
    )
    text_2, _ = _two_class_softmax(X, y, logistic)
    text = "\n".join([text_b, text_s, text_2, _closing(report_path)])
    return text, max(diff_b, diff_s)
