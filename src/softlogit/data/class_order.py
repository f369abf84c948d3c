"""The order of a binary model's classes: which label is modelled (the positive class).

A binary model is :math:`P(y = c_1 \\mid x) = \\sigma(x^T\\beta + b)` with ``classes_ =
[c_0, c_1]``; by default ``c_1`` is the larger label (the second in sorted order). With
``positive_class=c`` the classes are ordered ``[other, c]``, so that ``classes_[1]``, the
class ``coef_``, ``decision_function`` and scikit-learn's scorers refer to, is ``c`` and the
coefficients are its log-odds: choosing the smaller label negates every coefficient
(:math:`\\operatorname{logit}(1 - p) = -\\operatorname{logit}(p)`).

Functions here order the labels (:func:`positive_order`), recode rows to that order
(:func:`reorder_codes`, :func:`label_codes`) and reorder a descriptive pass's summary
(:func:`reorder_summary`); the rest of the fit works on any order of ``classes``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

__all__ = ["label_codes", "positive_order", "reorder_codes", "reorder_summary"]


def positive_order(classes, positive):
    """Indices into the sorted ``classes`` that put ``positive`` last (the modelled class).

    Parameters
    ----------
    classes : ndarray of shape (2,)
        The sorted labels.
    positive : label or None
        The modelled class; None: the larger label (the identity order).

    Returns
    -------
    ndarray of int of shape (2,)
        ``[0, 1]`` or ``[1, 0]``.

    Raises
    ------
    ValueError
        When ``positive`` is not one of ``classes`` (naming it and the classes).
    """
    order = np.arange(len(classes))
    if positive is None:
        return order
    hits = [k for k, c in enumerate(classes) if _same_label(c, positive)]
    if not hits:
        raise ValueError(
            f"positive_class={positive!r} is not a class label; classes are "
            f"{np.asarray(classes).tolist()}"
        )
    return np.r_[np.delete(order, hits[0]), hits[0]]


def _same_label(label, value):
    """Whether ``label == value`` as one boolean (a string never equals a number)."""
    if isinstance(label, (str, bytes)) != isinstance(value, (str, bytes)):
        return False
    return bool(label == value)


def reorder_codes(classes, codes, order):
    """``classes[order]`` and the row codes in that order (unchanged for the identity)."""
    if np.array_equal(order, np.arange(order.size)):
        return classes, codes
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return classes[order], inverse[codes]


def label_codes(labels, classes):
    """Codes of ``labels`` in ``classes`` of any order (sorted or a positive-class order);
    -1 for a label not in ``classes``."""
    labels = np.asarray(labels)
    order = np.argsort(classes, kind="stable")
    ranked = classes[order]
    at = np.minimum(np.searchsorted(ranked, labels), ranked.size - 1)
    found = ranked[at] == labels
    return np.where(found, order[at], -1)


def reorder_summary(summary, order):
    """A descriptive pass's :class:`~softlogit.data.bound.DataSummary` with its per-class
    arrays in the class order ``order``."""
    return replace(
        summary,
        classes=summary.classes[order],
        class_weight_totals=np.asarray(summary.class_weight_totals)[order],
        class_counts=np.asarray(summary.class_counts)[order],
    )
