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

__all__ = ["SeparationResult", "find_separation"]

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


def find_separation(X, y, n_classes, fit_intercept=True, columns=None):
    """Run Konis' linear program on design ``X`` and class codes ``y``.

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
    scale = np.max(np.abs(Xd), axis=0)
    scale[scale == 0] = 1.0
    X1 = Xd / scale
    if fit_intercept:
        X1 = np.hstack([X1, np.ones((X1.shape[0], 1))])
    A, pairs, free = _constraint_matrix(X1, y, n_classes, reference=0)
    res = linprog(
        c=-np.asarray(A.sum(axis=0)).ravel(),
        A_ub=-A,
        b_ub=np.zeros(A.shape[0]),
        bounds=(-1.0, 1.0),
        method="highs",
    )
    q = X1.shape[1]
    direction = np.zeros((n_classes, q))
    if res.status != 0 or -res.fun <= LP_TOL:
        empty = np.array([], dtype=int)
        return SeparationResult(False, False, direction, empty, empty, empty)
    direction[free] = res.x.reshape(len(free), q)
    margins = A @ res.x
    strict = margins > LP_TOL
    rows = np.unique(pairs[strict, 0])
    classes = np.unique(np.concatenate([pairs[strict, 1], y[rows]]))
    varying = np.ptp(direction[:, : Xd.shape[1]], axis=0) > LP_TOL
    feat = np.flatnonzero(use)[varying]
    return SeparationResult(True, rows.size == X1.shape[0], direction, rows, feat, classes)
