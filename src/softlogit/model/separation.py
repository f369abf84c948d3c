r"""Detecting (quasi-)complete separation with the linear program of Konis (2007).

The maximum-likelihood estimate of a logistic or softmax regression fails to exist exactly
when there is a non-zero direction :math:`B` (one row per non-reference class, reference row
zero) with

.. math::

    (b_{y_i} - b_k)^T \tilde x_i \ge 0 \quad \text{for every row } i \text{ and class } k,

since moving along it never decreases the likelihood. The linear program

.. math::

    \max_B \sum_{i,k} (b_{y_i} - b_k)^T \tilde x_i \quad \text{s.t. the constraints above},
    \quad -1 \le B \le 1,

has optimum 0 when the MLE exists and a positive optimum otherwise. Rows with a strict
inequality at the optimum are perfectly predicted; the separation is *complete* when every
row is, *quasi-complete* otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

__all__ = [
    "SeparationReport",
    "SeparationResult",
    "find_separation",
    "lp_nonzeros",
]

LP_TOL = 1e-7


@dataclass(frozen=True)
class SeparationResult:
    """Outcome of the separation test.

    Attributes
    ----------
    separated : bool
        Whether a separating direction exists (the MLE does not).
    complete : bool
        Whether every row is perfectly predicted along it.
    direction : ndarray of shape (K, q)
        The direction found (rows: classes, columns: features then intercept).
    rows : ndarray of int
        Rows that are perfectly predicted.
    columns : ndarray of int
        Feature columns (not the intercept) with a non-zero entry in the direction.
    classes : ndarray of int
        Class codes whose probabilities go to 0 or 1 along the direction.
    """

    separated: bool
    complete: bool
    direction: np.ndarray
    rows: np.ndarray
    columns: np.ndarray
    classes: np.ndarray

    def __repr__(self):
        """A summary (kind, counts, the first codes), not the arrays: those stay in the
        attributes."""
        if not self.separated:
            return "SeparationResult(separated=False: the maximum-likelihood estimate exists)"
        kind = "complete" if self.complete else "quasi-complete"
        return (
            f"SeparationResult({kind} separation: {self.rows.size} rows perfectly predicted; "
            f"class codes {_preview(self.classes)}; feature columns "
            f"{_preview(self.columns)}; arrays in .rows, .columns, .classes, .direction)"
        )


def _preview(values, shown=8):
    """The first ``shown`` entries of ``values`` as a list, with the count when cut."""
    items = [int(v) for v in np.asarray(values).ravel()]
    if len(items) <= shown:
        return str(items)
    return f"[{', '.join(map(str, items[:shown]))}, ...] ({len(items)} in all)"


def _constraint_matrix(X1, y, n_classes, reference):
    """Sparse rows ``(b_{y_i} - b_k)^T x_i`` for every row i and class k != y_i.

    Columns are the blocks of the non-reference classes; returns the matrix, the (i, k)
    pair of each row and the free class codes.
    """
    n, q = X1.shape
    free = [k for k in range(n_classes) if k != reference]
    block = np.full(n_classes, -1)
    block[free] = np.arange(len(free))
    rows_i, cls_k = np.nonzero(np.arange(n_classes)[None, :] != y[:, None])
    r = np.repeat(np.arange(rows_i.size), q)
    within = np.tile(np.arange(q), rows_i.size)
    vals = X1[rows_i].ravel()
    parts = []
    for blocks, sign in ((block[y[rows_i]], 1.0), (block[cls_k], -1.0)):
        b = np.repeat(blocks, q)
        keep = b >= 0
        parts.append((r[keep], (b * q + within)[keep], sign * vals[keep]))
    rr, cc, vv = (np.concatenate(z) for z in zip(*parts, strict=True))
    A = sp.csr_matrix((vv, (rr, cc)), shape=(rows_i.size, len(free) * q))
    return A, np.column_stack([rows_i, cls_k]), free


def _max_total_margin(A):
    """Konis' LP: maximise the summed margins over the box; returns (direction, optimum)."""
    res = linprog(
        -np.asarray(A.sum(axis=0)).ravel(),
        A_ub=-A,
        b_ub=np.zeros(A.shape[0]),
        bounds=(-1.0, 1.0),
        method="highs",
    )
    return (res.x, -res.fun) if res.status == 0 else (None, 0.0)


