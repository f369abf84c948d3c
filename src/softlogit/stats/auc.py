r"""The area under the ROC curve with DeLong's standard error, and DeLong's paired test.

For scores :math:`s` of positive rows :math:`i` (weights :math:`w_i`, total :math:`W_1`) and
negative rows :math:`j` (total :math:`W_0`), with :math:`\psi(a, b) = 1` if :math:`a > b`,
:math:`1/2` if :math:`a = b`, else 0,

.. math::

    A = \frac{1}{W_1 W_0} \sum_i \sum_j w_i w_j\, \psi(s_i, s_j).

DeLong, DeLong & Clarke-Pearson (1988) write :math:`A` as the mean of the placement values
:math:`V_{10}(i) = \sum_j w_j \psi(s_i, s_j) / W_0` over the positives (and of
:math:`V_{01}(j) = \sum_i w_i \psi(s_i, s_j) / W_1` over the negatives), and estimate

.. math::

    \operatorname{Var} A = \frac{S_{10}}{W_1} + \frac{S_{01}}{W_0}, \qquad
    S_{10} = \frac{\sum_i w_i (V_{10}(i) - A)^2}{W_1 - 1},

and, for two scores on the same rows, :math:`\operatorname{Cov}(A_a, A_b)` from the cross
products of their placement values. This is R's pROC (``ci.auc(method="delong")``,
``roc.test(paired=TRUE, method="delong")``); weights count as frequencies (a row of weight 2
is two rows), so ``W_1`` and ``W_0`` are weighted counts.

Everything is computed from :class:`ScoreCounts`, the weighted counts of each class at every
distinct score: a summary that adds up over chunks, so the same code serves in-memory,
streamed and Dask data (one pass; the paired test takes a second pass for the cross products).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..data.sources import InMemorySource

__all__ = ["AUCResult", "DeLongTest", "ScoreCounts", "delong_test", "roc_auc_ci"]

#: Unconsolidated parts a :class:`ScoreCounts` keeps before it merges them.
_MAX_PARTS = 64


class ScoreCounts:
    """Weighted counts of negatives and positives at each distinct score: an additive summary
    (``a + b`` merges two), memory proportional to the number of distinct scores.

    Parameters
    ----------
    scores : ndarray of shape (u,)
    counts : ndarray of shape (u, 2)
        Weight of the negatives (column 0) and positives (column 1) at each score.
    """

    def __init__(self, scores, counts):
        self._parts = [(np.asarray(scores, dtype=float), np.asarray(counts, dtype=float))]

    @classmethod
    def of(cls, scores, positive, weight):
        """The counts of one chunk of rows (``positive`` boolean, ``weight`` the rows')."""
        counts = np.zeros((len(scores), 2))
        counts[np.arange(len(scores)), positive.astype(int)] = weight
        return cls(scores, counts)

    def __add__(self, other):
        new = object.__new__(ScoreCounts)
        new._parts = self._parts + other._parts
        if len(new._parts) >= _MAX_PARTS:
            new._consolidate()
        return new

    def _consolidate(self):
        if len(self._parts) > 1 or not _is_sorted_unique(self._parts[0][0]):
            scores = np.concatenate([p[0] for p in self._parts])
            counts = np.concatenate([p[1] for p in self._parts])
            unique, inverse = np.unique(scores, return_inverse=True)
            merged = np.zeros((unique.size, 2))
            for c in range(2):
                merged[:, c] = np.bincount(inverse, weights=counts[:, c], minlength=unique.size)
            self._parts = [(unique, merged)]
        return self._parts[0]

    @property
    def scores(self):
        """Sorted distinct scores (u,)."""
        return self._consolidate()[0]

    @property
    def counts(self):
        """Weights of negatives and positives at each score (u, 2)."""
        return self._consolidate()[1]

    def placements(self):
        r"""Placement values at every distinct score: :math:`V_{10}` (the share of negative
        weight below, ties half) and :math:`V_{01}` (the share of positive weight above)."""
        c = self.counts
        totals = c.sum(axis=0)
        below0 = np.cumsum(c[:, 0]) - c[:, 0]
        above1 = totals[1] - np.cumsum(c[:, 1])
        v10 = (below0 + 0.5 * c[:, 0]) / totals[0]
        v01 = (above1 + 0.5 * c[:, 1]) / totals[1]
        return v10, v01

    def auc(self):
        """The area under the ROC curve (ties count half)."""
        v10, _ = self.placements()
        c = self.counts
        return float(c[:, 1] @ v10 / c[:, 1].sum())

    def delong(self, alpha=0.05):
        """:class:`AUCResult` with DeLong's standard error and interval."""
        c = self.counts
        w0, w1 = c.sum(axis=0)
        if w0 <= 0 or w1 <= 0:
            raise ValueError("the AUC needs rows of both classes with positive weight")
        v10, v01 = self.placements()
        a = float(c[:, 1] @ v10 / w1)
        s10 = c[:, 1] @ (v10 - a) ** 2 / (w1 - 1)
        s01 = c[:, 0] @ (v01 - a) ** 2 / (w0 - 1)
        return AUCResult.from_variance(a, s10 / w1 + s01 / w0, alpha, w1, w0)


def _is_sorted_unique(x):
    return x.size < 2 or bool(np.all(x[1:] > x[:-1]))


@dataclass(frozen=True)
class AUCResult:
    """The AUC with its DeLong standard error and Wald interval (clipped to [0, 1], as
    pROC's ``ci.auc``).

    Attributes
    ----------
    auc, std_err, ci_low, ci_high : float
    alpha : float
        The interval has coverage ``1 - alpha``.
    n_positive, n_negative : float
        Weighted counts of the two classes.
    """

    auc: float
    std_err: float
    ci_low: float
    ci_high: float
    alpha: float
    n_positive: float
    n_negative: float

    @classmethod
    def from_variance(cls, auc, var, alpha, n_positive, n_negative):
        """The result for an AUC and its variance."""
        se = float(np.sqrt(max(var, 0.0)))
        z = stats.norm.ppf(1 - alpha / 2)
        lo, hi = min(max(auc - z * se, 0.0), 1.0), min(max(auc + z * se, 0.0), 1.0)
        return cls(auc, se, lo, hi, alpha, float(n_positive), float(n_negative))

    def __str__(self):
        level = 100 * (1 - self.alpha)
        return (
            f"AUC = {self.auc:.4f} (DeLong SE {self.std_err:.4f}; {level:g}% CI "
            f"{self.ci_low:.4f} to {self.ci_high:.4f})"
        )


@dataclass(frozen=True)
class DeLongTest:
    r"""DeLong's paired test of two AUCs on the same rows:
    :math:`z = (A_a - A_b) / \sqrt{V_a + V_b - 2 C_{ab}}`, two-sided normal p-value.

    Attributes
    ----------
    auc_a, auc_b : AUCResult
    difference, std_err, statistic, pvalue : float
    cov : float
        DeLong's covariance of the two AUCs.
    """

    auc_a: AUCResult
    auc_b: AUCResult
    difference: float
    std_err: float
    statistic: float
    pvalue: float
    cov: float

    def __str__(self):
        return (
            f"DeLong paired test: AUC {self.auc_a.auc:.4f} vs {self.auc_b.auc:.4f}, "
            f"difference {self.difference:.4f} (SE {self.std_err:.4f}), "
            f"z = {self.statistic:.4f}, p = {self.pvalue:.4g}"
        )


def score_counts(reduce, scorer):
    """:class:`ScoreCounts` of each score column in one pass: ``reduce(fn)`` sums ``fn``
    over chunks, ``scorer(chunk)`` gives ``(scores (rows, m), positive (rows,), weight)``."""

    def fn(chunk):
        scores, positive, weight = scorer(chunk)
        return tuple(ScoreCounts.of(scores[:, j], positive, weight) for j in range(scores.shape[1]))

    return reduce(fn)


def paired_delong(reduce, scorer, tables=None, alpha=0.05):
    """:class:`DeLongTest` of the two score columns of ``scorer`` (see :func:`score_counts`):
    the AUCs and variances from their counts, their covariance from a second pass that
    looks every row's placement values up in them."""
    if tables is None:
        tables = score_counts(reduce, scorer)
    results = [t.delong(alpha) for t in tables]
    looked_up = [(t.scores, *t.placements()) for t in tables]
    aucs = np.array([r.auc for r in results])

    def cross(chunk):
        scores, positive, weight = scorer(chunk)
        dev = np.empty((len(positive), 2))
        for j, (keys, v10, v01) in enumerate(looked_up):
            at = np.searchsorted(keys, scores[:, j])
            dev[:, j] = np.where(positive, v10[at], v01[at]) - aucs[j]
        prod = weight * dev[:, 0] * dev[:, 1]
        return float(prod[positive].sum()), float(prod[~positive].sum())

    s10, s01 = reduce(cross)
    w1, w0 = results[0].n_positive, results[0].n_negative
    cov = s10 / (w1 - 1) / w1 + s01 / (w0 - 1) / w0
    diff = float(aucs[0] - aucs[1])
    var = results[0].std_err ** 2 + results[1].std_err ** 2 - 2 * cov
    se = float(np.sqrt(max(var, 0.0)))
    z = diff / se if se > 0 else (0.0 if diff == 0 else np.copysign(np.inf, diff))
    p = float(2 * stats.norm.sf(abs(z)))
    return DeLongTest(results[0], results[1], diff, se, float(z), p, float(cov))


def _array_source(y_true, scores, sample_weight):
    """An in-memory source whose 'design' is the score columns and whose codes mark the
    positive class (the larger of two labels)."""
    y = np.asarray(y_true).ravel()
    labels, codes = np.unique(y, return_inverse=True)
    if labels.size != 2:
        raise ValueError(f"y_true must have exactly 2 classes, got {labels.size}")
    scores = np.column_stack([np.asarray(s, dtype=float).ravel() for s in scores])
    if scores.shape[0] != y.size or not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite and have one value per row of y_true")
    w = np.ones(y.size) if sample_weight is None else np.asarray(sample_weight, float).ravel()
    if w.shape != y.shape or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("sample_weight must be finite, non-negative and one per row")
    source = InMemorySource(scores, codes, w, chunk_rows=1 << 16)
    return source.reduce, lambda c: (c.X, c.y == 1, c.weight)


def roc_auc_ci(y_true, y_score, sample_weight=None, alpha=0.05):
    """The AUC of ``y_score`` for ``y_true`` with DeLong's standard error and interval.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Two labels; the larger (sorted last) is the positive class.
    y_score : array-like of shape (n,)
        Higher scores predict the positive class (as pROC's ``direction="<"``).
    sample_weight : array-like of shape (n,), optional
        Frequency weights.
    alpha : float
        The interval has coverage ``1 - alpha``.

    Returns
    -------
    AUCResult
        See the module docstring for the formulas; equals R's
        ``pROC::ci.auc(roc(y, score, direction="<"), method="delong")``.
    """
    reduce, scorer = _array_source(y_true, [y_score], sample_weight)
    return score_counts(reduce, scorer)[0].delong(alpha)


def delong_test(y_true, score_a, score_b, sample_weight=None, alpha=0.05):
    """DeLong's paired test that two scores on the same rows have the same AUC.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Two labels; the larger is the positive class.
    score_a, score_b : array-like of shape (n,)
        The two scores (e.g. two models' predicted probabilities).
    sample_weight : array-like of shape (n,), optional
        Frequency weights.
    alpha : float
        Coverage ``1 - alpha`` of the intervals of the two AUCs.

    Returns
    -------
    DeLongTest
        Equals R's ``pROC::roc.test(roc_a, roc_b, paired=TRUE, method="delong")``.
    """
    reduce, scorer = _array_source(y_true, [score_a, score_b], sample_weight)
    return paired_delong(reduce, scorer, alpha=alpha)
