r"""Distributed data: ``dask.array`` and ``dask.dataframe`` inputs.

Each pass maps every row block to its summary (loss, gradient, :math:`X^T W X`) where the
block lives and adds the summaries pairwise in a tree on the workers; only summaries (of
parameter size) travel and ``X`` never reaches the client. It runs on whatever scheduler is
active: the default threaded one, or a ``distributed`` cluster when a ``Client`` exists
(a lost worker's blocks are recomputed by Dask from the graph).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .bound import BoundSource, DataSummary, codes_of
from .missing import merge_counts
from .sources import Chunk, add_summaries

__all__ = ["DaskData", "DaskSource"]


def _dask():
    try:
        import dask
        import dask.array as da
    except ImportError as err:  # pragma: no cover - optional extra
        raise ImportError("Dask input needs dask: pip install softlogit[dask]") from err
    return dask, da


def _is_frame(obj):
    return hasattr(obj, "to_dask_array") and hasattr(obj, "columns")


def _as_array(obj, name, chunks=None):
    """A dask array from a dask array/dataframe/series or an in-memory array."""
    dask, da = _dask()
    if obj is None:
        return None
    if hasattr(obj, "to_dask_array"):  # the frame's own partitions, then their lengths
        with warnings.catch_warnings():  # string labels become an object array: intended
            warnings.filterwarnings("ignore", "Dask currently has limited support")
            obj = obj.to_dask_array().compute_chunk_sizes()
    elif not isinstance(obj, da.Array):
        obj = np.asarray(obj)
        if chunks is None:
            raise TypeError(f"{name} must be a dask collection")
    if isinstance(obj, da.Array) and any(np.isnan(c) for c in obj.chunks[0]):
        raise ValueError(
            f"{name} is a Dask array with unknown chunk sizes (its number of rows is not "
            "known, as after boolean indexing or a data frame's .values): call "
            f"{name} = {name}.compute_chunk_sizes() first, or pass the Dask DataFrame or "
            "Series itself"
        )
    if chunks is not None and obj.shape[0] != sum(chunks):
        raise ValueError(f"X has {sum(chunks)} rows but {name} has {obj.shape[0]}")
    if not isinstance(obj, da.Array):
        return da.from_array(obj, chunks=chunks if obj.ndim == 1 else (chunks, obj.shape[1]))
    if chunks is not None and obj.chunks[0] != chunks:
        obj = obj.rechunk({0: chunks})
    return obj


class DaskData:
    """Features, labels, weights and offset as Dask arrays with the same row blocks.

    Parameters
    ----------
    X : dask.array.Array of shape (n, p) or dask.dataframe.DataFrame
        Numeric features (a data frame's column names become the feature names).
    y : dask array or series, or array-like
        Labels.
    weight, offset : optional, dask or in-memory arrays with n rows
    """

    def __init__(self, X, y, weight=None, offset=None):
        _, da = _dask()
        self.feature_names = [str(c) for c in X.columns] if _is_frame(X) else None
        self.names = [  # of the label, weight and offset (missing="drop" counts)
            getattr(v, "name", None) if isinstance(getattr(v, "name", None), str) else default
            for v, default in ((y, "y"), (weight, "sample_weight"), (offset, "offset"))
        ]
        X = _as_array(X, "X")
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {X.shape}")
        if X.dtype.kind not in "fiub":
            raise ValueError(f"X must be numeric, got dtype {X.dtype}")
        if y is None:
            raise ValueError("Dask input needs y: the labels (a dask array or series)")
        self.X = X.rechunk({1: -1})
        rows = self.X.chunks[0]
        self.y = _as_array(y, "y", rows)
        if self.y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {self.y.shape[0]}")
        self.weight = _as_array(weight, "sample_weight", rows)
        self.offset = _as_array(offset, "offset", rows)
        for name, arr in (("sample_weight", self.weight), ("offset", self.offset)):
            if arr is not None and arr.shape[0] != X.shape[0]:
                raise ValueError(f"X has {X.shape[0]} rows but {name} has {arr.shape[0]}")

    @property
    def n_features(self):
        """Number of feature columns."""
        return self.X.shape[1]

    @property
    def has_offset(self):
        """Whether an offset was given."""
        return self.offset is not None

    def persist(self):
        """Keep the arrays in the workers' memory (or locally without a cluster) for the
        passes of the fit."""
        dask, _ = _dask()
        parts = [a for a in (self.X, self.y, self.weight, self.offset) if a is not None]
        persisted = iter(dask.persist(*parts))
        self.X, self.y = next(persisted), next(persisted)
        self.weight = None if self.weight is None else next(persisted)
        self.offset = None if self.offset is None else next(persisted)
        return self

    def blocks(self):
        """Delayed ``(X, y, weight, offset)`` row blocks (None for a missing part)."""
        xs = self.X.to_delayed().ravel()
        ys = self.y.to_delayed().ravel()
        ws = [None] * len(xs) if self.weight is None else self.weight.to_delayed().ravel()
        os_ = [None] * len(xs) if self.offset is None else self.offset.to_delayed().ravel()
        return list(zip(xs, ys, ws, os_, strict=True))

    def describe(self, missing="raise"):
        """Rows, labels, weight and rows per label, in one tree reduction on the workers;
        a ValueError names the first row (and column) of ``X``, the weights or the offset
        that is missing, infinite or (weights) negative, and the first missing label. With
        ``missing="drop"`` the rows with a missing value (NaN, None) are counted per column
        and left out (:func:`block_missing`), as every pass leaves them, block by block."""
        drop = missing == "drop"
        starts = np.concatenate([[0], np.cumsum(self.X.chunks[0])[:-1]]).astype(int)
        parts = [
            _delayed(_block_summary)(*block, int(start), drop)
            for block, start in zip(self.blocks(), starts, strict=True)
        ]
        labels, weights, counts, bad, dropped = _tree(parts, _merge_summaries)
        for name, found in zip(("y", "X", "sample_weight", "offset"), bad, strict=True):
            if found is not None:
                raise ValueError(self._bad_value_message(name, *found))
        order = np.argsort(labels, kind="stable")
        kept = int(np.sum(counts))
        if drop and kept == 0:
            raise ValueError("missing='drop' drops every row: each has a missing value")
        names = self.feature_names or [f"x{j}" for j in range(self.n_features)]
        columns = [*names, *self.names]
        return DataSummary(
            kept,
            np.asarray(labels)[order],
            np.asarray(weights, dtype=float)[order],
            np.asarray(counts, dtype=int)[order],
            drop,
            int(self.X.shape[0]) - kept,
            {columns[j]: int(c) for j, c in sorted(dropped.items())},
        )

    def _bad_value_message(self, name, row, col, value):
        if name == "y":
            value = value.item() if isinstance(value, np.generic) else value
            return f"y contains a missing label at row {row} ({value!r})"
        kind = "NaN" if value != value else "inf" if np.isinf(value) else f"{value!r}"
        where = f"row {row}"
        if col is not None:
            label = "" if self.feature_names is None else f" ({self.feature_names[col]!r})"
            where += f", column {col}{label}"
        rule = " (weights must be >= 0)" if name == "sample_weight" and value < 0 else ""
        return f"{name} contains {kind} at {where}{rule}"

    def make_source(self, bound, offset_map, verbose=0):
        """A :class:`DaskSource` for one fit."""
        return DaskSource(self, bound, offset_map)


def block_missing(x, labels, weight, offset):
    """``(rows, counts)`` of one block: which rows have a missing value (NaN, None) in the
    features, label, weight or offset, and ``{column: rows missing there}`` over the
    columns ``0 .. p-1`` (features), ``p`` (label), ``p + 1`` (weight), ``p + 2`` (offset)."""
    x = np.asarray(x)
    p = x.shape[1]
    masks = [*np.asarray(pd.isna(x), dtype=bool).reshape(x.shape[0], p).T]
    masks.append(np.asarray(pd.isna(np.asarray(labels)), dtype=bool))
    for part in (weight, offset):
        mask = None if part is None else np.asarray(pd.isna(np.asarray(part)), dtype=bool)
        masks.append(None if mask is None else mask.reshape(x.shape[0], -1).any(axis=1))
    rows, counts = np.zeros(x.shape[0], dtype=bool), {}
    for j, mask in enumerate(masks):
        if mask is not None and mask.any():
            counts[j] = int(np.count_nonzero(mask))
            rows |= mask
    return rows, counts


def _complete(x, labels, weight, offset):
    """The block's rows without a missing value."""
    keep = ~block_missing(x, labels, weight, offset)[0]
    pick = lambda a: None if a is None else np.asarray(a)[keep]  # noqa: E731
    return pick(x), pick(labels), pick(weight), pick(offset)


def _chunk(x, labels, weight, offset, classes, class_factor, offset_map, features, drop=False):
    if drop:
        x, labels, weight, offset = _complete(x, labels, weight, offset)
    codes = codes_of(labels, classes)
    w = np.ones(codes.size) if weight is None else np.asarray(weight, dtype=float)
    off = None if offset is None else offset_map(np.asarray(offset, dtype=float))
    X = np.asarray(x) if features else np.empty((codes.size, 0))
    if X.dtype.kind != "f":
        X = X.astype(float)
    return Chunk(X, codes, w * class_factor[codes], off)


def _delayed(fn):
    from dask import delayed

    return delayed(fn, pure=False)


def _tree(parts, combine, fan_in=8):
    """Combine delayed summaries in a tree of fan-in ``fan_in`` and compute the root."""
    dask, _ = _dask()
    while len(parts) > 1:
        parts = [_delayed(combine)(*parts[i : i + fan_in]) for i in range(0, len(parts), fan_in)]
    return dask.compute(parts[0])[0]


def _first_bad(values, start, allow_negative=True):
    """``(row, column, value)`` of the first NaN, infinite (or negative) entry of a block
    whose first row is ``start``, or None."""
    if values is None:
        return None
    values = np.asarray(values, dtype=float)
    bad = ~np.isfinite(values) if allow_negative else ~(np.isfinite(values) & (values >= 0))
    if not bad.any():
        return None
    index = np.argwhere(bad)[0]
    col = int(index[1]) if values.ndim == 2 else None
    return int(start + index[0]), col, float(values[tuple(index)])


def _block_summary(x, labels, weight, offset, start=0, drop=False):
    """Labels of one block with their weight and row totals, the first invalid entry of
    the labels, ``X``, the weights and the offset (None where there is none), and with
    ``drop`` the missing values per column (the rows holding them left out)."""
    labels = np.asarray(labels)
    kept, dropped = slice(None), {}
    if drop:  # missing entries are zeroed (not errors), their rows left out of the totals
        gone, dropped = block_missing(x, labels, weight, offset)
        x, weight, offset = (_zero_rows(a, gone) for a in (x, weight, offset))
        kept = ~gone
    missing = None
    if not drop and labels.dtype.kind in "Of":
        missing = np.asarray(pd.isna(labels), dtype=bool)
    bad_label = None
    if missing is not None and missing.any():
        row = int(np.flatnonzero(missing)[0])
        bad_label = (start + row, None, labels[row])
        kept = ~missing
    labels = labels[kept]
    uniq, inv = np.unique(labels, return_inverse=True)
    w = np.ones(inv.size) if weight is None else np.asarray(weight, dtype=float)[kept]
    bad = (
        bad_label,
        _first_bad(x, start),
        _first_bad(weight, start, allow_negative=False),
        _first_bad(offset, start),
    )
    sums = np.bincount(inv, weights=np.where(np.isfinite(w), w, 0.0), minlength=uniq.size)
    return list(uniq), list(sums), list(np.bincount(inv, minlength=uniq.size)), bad, dropped


def _zero_rows(values, rows):
    """``values`` (a block's features, weights or offset) with ``rows`` set to 0: their
    missing values are dropped, not errors."""
    if values is None or not rows.any():
        return None if values is None else np.asarray(values, dtype=float)
    values = np.array(values, dtype=float)
    values[rows] = 0.0
    return values


def _merge_summaries(*summaries):
    totals, dropped = {}, {}
    bad = (None, None, None, None)
    for labels, sums, counts, flags, missing in summaries:
        for label, s, c in zip(labels, sums, counts, strict=True):
            w0, c0 = totals.get(label, (0.0, 0))
            totals[label] = (w0 + s, c0 + c)
        bad = tuple(_earlier(a, b) for a, b in zip(bad, flags, strict=True))
        merge_counts(dropped, missing)
    labels = list(totals)
    return labels, [totals[k][0] for k in labels], [totals[k][1] for k in labels], bad, dropped


def _earlier(a, b):
    """The invalid entry with the smaller row (None when neither is)."""
    if a is None or b is None:
        return a if b is None else b
    return a if a[0] <= b[0] else b


def _apply(fn, make_chunk, *parts):
    return fn(make_chunk(*parts))


def _add(*summaries):
    total = None
    for s in summaries:
        total = add_summaries(total, s)
    return total


class DaskSource(BoundSource):
    """A data source over :class:`DaskData`: ``reduce`` is a tree reduction on the
    workers, ``batches`` computes one block at a time in a shuffled order."""

    #: One row block as a :class:`Chunk` (counts responses expand it: counts_dask).
    make_chunk = staticmethod(_chunk)

    def __init__(self, data, bound, offset_map):
        super().__init__(bound, offset_map)
        self.data = data

    def _blocks(self):
        bound = self.bound
        fixed = (
            bound.classes,
            bound.class_factor,
            self.offset_map,
            bound.features,
            bound.summary.drop_missing,
        )
        return [(*block, *fixed) for block in self.data.blocks()]

    def _data_owner(self):
        return self.data

    def _first_features(self):
        dask, _ = _dask()
        return np.asarray(dask.compute(self._blocks()[0][0])[0])

    @property
    def block_rows(self):
        """Median rows per block: every pass pays a scheduling round trip, so Newton weighs
        it against a block's arithmetic when choosing gradient or Hessian passes."""
        return float(np.median(self.data.X.chunks[0]))

    def reduce(self, fn, fan_in=8):
        """Sum ``fn(chunk)`` over the row blocks, added in a tree of fan-in ``fan_in``."""
        parts = [_delayed(_apply)(fn, self.make_chunk, *block) for block in self._blocks()]
        return _tree(parts, _add, fan_in)

    def subsample(self, n_rows, seed=0):
        """A source over randomly chosen whole blocks holding at least ``n_rows`` rows (the
        blocks stay on their workers), or None when that would be every block."""
        sizes = np.asarray(self.data.X.chunks[0])
        order = np.random.default_rng(seed).permutation(sizes.size)
        k = int(np.searchsorted(np.cumsum(sizes[order]), n_rows)) + 1
        if k >= sizes.size:
            return None
        cache = self.__dict__.setdefault("_subsamples", {})
        if (n_rows, seed) not in cache:
            cache.clear()
            cache[n_rows, seed] = _BlockSubset(self, np.sort(order[:k]))
        return cache[n_rows, seed]

    def batches(self, batch_size, rng=None):
        """Mini-batches of at most ``batch_size`` rows, block by block (shuffled with ``rng``)."""
        dask, _ = _dask()
        blocks = self._blocks()
        order = range(len(blocks)) if rng is None else rng.permutation(len(blocks))
        for i in order:
            x, y, w, o = dask.compute(*blocks[i][:4])
            chunk = self.make_chunk(x, y, w, o, *blocks[i][4:])
            index = np.arange(chunk.n_rows) if rng is None else rng.permutation(chunk.n_rows)
            for start in range(0, chunk.n_rows, batch_size):
                rows = index[start : start + batch_size]
                off = None if chunk.offset is None else chunk.offset[rows]
                yield Chunk(chunk.X[rows], chunk.y[rows], chunk.weight[rows], off)


class _BlockSubset:
    """Some row blocks of a :class:`DaskSource` (a subsample that never leaves the workers)."""

    def __init__(self, parent, index):
        self.parent, self.index = parent, index
        self.n_rows = int(np.asarray(parent.data.X.chunks[0])[index].sum())
        self.n_features = parent.n_features

    def reduce(self, fn, fan_in=8):
        """Sum ``fn(chunk)`` over the chosen blocks."""
        blocks = self.parent._blocks()
        make = self.parent.make_chunk
        return _tree([_delayed(_apply)(fn, make, *blocks[i]) for i in self.index], _add, fan_in)
