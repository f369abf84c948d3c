"""``softlogit demo``: one model, two views, one answer, on bundled data.

Fits the UCLA admissions data (binary) and the hsbdemo program choice (3 classes) twice: by
Newton/IRLS (the GLM view) and by Adam on mini-batches (the one-neuron / one-layer network
view), and prints both coefficient sets, the log-likelihood and their largest difference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets import load_admissions, load_hsbdemo
from ..estimators import LogisticRegression, SoftmaxRegression

ADAM = {"solver": "adam", "tol": 1e-7, "max_iter": 20_000, "random_state": 0}


def _loglike(model, X, y):
    return -model.objective(X, y) * len(y)


def _compare(title, make, X, y):
    glm = make(solver="newton").fit(X, y)
    net = make(**ADAM).fit(X, y)
    rows = [f"{c}" for c in (glm.classes_[1:] if glm.coef_.shape[0] > 1 else [glm.classes_[1]])]
    index = pd.MultiIndex.from_product([rows, ["Intercept", *X.columns]], names=["class", "term"])
    table = pd.DataFrame(
        {
            "newton": np.column_stack([glm.intercept_, glm.coef_]).ravel(),
            "adam": np.column_stack([net.intercept_, net.coef_]).ravel(),
        },
        index=index,
    )
    table["difference"] = table["adam"] - table["newton"]
    lines = [
        f"== {title} ==",
        table.to_string(float_format=lambda v: f"{v: .6f}"),
        f"log-likelihood: newton {_loglike(glm, X, y):.6f} ({glm.n_iter_} iterations), "
        f"adam {_loglike(net, X, y):.6f} ({net.n_iter_} epochs)",
        f"largest |coefficient difference| between the two views: "
        f"{np.max(np.abs(table['difference'])):.2e}",
        "",
    ]
    return "\n".join(lines), float(np.max(np.abs(table["difference"])))


def run_demo():
    """Run both comparisons; returns the report text and the largest difference seen."""
    adm = load_admissions()
    hsb = load_hsbdemo()
    text_b, diff_b = _compare(
        "Binary: admit ~ gre + gpa + rank (UCLA admissions, LogisticRegression)",
        LogisticRegression,
        adm[["gre", "gpa", "rank_2", "rank_3", "rank_4"]],
        adm["admit"],
    )
    text_s, diff_s = _compare(
        "Softmax: prog ~ write + ses (hsbdemo, SoftmaxRegression, reference 'academic')",
        SoftmaxRegression,
        hsb[["write", "ses_middle", "ses_high"]],
        hsb["prog"],
    )
    return text_b + "\n" + text_s, max(diff_b, diff_s)