def _sparsest_direction(A):
    """A separating direction of least L1 norm (the features that drive the separation):
    minimise ``|b|_1`` subject to ``A b >= 0`` and ``sum(A b) >= 1``, with ``b = u - v``."""
    d = A.shape[1]
    total = np.asarray(A.sum(axis=0)).ravel()
    A_ub = sp.vstack([sp.hstack([-A, A]), sp.csr_matrix(np.r_[-total, total][None, :])])
    b_ub = np.r_[np.zeros(A.shape[0]), -1.0]
    res = linprog(np.ones(2 * d), A_ub=A_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    return res.x[:d] - res.x[d:] if res.status == 0 else None


def _is_complete(A):
    """Whether some direction makes every margin strictly positive: max t s.t. A b >= t."""
    d = A.shape[1]
    A_ub = sp.hstack([-A, sp.csr_matrix(np.ones((A.shape[0], 1)))])
    bounds = [(-1.0, 1.0)] * d + [(0.0, 1.0)]
    c = np.r_[np.zeros(d), -1.0]
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(A.shape[0]), bounds=bounds, method="highs")
    return res.status == 0 and -res.fun > LP_TOL


def lp_nonzeros(n_rows, n_classes, n_columns):
    """Non-zeros of Konis' constraint matrix: one row per row and other class, each with
    the row's design values in two class blocks (one for the reference class)."""
    return 2 * n_rows * (n_classes - 1) * n_columns


def find_separation(X, y, n_classes, fit_intercept=True, columns=None):
    """Run Konis' linear program on design ``X`` and class codes ``y``.

    When the data are separated, two more small LPs find a sparsest separating direction
    (which names the features involved) and decide whether the separation is complete.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n, p)
    y : ndarray of int, shape (n,)
    n_classes : int
    fit_intercept : bool
    columns : ndarray of bool or None
        Columns to use (for instance the non-aliased ones); None uses all.

    Returns
    -------
    SeparationResult
    """
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float)
    use = np.ones(Xd.shape[1], dtype=bool) if columns is None else np.asarray(columns, bool)
    Xd = Xd[:, use]
    if fit_intercept:  # with an intercept the LP is invariant to shifting a column: centre
        Xd = Xd - Xd.mean(axis=0)  # (a column far from 0 keeps its digits next to the 1s)
    scale = np.max(np.abs(Xd), axis=0)
    scale[scale == 0] = 1.0
    X1 = Xd / scale
    if fit_intercept:
        X1 = np.hstack([X1, np.ones((X1.shape[0], 1))])
    A, pairs, free = _constraint_matrix(X1, y, n_classes, reference=0)
    q = X1.shape[1]
    direction = np.zeros((n_classes, q))
    x, optimum = _max_total_margin(A)
    sparse_dir = _sparsest_direction(A) if optimum > LP_TOL else None
    if sparse_dir is None:
        empty = np.array([], dtype=int)
        return SeparationResult(False, False, direction, empty, empty, empty)
    rows = np.unique(pairs[A @ x > LP_TOL, 0])
    direction[free] = sparse_dir.reshape(len(free), q)
    strict = A @ sparse_dir > LP_TOL
    classes = np.unique(np.r_[pairs[strict, 1], y[pairs[strict, 0]]])
    varying = np.ptp(direction[:, : Xd.shape[1]], axis=0) > LP_TOL
    feat = np.flatnonzero(use)[varying]
    complete = _is_complete(A)
    if complete:
        rows = np.arange(X1.shape[0])
    return SeparationResult(True, complete, direction, rows, feat, classes)


@dataclass(frozen=True)
class SeparationReport:
    """The separation test in the user's terms: class labels and feature names.

    Attributes
    ----------
    separated : bool
        True when the maximum-likelihood estimate does not exist.
    kind : {"none", "quasi-complete", "complete"}
    classes : list
        Class labels perfectly predicted along the separating direction.
    features : list of str
        Terms with a non-zero entry in a sparsest separating direction (what drives it).
    rows : ndarray of int
        Rows that are perfectly predicted.
    n_rows : int
        Rows tested.
    """

    separated: bool
    kind: str
    classes: list
    features: list
    rows: np.ndarray
    n_rows: int

    @classmethod
    def from_result(cls, result, class_labels, feature_names):
        """Name the classes and features of a :class:`SeparationResult`."""
        kind = (
            "none"
            if not result.separated
            else ("complete" if result.complete else "quasi-complete")
        )
        labels = [_plain(class_labels[k]) for k in result.classes]
        features = [feature_names[j] for j in result.columns]
        n_rows = int(result.rows.size) if result.complete else None
        return cls(result.separated, kind, labels, features, result.rows, n_rows)

    def __str__(self):
        if not self.separated:
            return "no separation: the maximum-likelihood estimate exists"
        drivers = self.features or ["(intercept)"]
        rows = f"{self.rows.size} rows" if self.n_rows is None else f"all {self.n_rows} rows"
        return (
            f"perfect separation ({self.kind}) detected: classes {self.classes} are "
            f"perfectly predicted for {rows} by features {drivers}"
        )


def _plain(value):
    return value.item() if hasattr(value, "item") else value
