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

After a fit the LP is rarely needed. By Stiemke's lemma no such :math:`B` exists exactly
when some strictly positive weights :math:`w_{ik}` balance the constraint rows,
:math:`\sum_{i,k} w_{ik} a_{ik} = 0`, and the fitted probabilities nearly are such weights:
:math:`\sum_{i,k \ne y_i} s_i \pi_{ik} a_{ik}` is the gradient of the log-likelihood
(:math:`s_i` the prior weights). :func:`certify_existence` corrects them into exact ones on
the rows that are not perfectly predicted, and the LP runs only when that fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from ..coordinates import reference_point

__all__ = [
    "SeparationReport",
    "SeparationResult",
    "certify_existence",
    "find_separation",
    "lp_nonzeros",
]

LP_TOL = 1e-7
#: Whether an LP with more constraint rows than ``ROW_GENERATION_MIN`` separates is first
#: decided by row generation, from ``ROW_GENERATION_ROWS`` rows, adding at most so many per
#: round: those whose margin is below ``-ROW_FEASIBILITY`` (HiGHS's own primal feasibility
#: tolerance).
ROW_GENERATION_MIN, ROW_GENERATION_ROWS = 2000, 500
ROW_FEASIBILITY = 1e-7
#: The certificate of existence uses the pairs (row, other class) whose fitted probability is
#: at least ``BODY_PROBABILITY`` (the rows that are not perfectly predicted) ...
BODY_PROBABILITY = 1e-8
#: ... keeps every corrected weight above this share of the fitted probability ...
CERTIFICATE_MARGIN = 0.5
#: ... and is trusted only when its (Jacobi-scaled) linear system is better conditioned than
#: this (its solution then has a relative error below 1e-6 or so).
CONDITION_LIMIT = 1e10
#: Rows per block of the design the certificate builds.
BLOCK_ROWS = 4096
#: The weights corrected are first those of an even subsample of so many rows (at least so
#: many per parameter), then, when that fails, all.
SUBSAMPLE_ROWS, SUBSAMPLE_PER_PARAMETER = 4096, 20


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


def _lp_design(X, fit_intercept, columns):
    """The design the LP sees: columns ``columns`` (all when None), centred when there is an
    intercept, scaled into [-1, 1], then the intercept column; with the mask of the columns
    used and their count."""
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
    return X1, use, Xd.shape[1]


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


def _max_total_margin(A, total=None):
    """Konis' LP: maximise the summed margins over the box (``total``: the margins' column
    sums, over more rows than ``A`` has when it is a subset); returns (direction, optimum)."""
    total = np.asarray(A.sum(axis=0)).ravel() if total is None else total
    res = linprog(
        -total,
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
    """Whether some direction makes every margin strictly positive: max t s.t. A b >= t
    (by row generation on a large LP: only the optimum's value decides, and it is unique)."""
    if A.shape[0] <= ROW_GENERATION_MIN:
        return _max_least_margin(A)[1] > LP_TOL
    active = _first_rows(A.shape[0])
    while True:
        b, t = _max_least_margin(A[active])
        if b is None or t <= LP_TOL:  # a relaxation's optimum bounds the LP's
            return False
        worst = _most_violated(A @ b - t, active)
        if worst.size == 0:
            return True
        active[worst] = True


def _max_least_margin(A):
    """``max t`` s.t. ``A b >= t`` over the box, ``0 <= t <= 1``: (b, t), (None, 0) when
    HiGHS fails."""
    d = A.shape[1]
    A_ub = sp.hstack([-A, sp.csr_matrix(np.ones((A.shape[0], 1)))])
    bounds = [(-1.0, 1.0)] * d + [(0.0, 1.0)]
    c = np.r_[np.zeros(d), -1.0]
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(A.shape[0]), bounds=bounds, method="highs")
    return (res.x[:d], -res.fun) if res.status == 0 else (None, 0.0)


def _first_rows(n):
    """Row generation's first rows: ``ROW_GENERATION_ROWS`` spread evenly (a mask)."""
    active = np.zeros(n, dtype=bool)
    active[np.linspace(0, n - 1, ROW_GENERATION_ROWS).astype(np.intp)] = True
    return active


