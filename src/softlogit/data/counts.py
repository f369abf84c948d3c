r"""Counts responses: grouped binomial (successes and trials) and multinomial class counts.

A counts row :math:`i` carries class counts :math:`c_{ik} \ge 0` (binomial: failures and
successes), :math:`N_i = \sum_k c_{ik}`, and a prior weight :math:`w_i`. It is fitted by
*expansion*: row :math:`i` becomes one row per class with :math:`c_{ik} > 0`, of label
:math:`k` and frequency weight :math:`w_i c_{ik}` (features and offset repeated). The
Bernoulli (categorical) log-likelihood of the expanded rows is

.. math::

    \ell_B = \sum_i w_i \sum_k c_{ik} \log p_{ik},

so the estimates and the model-based covariance equal those of the expanded 0/1 data, and
every solver, penalty and check works unchanged. R reports the *grouped* scale
(``glm(cbind(s, f) ~ x, binomial)``, ``VGAM::vglm(cbind(n1, n2, n3) ~ x, multinomial)``):

.. math::

    \ell = \ell_B + \sum_i w_i \log\frac{N_i!}{\prod_k c_{ik}!}, \qquad
    D = 2\,(\ell_S - \ell_B), \quad \ell_S = \sum_i w_i \sum_k c_{ik}\log\frac{c_{ik}}{N_i},

with :math:`\ell_S` the saturated grouped model's Bernoulli-scale log-likelihood
(:math:`0 \log 0 = 0`). :class:`GroupedScale` holds the sums these need; they add over
chunks, so streamed and Dask fits compute them in their descriptive pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, xlogy

from ..exceptions import warn

__all__ = [
    "GroupedScale",
    "binomial_counts",
    "check_counts",
    "counts_summary",
    "expand_counts",
    "grouped_scale",
    "is_counts_response",
]

#: Counts within this (relative) distance of an integer are rounded to it, as R's
#: ``binomial()$aic`` rounds ``m * y`` (a proportion times its trials is rarely exact).
INTEGER_TOL = 1e-7


@dataclass(frozen=True)
class GroupedScale:
    r"""Sums over the grouped (counts) rows that R's grouped fit statistics need.

    Attributes
    ----------
    n_rows : float
        Grouped rows with :math:`w_i N_i > 0` (R's ``nobs``).
    log_coef : float
        :math:`\sum_i w_i \log(N_i! / \prod_k c_{ik}!)` (``gammaln``).
    saturated : float
        :math:`\sum_i w_i \sum_k c_{ik} \log(c_{ik} / N_i)`.
    """

    n_rows: float
    log_coef: float
    saturated: float

    def __add__(self, other):
        return GroupedScale(
            self.n_rows + other.n_rows,
            self.log_coef + other.log_coef,
            self.saturated + other.saturated,
        )


def is_counts_response(y):
    """Whether ``y`` is a counts matrix: two-dimensional with at least two columns."""
    if y is None:
        return False
    if getattr(y, "ndim", None) is None:  # a list (or an object with only __array__)
        try:
            y = np.asarray(y, dtype=object)
        except ValueError:  # ragged: not counts (the label checks say what is wrong)
            return False
    return y.ndim == 2 and y.shape[1] >= 2


def _count_names(y):
    columns = getattr(y, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def check_counts(y, n_rows, name="y"):
    """The counts matrix ``y`` (n, K) as floats: finite and non-negative, one row per
    data row; near-integers are rounded, other non-integers kept with a warning (as R's
    ``glm`` warns 'non-integer #successes').

    Returns
    -------
    counts : ndarray of shape (n, K)
    names : list of str or None
        The frame's column names, when ``y`` is one.
    """
    names = _count_names(y)
    C = np.array(y, dtype=float)
    if C.ndim != 2 or C.shape[0] != n_rows:
        raise ValueError(f"{name} has shape {C.shape}; counts need ({n_rows}, K), one row per row")
    bad = ~np.isfinite(C) | (C < 0)
    if bad.any():
        i, k = (int(v[0]) for v in np.nonzero(bad))
        col = names[k] if names else k
        raise ValueError(
            f"{name} holds counts, which must be finite and >= 0; row {i}, column {col!r} "
            f"has {float(C[i, k])!r}"
        )
    rounded = np.round(C)
    near = np.abs(C - rounded) <= INTEGER_TOL * np.maximum(1.0, C)
    C = np.where(near, rounded, C)
    if not near.all():
        i, k = (int(v[0]) for v in np.nonzero(~near))
        warn(
            f"{name} holds non-integer counts (row {i} has {float(C[i, k])!r}); they are used as "
            "frequency weights, as R's glm does (with its warning)"
        )
    return C, names


def binomial_counts(y, trials, n_rows):
    """The (n, 2) counts ``[failures, successes]`` of a grouped binomial response.

    Parameters
    ----------
    y : array-like of shape (n, 2) or (n,)
        Without ``trials``: columns ``[successes, failures]`` (R's ``cbind(s, f)``). With
        ``trials``: the proportion of successes per row, in [0, 1] (R's ``y`` with
        ``weights = trials``).
    trials : array-like of shape (n,) or None
        Trials per row (finite, >= 0).
    """
    if trials is None:
        C, _ = check_counts(y, n_rows)
        if C.shape[1] != 2:
            raise ValueError(
                f"a binomial counts y has 2 columns [successes, failures]; it has {C.shape[1]}"
                " (use SoftmaxRegression for K class counts)"
            )
        return C[:, ::-1]
    p = np.asarray(y, dtype=float).ravel()
    n = np.asarray(trials, dtype=float).ravel()
    for values, what in ((p, "y"), (n, "trials")):
        if values.shape != (n_rows,):
            raise ValueError(f"{what} has shape {values.shape}; expected ({n_rows},)")
    bad = ~np.isfinite(n) | (n < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"trials must be finite and >= 0; row {i} has {float(n[i])!r}")
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            "with trials=, y is the proportion of successes, in [0, 1]; row "
            f"{i} has {float(p[i])!r} (for success counts pass y = [successes, failures], "
            "two columns)"
        )
    C, _ = check_counts(np.column_stack([n - p * n, p * n]), n_rows, "y * trials")
    return C


def expand_counts(X, counts, weight, offset=None):
    r"""One row per (row, class) with a positive count: label ``k``, frequency weight
    :math:`w_i c_{ik}`, the row's features and offset.

    Returns
    -------
    X, codes, weight, offset
        The expanded rows (``offset`` None when none was given).
    origin : ndarray of int
        The counts row each expanded row comes from (the unit of robust covariances).
    """
    rows, codes = np.nonzero(counts > 0)
    w = weight[rows] * counts[rows, codes]
    Xe = X[rows]
    off = None if offset is None else offset[rows]
    return Xe, codes.astype(np.intp), w, off, rows.astype(np.intp)


def grouped_scale(counts, weight):
    """The :class:`GroupedScale` sums of ``counts`` (n, K) with prior weights (n,)."""
    N = counts.sum(axis=1)
    used = (weight * N) > 0
    w, C, N = weight[used], counts[used], N[used]
    log_coef = gammaln(N + 1.0) - gammaln(C + 1.0).sum(axis=1)
    saturated = xlogy(C, C / N[:, None]).sum(axis=1)
    return GroupedScale(float(used.sum()), float(w @ log_coef), float(w @ saturated))


def counts_summary(counts, weight):
    """One chunk's descriptive sums of ``counts`` (n, K) with prior weights (n,): the
    weighted class totals, the rows with a positive count per class, the expanded rows
    (positive counts) and the :class:`GroupedScale`; chunks' summaries add element by
    element (:func:`~softlogit.data.sources.add_summaries`)."""
    positive = counts > 0
    totals = (weight[:, None] * counts).sum(axis=0)
    return (
        totals,
        positive.sum(axis=0),
        int(np.count_nonzero(positive)),
        grouped_scale(counts, weight),
    )
