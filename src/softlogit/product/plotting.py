"""matplotlib figures for fitted models, regularisation paths and cross-validation curves.

matplotlib is an optional dependency (``pip install softlogit[plot]``): it is imported only
when a figure is drawn. Every function draws on the ``ax`` it is given, or on a new figure
when ``ax`` is None, and returns the Axes; nothing calls ``plt.show()``, so the functions work
headless (the Agg backend) and inside reports.

* Predictions: :func:`plot_roc`, :func:`plot_calibration`, :func:`plot_decision_regions`.
* Coefficients: :func:`plot_coefficients` (forest plot with confidence intervals).
* Optimisation: :func:`plot_training_curve` (the GLM solver and the network solver reach the
  same objective).
* Penalties: :func:`plot_path` (coefficients along ``alpha``), :func:`plot_cv` (the CV curve).
"""

from __future__ import annotations

import base64
import io

import numpy as np

__all__ = [
    "figure_to_png_base64",
    "plot_calibration",
    "plot_coefficients",
    "plot_cv",
    "plot_decision_regions",
    "plot_path",
    "plot_roc",
    "plot_training_curve",
]

INSTALL_HINT = "plotting needs matplotlib: pip install softlogit[plot]"
INTERCEPT = "Intercept"
LINESTYLES = ("-", "--", ":", "-.")


# --------------------------------------------------------------------------- helpers
def _pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(INSTALL_HINT) from err
    return plt


def _axes(ax):
    """``ax``, or the Axes of a new figure."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _check_fitted(model, attribute="coef_"):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, attribute)


def _response(model, X, y):
    """The labels ``y`` as an array; with a formula model and ``y=None``, from the data."""
    if y is not None:
        return np.asarray(y).ravel()
    if getattr(model, "formula", None) is None:
        raise ValueError("y is required (only formula models read the response from X)")
    return model.response_values(X)


def _one_vs_rest(model, X, y):
    """(label, 0/1 target, predicted probability) per curve: the positive class for two
    classes, each class against the rest otherwise; classes absent from (or filling) ``y``
    are skipped since their curves are undefined."""
    _check_fitted(model)
    y = _response(model, X, y)
    proba = model.predict_proba(X)
    classes = model.classes_
    columns = [1] if classes.size == 2 else range(classes.size)
    curves = []
    for k in columns:
        target = (y == classes[k]).astype(int)
        if 0 < target.sum() < target.size:
            curves.append((classes[k], target, proba[:, k]))
    return curves


def figure_to_png_base64(fig, dpi=100):
    """A figure as base64-encoded PNG text (for ``<img src="data:image/png;base64,...">``).

    Parameters
    ----------
    fig : matplotlib Figure or Axes
        An Axes stands for the figure that holds it.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    str
        ASCII base64 of the PNG bytes.
    """
    if not hasattr(fig, "savefig"):
        fig = fig.figure
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# --------------------------------------------------------------------------- predictions
def plot_roc(model, X, y, ax=None):
    """ROC curve with its AUC: of the positive class (binary), else one-vs-rest per class.

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression
    X : array-like or data frame
        Rows to score (held-out rows give an honest curve).
    y : array-like of shape (n,) or None
        True labels; None reads them from the data for a formula model.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        One line per curve, labelled ``"AUC = 0.xxx"`` (binary) or
        ``"<class> vs rest: AUC = 0.xxx"``, plus the chance diagonal.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    curves = _one_vs_rest(model, X, y)
    ax = _axes(ax)
    binary = model.classes_.size == 2
    for label, target, score in curves:
        fpr, tpr, _ = roc_curve(target, score)
        auc = roc_auc_score(target, score)
        name = "" if binary else f"{label} vs rest: "
        ax.plot(fpr, tpr, label=f"{name}AUC = {auc:.3f}")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="_chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate", ylabel="true positive rate")
    ax.set_title(f"ROC curve (positive class {model.classes_[1]})" if binary else "ROC curves")
    ax.legend(loc="lower right")
    return ax


