"""Counts responses on Dask: the expansion of :mod:`softlogit.data.counts` block by block.

``fit(X, Y)`` with Dask ``X`` and a two-dimensional ``Y`` (binomial ``[successes,
failures]`` or K class counts, a Dask array or data frame) gives :class:`DaskCountsData`.
Its descriptive pass is one tree reduction of the class totals, expanded rows and
:class:`~softlogit.data.counts.GroupedScale` sums; every pass expands each block on its
worker, so the fit equals the in-memory counts fit.
"""

from __future__ import annotations

import functools

import numpy as np

from .counts import check_counts, counts_summary, expand_counts
from .counts_stream import CountsSummary
from .dask_source import DaskData, DaskSource, _delayed, _first_bad, _is_frame, _tree
from .sources import Chunk, add_summaries

__all__ = ["DaskCountsData"]


def _block_counts(y, binomial, order):
    C = check_counts(np.asarray(y, dtype=float), np.shape(y)[0], "y")[0]
    return (C[:, ::-1] if binomial else C)[:, order]


def _counts_summary(x, y, weight, offset, start, binomial, order):
    checks = (("X", x, True), ("sample_weight", weight, False), ("offset", offset, True))
    for name, values, negative in checks:
        bad = _first_bad(values, start, allow_negative=negative)
        if bad is not None:
            raise ValueError(f"{name} has the invalid value {bad[2]!r} at row {bad[0]}")
    try:
        C = _block_counts(y, binomial, order)
    except ValueError as err:
        raise ValueError(f"{err} (row numbers within the block from row {start})") from None
    w = np.ones(C.shape[0]) if weight is None else np.asarray(weight, dtype=float)
    return counts_summary(C, w)


def _merge(*parts):
    return functools.reduce(add_summaries, parts)


def _counts_chunk(x, y, weight, offset, binomial, order, class_factor, offset_map, features):
    C = _block_counts(y, binomial, order)
    w = np.ones(C.shape[0]) if weight is None else np.asarray(weight, dtype=float)
    off = None if offset is None else offset_map(np.asarray(offset, dtype=float))
    X = np.asarray(x, dtype=float) if features else np.empty((C.shape[0], 0))
    Xe, codes, we, oe, origin = expand_counts(X, C, w, off)
    return Chunk(Xe, codes, we * class_factor[codes], oe, origin)  # groups: counts rows


class DaskCountsData(DaskData):
    """:class:`DaskData` whose ``y`` is an (n, K) counts matrix (see the module doc)."""

    def __init__(self, X, y, weight=None, offset=None):
        names = [str(c) for c in y.columns] if _is_frame(y) else None
        super().__init__(X, y, weight, offset)
        self.y = self.y.rechunk({1: -1})
        self.count_names = names
        self.binomial, self.order = False, np.arange(self.y.shape[1])

    def describe_counts(self, binomial):
        """One tree reduction: expanded rows, class totals and the grouped sums;
        ``binomial``: classes ``[0, 1]`` from ``[successes, failures]``, else the counts
        columns (their names, sorted, for a data frame)."""
        K = self.y.shape[1]
        if binomial and K != 2:
            raise ValueError(
                f"a binomial counts y has 2 columns [successes, failures]; it has {K} "
                "(use SoftmaxRegression for K class counts)"
            )
        classes = np.arange(K) if binomial or self.count_names is None else self.count_names
        classes = np.asarray(classes, dtype=object if self.count_names and not binomial else int)
        self.binomial, self.order = binomial, np.argsort(classes, kind="stable")
        starts = np.concatenate([[0], np.cumsum(self.X.chunks[0])[:-1]]).astype(int)
        parts = [
            _delayed(_counts_summary)(*block, int(start), binomial, self.order)
            for block, start in zip(self.blocks(), starts, strict=True)
        ]
        totals, rows, n, scale = _tree(parts, _merge)
        return CountsSummary(
            n, classes[self.order], totals, rows, grouped=scale, n_input=int(self.X.shape[0])
        )

    def make_source(self, bound, offset_map, verbose=0):
        """A :class:`DaskSource` that expands every block."""
        return _DaskCountsSource(self, bound, offset_map)


class _DaskCountsSource(DaskSource):
    make_chunk = staticmethod(_counts_chunk)

    def _blocks(self):
        fixed = (
            self.data.binomial,
            self.data.order,
            self.bound.class_factor,
            self.offset_map,
            self.bound.features,
        )
        return [(*block, *fixed) for block in self.data.blocks()]
