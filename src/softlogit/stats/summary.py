"""The model summary: one report, rendered as text (``str``) and HTML (``_repr_html_``).

Numbers are formatted by three public helpers that the HTML report shares:

* :func:`format_number` -- one value (header statistics: log-likelihood, AIC, BIC keep every
  digit of their integer part, so two models compare at a glance);
* :func:`format_pvalues` -- a column of p-values as R's ``format.pval`` prints them
  (``<2e-16`` below machine epsilon, three significant digits otherwise);
* :func:`column_formatters` -- one formatter per column of a coefficient table, chosen from
  the whole column (as R's ``format``) so that a column's entries share their decimals and
  line up on the decimal point.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from .modelled import modelled_cell
from .survey import weights_header

__all__ = [
    "SIGNIF_CODES",
    "SIGNIF_STARS",
    "Summary",
    "column_formatters",
    "format_column",
    "format_fixed",
    "format_number",
    "format_pvalues",
    "signif_stars",
    "table_to_html",
    "table_to_text",
]

WIDTH = 78
#: Label width of a header cell (its value starts after it).
LABEL_WIDTH = 22
#: Whether summaries show significance stars when not told otherwise (R's
#: ``options(show.signif.stars=)``); set ``softlogit.stats.summary.SIGNIF_STARS = True``.
SIGNIF_STARS = False
#: R's significance codes: (upper bound of the p-value, code).
SIGNIF_CODES = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (1.0, " "))
#: The legend printed under a table with stars (as R's ``printCoefmat``).
SIGNIF_LEGEND = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"
#: p-values below this print as ``<2e-16`` (R's ``.Machine$double.eps``).
PVALUE_EPS = float(np.finfo(float).eps)
#: Significant digits of coefficient-table columns (R's summary.glm: ``digits = 4``) ...
TABLE_DIGITS = 4
#: ... and of p-values (R's ``dig.tst = 3`` in summary.glm).
PVALUE_DIGITS = 3
#: Display names of the table's columns in text and HTML (the DataFrame keeps its own).
COLUMN_TITLES = {"p_value": "P>|z|"}


# --------------------------------------------------------------------------- numbers
def format_fixed(value, decimals=4, sign="-"):
    """``value`` with ``decimals`` decimals, never a negative zero (``-0.0000``).

    Parameters
    ----------
    value : float
    decimals : int
    sign : {"-", " "}
        Python's sign option: ``" "`` leaves a space before positive numbers (columns of
        mixed signs line up).

    Returns
    -------
    str
        A value that rounds to zero prints as ``0.0000`` (or ``" 0.0000"``); NaN as ``nan``.
    """
    text = f"{value:{sign}.{decimals}f}"
    return f"{0.0:{sign}.{decimals}f}" if float(text) == 0 else text


def format_number(value, digits=4):
    """One number as the summary shows it.

    Integers (and integral floats below 1e15) print whole; other values in fixed point with
    ``digits`` decimals, or ``digits`` significant digits below 0.1; scientific notation
    only below 1e-6 or from 1e15 on. Large values such as an AIC of 1908123.4567 therefore
    keep their integer part: ``"1908123.4567"``, never ``"1.908e+06"``.

    Parameters
    ----------
    value : int or float
    digits : int
        Decimals (or significant digits below 0.1).

    Returns
    -------
    str
        ``"NA"`` for NaN (not estimated), ``"inf"``/``"-inf"`` for infinities.
    """
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return "NA"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if abs(value) < 1e-6 or abs(value) >= 1e15:
        return f"{value:.{digits - 1}e}"
    if abs(value) < 0.1:  # keep `digits` significant digits
        decimals = digits - 1 - int(np.floor(np.log10(abs(value))))
        return f"{value:.{decimals}f}"
    return f"{value:.{digits}f}"


def _significant(x, digits):
    """(negative, exponent, significant digits) of ``x`` rounded to ``digits`` significant
    digits, trailing zeros dropped (R's ``scientific`` in ``format.c``)."""
    mantissa, exponent = f"{abs(x):.{digits - 1}e}".split("e")
    kept = mantissa.replace(".", "").rstrip("0") or "0"
    return x < 0, int(exponent), len(kept)


def _column_spec(values, digits):
    """R's ``formatReal``: one layout for all finite ``values`` -- ``("f", decimals)`` when
    the fixed-point width is at most the scientific width, else ``("e", decimals)``."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return ("f", 0)
    right, max_left, max_nsig, any_neg = 0, 1, 1, False
    exponents = []
    for x in finite:
        if x == 0:
            neg, kpower, nsig = False, 0, 1
        else:
            neg, kpower, nsig = _significant(x, digits)
        any_neg |= neg
        right = max(right, nsig - kpower - 1)
        max_left = max(max_left, neg + max(kpower + 1, 1))
        max_nsig = max(max_nsig, nsig)
        exponents.append(kpower)
    fixed_width = max_left + right + (right > 0)
    exp_digits = 3 if max(exponents) >= 100 or min(exponents) <= -99 else 2
    decimals = max_nsig - 1
    sci_width = any_neg + (decimals > 0) + decimals + 1 + 2 + exp_digits
    if fixed_width <= sci_width:
        return ("f", right)
    return ("e", decimals)


def format_column(values, digits=TABLE_DIGITS):
    """Format numbers together, as R's ``format(x, digits=)``: every entry gets the same
    layout (fixed point with common decimals, or scientific with a common mantissa), at
    least ``digits`` significant digits for the entry that needs the most.

    Parameters
    ----------
    values : sequence of float
    digits : int

    Returns
    -------
    list of str
        ``"NA"`` for NaN, ``"inf"``/``"-inf"`` for infinities.
    """
    return [_formatter(_column_spec(values, digits))(v) for v in values]


def _formatter(spec):
    kind, decimals = spec

    def fmt(value):
        value = float(value)
        if math.isnan(value):
            return "NA"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{decimals}{kind}}"

    return fmt


def format_pvalues(values, digits=PVALUE_DIGITS, eps=PVALUE_EPS):
    """p-values as R's ``format.pval`` prints them (R's summary of a GLM uses
    ``digits=3``): values below ``eps`` as ``<2e-16``; the others formatted together in two
    groups (from 1e-4 up, and below), each group with :func:`format_column`.

    Parameters
    ----------
    values : sequence of float
    digits : int
    eps : float

    Returns
    -------
    list of str
        ``"NA"`` for NaN.
    """
    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, "NA", dtype=object)
    known = ~np.isnan(values)
    tiny = known & (values < eps)
    rest = known & ~tiny
    expo = np.floor(np.log10(np.where(values[rest] > 0, values[rest], 1e-50)))
    fixp = (expo >= -3) | ((expo == -4) & (digits > 1))
    rest_at = np.flatnonzero(rest)
    for group in (fixp, ~fixp):
        if group.any():
            out[rest_at[group]] = format_column(values[rest_at[group]], digits)
    if tiny.any():
        eps_digits = max(1, digits - 2)
        sep = " " if eps_digits > 1 else ""
        if rest.any():
            width = max(len(s) for s in out[rest])
            if eps_digits > 1 and eps_digits + 6 > width:
                eps_digits = max(1, width - 7)
            sep = "" if eps_digits == 1 and width <= 6 else " "
        mantissa, exponent = f"{eps:.{eps_digits - 1}e}".split("e")
        out[tiny] = f"<{sep}{mantissa}e{exponent}"
    return list(out)


def signif_stars(pvalues):
    """R's significance codes of each p-value (``"***"`` below 0.001 ... ``" "``; ``""``
    for NaN)."""
    codes = []
    for p in np.asarray(pvalues, dtype=float):
        codes.append("" if math.isnan(p) else next(c for bound, c in SIGNIF_CODES if p <= bound))
    return codes


def column_formatters(table):
    """One formatter per column of ``table``, each chosen from the whole column.

    p-values follow :func:`format_pvalues`; other columns :func:`format_column` with
    ``TABLE_DIGITS`` significant digits, so a column's entries share their decimals (or
    their scientific mantissa) and line up. Each formatter maps one value of its column to
    the string shown for it.

    Parameters
    ----------
    table : pandas.DataFrame

    Returns
    -------
    dict of column -> callable
    """
    formatters = {}
    for column in table.columns:
        values = table[column].to_numpy(dtype=float)
        if column == "p_value":
            shown = dict(zip(values.tolist(), format_pvalues(values), strict=True))
            formatters[column] = _lookup(shown, lambda v: format_pvalues([v])[0])
        else:
            formatters[column] = _formatter(_column_spec(values, TABLE_DIGITS))
    return formatters


def _lookup(shown, fallback):
    """A formatter that shows the values of its column as they were formatted together."""

    def fmt(value):
        value = float(value)
        if math.isnan(value):
            return "NA"
        return shown[value] if value in shown else fallback(value)

    return fmt


def _index_rows(table):
    """The index of ``table`` as tuples of strings, one per row."""
    if table.index.nlevels == 1:
        return [(str(v),) for v in table.index]
    return [tuple(str(v) for v in row) for row in table.index]


def _index_names(table):
    return [str(name) if name is not None else "" for name in table.index.names]


def table_to_html(table, formatters=None, *, css="coef-table", stars=None):
    """A data frame as one HTML table with a single header row (index names, then the
    columns) and formatted cells; text is HTML-escaped.

    Parameters
    ----------
    table : pandas.DataFrame
    formatters : dict of column -> callable, optional
        Default :func:`column_formatters`.
    css : str
        The table's class.
    stars : sequence of str, optional
        Significance codes, shown in a last, unlabelled column.

    Returns
    -------
    str
    """
    formatters = column_formatters(table) if formatters is None else formatters
    names = _index_names(table)
    titles = [COLUMN_TITLES.get(c, str(c)) for c in table.columns]
    head = "".join(f"<th scope='col'>{html.escape(t)}</th>" for t in names + titles)
    if stars is not None:
        head += "<th scope='col' aria-label='significance'></th>"
    rows = []
    for i, labels in enumerate(_index_rows(table)):
        cells = "".join(f"<th scope='row'>{html.escape(v)}</th>" for v in labels)
        for column in table.columns:
            value = table[column].iloc[i]
            cells += f"<td>{html.escape(formatters[column](value))}</td>"
        if stars is not None:
            cells += f"<td class='stars'>{html.escape(stars[i])}</td>"
        rows.append(f"<tr>{cells}</tr>")
    return (
        f"<table class='{html.escape(css)}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def table_to_text(table, formatters=None, stars=None):
    """A data frame as aligned text: index left-aligned, numbers right-aligned (so a
    column's decimal points line up), one header line.

    Parameters
    ----------
    table : pandas.DataFrame
    formatters : dict of column -> callable, optional
        Default :func:`column_formatters`.
    stars : sequence of str, optional
        Significance codes in a last column.

    Returns
    -------
    str
    """
    formatters = column_formatters(table) if formatters is None else formatters
    index = _index_rows(table)
    names = _index_names(table)
    columns = [[names[k]] + [row[k] for row in index] for k in range(len(names))]
    body = []
    for column in table.columns:
        cells = [formatters[column](v) for v in table[column]]
        body.append([COLUMN_TITLES.get(column, str(column))] + cells)
    if stars is not None:
        body.append([""] + list(stars))
    left = [max(len(s) for s in col) for col in columns]
    right = [max(len(s) for s in col) for col in body]
    lines = []
    for i in range(len(index) + 1):
        parts = [col[i].ljust(w) for col, w in zip(columns, left, strict=True)]
        parts += [col[i].rjust(w) for col, w in zip(body, right, strict=True)]
        if stars is not None:  # codes read left to right: '*' then blanks
            parts[-1] = body[-1][i].ljust(right[-1])
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


# --------------------------------------------------------------------------- the summary
class Summary:
    """What a fitted model says about itself: header statistics, coefficient table, notes.

    Parameters
    ----------
    title : str
    header : list of (label, value) pairs
        Values are strings, or numbers (formatted with :func:`format_number`).
    table : pandas.DataFrame
        The coefficient table (``coef`` only when standard errors are not available).
    notes : list of str
    signif_stars : bool, optional
        Show R's significance codes next to the p-values (and their legend); default the
        module setting :data:`SIGNIF_STARS`.
    goodness : GoodnessOfFit, optional
        Goodness of fit and discrimination (:mod:`softlogit.stats.goodness`), shown as a
        block after the table.

    Attributes
    ----------
    title, header, table, notes, signif_stars, goodness
        As given.
    """

    def __init__(self, title, header, table, notes, signif_stars=None, goodness=None):
        self.title = title
        self.header = header
        self.table = table
        self.notes = notes
        self.signif_stars = SIGNIF_STARS if signif_stars is None else bool(signif_stars)
        self.goodness = goodness

    @classmethod
    def from_model(
        cls, model, alpha=0.05, cov_type=None, groups=None, signif_stars=None, goodness=None
    ):
        """Collect the summary of a fitted LogisticRegression or SoftmaxRegression.

        Parameters
        ----------
        model : fitted estimator
        alpha, cov_type, groups
            As for :meth:`coef_table`.
        signif_stars, goodness : optional
            See :class:`Summary`.

        Returns
        -------
        Summary
        """
        kind = "binary logit" if model._binary_only else "multinomial logit (softmax)"
        title = f"softlogit {type(model).__name__}: {kind}"
        cov_type = model.results_.resolve_cov_type(cov_type)
        notes = _notes(model, cov_type)
        if model._reference is None:
            table = _coef_only(model)
            notes.append("reference=None: standard errors need a reference class")
        elif model.has_lasso_penalty:
            table = _coef_only(model)
            notes.append("lasso/elastic net: no standard errors after selection")
        else:
            table = model.coef_table(alpha, cov_type, groups)
        header = _header(model, cov_type)
        if model.results_.weight_type != "frequency":
            header, more = weights_header(model, header, cov_type, groups)
            notes.extend(more)
        return cls(title, header, table, notes, signif_stars, goodness)

    def header_values(self):
        """The header as (label, shown text) pairs."""
        return [
            (label, value if isinstance(value, str) else format_number(value))
            for label, value in self.header
        ]

    def stars(self):
        """The significance codes of the table's rows, or None (no stars requested, or no
        p-values)."""
        if not self.signif_stars or "p_value" not in self.table.columns:
            return None
        return signif_stars(self.table["p_value"])

    def __str__(self):
        rule = "=" * WIDTH
        lines = [self.title, rule, *_header_lines(self.header_values())]
        stars = self.stars()
        lines += ["-" * WIDTH, table_to_text(self.table, stars=stars), rule]
        if stars is not None:
            lines.append(SIGNIF_LEGEND)
        if self.goodness is not None:
            lines += ["Goodness of fit", *self.goodness.lines(), rule]
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            f"<td>{html.escape(value)}</td></tr>"
            for label, value in self.header_values()
        )
        stars = self.stars()
        legend = f"<p>{html.escape(SIGNIF_LEGEND)}</p>" if stars is not None else ""
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
        fit = ""
        if self.goodness is not None:
            items = "".join(f"<li>{html.escape(x)}</li>" for x in self.goodness.lines())
            fit = f"<h5>Goodness of fit</h5><ul class='goodness'>{items}</ul>"
        return (
            f"<div class='softlogit-summary'><h4>{html.escape(self.title)}</h4>"
            f"<table>{rows}</table>{table_to_html(self.table, stars=stars)}{legend}{fit}"
            f"{f'<ul>{notes}</ul>' if notes else ''}</div>"
        )


def _header_lines(cells):
    """Two cells a line, each ``label:`` padded to ``LABEL_WIDTH`` and its value, so the
    values of each half start in one column; a cell too long for half a line gets a line
    of its own."""
    half = WIDTH // 2
    lines, row = [], []
    for label, value in cells:
        cell = f"{label + ':':<{LABEL_WIDTH}}{value}"
        if len(cell) >= half - 2:
            if row:
                lines.append("".join(row).rstrip())
            lines.append(cell)
            row = []
            continue
        row.append(f"{cell:<{half}}")
        if len(row) == 2:
            lines.append("".join(row).rstrip())
            row = []
    if row:
        lines.append("".join(row).rstrip())
    return lines


def _header(model, cov_type):
    classes = ", ".join(str(c) for c in model.classes_)
    ref = model.classes_[0] if model._binary_only else getattr(model, "reference_", None)
    status = "yes" if model.converged_ else "NO"
    lr_pvalue = "n/a (lasso)" if model.has_lasso_penalty else format_pvalues([model.lr_pvalue_])[0]
    return [
        ("Response", getattr(model, "response_name_", None) or "y"),
        ("Observations", model.nobs_),
        ("Classes", f"{classes} (reference: {ref})"),
        modelled_cell(model),
        ("Solver", f"{model.solver_}, {model.n_iter_} iterations"),
        ("Log-likelihood", float(model.loglike_)),
        ("Null log-likelihood", float(model.null_loglike_)),
        (f"LR chi2({model.df_model_})", float(model.lr_stat_)),
        # after lasso selection the chi2 reference distribution does not hold
        ("Prob > chi2", lr_pvalue),
        ("Pseudo R2 (McFadden)", float(model.pseudo_r2_)),
        ("Df residuals", model.df_resid_),
        ("AIC", float(model.aic_)),
        ("BIC", float(model.bic_)),
        ("Converged", status),
        ("Covariance", cov_type),
    ] + _counts_header(model)


def _counts_header(model):
    """A counts fit's grouped-scale deviances (:mod:`softlogit.stats.grouped`)."""
    if not getattr(model, "counts_response_", False):
        return []
    return [
        ("Deviance", float(model.deviance_)),
        ("Null deviance", float(model.null_deviance_)),
    ]


