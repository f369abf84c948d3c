"""A fitted model as one self-contained HTML report.

:func:`make_report` returns the document as a string; :func:`write_report` writes it to a
file atomically. The document needs nothing else: the CSS is inline, every figure is a PNG
embedded as a ``data:`` URI, there is no JavaScript and no external reference, so the file
can be mailed, archived or opened offline. All text that comes from the model or the data
(class labels, feature names, the formula, the title) is HTML-escaped.

What the report shows depends on what it is given:

* the model alone: when and by which softlogit version the report was made, the model's
  description, the fit statistics, one coefficient table (estimates, standard errors,
  p-values with R's significance codes, intervals, odds ratios for binary models and
  relative-risk ratios for softmax), the forest plot and the fit's own optimisation
  history (``loss_curve_``; nothing is refitted);
* training data ``X, y`` as well: a data section (rows, class balance, feature summaries,
  missing values), the metrics on those rows, standardised coefficients, and (without test
  data) the evaluation on the training rows, labelled in-sample;
* test data ``X_test, y_test``: the data section and the metrics get a test column beside
  the training one, and the evaluation (decision threshold with precision, recall and F1, a
  threshold table, confusion matrix, ROC and calibration curves, decision regions for
  two-feature models) is computed on the test rows.

A formula model reads its response from the data frame: pass ``X`` (and ``X_test``) with
the response column and leave ``y`` (and ``y_test``) as None.

The date is the current time, or ``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) when that
environment variable is set, for reproducible documents.

matplotlib is needed (``pip install softlogit[plot]``). Figures are drawn on
:class:`matplotlib.figure.Figure` objects of their own, never through pyplot's global
figure list, so nothing is left open and nothing is shown.
"""

from __future__ import annotations

import datetime
import html
import os
from pathlib import Path

import numpy as np

from ..files import check_target, write_text_atomic
from ..stats import goodness
from ..stats.modelled import modelled_text
from ..stats.summary import (
    SIGNIF_LEGEND,
    column_formatters,
    signif_stars,
    table_to_html,
)
from . import plotting, report_data
from .plot_base import INSTALL_HINT

__all__ = ["REPORT_SUFFIXES", "make_report", "write_report"]

#: The file name endings :func:`write_report` writes (it writes HTML only).
REPORT_SUFFIXES = (".html", ".htm")
#: Rows drawn as points over the decision regions (a fixed random sample beyond this).
DECISION_POINTS_MAX = 5000
#: The fitted penalty in words, by the estimator's ``penalty``.
PENALTY_WORDS = {
    None: "none (maximum likelihood)",
    "none": "none (maximum likelihood)",
    "firth": "Firth (Jeffreys-prior bias reduction)",
    "flic": "Firth with intercept correction (FLIC)",
    "flac": "Firth with added covariate (FLAC)",
    "l2": "L2 (ridge), alpha={alpha:g}",
    "l1": "L1 (lasso), alpha={alpha:g}",
    "elasticnet": "elastic net, alpha={alpha:g}, l1_ratio={l1_ratio:g}",
}
#: Resolution of the embedded PNGs.
DPI = 100

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328;
       background: #ffffff; max-width: 1100px; margin: 2em auto; padding: 0 1.5em;
       line-height: 1.45; }
