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
* Diagnostics: :func:`plot_residuals`, :func:`plot_influence` (leverage with Cook's distance
  contours), from :mod:`softlogit.product.diagnostic_plots`.
"""

from __future__ import annotations

import numpy as np

from ..data.class_order import label_codes
from .diagnostic_plots import plot_influence, plot_residuals
from .forest import plot_coefficients
from .plot_base import (
    _axes,
    _check_fitted,
    _frame,
    _one_vs_rest,
    figure_to_png_base64,
    true_labels,
)

__all__ = [
    "figure_to_png_base64",
    "plot_calibration",
    "plot_coefficients",
    "plot_cv",
    "plot_decision_regions",
    "plot_influence",
    "plot_path",
    "plot_residuals",
    "plot_roc",
    "plot_loss_curve",
    "plot_training_curve",
    "true_labels",
]

LINESTYLES = ("-", "--", ":", "-.")
#: Colours of the labelled path lines: the default cycle without its grey (C7), which the
#: unlabelled lines use.
PATH_COLOURS = ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C8", "C9")


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


def plot_calibration(
    model, X, y, n_bins="auto", ax=None, *, strategy="quantile", show_counts=True, alpha=0.05
):
    """Reliability diagram: observed frequency against mean predicted probability per bin,
    with the rows per bin and a Wilson interval for each observed frequency.

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression
    X, y : rows and true labels (``y=None`` for a formula model reads them from ``X``)
    n_bins : int or "auto"
        Number of probability bins; ``"auto"``: one per 20 rows, from 2 to 10.
    ax : matplotlib Axes, optional
    strategy : {"quantile", "uniform"}
        Bins with equal counts (the default: no nearly empty bins that zig-zag) or
        equal-width bins, as :func:`sklearn.calibration.calibration_curve`.
    show_counts : bool
        Write each bin's row count next to its point (for one curve; points closer than
        0.06 to the last labelled one are left unlabelled). The title gives the range of
        rows per bin.
    alpha : float
        The vertical bars are ``1 - alpha`` Wilson intervals of the observed frequencies.

    Returns
    -------
    matplotlib Axes
        One line per class (the positive class only, for two classes) through the
        ``(mean predicted, observed)`` points of the non-empty bins, plus the diagonal.
        ``ax.softlogit_counts`` lists the rows per drawn point, one array per line.
    """
    curves = _one_vs_rest(model, X, y)
    ax = _axes(ax)
    bins = _auto_bins(len(curves[0][1]) if curves else 0) if n_bins == "auto" else int(n_bins)
    counts = []
    for k, (label, target, score) in enumerate(curves):
        observed, predicted, total = _calibration_bins(target, score, bins, strategy)
        (line,) = ax.plot(predicted, observed, marker="o", color=f"C{k}", label=f"P(y = {label})")
        low, high = _wilson(observed, total, alpha)
        ax.vlines(predicted, low, high, color=line.get_color(), alpha=0.6, label="_interval")
        if show_counts and len(curves) == 1:
            _annotate_counts(ax, predicted, observed, total)
        counts.append(total)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability")
    kind = "equal-count" if strategy == "quantile" else "equal-width"
    sizes = np.concatenate(counts) if counts else np.array([0])
    rows = f"{sizes.min()}" if sizes.min() == sizes.max() else f"{sizes.min()}-{sizes.max()}"
    ax.set(ylabel="observed frequency", title=f"Calibration ({bins} {kind} bins of {rows} rows)")
    ax.legend(loc="upper left")
    ax.softlogit_counts = counts
    return ax


def _annotate_counts(ax, predicted, observed, total):
    """Write each bin's rows next to its point, skipping points too close to the last
    labelled one to be told apart."""
    last = -1.0
    for px, py, n in zip(predicted, observed, total, strict=True):
        if px - last < 0.06:
            continue
        ax.annotate(
            f"{n}",
            (px, py),
            xytext=(4, -10),
            textcoords="offset points",
            fontsize="x-small",
            color="0.3",
        )
        last = px


def _auto_bins(n_rows):
    return int(np.clip(n_rows // 20, 2, 10))


def _calibration_bins(target, score, n_bins, strategy):
    """(observed, mean predicted, rows) of the non-empty bins, binned as
    :func:`sklearn.calibration.calibration_curve` bins."""
    if strategy == "quantile":
        edges = np.percentile(score, np.linspace(0, 100, n_bins + 1))
    elif strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    ids = np.searchsorted(edges[1:-1], score)
    total = np.bincount(ids, minlength=n_bins)
    sums = np.bincount(ids, weights=score, minlength=n_bins)
    hits = np.bincount(ids, weights=target, minlength=n_bins)
    keep = total > 0
    return hits[keep] / total[keep], sums[keep] / total[keep], total[keep]


def _wilson(p, n, alpha):
    """Wilson score interval of proportions ``p`` out of ``n``."""
    from scipy.stats import norm

    z = norm.ppf(1 - alpha / 2)
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


# --------------------------------------------------------------------------- optimisation
def _default_model(y):
    from ..estimators import LogisticRegression, SoftmaxRegression

    binary = np.unique(np.asarray(y)).size == 2
    return (LogisticRegression if binary else SoftmaxRegression)(random_state=0)


def plot_loss_curve(model, ax=None):
    """The fit's own optimisation history: the objective gap per iteration (or epoch).

    Draws ``loss_curve_ - min(loss_curve_)`` of the fitted model on a log axis; nothing is
    refitted, so the figure shows the fit that was made (solver, penalty, weights, offset).

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression (or a CV variant)
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        One line, labelled with the solver, the number of steps and whether it converged.
        Gaps below machine precision are drawn at ``eps * max(1, |min|)``.
    """
    _check_fitted(model)
    curve = np.asarray(getattr(model, "loss_curve_", []), dtype=float)
    ax = _axes(ax)
    converged = "converged" if model.converged_ else "did NOT converge"
    solver = getattr(model, "solver_", model.solver)
    if curve.size:
        best = np.nanmin(curve)
        floor = np.finfo(float).eps * max(1.0, abs(best))
        gap = np.maximum(curve - best, floor)
        label = f"{solver}: {curve.size} steps, {converged}"
        ax.plot(
            np.arange(1, curve.size + 1), gap, marker="o" if curve.size < 30 else "", label=label
        )
        ax.set_yscale("log")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no history recorded", ha="center", va="center", transform=ax.transAxes)
    ax.set(xlabel="iteration (Newton, L-BFGS, CD) / epoch (SGD, Adam)")
    ax.set(ylabel="objective - final minimum", title=f"Optimisation history ({solver})")
    return ax


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


def plot_path(path, ax=None, *, X=None, n_labels=8):
    """Coefficient paths: each coefficient against ``log(alpha)`` (natural log).

    Parameters
    ----------
    path : RegularizationPath
        From :func:`softlogit.regularization_path`; alphas equal to 0 are left out (no log).
    ax : matplotlib Axes, optional
    X : array-like or data frame, optional
        The training features: with them each coefficient is drawn per standard deviation
        of its feature (``coef * sd``, the standardised coefficient), so features on raw
        scales compare; columns are matched by name (data frames) or position.
    n_labels : int
        Lines to label: the ``n_labels`` largest in absolute value at the least-penalised
        end get a colour and a legend entry; the others are drawn thin and grey.

    Returns
    -------
    matplotlib Axes
        One line per feature (and class, for softmax: line style per class), labelled with
        the feature name (``"<class>: <feature>"`` for softmax; a leading ``_`` hides the
        unlabelled ones from the legend); the top axis counts the non-zero features.
    """
    alphas = np.asarray(path.alphas, dtype=float)
    keep = alphas > 0
    x = np.log(alphas[keep])
    coefs = np.asarray(path.coefs, dtype=float)[keep]
    names = [str(v) for v in path.feature_names]
    if X is not None:
        coefs = coefs * _feature_sds(X, names)
    rows = _path_rows(path, coefs.shape[1])
    ax = _axes(ax)
    ranked = _largest(coefs, n_labels)
    colour = 0
    for r, row in enumerate(rows):
        for j, name in enumerate(names):
            label = name if row is None else f"{row}: {name}"
            style = LINESTYLES[r % len(LINESTYLES)]
            if (r, j) in ranked:
                ax.plot(
                    x, coefs[:, r, j], color=PATH_COLOURS[colour % 9], linestyle=style, label=label
                )
                colour += 1
            else:
                ax.plot(
                    x,
                    coefs[:, r, j],
                    color="0.7",
                    linewidth=0.8,
                    linestyle=style,
                    label=f"_{label}",
                )
    ax.axhline(0.0, color="grey", linewidth=0.8, label="_zero")
    ax.set(xlabel="log(alpha)", ylabel="coefficient per SD" if X is not None else "coefficient")
    what = "Standardised regularisation path" if X is not None else "Regularisation path"
    ax.set_title(f"{what} (top axis: non-zero features)", pad=20)
    if x.size:
        ticks = np.unique(np.linspace(0, x.size - 1, min(x.size, 6)).round().astype(int))
        top = ax.secondary_xaxis("top")
        top.set_xticks(x[ticks], labels=[str(v) for v in np.asarray(path.n_nonzero)[keep][ticks]])
    if ranked:
        title = None if len(ranked) == coefs.shape[1] * coefs.shape[2] else f"largest {len(ranked)}"
        ax.legend(fontsize="small", title=title, title_fontsize="small")
    return ax


def _feature_sds(X, names):
    """Standard deviation of each feature (by name in a data frame, else by position)."""
    frame, is_frame = _frame(X.toarray() if hasattr(X, "toarray") else X)
    if is_frame and all(n in frame.columns for n in names):
        frame = frame[names]
    if frame.shape[1] != len(names):
        raise ValueError(f"X has {frame.shape[1]} columns, the path {len(names)} features")
    sd = frame.to_numpy(dtype=float).std(axis=0, ddof=1)
    return np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)


def _largest(coefs, n_labels):
    """(row, feature) pairs of the ``n_labels`` largest |coefficients| at the
    least-penalised end of the path (the largest along the path breaks ties)."""
    if coefs.shape[0] == 0:
        return set()
    end = np.abs(np.nan_to_num(coefs[-1]))
    peak = np.abs(np.nan_to_num(coefs)).max(axis=0)
    order = np.lexsort((-peak.ravel(), -end.ravel()))[: max(int(n_labels), 0)]
    m, p = coefs.shape[1:]
    return {(int(k) // p, int(k) % p) for k in order}


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
    labels = true_labels(model, X, y)
    grid, (gx, gy) = _grid_frame(frame, columns, int(resolution), hold)
    pred = model.predict(grid if is_frame else grid.to_numpy(dtype=float))
    classes = model.classes_
    codes = label_codes(pred, classes).reshape(gy.size, gx.size)  # any class order
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
