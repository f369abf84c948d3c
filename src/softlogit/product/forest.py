"""The forest plot (:func:`plot_coefficients`, also :mod:`softlogit.plotting`'s) and its
axis: which part of the coefficient line to show, where intervals leave it, and tick labels
for ratio axes that stay readable over any range.

Everything is computed on the coefficient (log-ratio) scale, where every value is a plain
float; ratios are only formed at the end, for values inside a window whose exponentials
are finite. So an estimate of 690 (an odds ratio of 1e300), an interval end of 1e4, an
infinite or a NaN interval end all draw: estimates and interval ends outside the window
are drawn at its edge with an arrow marker, NaN ends leave their interval out.
"""

from __future__ import annotations

import math

import numpy as np

from .plot_base import INTERCEPT, _axes, _check_fitted, _frame

__all__ = ["LOG_LIMIT", "MAX_STRETCH", "plot_coefficients", "ratio_ticks", "window"]

#: Largest |log ratio| drawn: exp(690) ~ 1e300 leaves room below the float range's end.
LOG_LIMIT = 690.0
#: Interval ends may widen the window by at most this many times the width that the
#: estimates and the typical interval span; longer intervals run off the edge.
MAX_STRETCH = 2.0
#: At most this many labelled ticks on a ratio axis.
MAX_TICKS = 7


def window(estimates, lows, highs, ratio):
    """The shown range ``(lo, hi)`` on the coefficient scale.

    Parameters
    ----------
    estimates, lows, highs : sequence of arrays
        Per coefficient row; ``lows``/``highs`` entries may be None (no intervals) and hold
        inf or NaN.
    ratio : bool
        Whether the axis shows ratios (then the window stays within ``+-LOG_LIMIT``).

    Returns
    -------
    tuple of float
        ``lo < hi``, both finite; the range holds 0 (the reference line).
    """
    est = _finite(np.concatenate([np.ravel(e) for e in estimates]))
    ends = [np.ravel(e) for e in (*lows, *highs) if e is not None]
    ends = _finite(np.concatenate(ends)) if ends else np.array([])
    if est.size == 0:
        est = ends if ends.size else np.array([0.0])
    limit = LOG_LIMIT if ratio else np.inf
    est = np.clip(est, -limit, limit)
    with np.errstate(invalid="ignore"):  # inf - inf: no width, dropped below
        half = _typical_half_width(lows, highs, estimates)
    core_lo = min(est.min() - half, 0.0)  # the reference line (0, a ratio of 1) stays in
    core_hi = max(est.max() + half, 0.0)
    width = max(core_hi - core_lo, 1e-6 * max(1.0, np.abs(est).max()), 1e-9)
    lo = min(core_lo, ends.min()) if ends.size else core_lo
    hi = max(core_hi, ends.max()) if ends.size else core_hi
    lo = max(lo, core_lo - MAX_STRETCH * width, -limit)
    hi = min(hi, core_hi + MAX_STRETCH * width, limit)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    return float(lo), float(hi)


def _finite(values):
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _typical_half_width(lows, highs, estimates):
    """The median finite half-width of the intervals (0 without intervals)."""
    widths = []
    for low, high, est in zip(lows, highs, estimates, strict=True):
        if low is not None:
            widths.append(np.asarray(high, float) - np.asarray(est, float))
            widths.append(np.asarray(est, float) - np.asarray(low, float))
    if not widths:
        return 0.0
    finite = _finite(np.concatenate(widths))
    finite = finite[finite >= 0]
    return float(np.median(finite)) if finite.size else 0.0


