"""Dask data with a survey design: the strata and cluster (PSU) arrays of probability
weights travel with every row block as labels (``chunk.groups``, a record array with
fields ``stratum`` and ``psu``), so that the design-based covariance
(:mod:`softlogit.stats.survey`) sums scores per PSU in one tree reduction."""

from __future__ import annotations

import numpy as np

from .dask_source import DaskData, DaskSource, _add, _as_array, _chunk, _delayed, _tree
from .sources import Chunk

__all__ = ["DesignDaskData", "design_labels"]


def design_labels(strata, clusters, rows):
    """The record array of a block's design labels (0 where there is no such column)."""
    fields = []
    for values in (strata, clusters):
        if values is None:
            fields.append(np.zeros(rows, dtype=np.int64))
            continue
        values = np.asarray(values)
        fields.append(values.astype(str) if values.dtype == object else values)
    return np.rec.fromarrays(fields, names=["stratum", "psu"])


class DesignDaskData(DaskData):
    """:class:`DaskData` with per-row ``strata`` and ``clusters`` (Dask or in-memory
    arrays with the rows of ``X``; either may be None)."""

    def __init__(self, X, y, weight=None, offset=None, strata=None, clusters=None):
        super().__init__(X, y, weight, offset)
        rows = self.X.chunks[0]
        self.design = []
        for name, values in (("strata", strata), ("clusters", clusters)):
            arr = _as_array(values, name, rows)
            if arr is not None and arr.shape[0] != self.X.shape[0]:
                raise ValueError(f"X has {self.X.shape[0]} rows but {name} has {arr.shape[0]}")
            self.design.append(arr)

    def design_blocks(self):
        """Delayed ``(strata, clusters)`` row blocks (None for a missing one)."""
        n = len(self.X.chunks[0])
        return [
            [None] * n if arr is None else list(arr.to_delayed().ravel()) for arr in self.design
        ]

    def make_source(self, bound, offset_map, verbose=0):
        """A :class:`DesignDaskSource` for one fit."""
        return DesignDaskSource(self, bound, offset_map)


class DesignDaskSource(DaskSource):
    """A :class:`DaskSource` whose ``reduce`` hands ``fn`` chunks carrying the design
    labels."""

    def reduce(self, fn, fan_in=8):
        """Sum ``fn(chunk)`` over the row blocks, in a tree of fan-in ``fan_in``."""
        strata, clusters = self.data.design_blocks()
        parts = [
            _delayed(_apply_design)(fn, s, c, *block)
            for block, s, c in zip(self._blocks(), strata, clusters, strict=True)
        ]
        return _tree(parts, _add, fan_in)


def _apply_design(fn, strata, clusters, *parts):
    chunk = _chunk(*parts)
    groups = design_labels(strata, clusters, chunk.n_rows)
    return fn(Chunk(chunk.X, chunk.y, chunk.weight, chunk.offset, groups))
