r"""Rank deficiency: which columns are linear combinations of earlier ones.

Like R's ``glm`` (LINPACK QR with limited pivoting), columns are visited in order (intercept
first) and a column is *aliased* when its residual after projection on the kept earlier
columns is tiny: :math:`r_{jj} \le \text{tol}\,\lVert x_j \rVert`. Working from the Gram
matrix squares the rounding error (sums over many rows carry a relative error of order
:math:`10^{-14}`), so the tolerance is :math:`10^{-6}` rather than R's :math:`10^{-7}` on QR.
The projection is a Cholesky factorisation of the weighted Gram matrix
:math:`\tilde X^T W \tilde X` that skips aliased columns, so it needs only the summed Gram
matrix (one pass, any data source). With an intercept the Gram matrix is summed over columns
centred at a reference point (:mod:`softlogit.coordinates`) and each residual is compared
with the norm of its column projected off the intercept, so the test is invariant to each
column's location and scale (R's QR on the raw columns declares a Unix-timestamp column,
:math:`1.7\cdot 10^9 + 60 z`, aliased with the intercept).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .objective import gram_matrix, scaled_design

__all__ = ["aliased_columns", "design_gram"]

ALIAS_TOL = 1e-6


def design_gram(source, fit_intercept, center=None):
    r"""Weighted Gram :math:`\tilde X^T W \tilde X` with the intercept column *first*, of the
    columns centred at ``center`` (dense data; see :mod:`softlogit.coordinates`), so that a
    column far from 0 keeps the digits that tell it from the intercept."""
    c = center if fit_intercept else None

    def gram(chunk):
        shift = None if sp.issparse(chunk.X) else c
        Xs = scaled_design(chunk.X, np.sqrt(chunk.weight), fit_intercept, None, shift)
        G = gram_matrix(Xs)
        if fit_intercept:  # move the intercept (last) to the front
            order = np.r_[G.shape[0] - 1, : G.shape[0] - 1]
            G = G[np.ix_(order, order)]
        return (G,)

    return source.reduce(gram)[0]


def aliased_columns(gram, tol=ALIAS_TOL, intercept_first=False):
    """Boolean mask of aliased columns of a Gram matrix, visiting columns in order.

    Parameters
    ----------
    gram : ndarray of shape (q, q)
        Symmetric positive semi-definite Gram matrix.
    tol : float
        Relative residual norm below which a column counts as aliased.
    intercept_first : bool
        Whether column 0 is the intercept: then each residual is compared with the norm of
        the column centred (projected off the intercept), which does not change when the
        column is shifted.

    Returns
    -------
    ndarray of bool, shape (q,)
    """
    q = gram.shape[0]
    L = np.zeros((q, q))
    aliased = np.zeros(q, dtype=bool)
    for j in range(q):
        norm2 = gram[j, j]  # the reference: the column's norm (centred, after the intercept)
        if intercept_first and j > 0 and gram[0, 0] > 0:
            norm2 = norm2 - gram[0, j] ** 2 / gram[0, 0]
        kept = np.flatnonzero(~aliased[:j])
        proj = L[j, kept]
        resid2 = gram[j, j] - proj @ proj
        if norm2 <= 0 or resid2 <= (tol**2) * norm2:
            aliased[j] = True
            continue
        L[j, j] = np.sqrt(resid2)
        rest = np.arange(j + 1, q)
        L[rest, j] = (gram[rest, j] - L[np.ix_(rest, kept)] @ proj) / L[j, j]
    return aliased