def _notes(model, cov_type):
    notes = []
    if getattr(model, "n_dropped_", 0):  # missing="drop" (softlogit.data.missing)
        counts = ", ".join(f"{k}: {v}" for k, v in model.dropped_by_column_.items())
        rows = "row" if model.n_dropped_ == 1 else "rows"
        notes.append(f"Dropped: {model.n_dropped_} {rows} with missing values ({counts})")
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
    elif model.penalty in ("flic", "flac"):  # issue 13: Firth with a corrected intercept
        notes.append(
            f"penalty={model.penalty!r}: Firth's estimate with its intercept corrected "
            "(Puhr et al. 2017, as logistf's flic/flac), so that the mean fitted probability "
            "equals the observed proportion; see softlogit.model.firth_corrections for the "
            "standard errors; log-likelihoods and the LR test are unpenalised"
        )
    elif model.penalty in ("l2", "elasticnet") and not model.has_lasso_penalty:
        notes.append(
            f"penalty={model.penalty!r} (alpha={model.alpha}): the covariance is the sandwich "
            "H_pen^-1 I H_pen^-1 of the penalised estimator, and estimates are shrunk toward 0"
        )
    if cov_type not in ("nonrobust", "survey"):
        notes.append(f"standard errors: {cov_type} sandwich (see softlogit.stats.inference)")
    if getattr(model, "counts_response_", False):
        notes.append(
            "counts response: observations, log-likelihoods, deviances, AIC, BIC and Df "
            "residuals on the grouped scale (as R's glm with cbind / VGAM); the expanded 0/1 "
            "rows' values are the *_bernoulli_ attributes; Pseudo R2 on the Bernoulli scale"
        )
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
