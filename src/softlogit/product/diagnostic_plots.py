r"""Residual and influence plots of a binary model, as R's ``plot.glm`` panels 1 and 5.

* :func:`plot_residuals`: residuals against the linear predictor, with the mean residual
  in quantile bins of the predictor as a guide (R draws a lowess smooth).
* :func:`plot_influence`: standardised Pearson residuals against the hat values, with
  Cook's distance contours :math:`\pm\sqrt{D\,p\,(1 - h)/h}` at the levels :math:`D`
  (R's 0.5 and 1) and the rows of largest Cook's distance labelled.

The numbers come from :func:`softlogit.stats.influence.diagnostics_table`; matplotlib is
imported only when a figure is drawn (``pip install softlogit[plot]``).
"""

from __future__ import annotations

import numpy as np

from ..stats.influence import diagnostics_table
from ..stats.residuals import ALIASES, BINARY_KINDS
from .plot_base import _axes, _check_fitted

__all__ = ["plot_influence", "plot_residuals"]

#: Bins of the residual guide line (at most; fewer for few rows).
GUIDE_BINS = 20


def plot_residuals(
    model, X=None, y=None, kind="deviance", ax=None, *, sample_weight=None, offset=None
):
    r"""Residuals against the linear predictor :math:`\eta_i` (R's "Residuals vs Fitted").

    Parameters
    ----------
    model : fitted LogisticRegression
    X, y, sample_weight, offset : optional
        The rows (None: the training rows), as for :meth:`residuals`.
    kind : str
        A binary residual kind of :func:`softlogit.stats.residuals.residuals`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    _check_fitted(model)
    kind = ALIASES.get(kind, kind)
    if kind not in BINARY_KINDS:
        raise ValueError(f"kind={kind!r} is not one of {BINARY_KINDS}")
    table = diagnostics_table(
        model, X, y, sample_weight, offset, columns=("linear_predictor", kind), influence=False
    )
    eta, res = table["linear_predictor"].to_numpy(), table[kind].to_numpy()
    ax = _axes(ax)
    ax.scatter(eta, res, s=12, alpha=0.6, color="C0", label="rows")
    centre, mean = _binned_means(eta, res)
    ax.plot(centre, mean, color="C3", lw=1.5, label="mean in bins")
    ax.axhline(0.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("linear predictor")
    ax.set_ylabel(f"{kind.replace('_', ' ')} residual")
    ax.set_title("Residuals vs linear predictor")
    ax.legend(loc="best", fontsize="small")
    return ax


def _binned_means(x, r):
    """Centres and mean ``r`` of quantile bins of ``x`` (finite values only)."""
    ok = np.isfinite(x) & np.isfinite(r)
    x, r = x[ok], r[ok]
    n_bins = int(min(GUIDE_BINS, max(1, x.size // 10)))
    if x.size == 0:
        return np.array([]), np.array([])
    edges = np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)))
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, max(edges.size - 2, 0))
    counts = np.bincount(which)
    keep = counts > 0
    centre = np.bincount(which, weights=x)[keep] / counts[keep]
    return centre, np.bincount(which, weights=r)[keep] / counts[keep]


def plot_influence(
    model,
    X=None,
    y=None,
    ax=None,
    *,
    levels=(0.5, 1.0),
    n_labels=3,
    sample_weight=None,
    offset=None,
):
    r"""Standardised Pearson residuals against leverage, with Cook's distance contours
    (R's "Residuals vs Leverage").

    Parameters
    ----------
    model : fitted LogisticRegression
    X, y, sample_weight, offset : optional
        The rows (None: the training rows), as for :meth:`influence`.
    ax : matplotlib Axes, optional
    levels : sequence of float
        Cook's distances :math:`D` of the dashed contours
        :math:`r = \pm\sqrt{D\,p\,(1 - h)/h}` (:math:`p` the estimated parameters).
    n_labels : int
        Label this many rows of largest Cook's distance with their position.

    Returns
    -------
    matplotlib Axes
    """
    _check_fitted(model)
    table = diagnostics_table(
        model, X, y, sample_weight, offset, columns=("standardized_pearson",), influence=True
    )
    h, r = table["hat"].to_numpy(), table["standardized_pearson"].to_numpy()
    cooks = table["cooks_d"].to_numpy()
    p = model.results_.k_params
    ax = _axes(ax)
    ax.scatter(h, r, s=12, alpha=0.6, color="C0")
    ax.axhline(0.0, color="grey", lw=0.8, ls=":")
    top = np.nanmax(h) if np.any(np.isfinite(h)) else 1.0
    grid = np.linspace(max(top, 1e-3) / 200, min(max(top * 1.05, 1e-3), 0.999), 200)
    for j, level in enumerate(levels):
        bound = np.sqrt(level * p * (1 - grid) / grid)
        label = "Cook's distance" if j == 0 else None
        for sign in (1, -1):
            ax.plot(grid, sign * bound, color="C3", ls="--", lw=1, label=label)
            label = None
        ax.annotate(f"{level:g}", (grid[-1], bound[-1]), color="C3", fontsize="small")
    finite = np.flatnonzero(np.isfinite(cooks))
    for i in finite[np.argsort(cooks[finite])[::-1][: max(0, int(n_labels))]]:
        ax.annotate(
            str(i), (h[i], r[i]), fontsize="small", xytext=(3, 3), textcoords="offset points"
        )
    span = np.nanmax(np.abs(r)) if np.any(np.isfinite(r)) else 1.0
    ax.set_ylim(-1.15 * span, 1.15 * span)
    ax.set_xlim(0, grid[-1] * 1.02)
    ax.set_xlabel("leverage (hat value)")
    ax.set_ylabel("standardized Pearson residual")
    ax.set_title("Residuals vs leverage")
    ax.legend(loc="best", fontsize="small")
    return ax