def ratio_ticks(lo, hi):
    """Tick positions (on the coefficient scale, i.e. log ratios) and labels for a ratio
    axis over ``exp(lo) .. exp(hi)``.

    Within about two decades the ticks are the 1-2-5 values (``0.5``, ``1``, ``2``); over
    more, powers of ten at a stride that keeps at most ``MAX_TICKS`` labels. Values from
    1e-3 to 1e4 are labelled plainly, the others as ``10^k`` (mathtext), so labels stay
    short and cannot run into each other.

    Parameters
    ----------
    lo, hi : float
        The window on the coefficient scale (natural log of the ratio).

    Returns
    -------
    positions : list of float
    labels : list of str
    """
    d0, d1 = lo / math.log(10), hi / math.log(10)
    if d1 - d0 <= 2.5:
        for multipliers in ((1, 2, 5), (1, 5), (1,)):
            ticks = [
                (m, k)
                for k in range(math.floor(d0) - 1, math.ceil(d1) + 1)
                for m in multipliers
                if d0 <= k + math.log10(m) <= d1
            ]
            if 2 <= len(ticks) <= MAX_TICKS:
                break
        if len(ticks) < 2:  # a narrow window: plain evenly spaced values
            return _linear_ratio_ticks(lo, hi)
    else:
        stride = _nice_stride((math.floor(d1) - math.ceil(d0) + 1) / MAX_TICKS)
        start = stride * math.ceil(math.ceil(d0) / stride)
        ticks = [(1, k) for k in range(start, math.floor(d1) + 1, stride)]
    positions = [(k + math.log10(m)) * math.log(10) for m, k in ticks]
    return positions, [_ratio_label(m, k) for m, k in ticks]


def _nice_stride(at_least):
    """The smallest of 1, 2, 5, 10, 20, 25, 50, 100, ... decades that is >= ``at_least``."""
    scale = 1
    while True:
        for step in (1, 2, 5) if scale == 1 else (1, 2, 2.5, 5):
            if step * scale >= at_least and float(step * scale).is_integer():
                return int(step * scale)
        scale *= 10


def _linear_ratio_ticks(lo, hi):
    """Evenly spaced round ratios inside a window narrower than a 1-2-5 step."""
    from matplotlib.ticker import MaxNLocator

    a, b = math.exp(lo), math.exp(hi)
    values = [v for v in MaxNLocator(nbins=5).tick_values(a, b) if a <= v <= b and v > 0]
    for digits in range(3, 13):  # as many digits as it takes to tell the ticks apart
        labels = [f"{v:.{digits}g}" for v in values]
        if len(set(labels)) == len(labels):
            break
    return [math.log(v) for v in values], labels


def _ratio_label(multiplier, exponent):
    if -3 <= exponent <= 3:
        return f"{multiplier * 10.0**exponent:g}"
    if multiplier == 1:
        return f"$10^{{{exponent}}}$"
    return f"${multiplier}\\times10^{{{exponent}}}$"


# --------------------------------------------------------------------------- coefficients
def _has_standard_errors(model):
    """Whether ``coef_table`` gives intervals: not after lasso selection, not for the
    symmetric (``reference=None``) softmax parameterisation."""
    lasso = getattr(model, "has_lasso_penalty", False)
    symmetric = model.classes_.size > 2 and getattr(model, "reference", "first") is None
    return not lasso and not symmetric


def _table_rows(table):
    """Split a coefficient table into (class or None, sub-table) per coefficient row."""
    if table.index.nlevels == 1:
        return [(None, table)]
    labels = table.index.get_level_values(0).unique()
    return [(label, table.xs(label, level=0)) for label in labels]


