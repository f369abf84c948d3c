"""A fitted model as one self-contained HTML report.

:func:`make_report` returns the document as a string; :func:`write_report` writes it to a
file atomically. The document needs nothing else: the CSS is inline, every figure is a PNG
embedded as a ``data:`` URI, there is no JavaScript and no external reference, so the file
can be mailed, archived or opened offline. All text that comes from the model or the data
(class labels, feature names, the formula, the title) is HTML-escaped.

What the report shows depends on what it is given:

* the model alone: its description, the summary, the coefficient table (with odds ratios
  for binary models, relative-risk ratios for softmax), the fit statistics and the
  coefficient forest plot;
* training data ``X, y`` as well: the ROC and calibration curves, the confusion matrix
  and the metrics on those rows (labelled in-sample), the training curve (Newton and
  Adam on the same objective, see :data:`TRAINING_CURVE_MAX_CELLS`) and, for a model with
  exactly two features, the decision regions;
* test data ``X_test, y_test``: the prediction plots, the confusion matrix and the
  held-out metrics (log-loss, accuracy, AUC or one-vs-rest AUC, Brier score for binary
  models) are computed on them instead.

A formula model reads its response from the data frame: pass ``X`` (and ``X_test``) with
the response column and leave ``y`` (and ``y_test``) as None.

matplotlib is needed (``pip install softlogit[plot]``). Figures are drawn on
:class:`matplotlib.figure.Figure` objects of their own, never through pyplot's global
figure list, so nothing is left open and nothing is shown.
"""

from __future__ import annotations

import html
import warnings
from pathlib import Path

import numpy as np

from ..exceptions import CollinearityWarning, ConvergenceWarning
from ..files import write_text_atomic
from ..stats.summary import column_formatters as _formatters, format_number as _fmt
from . import plotting

__all__ = ["TRAINING_CURVE_MAX_CELLS", "TRAINING_CURVE_MAX_PARAMS", "make_report", "write_report"]