def plot_calibration(model, X, y, n_bins=10, ax=None, *, strategy="uniform"):
    """Reliability diagram: observed frequency against mean predicted probability per bin.

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression
    X, y : rows and true labels (``y=None`` for a formula model reads them from ``X``)
    n_bins : int
        Number of probability bins.
    ax : matplotlib Axes, optional
    strategy : {"uniform", "quantile"}
        Equal-width bins or bins with equal counts
        (:func:`sklearn.calibration.calibration_curve`).

    Returns
    -------
    matplotlib Axes
        One line per class (the positive class only, for two classes) through the
        ``(mean predicted, observed)`` points of the non-empty bins, plus the diagonal.
    """
    from sklearn.calibration import calibration_curve

    curves = _one_vs_rest(model, X, y)
    ax = _axes(ax)
    for label, target, score in curves:
        observed, predicted = calibration_curve(target, score, n_bins=n_bins, strategy=strategy)
        ax.plot(predicted, observed, marker="o", label=f"P(y = {label})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability")
    ax.set(ylabel="observed frequency", title="Calibration")
    ax.legend(loc="upper left")
    return ax


# --------------------------------------------------------------------------- coefficients
def _has_standard_errors(model):
    """Whether ``coef_table`` gives intervals: not after lasso selection, not for the
    symmetric (``reference=None``) softmax parameterisation."""
    lasso = getattr(model, "has_lasso_penalty", False)
    return not lasso and getattr(model, "_reference", 0) is not None


def _row_labels(model, n_rows):
    """Class labels of the coefficient rows: none (binary), all classes, or the
    non-reference ones."""
    classes = model.classes_
    if classes.size == 2:
        return [None]
    if n_rows == classes.size:
        return list(classes)
    reference = getattr(model, "reference_", classes[0])
    return [c for c in classes if c != reference]


def _table_rows(table):
    """Split a coefficient table into (class or None, sub-table) per coefficient row."""
    if table.index.nlevels == 1:
        return [(None, table)]
    labels = table.index.get_level_values(0).unique()
    return [(label, table.xs(label, level=0)) for label in labels]


def _estimates(model, alpha, cov_type, groups):
    """(class or None, terms, estimate, ci_low, ci_high) per coefficient row; the interval
    ends are None when the model gives no standard errors."""
    if _has_standard_errors(model):
        table = model.coef_table(alpha, cov_type, groups)
        return [
            (label, [str(t) for t in part.index], *part[["coef", "ci_low", "ci_high"]].T.to_numpy())
            for label, part in _table_rows(table)
        ]
    coef = np.asarray(model.coef_)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = [f"x{j}" for j in range(coef.shape[1])]
    terms = [str(v) for v in names]
    if getattr(model, "_fit_intercept", lambda: model.fit_intercept)():
        coef = np.column_stack([model.intercept_, coef])
        terms = [INTERCEPT, *terms]
    labels = _row_labels(model, coef.shape[0])
    return [(label, terms, row, None, None) for label, row in zip(labels, coef, strict=True)]


def _series_label(label, reference):
    """Legend entry of a coefficient row (hidden for the single binary row)."""
    if label is None:
        return "_coefficients"
    return f"{label}" if reference is None else f"{label} vs {reference}"


def plot_coefficients(
    model,
    alpha=0.05,
    odds_ratio=False,
    ax=None,
    *,
    include_intercept=False,
    cov_type="nonrobust",
    groups=None,
):
    """Forest plot: each coefficient with its ``1 - alpha`` confidence interval.

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression (or a CV variant)
    alpha : float
        Intervals have coverage ``1 - alpha`` (from :meth:`coef_table`).
    odds_ratio : bool
        Plot ``exp`` of the estimates and interval ends (odds ratios, or relative-risk
        ratios for softmax) on a log axis, with the reference line at 1 instead of 0.
    ax : matplotlib Axes, optional
    include_intercept : bool
        Whether to show the intercept (skipped by default).
    cov_type, groups
        Covariance estimator of the intervals, as for :meth:`coef_table`.

    Returns
    -------
    matplotlib Axes
        One error-bar series per coefficient row (per non-reference class for softmax, each
        with its colour and vertical offset). Models without standard errors (lasso or
        elastic-net selection, ``reference=None``) get points only.
    """
    _check_fitted(model)
    rows = _estimates(model, alpha, cov_type, groups)
    ax = _axes(ax)
    terms = [t for t in rows[0][1] if include_intercept or t != INTERCEPT]
    position = {t: len(terms) - 1 - i for i, t in enumerate(terms)}
    offsets = np.linspace(-0.25, 0.25, len(rows)) if len(rows) > 1 else [0.0]
    transform = np.exp if odds_ratio else np.asarray
    reference = getattr(model, "reference_", None)
    for i, (label, names, est, low, high) in enumerate(rows):
        keep = np.array([t in position for t in names])
        y = np.array([position[t] for t in np.asarray(names)[keep]]) + offsets[i]
        x = transform(est[keep])
        name = _series_label(label, reference)
        if low is None:
            ax.plot(x, y, "o", color=f"C{i}", label=name)
            continue
        xerr = [x - transform(low[keep]), transform(high[keep]) - x]
        ax.errorbar(x, y, xerr=xerr, fmt="o", color=f"C{i}", capsize=3, label=name)
    ax.axvline(1.0 if odds_ratio else 0.0, color="grey", linestyle="--", linewidth=1)
    if odds_ratio:
        _plain_log_axis(ax)
    ax.set_yticks(list(position.values()), list(position))
    ax.set_xlabel(_coef_label(model, odds_ratio))
    if rows[0][3] is None:
        ax.set_title("Coefficients (no standard errors after selection: points only)")
    else:
        ax.set_title(f"Coefficients with {100 * (1 - alpha):g}% confidence intervals")
    if len(rows) > 1:
        ax.legend(title="class")
    return ax