def _estimates(model, alpha, cov_type, groups):
    """(class or None, terms, estimate, ci_low, ci_high) per coefficient row; the interval
    ends are None when the model gives no standard errors (then the rows are those of the
    summary's coefficient-only table)."""
    if _has_standard_errors(model):
        table = model.coef_table(alpha, cov_type, groups)
        return [
            (label, [str(t) for t in part.index], *part[["coef", "ci_low", "ci_high"]].T.to_numpy())
            for label, part in _table_rows(table)
        ]
    table = model.summary().table
    return [
        (label, [str(t) for t in part.index], part["coef"].to_numpy(dtype=float), None, None)
        for label, part in _table_rows(table)
    ]


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
    cov_type=None,
    groups=None,
    X=None,
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
    X : array-like or data frame, optional
        Rows to standardise with: each term that is a numeric column of ``X`` (by name, or
        by position for arrays) is drawn per standard deviation of that column,
        ``coef * sd``, with its interval scaled alike, so features on raw scales compare.
        Other terms (the intercept, indicator and interaction columns of a formula) are
        drawn as they are.

    Returns
    -------
    matplotlib Axes
        One error-bar series per coefficient row (per non-reference class for softmax, each
        with its colour and vertical offset). Models without standard errors (lasso or
        elastic-net selection, ``reference=None``) get points only. The x range holds
        every estimate and ordinary interval; estimates and interval ends beyond it
        (overflowing ratios, infinite or very wide intervals) are drawn at its edge with an
        arrow marker (``ax.softlogit_clipped`` counts them); NaN ends leave their interval
        out. ``ax.softlogit_scales`` maps the terms to the factors applied (all 1 without
        ``X``).
    """
    _check_fitted(model)
    rows = _estimates(model, alpha, cov_type, groups)
    terms = [t for t in rows[0][1] if include_intercept or t != INTERCEPT]
    scales = _term_scales(model, X, terms)
    rows = [_scaled(row, scales, terms) for row in rows]
    ax = _axes(ax)
    lo, hi = window([r[2] for r in rows], [r[3] for r in rows], [r[4] for r in rows], odds_ratio)
    position = {t: len(terms) - 1 - i for i, t in enumerate(terms)}
    offsets = np.linspace(-0.25, 0.25, len(rows)) if len(rows) > 1 else [0.0]
    clipped = 0
    for i, (label, names, est, low, high) in enumerate(rows):
        y = np.array([position[t] for t in names]) + offsets[i]
        with np.errstate(invalid="ignore", over="ignore"):  # inf and NaN entries are drawn apart
            clipped += _draw_series(ax, (est, low, high), y, (lo, hi), odds_ratio, i, label, model)
    ax.axvline(1.0 if odds_ratio else 0.0, color="grey", linestyle="--", linewidth=1)
    _coefficient_axis(ax, lo, hi, odds_ratio)
    ax.set_yticks(list(position.values()), list(position))
    ax.set_xlabel(_coef_label(model, odds_ratio, X is not None))
    ax.set_title(_coef_title(model, odds_ratio, X is not None, rows[0][3] is not None, alpha))
    if len(rows) > 1:
        ax.legend(title="class")
    ax.softlogit_clipped = clipped
    ax.softlogit_scales = scales
    return ax


def _term_scales(model, X, terms):
    """Standard deviation of each term's column of ``X`` (1 for terms without one)."""
    scales = dict.fromkeys(terms, 1.0)
    if X is None:
        return scales
    frame, is_frame = _frame(X.toarray() if hasattr(X, "toarray") else X)
    names = [str(v) for v in getattr(model, "feature_names_in_", [])]
    for t in terms:
        if is_frame:
            column = t if t in frame.columns else None
        else:
            column = names.index(t) if t in names else _position(t, frame.shape[1])
        if column is None or t == INTERCEPT:
            continue
        values = frame[column]
        if np.issubdtype(values.dtype, np.number) and values.dtype != bool:
            sd = float(np.nanstd(values.to_numpy(dtype=float), ddof=1))
            scales[t] = sd if np.isfinite(sd) and sd > 0 else 1.0
    return scales


def _position(term, n_columns):
    """The column position of a default feature name ``x<j>``, or None."""
    if term.startswith("x") and term[1:].isdigit() and int(term[1:]) < n_columns:
        return int(term[1:])
    return None


def _scaled(row, scales, terms):
    """A coefficient row limited to ``terms`` and multiplied by their scales."""
    label, names, est, low, high = row
    keep = np.array([t in scales for t in names])
    names = [t for t in names if t in scales]
    factor = np.array([scales[t] for t in names])
    with np.errstate(invalid="ignore", over="ignore"):
        parts = [
            None if v is None else np.asarray(v, float)[keep] * factor for v in (est, low, high)
        ]
    return (label, names, *parts)