def _most_violated(slack, active):
    """The rows outside ``active`` whose slack is below ``-ROW_FEASIBILITY``, at most
    ``ROW_GENERATION_ROWS`` of them, the most violated first."""
    violated = np.flatnonzero((slack < -ROW_FEASIBILITY) & ~active)
    return violated[np.argsort(slack[violated], kind="stable")[:ROW_GENERATION_ROWS]]


def _not_separated(A):
    """Whether Konis' LP has optimum 0, decided by row generation on a large LP (False
    for a small one, which is solved whole anyway): solved on an even subsample of the
    rows, then again with the rows its solution violates added, until it violates none or
    its optimum is 0. A relaxation's optimum bounds the LP's, and one that violates no row
    is the LP's, so the answer is the LP's at a fraction of its cost when few rows bind.
    Only the verdict is taken from it: where the optimum is not unique, the rows strictly
    predicted at the vertex found may differ, so a separation is reported from the whole
    LPs, as before."""
    n = A.shape[0]
    if n <= ROW_GENERATION_MIN:
        return False
    total = np.asarray(A.sum(axis=0)).ravel()
    active = _first_rows(n)
    while True:
        x, optimum = _max_total_margin(A[active], total)
        if x is None:
            return False
        if optimum <= LP_TOL:
            return True
        worst = _most_violated(A @ x, active)
        if worst.size == 0:
            return False  # the LP's own optimum, positive: separated
        active[worst] = True


def lp_nonzeros(n_rows, n_classes, n_columns):
    """Non-zeros of Konis' constraint matrix: one row per row and other class, each with
    the row's design values in two class blocks (one for the reference class)."""
    return 2 * n_rows * (n_classes - 1) * n_columns