def _plain_log_axis(ax):
    """A log x axis labelled with plain numbers (0.5, 2) rather than powers of ten; which
    minor ticks get a label is matplotlib's choice for the axis range."""
    from matplotlib.ticker import LogFormatter

    class PlainLogFormatter(LogFormatter):
        def __call__(self, x, pos=None):
            return f"{x:g}" if super().__call__(x, pos) else ""

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(PlainLogFormatter())
    ax.xaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def _coef_label(model, odds_ratio):
    binary = model.classes_.size == 2
    if odds_ratio:
        return "odds ratio" if binary else "relative-risk ratio"
    return "coefficient (log-odds)" if binary else "coefficient (log relative risk)"


# --------------------------------------------------------------------------- optimisation
def _default_model(y):
    from ..estimators import LogisticRegression, SoftmaxRegression

    binary = np.unique(np.asarray(y)).size == 2
    return (LogisticRegression if binary else SoftmaxRegression)(random_state=0)


def plot_training_curve(X, y, model=None, solvers=("newton", "adam"), ax=None):
    """Objective gap per iteration/epoch for several solvers on the same problem.

    Fits a clone of ``model`` with each solver and plots ``loss_curve_ - f*`` on log axes,
    where ``f*`` is the smallest objective any of them reached: the GLM solver (Newton/IRLS,
    a handful of iterations) and the network solver (Adam, hundreds of epochs) descend to
    the same minimum.

    Parameters
    ----------
    X, y : training data, as for ``fit`` (``y=None`` with a formula model)
    model : LogisticRegression or SoftmaxRegression, optional
        Template with the other settings; default: LogisticRegression for two classes,
        else SoftmaxRegression, with ``random_state=0`` (reproducible mini-batches).
    solvers : sequence of str
        Solver names (``"newton"``, ``"lbfgs"``, ``"gd"``, ``"sgd"``, ``"adam"``...).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        One line per solver. The fitted models are attached as ``ax.softlogit_models``
        (a dict solver -> model) and ``f*`` as ``ax.softlogit_minimum``. Gaps below machine
        precision are drawn at ``eps * max(1, |f*|)`` so the log axis can show them.
    """
    from sklearn.base import clone

    template = _default_model(y) if model is None else model
    models = {name: clone(template).set_params(solver=name).fit(X, y) for name in solvers}
    curves = {name: np.asarray(m.loss_curve_, dtype=float) for name, m in models.items()}
    reached = [c.min() for c in curves.values() if c.size]
    if not reached:
        raise ValueError("no solver recorded an objective (loss_curve_ is empty)")
    best = min(reached)
    floor = np.finfo(float).eps * max(1.0, abs(best))
    ax = _axes(ax)
    for name, curve in curves.items():
        if curve.size:
            gap = curve - best
            label = f"{name}: {curve.size} steps, final gap {gap[-1]:.1e}"
            ax.plot(np.arange(1, curve.size + 1), np.maximum(gap, floor), label=label)
    ax.set(xscale="log", yscale="log", xlabel="iteration (Newton, L-BFGS) / epoch (SGD, Adam)")
    ax.set(ylabel="objective - minimum", title="Training curves: the same objective")
    ax.legend()
    ax.softlogit_models = models
    ax.softlogit_minimum = best
    return ax