def _draw_series(ax, values, y, limits, odds_ratio, i, label, model):
    """One row's estimates and intervals, clipped to ``limits`` (coefficient scale) with
    arrow markers where they leave it; returns how many values were clipped."""
    est, low, high = values
    lo, hi = limits
    f = np.exp if odds_ratio else np.asarray
    name = _series_label(label, getattr(model, "reference_", None))
    shown = np.isfinite(est) | np.isinf(est)  # NaN estimates are not drawn
    x = f(np.clip(np.nan_to_num(est, nan=0.0), lo, hi))
    clipped = int(np.sum(shown & ((est < lo) | (est > hi))))
    if low is None:
        ax.plot(x[shown], y[shown], "o", color=f"C{i}", label=name)
    else:
        bars = shown & ~np.isnan(low) & ~np.isnan(high)
        _interval_bars(ax, (x, y), (np.clip(low, lo, hi), np.clip(high, lo, hi)), bars, f, i, name)
        if (shown & ~bars).any():
            ax.plot(x[shown & ~bars], y[shown & ~bars], "o", color=f"C{i}", label="_no_interval")
        for side, ends, marker in ((lo, low, "<"), (hi, high, ">")):
            off = bars & ((ends < lo) if side == lo else (ends > hi))
            clipped += int(off.sum())
            if off.any():
                ax.plot(
                    np.full(off.sum(), f(side)), y[off], marker, color=f"C{i}", label="_clipped"
                )
    for side, marker in ((lo, "<"), (hi, ">")):
        off = shown & ((est < lo) if side == lo else (est > hi))
        if not off.any():
            continue
        ax.plot(
            np.full(off.sum(), f(side)),
            y[off],
            marker,
            markersize=9,
            color=f"C{i}",
            label="_clipped",
        )
    return clipped


def _interval_bars(ax, points, ends, bars, f, i, name):
    """Points with horizontal interval segments, as one ErrorbarContainer (data line, caps,
    bars). The segments are drawn from their ends, not as ``x -+ xerr``: on a ratio axis
    ``1e292 - 1e67`` would round to 0 and run the bar off the axis."""
    from matplotlib.container import ErrorbarContainer

    x, y = points[0][bars], points[1][bars]
    left, right = f(ends[0][bars]), f(ends[1][bars])
    colour = f"C{i}"
    segments = ax.hlines(y, left, right, color=colour, label="_interval")
    (line,) = ax.plot(x, y, "o", color=colour, label="_nolegend_")
    caps = ax.plot(np.r_[left, right], np.r_[y, y], "|", color=colour, markersize=6)
    container = ErrorbarContainer((line, tuple(caps), (segments,)), has_xerr=True, label=name)
    ax.add_container(container)


def _coefficient_axis(ax, lo, hi, odds_ratio):
    """Limits (with a margin for the edge markers) and, for ratios, a log axis whose
    labels stay short over any range."""
    from matplotlib.ticker import NullLocator

    pad = 0.04 * (hi - lo)
    if not odds_ratio:
        ax.set_xlim(lo - pad, hi + pad)
        return
    limit = LOG_LIMIT + 5
    ax.set_xlim(np.exp(max(lo - pad, -limit)), np.exp(min(hi + pad, limit)))
    ax.set_xscale("log")  # after the limits: no autoscaling near the float range's end
    positions, labels = ratio_ticks(lo, hi)
    ax.set_xticks(np.exp(positions), labels)
    ax.xaxis.set_minor_locator(NullLocator())


def _coef_label(model, odds_ratio, standardised=False):
    binary = model.classes_.size == 2
    per = " per standard deviation" if standardised else ""
    if odds_ratio:
        return ("odds ratio" if binary else "relative-risk ratio") + per
    return ("coefficient (log-odds)" if binary else "coefficient (log relative risk)") + per


def _coef_title(model, odds_ratio, standardised, intervals, alpha):
    binary = model.classes_.size == 2
    what = "Coefficients"
    if odds_ratio:
        what = "Odds ratios" if binary else "Relative-risk ratios"
    if standardised:
        what = f"Standardised {what.lower()}"
    if not intervals:
        return f"{what} (no standard errors: points only)"
    return f"{what} with {100 * (1 - alpha):g}% confidence intervals"