def find_separation(X, y, n_classes, fit_intercept=True, columns=None):
    """Run Konis' linear program on design ``X`` and class codes ``y``.

    When the data are separated, two more small LPs find a sparsest separating direction
    (which names the features involved) and decide whether the separation is complete. A
    large LP is first decided by row generation (:func:`_not_separated`): data that are not
    separated then cost a few LPs on a fraction of the rows.

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
    X1, use, p_used = _lp_design(X, fit_intercept, columns)
    A, pairs, free = _constraint_matrix(X1, y, n_classes, reference=0)
    q = X1.shape[1]
    direction = np.zeros((n_classes, q))
    x, optimum = (None, 0.0) if _not_separated(A) else _max_total_margin(A)
    sparse_dir = _sparsest_direction(A) if optimum > LP_TOL else None
    if sparse_dir is None:
        empty = np.array([], dtype=int)
        return SeparationResult(False, False, direction, empty, empty, empty)
    rows = np.unique(pairs[A @ x > LP_TOL, 0])
    direction[free] = sparse_dir.reshape(len(free), q)
    strict = A @ sparse_dir > LP_TOL
    classes = np.unique(np.r_[pairs[strict, 1], y[pairs[strict, 0]]])
    varying = np.ptp(direction[:, :p_used], axis=0) > LP_TOL
    feat = np.flatnonzero(use)[varying]
    complete = _is_complete(A)
    if complete:
        rows = np.arange(X1.shape[0])
    return SeparationResult(True, complete, direction, rows, feat, classes)


def certify_existence(X, y, proba, n_classes, fit_intercept=True, columns=None, weight=None):
    r"""Whether fitted probabilities prove that the maximum-likelihood estimate exists.

    With :math:`a_{ik}` the constraint rows of Konis' LP (one per row :math:`i` and class
    :math:`k \ne y_i`), no separating direction exists when some weights :math:`w_{ik} > 0`
    give :math:`\sum w_{ik} a_{ik} = 0` on a set :math:`S` of pairs whose rows :math:`a_{ik}`
    span the parameter space: a direction :math:`B` with :math:`a_{ik}^T B \ge 0` everywhere
    then has :math:`a_{ik}^T B = 0` on :math:`S`, so :math:`B = 0` (Stiemke's lemma). The
    fitted probabilities give such weights up to the gradient: :math:`w^0_{ik} = s_i
    \pi_{ik}` sum to :math:`g = \sum_S w^0_{ik} a_{ik}`, the log-likelihood's gradient less
    the share of the pairs left out. :math:`S` holds the pairs with :math:`\pi_{ik} \ge`
    ``BODY_PROBABILITY``, and the weights are corrected by one weighted least-squares step,

    .. math::

        w_{ik} = w^0_{ik} (1 + a_{ik}^T c), \qquad
        \Big(\sum_S w^0_{ik} a_{ik} a_{ik}^T\Big) c = -g,

    which balances them exactly; the certificate holds when every :math:`1 + a_{ik}^T c`
    exceeds ``CERTIFICATE_MARGIN``. At a converged fit of data that are not separated
    :math:`g` is tiny and so is :math:`c`. Along a separated fit the pairs perfectly
    predicted leave :math:`S` and those left do not span the direction of divergence (the
    system is singular, ``CONDITION_LIMIT``), or some weight turns negative: the test never
    certifies separated data, it only says when the LP is not needed. Its cost is one
    weighted Gram matrix per pair of classes.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n, p)
    y : ndarray of int, shape (n,)
    proba : ndarray of shape (n, K)
        Fitted class probabilities.
    n_classes : int
    fit_intercept : bool
    columns : ndarray of bool or None
        Columns to use (for instance the non-aliased ones); None uses all.
    weight : ndarray of shape (n,) or None
        Positive prior weights (None: all 1).

    Returns
    -------
    bool
        True when the maximum-likelihood estimate provably exists (the LP would find no
        separation); False when the test cannot tell.
    """
    design = _DesignBlocks(X, fit_intercept, columns)
    n = design.n_rows
    y = np.asarray(y, dtype=np.intp)
    s = np.ones(n) if weight is None else np.asarray(weight, dtype=float)
    proba = np.asarray(proba, dtype=float)
    W = np.where(proba >= BODY_PROBABILITY, proba * s[:, None], 0.0)
    W[np.arange(n), y] = 0.0
    g = np.zeros((n_classes - 1) * design.q)  # g = sum_ik W_ik a_ik, one read of X
    for rows, Xb in design.blocks():
        g += design.tmatmul(Xb, _row_sums(y[rows], W[rows])[:, 1:]).T.ravel()
    body = np.flatnonzero(W.any(axis=1))
    few = max(SUBSAMPLE_ROWS, SUBSAMPLE_PER_PARAMETER * g.size)
    if body.size > few:  # correct the weights of an even subsample first: cheaper
        pick = body[np.linspace(0, body.size - 1, few).astype(np.intp)]
        if _corrected_weights_positive(design.subset(pick), y[pick], W[pick], g, n_classes):
            return True
    return _corrected_weights_positive(design, y, W, g, n_classes)


def _corrected_weights_positive(design, y, W, g, n_classes):
    """Whether the weights ``W`` of the rows of ``design``, corrected by ``c`` with
    ``(sum W_ik a_ik a_ik^T) c = -g`` over those rows, stay above ``CERTIFICATE_MARGIN``
    of themselves (the other rows keep theirs: ``g`` sums all)."""
    c = _balancing_step(design, y, W, g, n_classes)
    if c is None:
        return False
    Ct = np.zeros((design.q, n_classes))
    Ct[:, 1:] = c.reshape(-1, design.q).T  # the reference class's column is 0
    for rows, Xb in design.blocks():
        E = design.times(Xb, Ct)  # a_ik^T c = E_{i y_i} - E_ik
        yr = y[rows]
        factor = 1.0 + (E[np.arange(yr.size), yr][:, None] - E)
        if np.any(factor[W[rows] > 0] <= CERTIFICATE_MARGIN):
            return False
    return True


class _DesignBlocks:
    """The design ``[X, 1]`` (the intercept column with an intercept) over the columns
    ``columns``, block by block of rows, its intercept column never built. With an
    intercept the columns far from 0 are shifted by a reference point (which changes no
    certificate but keeps the Gram matrix's digits), as the objective does."""

    def __init__(self, X, fit_intercept, columns):
        X = X.tocsr() if sp.issparse(X) else np.asarray(X, dtype=float)
        use = np.ones(X.shape[1], dtype=bool) if columns is None else np.asarray(columns, bool)
        self.X = X if use.all() else X[:, np.flatnonzero(use)]
        self.fit_intercept = bool(fit_intercept)
        self.n_rows = self.X.shape[0]
        self.k = self.X.shape[1]
        self.q = self.k + self.fit_intercept
        self.centre = reference_point(self.X) if self.fit_intercept else None
        self.rows = min(BLOCK_ROWS, self.n_rows)

    def subset(self, rows):
        """The same design (same shift) on the rows ``rows`` only."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.X = self.X[rows]
        other.n_rows = other.X.shape[0]
        other.rows = min(BLOCK_ROWS, other.n_rows)
        return other

    def blocks(self):
        """Yield ``(rows, Xb)``: a slice of rows and their (shifted) feature columns, a
        view where nothing is shifted, else one buffer reused (a fresh array per block
        would cost a page fault per page)."""
        buf = None if self.centre is None else np.empty((self.rows, self.k))
        for start in range(0, self.n_rows, BLOCK_ROWS):
            rows = slice(start, start + BLOCK_ROWS)
            part = self.X[rows]
            part = part.toarray() if sp.issparse(part) else part
            if buf is not None:
                part = np.subtract(part, self.centre, out=buf[: part.shape[0]])
            yield rows, part

    def times(self, Xb, C):
        """``[Xb, 1] @ C``."""
        out = Xb @ C[: self.k]
        return out + C[self.k] if self.fit_intercept else out

    def gram(self, Xb, v, buf, positive):
        """``[Xb, 1]^T diag(v) [Xb, 1]`` (``positive``: all ``v >= 0``, one ``syrk``)."""
        Z = buf[: Xb.shape[0]]
        if positive:
            root = np.sqrt(v)
            np.multiply(Xb, root[:, None], out=Z)
            G, side = Z.T @ Z, Z.T @ root
        else:
            np.multiply(Xb, v[:, None], out=Z)
            G, side = Z.T @ Xb, Xb.T @ v
        if not self.fit_intercept:
            return G
        return np.block([[G, side[:, None]], [side[None, :], np.sum(v)]])

    def tmatmul(self, Xb, U):
        """``[Xb, 1]^T @ U``."""
        out = Xb.T @ U
        return np.vstack([out, U.sum(axis=0)]) if self.fit_intercept else out


def _balancing_step(design, y, W, g, n_classes):
    """The correction ``c`` of :func:`certify_existence` (flat, class blocks 1..K-1); None
    when its system is singular or, Jacobi-scaled, too ill-conditioned to trust.

    Block ``(j, h)`` of ``M = sum_ik W_ik a_ik a_ik^T`` over the free classes is
    ``X^T diag(C_jh) X`` with ``C_jj = [y=j] sum_k W_k + W_j`` and, for ``j != h``,
    ``C_jh = -([y=j] W_h + [y=h] W_j)``."""
    q, m = design.q, n_classes - 1
    M = np.zeros((m * q, m * q))
    buf = np.empty((design.rows, design.k))
    for rows, Xb in design.blocks():
        Wr, yr = W[rows], y[rows]
        total = Wr.sum(axis=1)
        for j in range(1, n_classes):
            a = slice((j - 1) * q, j * q)
            diagonal = np.where(yr == j, total, 0.0) + Wr[:, j]
            M[a, a] += design.gram(Xb, diagonal, buf, positive=True)
            for h in range(j + 1, n_classes):
                weights = np.where(yr == j, Wr[:, h], 0.0) + np.where(yr == h, Wr[:, j], 0.0)
                M[a, (h - 1) * q : h * q] -= design.gram(Xb, weights, buf, positive=False)
    upper = np.triu_indices(m * q, 1)
    M.T[upper] = M[upper]  # the lower blocks from the upper ones
    d = np.sqrt(np.diag(M))
    if not np.all(d > 0):
        return None
    lam, V = np.linalg.eigh(M / np.outer(d, d))
    if not lam[0] > lam[-1] / CONDITION_LIMIT:
        return None
    return -(V @ ((V.T @ (g / d)) / lam)) / d


def _row_sums(y, W):
    """Per row, the class coefficients of ``sum_k W_ik a_ik``: ``sum_k W_ik`` at the
    observed class, ``-W_ik`` at the others (W is 0 at the observed class)."""
    U = -W
    U[np.arange(y.size), y] += W.sum(axis=1)
    return U


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