# --------------------------------------------------------------------------- penalties
def _path_rows(path, n_rows):
    """Class labels of the path's coefficient rows (None for a binary path)."""
    classes = np.asarray(path.classes)
    if n_rows == 1:
        return [None]
    if n_rows == classes.size:
        return list(classes)
    reference = getattr(path, "reference", classes[0])
    return [c for c in classes if c != reference]


def plot_path(path, ax=None):
    """Coefficient paths: each coefficient against ``log(alpha)`` (natural log).

    Parameters
    ----------
    path : RegularizationPath
        From :func:`softlogit.regularization_path`; alphas equal to 0 are left out (no log).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        One line per feature (and class, for softmax: colour per feature, line style per
        class), labelled with the feature name (``"<class>: <feature>"`` for softmax); the
        top axis counts the non-zero features.
    """
    alphas = np.asarray(path.alphas, dtype=float)
    keep = alphas > 0
    x = np.log(alphas[keep])
    coefs = np.asarray(path.coefs)[keep]
    rows = _path_rows(path, coefs.shape[1])
    ax = _axes(ax)
    for r, row in enumerate(rows):
        for j, name in enumerate(path.feature_names):
            label = str(name) if row is None else f"{row}: {name}"
            style = LINESTYLES[r % len(LINESTYLES)]
            ax.plot(x, coefs[:, r, j], color=f"C{j % 10}", linestyle=style, label=label)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set(xlabel="log(alpha)", ylabel="coefficient")
    ax.set_title("Regularisation path (top axis: non-zero features)", pad=20)
    if x.size:
        ticks = np.unique(np.linspace(0, x.size - 1, min(x.size, 6)).round().astype(int))
        top = ax.secondary_xaxis("top")
        top.set_xticks(x[ticks], labels=[str(v) for v in np.asarray(path.n_nonzero)[keep][ticks]])
    if len(rows) * len(path.feature_names) <= 20:
        ax.legend(fontsize="small")
    return ax


def plot_cv(cv_model, ax=None):
    """The cross-validation curve: held-out mean +- one standard error against ``alpha``.

    Parameters
    ----------
    cv_model : fitted LogisticRegressionCV or SoftmaxRegressionCV
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        One error-bar line per ``l1_ratio`` (log ``alpha`` axis) and vertical lines at
        ``alpha_`` (best mean, dashed) and ``alpha_1se_`` (one-standard-error rule, dotted).
    """
    _check_fitted(cv_model, "cv_mean_")
    ax = _axes(ax)
    ratios = np.atleast_1d(cv_model.l1_ratios_)
    for r, ratio in enumerate(ratios):
        label = "CV mean +- 1 SE" if ratios.size == 1 else f"l1_ratio = {ratio:g}"
        ax.errorbar(
            cv_model.alphas_[r],
            cv_model.cv_mean_[r],
            yerr=cv_model.cv_se_[r],
            fmt="o-",
            markersize=3,
            capsize=2,
            color=f"C{r}",
            label=label,
        )
    ax.axvline(cv_model.alpha_, color="k", linestyle="--", label=f"alpha_ = {cv_model.alpha_:.3g}")
    ax.axvline(
        cv_model.alpha_1se_,
        color="k",
        linestyle=":",
        label=f"alpha_1se_ = {cv_model.alpha_1se_:.3g}",
    )
    scoring = getattr(cv_model, "scoring", None)
    ylabel = "held-out mean cross-entropy" if scoring is None else f"held-out score ({scoring})"
    ax.set(xscale="log", xlabel="alpha", ylabel=ylabel, title="Cross-validation")
    ax.legend()
    return ax


# --------------------------------------------------------------------------- decision regions
def _frame(X):
    """``X`` as a pandas DataFrame (arrays get integer column labels) and whether it was one."""
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X, True
    return pd.DataFrame(np.asarray(X, dtype=float)), False