h1 { border-bottom: 2px solid #3b6ea5; padding-bottom: .3em; }
h2 { color: #3b6ea5; margin-top: 2em; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: right; }
th { background: #f3f5f8; }
table.kv th, table.kv td, td.text, th[scope='row'] { text-align: left; }
table.numbers td[data-value] { text-align: right; }
table.coef-table td.stars { text-align: left; }
table.kv td { overflow-wrap: anywhere; }
div.wide { overflow-x: auto; }
code { background: #f3f5f8; padding: 0 .25em; border-radius: 3px; }
.note { color: #57606a; font-size: .92em; }
.warning { color: #9a3412; font-weight: bold; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr));
         gap: 1em; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e5e7eb; }
figcaption { font-size: .9em; color: #57606a; }
footer { margin-top: 3em; font-size: .85em; color: #57606a; }
"""


# --------------------------------------------------------------------------- public API
def make_report(
    model,
    X=None,
    y=None,
    *,
    X_test=None,
    y_test=None,
    title=None,
    data_name=None,
    test_data_name=None,
    offset=None,
    test_offset=None,
):
    """The HTML report of a fitted model, as one self-contained document.

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression (or a CV variant)
    X : array-like, sparse matrix or data frame, optional
        The training rows. Without them (and without ``X_test``) the report has the model
        parts only: description, fit statistics, coefficients, forest plot, optimisation
        history.
    y : array-like of shape (n,), optional
        The training labels; must be None for a formula model (the response is read from
        ``X``) and given otherwise.
    X_test, y_test : optional
        Held-out rows and labels (``y_test=None`` for a formula model). When given, their
        metrics stand beside the training ones, and the threshold table, the confusion
        matrix, the ROC and calibration curves and the decision regions are computed on
        them; otherwise on the training rows, labelled in-sample.
    title : str, optional
        The document title (default: ``"softlogit report: <estimator>"``).
    data_name, test_data_name : str, optional
        Where the training and test rows came from (a file name, a query), shown in the
        report's header.
    offset, test_offset : array-like, optional
        The offsets of ``X`` and ``X_test``; required with those rows when the model was
        fitted with an offset (``has_offset_``), as for its ``predict``. Decision regions
        are not drawn for such models (a grid has no offset).

    Returns
    -------
    str
        A complete HTML5 document (UTF-8 text) with inline CSS and base64 PNG figures.

    Notes
    -----
    Decision regions are drawn for models with exactly two design columns (for a formula
    model, two plain numeric columns of the data frame).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "coef_")
    y = _check_pair(model, X, y, "X", "y")
    y_test = _check_pair(model, X_test, y_test, "X_test", "y_test")
    labels = report_data.labels_of(model, X, y), report_data.labels_of(model, X_test, y_test)
    sets = [("train", "training", X, labels[0]), ("test", "test", X_test, labels[1])]
    predictor = report_data.with_offsets(
        model, [(X, offset, "offset"), (X_test, test_offset, "test_offset")]
    )
    summary = model.summary()
    sections = [
        _section("About this report", _about(data_name, test_data_name, X, X_test), "about"),
        _section("Model", _description(model), "model"),
    ]
    if X is not None or X_test is not None:
        sections.append(_section("Data", report_data.data_section(model, sets), "data"))
    sections += [
        _section("Fit statistics", _fit_statistics(model, summary), "fit-statistics"),
        _section("Coefficients", _coefficients(model, summary), "coefficients"),
        _section("Coefficient plot", _coefficient_plot(model, X), "coefficient-plot"),
    ]
    if X is not None or X_test is not None:
        sections.append(_evaluation(predictor, sets))
    fit = _goodness(model, [(X, y, offset), (X_test, y_test, test_offset)])
    if fit is not None:
        sections.append(_section("Goodness of fit", fit, "goodness-of-fit"))
    sections.append(_section("Optimisation history", _history(model), "optimisation-history"))
    if hasattr(model, "cv_mean_"):
        sections.append(_section("Cross-validation", _cv_plot(model), "cross-validation"))
    if title is None:
        title = f"softlogit report: {type(model).__name__}"
    return _document(title, sections)


def write_report(
    model,
    path,
    X=None,
    y=None,
    *,
    X_test=None,
    y_test=None,
    title=None,
    data_name=None,
    test_data_name=None,
    offset=None,
    test_offset=None,
):
    """Render :func:`make_report` and write it to ``path`` atomically.

    The document is rendered completely first, then written to a temporary file in the
    folder of ``path`` and moved over ``path`` with :func:`os.replace`. An error while
    rendering or writing leaves an existing file at ``path`` as it was and no temporary
    file behind.

    Parameters
    ----------
    model, X, y, X_test, y_test, title, data_name, test_data_name, offset, test_offset
        As for :func:`make_report`.
    path : str or os.PathLike
        The file to write (UTF-8 HTML); its name must end in ``.html`` or ``.htm`` (any
        case). An existing file keeps its permission bits; a new one gets the usual
        ``0o666`` less the umask.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        When ``path`` ends otherwise (``report.pdf`` would hold HTML); nothing is
        rendered or written.
    softlogit.exceptions.UnsafeWriteError, IsADirectoryError
        When ``path`` is not a regular file (:func:`softlogit.files.check_target`).
    """
    path = Path(path)
    check_target(path)  # a special file (FIFO, device, folder) is refused as such first
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise ValueError(
            f"the report is an HTML document: {str(path)!r} does not end in .html or .htm "
            "(softlogit writes no other format)"
        )
    document = make_report(
        model,
        X,
        y,
        X_test=X_test,
        y_test=y_test,
        title=title,
        data_name=data_name,
        test_data_name=test_data_name,
        offset=offset,
        test_offset=test_offset,
    )
    write_text_atomic(path, document)
    return path


# --------------------------------------------------------------------------- checking
def _is_formula(model):
    return getattr(model, "formula", None) is not None


def _check_pair(model, X, y, x_name, y_name):
    """Validate a rows/labels pair: labels only with rows, from the data for formula
    models; returns the labels (None for a formula model)."""
    if X is None:
        if y is not None:
            raise ValueError(f"{y_name} was given without {x_name}")
        return None
    if _is_formula(model):
        if y is not None:
            raise ValueError(
                f"the model has formula={model.formula!r}: the response comes from "
                f"{x_name}; pass {y_name}=None"
            )
        return None
    if y is None:
        raise ValueError(f"{y_name} is required with {x_name} (only formula models read it)")
    return y


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _binary(model):
    return model.classes_.size == 2


# --------------------------------------------------------------------------- HTML helpers
def _esc(value):
    return html.escape(str(value), quote=True)


def _section(title, body, anchor):
    return f"<section id='{anchor}'><h2>{_esc(title)}</h2>\n{body}\n</section>"


def _note(text, css="note"):
    return f"<p class='{css}'>{_esc(text)}</p>"


def _kv_table(rows, css="kv"):
    """A two-column table of (key, label, value) rows (``key`` becomes the row id). In a
    ``numbers`` table the values are numbers, shown with the summary's format, kept exactly
    in ``data-value`` and right-aligned; in a text table every value is text, left-aligned
    alike (so no single cell stands out)."""
    out = []
    for key, label, value in rows:
        if "numbers" in css.split() and not isinstance(value, str):
            cell = report_data.number_cell(value)
        else:
            cell = f"<td>{_esc(value)}</td>"
        out.append(f"<tr id='{_esc(key)}'><th scope='row'>{_esc(label)}</th>{cell}</tr>")
    return f"<table class='{css}'>{''.join(out)}</table>"


def _figure(draw, caption, size=(6.4, 4.2)):
    """Draw with ``draw(ax)`` on a new off-screen figure; a ``<figure>`` with the PNG."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(INSTALL_HINT) from err
    fig = Figure(figsize=size, layout="constrained")
    draw(fig.subplots())
    data = plotting.figure_to_png_base64(fig, dpi=DPI)
    return (
        f"<figure><img alt='{_esc(caption)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


def _plots(figures):
    return f"<div class='plots'>{''.join(figures)}</div>"


def _document(title, sections):
    from .. import __version__

    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<meta name='generator' content='softlogit {_esc(__version__)}'>\n"
        f"<title>{_esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_esc(title)}</h1>\n{body}\n"
        f"<footer>Generated by softlogit {_esc(__version__)} on {_esc(_date())}.</footer>"
        "\n</body>\n</html>\n"
    )


def _date():
    """Now (local time with its UTC offset), or ``SOURCE_DATE_EPOCH`` in UTC when set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        moment = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc)
    else:
        moment = datetime.datetime.now().astimezone()
    return moment.isoformat(timespec="seconds")


# --------------------------------------------------------------------------- model parts
def _about(data_name, test_data_name, X, X_test):
    """Date, softlogit version and where the data came from."""
    from .. import __version__

    def source(name, rows):
        if rows is None:
            return "none given"
        return str(name) if name is not None else "in-memory data (no name given)"

    rows = [
        ("about-date", "Date", _date()),
        ("about-version", "softlogit version", str(__version__)),
        ("about-data", "Training data", source(data_name, X)),
        ("about-test-data", "Test data", source(test_data_name, X_test)),
    ]
    return _kv_table(rows)


def _parameters_text(model):
    """The estimator's parameters that differ from their defaults, as ``name=value``
    (each value's full ``repr``, never wrapped or cut; the formula has a row of its own)."""
    params = model.get_params(deep=False)
    try:
        defaults = type(model)().get_params(deep=False)
    except TypeError:  # pragma: no cover - an estimator that needs arguments
        defaults = {}
    changed = [
        f"{name}={value!r}"
        for name, value in params.items()
        if name != "formula" and (name not in defaults or not _same(value, defaults[name]))
    ]
    return ", ".join(changed) if changed else "all defaults"


def _same(a, b):
    try:
        return bool(a == b) if type(a) is type(b) else False
    except (TypeError, ValueError):  # arrays: compare elementwise
        return np.array_equal(np.asarray(a), np.asarray(b))


def _penalty_text(model):
    """The penalty that was fitted, in words (for CV models: the selected one)."""
    if hasattr(model, "alpha_selected_"):
        rule = getattr(model, "rule", "min")
        return (
            f"elastic net chosen by cross-validation (rule {rule!r}): "
            f"alpha={model.alpha_selected_:.6g}, l1_ratio={model.l1_ratio_:g}"
        )
    penalty = model.penalty
    text = PENALTY_WORDS.get(penalty, PENALTY_WORDS["elasticnet"]).format(
        alpha=model.alpha, l1_ratio=model.l1_ratio
    )
    if penalty not in (None, "none", "firth", "flic", "flac") and getattr(
        model, "standardize", False
    ):
        text += ", on standardised features"
    return text


def _reference_text(model):
    if _binary(model):
        return f"{model.classes_[0]} (positive class: {model.classes_[1]})"
    reference = getattr(model, "reference_", None)
    return "none (symmetric softmax, K rows)" if reference is None else str(reference)


def _description(model):
    """Estimator, classes, reference, formula, penalty, solver and convergence."""
    names = [str(v) for v in getattr(model, "feature_names_in_", [])] or [
        f"x{j}" for j in range(model.coef_.shape[1])
    ]
    shown = ", ".join(names[:30]) + (f", ... ({len(names)} in all)" if len(names) > 30 else "")
    kind = "binary logit" if _binary(model) else "multinomial logit (softmax)"
    converged = "yes" if model.converged_ else "NO"
    rows = [
        ("model-estimator", "Estimator", f"{type(model).__name__}: {kind}"),
        ("model-parameters", "Parameters (not default)", _parameters_text(model)),
        ("model-classes", "Classes", ", ".join(str(c) for c in model.classes_)),
        ("model-reference", "Reference class", _reference_text(model)),
        ("model-modelled", "Modelled", modelled_text(model)),
        ("model-formula", "Formula", model.formula if _is_formula(model) else "none"),
        ("model-features", f"Design columns ({len(names)})", shown),
        ("model-penalty", "Penalty", _penalty_text(model)),
        ("model-solver", "Solver", f"{model.solver_} (requested {model.solver!r})"),
        ("model-converged", "Converged", converged),
        ("model-n-iter", "Iterations", str(int(model.n_iter_))),
    ]
    out = _kv_table(rows)
    if not model.converged_:
        out += _note("The solver did not converge: the estimates are not reliable.", "warning")
    return out


def _coefficients(model, summary):
    """One table: the summary's columns, R's significance codes and the exponentiated
    estimates and interval ends (odds ratios for binary models, relative-risk ratios for
    softmax)."""
    table = summary.table.copy()
    if _symmetric(model):
        note = (
            "reference=None (symmetric softmax): exp(coef) is not a ratio against a class, so "
            "only the coefficients are shown."
        )
    else:
        name = "odds_ratio" if _binary(model) else "rrr"
        with np.errstate(over="ignore"):  # an overflowing ratio shows as inf
            for column in ("coef", "ci_low", "ci_high"):
                if column in summary.table.columns:
                    suffix = "" if column == "coef" else column[2:]
                    table[name + suffix] = np.exp(summary.table[column])
        scale = "odds ratio" if _binary(model) else "relative-risk ratio against the reference"
        note = f"{name} = exp(coef): the {scale} per unit change of the term"
        note += ", with the exponentiated interval ends." if "ci_low" in table.columns else "."
    notes = [note]
    stars = None
    if "p_value" in table.columns:
        stars = signif_stars(table["p_value"])
        notes.append(SIGNIF_LEGEND)
    else:
        notes.append("No standard errors, p-values or intervals for this model.")
    text = table_to_html(table, column_formatters(table), stars=stars)
    return f"<div class='wide'>{text}</div>" + "".join(_note(n) for n in notes)


def _symmetric(model):
    """Whether the model is a symmetric softmax (``reference=None``: K coefficient rows)."""
    return not _binary(model) and getattr(model, "reference", "first") is None


def _has_lasso(model):
    return bool(getattr(model, "has_lasso_penalty", False))


def _fit_statistics(model, summary):
    """Log-likelihoods, LR test, pseudo-R2 and information criteria (exact values kept),
    then the summary's notes (separation, aliased columns, penalty, covariance)."""
    rows = [
        ("stat-nobs", "Observations (total weight)", float(model.nobs_)),
        ("stat-loglike", "Log-likelihood", float(model.loglike_)),
        ("stat-null-loglike", "Null log-likelihood", float(model.null_loglike_)),
        ("stat-deviance", "Deviance", float(model.deviance_)),
        ("stat-lr", f"LR chi2 ({model.df_model_} df)", float(model.lr_stat_)),
        ("stat-lr-pvalue", "LR test p-value", float(model.lr_pvalue_)),
        ("stat-pseudo-r2", "Pseudo R2 (McFadden)", float(model.pseudo_r2_)),
        ("stat-aic", "AIC", float(model.aic_)),
        ("stat-bic", "BIC", float(model.bic_)),
        ("stat-df-model", "Df model", float(model.df_model_)),
        ("stat-df-resid", "Df residuals", float(model.df_resid_)),
    ]
    notes = [f"Note: {n}" for n in summary.notes]
    if _has_lasso(model):  # the LR test ignores the selection: no p-value
        rows = [row for row in rows if row[0] != "stat-lr-pvalue"]
        notes.append("No LR p-value after lasso/elastic-net selection.")
    return _kv_table(rows, css="kv numbers") + "".join(_note(n) for n in notes)


def _coefficient_plot(model, X):
    """The forest plot on the ratio scale and, with training rows, standardised."""
    ratio = not _symmetric(model)
    n_terms = model.coef_.shape[1]
    size = (6.4, min(max(3.0, 0.3 * n_terms + 1.5), 40.0))
    scale = "odds ratios" if _binary(model) else "relative-risk ratios"

    def draw(ax, rows=None):
        plotting.plot_coefficients(model, odds_ratio=ratio, ax=ax, X=rows)

    figures = [_figure(draw, f"Forest plot: {scale if ratio else 'coefficients'}", size)]
    if X is not None:
        caption = f"Forest plot: {scale if ratio else 'coefficients'} per standard deviation"
        figures.append(_figure(lambda ax: draw(ax, X), caption, size))
    return _plots(figures)


def _cv_plot(model):
    return _plots(
        [_figure(lambda ax: plotting.plot_cv(model, ax=ax), "Cross-validation curve over alpha")]
    )


def _history(model):
    figure = _figure(
        lambda ax: plotting.plot_loss_curve(model, ax=ax), "The fit's objective per step"
    )
    note = (
        f"The objective recorded by the fit itself ({model.solver_}, {int(model.n_iter_)} "
        f"steps, {'converged' if model.converged_ else 'NOT converged'}); nothing is refitted."
    )
    return _plots([figure]) + _note(note)


# --------------------------------------------------------------------------- evaluation
def _evaluation(model, sets):
    """Metrics of every data set side by side; threshold, confusion matrix and curves on
    the test rows when given, else on the training rows."""
    present = [(cid, X, y) for cid, _, X, y in sets if X is not None]
    headings = {"train": "training", "test": "test (held-out)"}
    if len(present) == 1 and present[0][0] == "train":
        headings["train"] = "training (in-sample)"
    columns = [(cid, headings[cid]) for cid, _, _ in present]
    metrics = report_data.values_table(
        report_data.metric_rows(model, present), columns, "numbers metrics"
    )
    cid, X, y = present[-1]
    held_out = cid == "test"
    where = (
        f"held-out test data (n = {y.size})"
        if held_out
        else (f"training data (n = {y.size}; in-sample, so optimistic)")
    )
    table, _ = _confusion_table(model, y, model.predict(X))
    figures = [
        _figure(lambda ax: plotting.plot_roc(model, X, y, ax=ax), f"ROC: {where}"),
        _figure(lambda ax: plotting.plot_calibration(model, X, y, ax=ax), f"Calibration: {where}"),
    ]
    regions = _decision_regions(model, X, y, where)
    if regions is not None:
        figures.append(regions)
    body = (
        "<h3>Metrics</h3>"
        + metrics
        + _note("Every row weighted equally; the training column is in-sample (optimistic).")
        + f"<h3>Decision rule</h3>{_decision_rule(model, X, y, where)}"
        + f"<h3>Confusion matrix</h3>{_note(f'On the {where}.')}{table}"
        + _plots(figures)
    )
    heading = "Evaluation: held-out" if held_out else "Evaluation: in-sample"
    return _section(heading, body, "held-out" if held_out else "in-sample")


def _goodness(model, sets):
    """Goodness of fit and discrimination (:mod:`softlogit.stats.goodness`) on the training
    rows (those given, else those the fit holds in memory) and on the test rows; None when
    there are neither."""
    (X, y, offset), (X_test, y_test, test_offset) = sets
    columns, values = [], []
    if not hasattr(model, "goodness_of_fit"):
        return None
    if X is not None or goodness.has_training_rows(model, in_memory=True):
        columns.append(("train", "training (in-sample)"))
        values.append(model.goodness_of_fit(X, y, offset=offset))
    if X_test is not None:
        columns.append(("test", "test (held-out)"))
        values.append(model.goodness_of_fit(X_test, y_test, offset=test_offset))
    if not values:
        return None
    return report_data.values_table(
        goodness.report_rows(values), columns, "numbers goodness"
    ) + _note(
        "Pearson X2 = sum w (y - p)^2 / (p (1 - p)); Hosmer-Lemeshow: 10 groups at the "
        "quantiles of the fitted probabilities; calibration: logistic recalibration of "
        "y on the linear predictor (ideal intercept 0, slope 1); AUC with DeLong's 95% interval."
    )


def _decision_rule(model, X, y, where):
    """Binary: the threshold 0.5 with a threshold table; softmax: per-class precision,
    recall and F1 of the most probable class."""
    if _binary(model):
        columns = [
            ("predicted", "predicted positive"),
            ("precision", "precision"),
            ("recall", "recall"),
            ("f1", "F1"),
        ]
        rows = report_data.threshold_rows(model, X, y)
        intro = (
            f"predict() gives class {model.classes_[1]} when P({model.classes_[1]}) > 0.5 "
            f"(the threshold row 0.5). Other thresholds, on the {where}:"
        )
    else:
        columns = [
            ("precision", "precision"),
            ("recall", "recall"),
            ("f1", "F1"),
            ("support", "rows"),
        ]
        rows = report_data.class_rows(model, X, y)
        intro = f"predict() gives the most probable class. Per class, on the {where}:"
    return _note(intro) + report_data.values_table(rows, columns, "numbers thresholds")


def _confusion_table(model, y, predicted):
    """The confusion matrix as an HTML table (rows: true class, columns: predicted)."""
    from sklearn.metrics import confusion_matrix

    classes = model.classes_
    matrix = confusion_matrix(y, predicted, labels=classes)
    head = "".join(f"<th>{_esc(c)}</th>" for c in classes)
    body = "".join(
        f"<tr><th>{_esc(c)}</th>{''.join(f'<td>{int(v)}</td>' for v in row)}</tr>"
        for c, row in zip(classes, matrix, strict=True)
    )
    return (
        f"<table class='confusion'><tr><th>true \\ predicted</th>{head}</tr>{body}</table>",
        matrix,
    )


def _decision_features(model, X):
    """The two columns of ``X`` to draw decision regions over, or None."""
    if model.coef_.shape[1] != 2:
        return None
    columns = getattr(X, "columns", None)
    if columns is None:
        return (0, 1) if np.shape(X)[1] == 2 else None
    names = [str(v) for v in getattr(model, "feature_names_in_", [])]
    if len(names) == 2 and all(n in columns for n in names):
        return tuple(names)  # plain numeric columns (also for a formula like y ~ a + b)
    return (0, 1) if not _is_formula(model) and len(columns) == 2 else None


def _decision_regions(model, X, y, where):
    """The decision-regions figure for two-feature models (None otherwise)."""
    if getattr(model, "has_offset_", False):
        return None  # the grid's rows have no offset
    features = _decision_features(model, X)
    if features is None:
        return None
    if hasattr(X, "toarray"):  # scipy.sparse: two columns are cheap to densify
        X = X.toarray()
    elif hasattr(X, "to_pandas") and not hasattr(X, "iloc"):  # polars and friends
        X = X.to_pandas()
    n = _n_rows(X)
    caption = f"Decision regions: {where}"
    if n > DECISION_POINTS_MAX:
        rows = np.sort(np.random.default_rng(0).choice(n, DECISION_POINTS_MAX, replace=False))
        X = X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]
        y = y[rows]
        caption += f" (a random sample of {DECISION_POINTS_MAX} rows drawn)"

    def draw(ax):
        plotting.plot_decision_regions(model, X, y, features=features, ax=ax)

    return _figure(draw, caption)