#: The training curve refits the model twice (Newton, then Adam's epochs), so it is drawn
#: only when the training data have at most this many cells (rows times design columns) ...
TRAINING_CURVE_MAX_CELLS = 2_000_000
#: ... and the model at most this many parameters (Newton's Hessian stays small).
TRAINING_CURVE_MAX_PARAMS = 1000
#: Rows drawn as points over the decision regions (a fixed random sample beyond this).
DECISION_POINTS_MAX = 5000
#: The fitted penalty in words, by the estimator's ``penalty``.
PENALTY_WORDS = {
    None: "none (maximum likelihood)",
    "none": "none (maximum likelihood)",
    "firth": "Firth (Jeffreys-prior bias reduction)",
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
table.kv th { text-align: left; }
table.kv td { text-align: left; }
table.kv td[data-value] { text-align: right; }
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
def make_report(model, X=None, y=None, *, X_test=None, y_test=None, title=None):
    """The HTML report of a fitted model, as one self-contained document.

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression (or a CV variant)
    X : array-like, sparse matrix or data frame, optional
        The training rows. Without them (and without ``X_test``) the report has the model
        parts only: description, summary, coefficients, fit statistics, forest plot.
    y : array-like of shape (n,), optional
        The training labels; must be None for a formula model (the response is read from
        ``X``) and given otherwise.
    X_test, y_test : optional
        Held-out rows and labels (``y_test=None`` for a formula model). When given, the
        ROC and calibration curves, the confusion matrix, the decision regions and the
        metrics are computed on them; otherwise on the training rows, labelled in-sample.
    title : str, optional
        The document title (default: ``"softlogit report: <estimator>"``).

    Returns
    -------
    str
        A complete HTML5 document (UTF-8 text) with inline CSS and base64 PNG figures.

    Notes
    -----
    The training curve refits the model with the ``"newton"`` and ``"adam"`` solvers on
    ``X, y`` (without the sample weights or offset of the original fit). It is drawn when
    ``n_rows * n_design_columns <= TRAINING_CURVE_MAX_CELLS`` and the model has at most
    ``TRAINING_CURVE_MAX_PARAMS`` parameters, and skipped, with a note saying why, for
    penalties the two solvers do not share (lasso/elastic net, Firth). Decision regions
    are drawn for models with exactly two design columns (for a formula model, two plain
    numeric columns of the data frame).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "coef_")
    y = _check_pair(model, X, y, "X", "y")
    y_test = _check_pair(model, X_test, y_test, "X_test", "y_test")
    summary = model.summary()
    sections = [
        _section("Model", _description(model), "model"),
        _section("Summary", summary._repr_html_(), "summary"),
        _section("Coefficients", _coefficients(model, summary), "coefficients"),
        _section("Fit statistics", _fit_statistics(model), "fit-statistics"),
        _section("Coefficient plot", _coefficient_plot(model), "coefficient-plot"),
    ]
    if X_test is not None:
        sections.append(_evaluation(model, X_test, y_test, held_out=True))
    elif X is not None:
        sections.append(_evaluation(model, X, y, held_out=False))
    if X is not None:
        sections.append(_training(model, X, y))
    if hasattr(model, "cv_mean_"):
        sections.append(_section("Cross-validation", _cv_plot(model), "cross-validation"))
    if title is None:
        title = f"softlogit report: {type(model).__name__}"
    return _document(title, sections)


def write_report(model, path, X=None, y=None, *, X_test=None, y_test=None, title=None):
    """Render :func:`make_report` and write it to ``path`` atomically.

    The document is rendered completely first, then written to a temporary file in the
    folder of ``path`` and moved over ``path`` with :func:`os.replace`. An error while
    rendering or writing leaves an existing file at ``path`` as it was and no temporary
    file behind.

    Parameters
    ----------
    model, X, y, X_test, y_test, title
        As for :func:`make_report`.
    path : str or os.PathLike
        The file to write (UTF-8). An existing file keeps its permission bits; a new one
        gets the usual ``0o666`` less the umask.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    document = make_report(model, X, y, X_test=X_test, y_test=y_test, title=title)
    write_text_atomic(path, document)
    return path


# --------------------------------------------------------------------------- writing
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


def _labels(model, X, y):
    """The true labels of the rows ``X`` (from the data frame for a formula model)."""
    return plotting._response(model, X, y)


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
    """A two-column table of (key, label, value) rows; numbers are shown with the summary's
    format and kept exactly in ``data-value`` (``key`` becomes the row id)."""
    out = []
    for key, label, value in rows:
        shown = value
        exact = ""
        if isinstance(value, (float, np.floating, int, np.integer)) and not isinstance(value, bool):
            shown = _fmt(value.item() if hasattr(value, "item") else value)
            exact = f" data-value='{_esc(repr(float(value)))}'"
        out.append(f"<tr id='{_esc(key)}'><th>{_esc(label)}</th><td{exact}>{_esc(shown)}</td></tr>")
    return f"<table class='{css}'>{''.join(out)}</table>"


def _figure(draw, caption, size=(6.4, 4.2)):
    """Draw with ``draw(ax)`` on a new off-screen figure; a ``<figure>`` with the PNG."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(plotting.INSTALL_HINT) from err
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
        f"<footer>Generated by softlogit {_esc(__version__)}.</footer>\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- model parts
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
    if penalty not in (None, "none", "firth") and getattr(model, "standardize", False):
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
        ("model-parameters", "Parameters", repr(model)),
        ("model-classes", "Classes", ", ".join(str(c) for c in model.classes_)),
        ("model-reference", "Reference class", _reference_text(model)),
        ("model-formula", "Formula", model.formula if _is_formula(model) else "none"),
        ("model-features", f"Design columns ({len(names)})", shown),
        ("model-penalty", "Penalty", _penalty_text(model)),
        ("model-solver", "Solver", f"{model.solver_} (requested {model.solver!r})"),
        ("model-converged", "Converged", converged),
        ("model-n-iter", "Iterations", int(model.n_iter_)),
    ]
    out = _kv_table(rows)
    if not model.converged_:
        out += _note("The solver did not converge: the estimates are not reliable.", "warning")
    return out


def _coefficients(model, summary):
    """The estimates next to their exponentiated values (odds ratios for binary models,
    relative-risk ratios for softmax) and exponentiated interval ends."""
    table = summary.table
    keep = [c for c in ("coef", "p_value") if c in table.columns]
    out = table[keep].copy()
    if getattr(model, "_reference", 0) is None:
        note = (
            "reference=None (symmetric softmax): exp(coef) is not a ratio against a class, so "
            "only the coefficients are shown."
        )
    else:
        name = "odds_ratio" if _binary(model) else "rrr"
        out[name] = np.exp(table["coef"])
        for end in ("ci_low", "ci_high"):
            if end in table.columns:
                out[f"{name}_{end}"] = np.exp(table[end])
        scale = "odds ratio" if _binary(model) else "relative-risk ratio against the reference"
        note = f"{name} = exp(coef): the {scale} per unit change of the term"
        note += ", with the exponentiated interval ends." if "ci_low" in table.columns else "."
    notes = [note]
    if "std_err" not in table.columns:
        notes.append("No standard errors, p-values or intervals for this model.")
    text = out.to_html(formatters=_formatters(out), classes="coef-table", border=0)
    return text + "".join(_note(n) for n in notes)


def _has_lasso(model):
    return bool(getattr(model, "has_lasso_penalty", False))


def _fit_statistics(model):
    """Log-likelihoods, LR test, pseudo-R2 and information criteria (exact values kept)."""
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
    notes = ""
    if _has_lasso(model):  # the LR test ignores the selection: no p-value
        rows = [row for row in rows if row[0] != "stat-lr-pvalue"]
        notes = _note("No LR p-value after lasso/elastic-net selection.")
    return _kv_table(rows) + notes


def _coefficient_plot(model):
    binary = _binary(model)
    n_terms = model.coef_.shape[1]
    size = (6.4, min(max(3.0, 0.35 * n_terms + 1.5), 20.0))

    def draw(ax):
        plotting.plot_coefficients(model, odds_ratio=binary, ax=ax)

    scale = "odds ratios (log axis)" if binary else "coefficients (log relative-risk ratios)"
    return _plots([_figure(draw, f"Forest plot: {scale}", size)])


def _cv_plot(model):
    return _plots(
        [_figure(lambda ax: plotting.plot_cv(model, ax=ax), "Cross-validation curve over alpha")]
    )


# --------------------------------------------------------------------------- evaluation
def _metrics(model, X, y):
    """(key, label, value) rows: log-loss, accuracy, AUC (one-vs-rest for softmax) and, for
    binary models, the Brier score, all from :mod:`sklearn.metrics`."""
    from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

    classes = model.classes_
    proba = model.predict_proba(X)
    rows = [
        ("metric-n", "Rows", float(y.size)),
        ("metric-log-loss", "Log-loss", float(log_loss(y, proba, labels=classes))),
        ("metric-accuracy", "Accuracy", float(accuracy_score(y, model.predict(X)))),
    ]
    present = np.isin(classes, y)
    if _binary(model):
        positive = (y == classes[1]).astype(int)
        auc = roc_auc_score(positive, proba[:, 1]) if present.all() else None
        rows.append(("metric-auc", "AUC", _undefined(auc, classes, present)))
        rows.append(("metric-brier", "Brier score", float(brier_score_loss(positive, proba[:, 1]))))
    else:
        auc = None
        if present.all():
            auc = roc_auc_score(y, proba, multi_class="ovr", labels=classes)
        rows.append(
            ("metric-auc-ovr", "AUC (one-vs-rest, macro)", _undefined(auc, classes, present))
        )
    return rows


def _undefined(value, classes, present):
    if value is not None:
        return float(value)
    missing = ", ".join(str(c) for c in classes[~present])
    return f"undefined: no rows of class {missing}"


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


def _draw_confusion(matrix, classes):
    def draw(ax):
        from sklearn.metrics import ConfusionMatrixDisplay

        display = ConfusionMatrixDisplay(matrix, display_labels=[str(c) for c in classes])
        display.plot(ax=ax, colorbar=False, cmap="Blues", values_format="d")
        ax.set_title("Confusion matrix")

    return draw


def _evaluation(model, X, y, held_out):
    """Metrics, confusion matrix, ROC, calibration and decision regions on one data set."""
    y = _labels(model, X, y)
    if held_out:
        heading, where = "Held-out evaluation", f"held-out test data (n = {y.size})"
    else:
        heading = "In-sample evaluation"
        where = f"training data (n = {y.size}; in-sample, so optimistic)"
    predicted = model.predict(X)
    table, matrix = _confusion_table(model, y, predicted)
    figures = [
        _figure(lambda ax: plotting.plot_roc(model, X, y, ax=ax), f"ROC: {where}"),
        _figure(lambda ax: plotting.plot_calibration(model, X, y, ax=ax), f"Calibration: {where}"),
        _figure(_draw_confusion(matrix, model.classes_), f"Confusion matrix: {where}"),
    ]
    regions = _decision_regions(model, X, y, where)
    if regions is not None:
        figures.append(regions)
    metrics = _kv_table(_metrics(model, X, y), css="kv metrics")
    body = (
        _note(f"Computed on the {where}, every row weighted equally.")
        + f"<h3>Metrics</h3>{metrics}<h3>Confusion matrix</h3>{table}"
        + _plots(figures)
    )
    anchor = "held-out" if held_out else "in-sample"
    return _section(heading, body, anchor)


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


# --------------------------------------------------------------------------- training
def _training_template(model):
    """The estimator to refit with each solver (for CV models, the selected penalty)."""
    from sklearn.base import clone

    if hasattr(model, "alpha_selected_"):
        return model.selected_estimator()
    return clone(model)


def _training_skip_reason(model, X):
    """Why the training curve is not drawn, or None when it is."""
    n, p = _n_rows(X), model.coef_.shape[1]
    n_params = model.coef_.size + np.size(model.intercept_)
    if _has_lasso(model):
        return "the lasso/elastic-net penalty is solved by coordinate descent only"
    if getattr(model, "penalty", None) == "firth":
        return "penalty='firth' is not available to the Adam solver"
    if n * p > TRAINING_CURVE_MAX_CELLS:
        return f"the data have {n} x {p} = {n * p} cells (> {TRAINING_CURVE_MAX_CELLS})"
    if n_params > TRAINING_CURVE_MAX_PARAMS:
        return f"the model has {n_params} parameters (> {TRAINING_CURVE_MAX_PARAMS})"
    return None


def _training(model, X, y):
    """The training-curve section: Newton and Adam on the same objective, or why not."""
    reason = _training_skip_reason(model, X)
    if reason is not None:
        return _section("Training curve", _note(f"Not drawn: {reason}."), "training-curve")
    template = _training_template(model)
    caught = []

    def draw(ax):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.simplefilter("always", CollinearityWarning)
            plotting.plot_training_curve(X, y, template, solvers=("newton", "adam"), ax=ax)
        caught.extend(seen)

    figure = _figure(draw, "Objective gap per iteration (Newton) and epoch (Adam)")
    notes = [
        "The model refitted on the training rows (without sample weights or offset) by "
        "Newton/IRLS and by Adam: both minimise the same penalised cross-entropy."
    ]
    for w in caught:
        if issubclass(w.category, (ConvergenceWarning, CollinearityWarning)):
            notes.append(f"{w.category.__name__} during the refits: {w.message}")
        else:  # not ours to summarise: pass it on
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    body = _plots([figure]) + "".join(_note(n) for n in dict.fromkeys(notes))
    return _section("Training curve", body, "training-curve")