def _feature_columns(frame, features):
    """The two column labels named by ``features`` (positions or column names)."""
    if len(features) != 2:
        raise ValueError(f"features must name exactly two columns, got {features!r}")
    columns = []
    for f in features:
        if isinstance(f, (int, np.integer)) and f not in frame.columns:
            columns.append(frame.columns[f])
        elif f in frame.columns:
            columns.append(f)
        else:
            raise ValueError(f"feature {f!r} is not a column of X {list(frame.columns)}")
    return columns


def _grid_frame(frame, columns, resolution, hold):
    """A resolution x resolution grid over the two columns (5% margins); every other column
    held at ``hold[column]``, else its mean (numeric) or most frequent value."""
    import pandas as pd

    axes = []
    for c in columns:
        values = frame[c].to_numpy(dtype=float)
        lo, hi = values.min(), values.max()
        pad = 0.05 * (hi - lo) if hi > lo else 0.5
        axes.append(np.linspace(lo - pad, hi + pad, resolution))
    xx, yy = np.meshgrid(*axes)
    grid = {}
    for c in frame.columns:
        if c == columns[0] or c == columns[1]:
            grid[c] = (xx if c == columns[0] else yy).ravel()
        elif hold is not None and c in hold:
            grid[c] = np.repeat(hold[c], xx.size)
        elif pd.api.types.is_numeric_dtype(frame[c]):
            grid[c] = np.repeat(frame[c].mean(), xx.size)
        else:
            grid[c] = np.repeat(frame[c].mode().iloc[0], xx.size)
    return pd.DataFrame(grid, columns=frame.columns), axes


def plot_decision_regions(model, X, y, features=(0, 1), ax=None, resolution=200, *, hold=None):
    """Predicted class over a grid of two features, with the data points on top.

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression
    X : array-like or data frame
        The rows to draw; the grid spans their range in the two features.
    y : array-like of shape (n,) or None
        Labels colouring the points (None for a formula model reads them from ``X``).
    features : pair of int or column names
        The two features on the axes. With more features, the others are held at their
        means (numeric columns) or most frequent value (other columns).
    ax : matplotlib Axes, optional
    resolution : int
        Grid points per axis.
    hold : dict, optional
        Values to hold chosen other columns at instead (e.g. a level of a column that a
        formula treats as categorical).

    Returns
    -------
    matplotlib Axes
        The regions as an image (``ax.images[0]``: class codes, rows along the second
        feature, pixel centres on the grid) and one scatter per class.
    """
    _check_fitted(model)
    frame, is_frame = _frame(X)
    columns = _feature_columns(frame, features)
    labels = _response(model, X, y)
    grid, (gx, gy) = _grid_frame(frame, columns, int(resolution), hold)
    pred = model.predict(grid if is_frame else grid.to_numpy(dtype=float))
    classes = model.classes_
    codes = np.searchsorted(classes, pred).reshape(gy.size, gx.size)
    ax = _axes(ax)
    _draw_regions(ax, codes, gx, gy, classes.size)
    x_all = frame[columns[0]].to_numpy(dtype=float)
    y_all = frame[columns[1]].to_numpy(dtype=float)
    for k, label in enumerate(classes):
        hit = labels == label
        ax.scatter(x_all[hit], y_all[hit], s=12, color=f"C{k}", edgecolor="k", label=f"{label}")
    names = [str(c) if is_frame else f"x{c}" for c in columns]
    ax.set(xlabel=names[0], ylabel=names[1], title="Decision regions")
    response = getattr(model, "response_name_", None) if model.formula is not None else None
    if frame.shape[1] - (response in frame.columns) > 2:  # a formula's response is no feature
        ax.set_title("Decision regions (other features held fixed)")
    ax.legend(title="class")
    return ax


def _draw_regions(ax, codes, gx, gy, n_classes):
    from matplotlib.colors import ListedColormap

    dx = (gx[-1] - gx[0]) / max(gx.size - 1, 1)
    dy = (gy[-1] - gy[0]) / max(gy.size - 1, 1)
    extent = (gx[0] - dx / 2, gx[-1] + dx / 2, gy[0] - dy / 2, gy[-1] + dy / 2)
    cmap = ListedColormap([f"C{k}" for k in range(n_classes)])
    ax.imshow(
        codes,
        origin="lower",
        extent=extent,
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        vmin=-0.5,
        vmax=n_classes - 0.5,
        alpha=0.3,
    )
