"""What the figure functions share: matplotlib on demand, the Axes to draw on, the true
labels of the rows, one-vs-rest curves and PNG encoding (for the report)."""

from __future__ import annotations

import base64
import io

import numpy as np

__all__ = ["INSTALL_HINT", "INTERCEPT", "figure_to_png_base64", "true_labels"]

INSTALL_HINT = "plotting needs matplotlib: pip install softlogit[plot]"
INTERCEPT = "Intercept"


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


def true_labels(model, X, y):
    """The true labels of the rows ``X``: ``y`` as an array, or for a formula model with
    ``y=None`` the response column of the data frame ``X``.

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression
    X : array-like or data frame
    y : array-like of shape (n,) or None

    Returns
    -------
    ndarray of shape (n,)
    """
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
    y = true_labels(model, X, y)
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


def _frame(X):
    """``X`` as a pandas DataFrame (arrays get integer column labels) and whether it was one."""
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X, True
    return pd.DataFrame(np.asarray(X, dtype=float)), False
