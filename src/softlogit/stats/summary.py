"""The model summary: one report, rendered as text (``str``) and HTML (``_repr_html_``)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

__all__ = ["Summary"]

WIDTH = 78


def _fmt(value, digits=4):
    """Fixed-point with ``digits`` decimals (``digits`` significant ones below 0.1);
    scientific for tiny or huge magnitudes."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if value != value:  # NaN: not estimated
        return "NA"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if value != 0 and (abs(value) < 1e-6 or abs(value) >= 1e6):
        return f"{value:.{digits - 1}e}"
    if value != 0 and abs(value) < 0.1:  # keep `digits` significant digits
        decimals = digits - 1 - int(np.floor(np.log10(abs(value))))
        return f"{value:.{decimals}f}"
    return f"{value:.{digits}f}"


def _formatters(table):
    """Per-column formats: p-values to 3 significant digits, the rest fixed-point."""
    return {
        col: (lambda v: "NA" if v != v else f"{v:.3g}") if col == "p_value" else _fmt
        for col in table.columns
    }


class Summary:
    """What a fitted model says about itself: header statistics, coefficient table, notes.

    Attributes
    ----------
    title : str
    header : list of (label, value) pairs
    table : pandas.DataFrame
        The coefficient table (``coef`` only when standard errors are not available).
    notes : list of str
        Warnings and conventions (separation, aliased columns, penalties, covariance type).
    """

    def __init__(self, title, header, table, notes):
        self.title = title
        self.header = header
        self.table = table
        self.notes = notes

    @classmethod
    def from_model(cls, model, alpha=0.05, cov_type="nonrobust", groups=None):
        """Collect the summary of a fitted LogisticRegression or SoftmaxRegression."""
        kind = "binary logit" if model._binary_only else "multinomial logit (softmax)"
        title = f"softlogit {type(model).__name__}: {kind}"
        notes = _notes(model, cov_type)
        if model._reference is None:
            table = _coef_only(model)
            notes.append("reference=None: standard errors need a reference class")
        elif model.has_lasso_penalty:
            table = _coef_only(model)
            notes.append("lasso/elastic net: no standard errors after selection")
        else:
            table = model.coef_table(alpha, cov_type, groups)
        return cls(title, _header(model, cov_type), table, notes)

    def __str__(self):
        rule = "=" * WIDTH
        lines = [self.title, rule]
        half = WIDTH // 2
        cells = [f"{label + ':':<22}{value}" for label, value in self.header]
        row = []
        for cell in cells:  # two cells a line; a long one gets a line of its own
            if len(cell) >= half - 2:
                lines += ["".join(row).rstrip(), cell] if row else [cell]
                row = []
                continue
            row.append(f"{cell:<{half}}")
            if len(row) == 2:
                lines.append("".join(row).rstrip())
                row = []
        if row:
            lines.append("".join(row).rstrip())
        table = self.table.to_string(formatters=_formatters(self.table))
        lines += ["-" * WIDTH, table, "=" * WIDTH]
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            f"<td>{html.escape(str(value))}</td></tr>"
            for label, value in self.header
        )
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
        return (
            f"<div class='softlogit-summary'><h4>{html.escape(self.title)}</h4>"
            f"<table>{rows}</table>{self.table.to_html(formatters=_formatters(self.table))}"
            f"{f'<ul>{notes}</ul>' if notes else ''}</div>"
        )


def _header(model, cov_type):
    classes = ", ".join(str(c) for c in model.classes_)
    ref = model.classes_[0] if model._binary_only else getattr(model, "reference_", None)
    status = "yes" if model.converged_ else "NO"
    return [
        ("Response", getattr(model, "response_name_", None) or "y"),
        ("Observations", _fmt(model.nobs_)),
        ("Classes", f"{classes} (reference: {ref})"),
        ("Solver", f"{model.solver_}, {model.n_iter_} iterations"),
        ("Log-likelihood", _fmt(model.loglike_)),
        ("Null log-likelihood", _fmt(model.null_loglike_)),
        (f"LR chi2({model.df_model_})", _fmt(model.lr_stat_)),
        # after lasso selection the chi2 reference distribution does not hold
        ("Prob > chi2", "n/a (lasso)" if model.has_lasso_penalty else f"{model.lr_pvalue_:.4g}"),
        ("Pseudo R2 (McFadden)", _fmt(model.pseudo_r2_)),
        ("Df residuals", _fmt(model.df_resid_)),
        ("AIC", _fmt(model.aic_)),
        ("BIC", _fmt(model.bic_)),
        ("Converged", status),
        ("Covariance", cov_type),
    ]


def _notes(model, cov_type):
    notes = []
    if model.separation_ is not None:
        kind = "complete" if model.separation_.complete else "quasi-complete"
        notes.append(
            f"perfect separation ({kind}): the maximum-likelihood estimate does not exist; "
            "the coefficients and standard errors shown are not meaningful. Refit with "
            "penalty='l2'."
        )
    aliased = np.flatnonzero(model.aliased_)
    if aliased.size:
        names = [model.results_.terms[j] for j in aliased]
        notes.append(f"aliased (collinear) columns fixed at 0, no standard errors: {names}")
    if model.penalty == "firth":
        notes.append(
            "penalty='firth': Jeffreys-prior penalised likelihood (Firth 1993); standard "
            "errors from the inverse Fisher information at the estimate; log-likelihoods and "
            "the LR test are unpenalised"
        )
    elif model.penalty in ("l2", "elasticnet") and not model.has_lasso_penalty:
        notes.append(
            f"penalty={model.penalty!r} (alpha={model.alpha}): the covariance is the sandwich "
            "H_pen^-1 I H_pen^-1 of the penalised estimator, and estimates are shrunk toward 0"
        )
    if cov_type != "nonrobust":
        notes.append(f"standard errors: {cov_type} sandwich (see softlogit.stats.inference)")
    return notes


def _coef_only(model):
    """Estimates without standard errors, one row per class (if several) and term."""
    fit_intercept = model._fit_intercept()
    terms = (["Intercept"] if fit_intercept else []) + model.results_.terms
    values = np.column_stack([model.intercept_, model.coef_]) if fit_intercept else model.coef_
    if model._binary_only:
        return pd.DataFrame({"coef": values.ravel()}, index=pd.Index(terms, name="term"))
    labels = model.classes_
    if model._reference is not None:
        labels = np.delete(labels, model._reference)
    index = pd.MultiIndex.from_tuples(
        [(label, term) for label in labels for term in terms], names=["class", "term"]
    )
    return pd.DataFrame({"coef": values.ravel()}, index=index)
