r"""Out-of-core data: Parquet and CSV files read in batches with pyarrow.

``scan_parquet`` / ``scan_csv`` describe a table on disk; ``fit(scan)`` then visits it in
batches of ``batch_rows`` rows. Newton/IRLS needs, per iteration, only sums over rows (loss,
gradient, :math:`X^T W X`), so an exact fit with standard errors takes a few passes over the
file in memory that does not grow with the number of rows (DESIGN.md section 2). SGD/Adam
read the row groups in a shuffled order each epoch and shuffle the rows inside them.
"""

from __future__ import annotations

import glob
import os
from collections import deque

import numpy as np

from .bound import BoundSource, DataSummary, codes_of
from .missing import merge_counts
from .sources import Chunk, _pool, add_summaries, single_threaded_blas

__all__ = ["StreamSource", "TableFiles", "TableScan", "missing_rows"]

#: Bytes of features per batch when ``batch_rows`` is not given; batches read ahead.
BATCH_BYTES = 16 * 2**20
READAHEAD = 2
#: pyarrow's CSV block: a block must hold a whole line, so wide files get larger blocks.
CSV_BLOCK_BYTES = 2**20
CSV_SAMPLE_LINES = 16
_LONGEST_LINE = 256 * 2**20


def _pyarrow():
    try:
        import pyarrow.compute as pc
        import pyarrow.dataset as ds
    except ImportError as err:  # pragma: no cover - optional extra
        raise ImportError(
            "reading Parquet/CSV needs pyarrow: pip install softlogit[parquet]"
        ) from err
    return ds, pc


def _resolve_paths(path_or_glob):
    """Files named by a path, a glob, a folder or a list of those, sorted; an error if none."""
    items = [path_or_glob] if isinstance(path_or_glob, (str, os.PathLike)) else list(path_or_glob)
    paths = []
    for item in items:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = sorted(p for p in glob.glob(os.path.join(item, "*")) if os.path.isfile(p))
        elif glob.has_magic(item):
            found = sorted(glob.glob(item))
        elif os.path.isfile(item):
            found = [item]
        else:
            raise FileNotFoundError(f"no such file: {item!r}")
        if not found:
            raise FileNotFoundError(f"{item!r} matches no files")
        paths.extend(found)
    return paths


def _csv_block_size(paths):
    """A CSV block size that holds the longest of the first lines of every file (twice
    over), at least pyarrow's 1 MiB: a 20,000-column header is longer than that."""
    longest = 0
    for path in paths:
        with open(path, "rb") as fh:
            for _ in range(CSV_SAMPLE_LINES):
                line = fh.readline(_LONGEST_LINE)
                if not line:
                    break
                longest = max(longest, len(line))
    return int(min(max(CSV_BLOCK_BYTES, 2 * longest), 2**31 - 1))


def _file_format(paths, file_format):
    """The pyarrow file format object for reading ``paths``."""
    ds, _ = _pyarrow()
    if file_format == "parquet":  # no pre-buffering: memory stays at one row group
        options = ds.ParquetFragmentScanOptions(pre_buffer=False)
        return ds.ParquetFileFormat(default_fragment_scan_options=options)
    import pyarrow.csv as csv

    return ds.CsvFileFormat(read_options=csv.ReadOptions(block_size=_csv_block_size(paths)))


def _kind_of(kind):
    """``"numbers"``, ``"text"``, ``"empty"`` or the type's name: what a column holds."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_null(kind):
        return "empty"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return "numbers"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    return str(kind)


def _common_type(types):
    """The type that holds every one of ``types`` (of one kind); None if there is none."""
    import pyarrow as pa

    types = [t for t in types if not pa.types.is_null(t)]
    if not types:
        return pa.null()
    if all(t == types[0] for t in types):
        return types[0]
    kinds = {_kind_of(t) for t in types}
    if kinds == {"numbers"}:
        return pa.int64() if all(pa.types.is_integer(t) for t in types) else pa.float64()
    if kinds == {"text"}:
        return pa.large_string() if any(pa.types.is_large_string(t) for t in types) else pa.string()
    return None


class TableFiles:
    """The files of one table, each one's columns checked against the others.

    pyarrow takes a dataset's columns from its first file; here every file's schema is read
    (a Parquet footer, or the first CSV block), so that a column missing from one file or
    holding text in one file and numbers in another is an error naming that file and that
    column, not an error from deep inside pyarrow. Numbers of different types (int64 in one
    file, double in another) are read as the common type.

    Parameters
    ----------
    paths : list of str
    file_format : {"parquet", "csv"}

    Attributes
    ----------
    paths : list of str
    schema : pyarrow.Schema
        Every column of any file, in order of first appearance, with its common type.
    dataset : pyarrow.dataset.Dataset
        The files, read with ``schema``.
    """

    def __init__(self, paths, file_format):
        ds, _ = _pyarrow()
        import pyarrow as pa

        self.paths, self.format = list(paths), file_format
        fmt = _file_format(self.paths, file_format)
        self._types, metadata = {}, None  # path -> {column: type}; the first file's metadata
        for path in self.paths:
            try:
                single = ds.dataset(path, format=fmt)
            except Exception as err:  # pyarrow's message names the problem; keep it
                raise ValueError(f"cannot read {path!r} as {file_format}: {err}") from None
            schema = single.schema
            metadata = schema.metadata if path == self.paths[0] else metadata
            self._types[path] = dict(zip(schema.names, schema.types, strict=True))
        names = list(dict.fromkeys(n for types in self._types.values() for n in types))
        self._conflicts, fields = {}, []
        for name in names:
            seen = [(p, types[name]) for p, types in self._types.items() if name in types]
            common = _common_type([t for _, t in seen])
            if common is None:
                self._conflicts[name] = seen
                common = seen[0][1]
            fields.append(pa.field(name, common))
        self.schema = pa.schema(fields, metadata=metadata)  # pandas' index and dtypes
        if len(self.paths) == 1:  # its own schema: no second look at the file
            self.dataset = single
        else:
            self.dataset = ds.dataset(self.paths, schema=self.schema, format=fmt)

    @property
    def names(self):
        """Every column name, in order of first appearance."""
        return list(self.schema.names)

    def check(self, columns):
        """Raise ValueError naming the file where one of ``columns`` is missing or holds
        another kind of value than in the first file (columns in no file are not checked:
        the caller names those)."""
        for name in columns:
            having = [p for p, types in self._types.items() if name in types]
            lacking = [p for p, types in self._types.items() if name not in types]
            if having and lacking:
                raise ValueError(
                    f"column {name!r} is not in {lacking[0]!r} (it is in {having[0]!r}): "
                    "every file of the table needs the same columns"
                )
            if name in self._conflicts:
                (p0, t0), (p1, t1) = self._first_clash(self._conflicts[name])
                raise ValueError(
                    f"column {name!r} holds {_kind_of(t0)} ({t0}) in {p0!r} but "
                    f"{_kind_of(t1)} ({t1}) in {p1!r}: every file needs the same column types"
                )

    @staticmethod
    def _first_clash(seen):
        """The first file of the column and the first file whose type cannot join it."""
        first = next((item for item in seen if _kind_of(item[1]) != "empty"), seen[0])
        for item in seen:
            if _common_type([first[1], item[1]]) is None:
                return first, item
        return seen[0], seen[-1]  # pragma: no cover - a clash needs two such files

    def fragments(self):
        """The files as pyarrow fragments, in file order."""
        return list(self.dataset.get_fragments())

    def batches(self, columns, batch_size, fragments=None, readahead=READAHEAD):
        """Record batches of ``columns`` with the table's schema, fragment by fragment (all
        of the table's, or the given ones); a read error names its file."""
        import pyarrow as pa

        for part in self.fragments() if fragments is None else fragments:
            try:
                yield from part.to_batches(
                    schema=self.schema,
                    columns=columns,
                    batch_size=batch_size,
                    batch_readahead=readahead,
                    fragment_readahead=1,
                )
            except (pa.ArrowException, ValueError, TypeError) as err:
                raise ValueError(f"cannot read {part.path!r}: {err}") from None


def _as_list(value, what):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    values = list(value)
    if not all(isinstance(v, str) for v in values):
        raise TypeError(f"{what} must be a column name or a list of column names")
    return values


class TableScan:
    """A table on disk (Parquet or CSV files) described for fitting; see :func:`scan_parquet`.

    Attributes
    ----------
    paths : list of str
    target, weight : str or None
    offset : list of str
        One column (per-row offset) or one per class.
    feature_names : list of str
    batch_rows : int
    """

    def __init__(self, paths, file_format, target, features, weight, offset, batch_rows):
        self.paths = paths
        self.format = file_format
        self.files = TableFiles(paths, file_format)
        self.dataset = self.files.dataset
        names = self.files.names
        self.target = target
        self.weight = weight
        self.offset = _as_list(offset, "offset")
        special = [c for c in [target, weight, *self.offset] if c is not None]
        features = [c for c in names if c not in special] if features is None else features
        self.feature_names = _as_list(features, "features")
        p = max(1, len(self.feature_names))
        self.batch_rows = int(batch_rows) if batch_rows else max(1024, BATCH_BYTES // (8 * p))
        if self.batch_rows < 1:
            raise ValueError(f"batch_rows must be a positive integer, got {batch_rows!r}")
        self._check_columns(names, special)

    def _check_columns(self, names, special):
        have = set(names)
        missing = [c for c in [*special, *self.feature_names] if c not in have]
        if missing:
            raise ValueError(f"column {missing[0]!r} is not in {self.paths[0]!r}; it has {names}")
        if self.target is None:
            raise ValueError("scan needs target=: the name of the label column")
        clash = set(self.feature_names) & set(special)
        if clash:
            raise ValueError(
                f"column {sorted(clash)[0]!r} is both a feature and the target, weight or offset"
            )
        self.files.check([*special, *self.feature_names])
        import pyarrow as pa

        schema = self.dataset.schema
        for col in [*self.feature_names, *([self.weight] if self.weight else []), *self.offset]:
            kind = _kind_of(schema.field(col).type)
            if kind == "empty":  # CSV: a header only, or not one value in the column
                self._check_rows()
                raise ValueError(f"column {col!r} has no values: every cell of it is empty")
            if kind != "numbers" or pa.types.is_dictionary(schema.field(col).type):
                raise ValueError(
                    f"column {col!r} is not numeric (type {schema.field(col).type}); "
                    "encode it first"
                )

    def _check_rows(self):
        """A ValueError when the files have no rows at all."""
        if not any(batch.num_rows for batch in self.record_batches([self.target])):
            where = self.paths[0] if len(self.paths) == 1 else self.paths
            raise ValueError(f"{where!r} has no rows")

    # ------------------------------------------------------------------ shape
    @property
    def n_features(self):
        """Number of feature columns."""
        return len(self.feature_names)

    @property
    def has_offset(self):
        """Whether an offset column is read."""
        return bool(self.offset)

    # ------------------------------------------------------------------ reading
    def record_batches(self, columns, fragments=None):
        """pyarrow record batches of ``columns``, row group by row group (all of them, or
        the given fragments): scanning a whole dataset at once holds far more than a row
        group in pyarrow's memory pool."""
        parts = self.fragments() if fragments is None else fragments
        # little read-ahead: memory stays at a few batches
        yield from self.files.batches(columns, self.batch_rows, parts)

    def _columns(self, features=True):
        cols = [self.target]
        if features:
            cols += self.feature_names
        if self.weight:
            cols.append(self.weight)
        return cols + self.offset

    def describe(self, missing="raise"):
        """One pass: rows, sorted labels and prior-weight totals per label; checks every
        value (missing, non-finite or negative values are errors naming column and row).
        With ``missing="drop"`` rows with a missing value (null, NaN, a blank label) are
        counted per column and left out (:func:`missing_rows`), as every pass leaves them."""
        drop = missing == "drop"
        n, start, totals, counts, dropped = 0, 0, {}, {}, {}
        for batch in self.record_batches(self._columns()):
            gone = None
            if drop:
                gone, by_column = missing_rows(batch, self.target)
                merge_counts(dropped, by_column)
            self._check_batch(batch, start, gone)
            start += batch.num_rows
            if gone is not None and gone.any():
                batch = batch.filter(~gone)
            labels = batch.column(self.target).to_numpy(zero_copy_only=False)
            uniq, inv = np.unique(labels, return_inverse=True)
            sums = np.bincount(inv, weights=self._weights(batch), minlength=uniq.size)
            rows = np.bincount(inv, minlength=uniq.size)
            for label, s, c in zip(uniq.tolist(), sums, rows, strict=True):
                totals[label] = totals.get(label, 0.0) + float(s)
                counts[label] = counts.get(label, 0) + int(c)
            n += batch.num_rows
        if n == 0:
            detail = f" once the {start} rows with missing values are dropped" if start else ""
            raise ValueError(f"{self.paths[0]!r} has no rows{detail}")
        order = sorted(totals)
        return DataSummary(
            n,
            np.array(order),
            np.array([totals[c] for c in order]),
            np.array([counts[c] for c in order]),
            drop,
            start - n,
            {c: dropped[c] for c in self._columns() if c in dropped},  # in column order
        )

    def _check_batch(self, batch, start, dropped=None):
        """Errors naming the column and row of a missing, non-finite or (weights) negative
        value; rows in ``dropped`` (missing="drop") are not checked."""
        for col in batch.schema.names:
            arr = batch.column(col)
            if arr.null_count and dropped is None:
                row = start + int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
                raise ValueError(f"column {col!r} has a missing value at row {row}")
            if col == self.target:
                if dropped is None:
                    _check_blank_labels(arr, col, start)
                continue
            values = arr.to_numpy(zero_copy_only=False).astype(float, copy=False)
            bad = ~np.isfinite(values)
            if dropped is not None:
                bad &= ~dropped
            if col == self.weight:
                bad |= values < 0
            if np.any(bad):
                row = int(np.flatnonzero(bad)[0])
                value, row = float(values[row]), start + row
                raise ValueError(f"column {col!r} has the invalid value {value!r} at row {row}")

    def _weights(self, batch):
        if not self.weight:
            return np.ones(batch.num_rows)
        return batch.column(self.weight).to_numpy(zero_copy_only=False).astype(float)

    def chunk(self, batch, bound, offset_map):
        """A :class:`Chunk` from one record batch (features as float64, C-contiguous); with
        ``missing="drop"`` the batch's rows with a missing value left out."""
        if bound.summary.drop_missing:
            gone = missing_rows(batch, self.target)[0]
            if gone.any():
                batch = batch.filter(~gone)
        labels = batch.column(self.target).to_numpy(zero_copy_only=False)
        codes = codes_of(labels, bound.classes, self.target)
        rows = batch.num_rows
        X = np.empty((rows, self.n_features if bound.features else 0))
        if bound.features:
            for j, name in enumerate(self.feature_names):
                X[:, j] = batch.column(name).to_numpy(zero_copy_only=False)
        weight = self._weights(batch) * bound.class_factor[codes]
        offset = None
        if self.offset:
            raw = np.column_stack(
                [batch.column(c).to_numpy(zero_copy_only=False) for c in self.offset]
            ).astype(float)
            offset = offset_map(raw[:, 0] if raw.shape[1] == 1 else raw)
        return Chunk(X, codes, weight, offset)

    def make_source(self, bound, offset_map, verbose=0):
        """A :class:`StreamSource` over this table for one fit."""
        return StreamSource(self, bound, offset_map, verbose)

    def on_dask(self):
        """The same columns as a :class:`~softlogit.data.dask_source.DaskData` read by
        ``dask.dataframe.read_parquet`` (not persisted: each pass reads the files on the
        workers)."""
        try:
            import dask.dataframe as dd
        except ImportError as err:  # optional extra
            raise ImportError(
                "scan_parquet(..., dask=True) needs dask: pip install softlogit[dask]"
            ) from err

        from .dask_source import DaskData

        frame = dd.read_parquet(self.paths, columns=self._columns())
        weight = frame[self.weight] if self.weight else None
        offset = None
        if self.offset:
            offset = frame[self.offset[0]] if len(self.offset) == 1 else frame[self.offset]
        return DaskData(frame[self.feature_names], frame[self.target], weight, offset)

    def fragments(self):
        """Row groups (Parquet) or files (CSV), in file order: the units a pass reads one at
        a time and an epoch shuffles."""
        if getattr(self, "_fragments", None) is None:
            pieces = []
            for fragment in self.dataset.get_fragments():
                if self.format == "parquet":
                    pieces.extend(fragment.split_by_row_group())
                else:
                    pieces.append(fragment)
            self._fragments = pieces
        return list(self._fragments)


def missing_rows(batch, target):
    """``(rows, counts)``: which rows of a record batch have a missing value (a null, a NaN,
    a blank label in ``target``) in any of its columns, and ``{column: rows missing there}``
    for the columns with some (``missing="drop"``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows, counts = np.zeros(batch.num_rows, dtype=bool), {}
    for name in batch.schema.names:
        column = batch.column(name)
        mask = column.is_null().to_numpy(zero_copy_only=False)
        if pa.types.is_floating(column.type):
            mask = mask | pc.fill_null(pc.is_nan(column), False).to_numpy(zero_copy_only=False)
        elif name == target and _kind_of(column.type) == "text":
            text = (
                column.cast(column.type.value_type)
                if pa.types.is_dictionary(column.type)
                else column
            )
            blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), False)
            mask = mask | blank.to_numpy(zero_copy_only=False)
        if mask.any():
            counts[name] = int(np.count_nonzero(mask))
            rows |= mask
    return rows, counts


def _check_blank_labels(labels, column, start):
    """A label that is only white space (a CSV cell of spaces) is a missing value, not a
    class: a ValueError naming the column and the row (``start`` + its place in the batch)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = labels.type.value_type if pa.types.is_dictionary(labels.type) else labels.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return
    text = labels.cast(kind) if kind != labels.type else labels
    blank = pc.equal(pc.utf8_trim_whitespace(text), "").to_numpy(zero_copy_only=False)
    if np.any(blank):
        row = start + int(np.flatnonzero(blank)[0])
        raise ValueError(f"column {column!r} has a missing value (a blank cell) at row {row}")


class StreamSource(BoundSource):
    """A data source that reads a :class:`TableScan` batch by batch on every pass.

    ``reduce`` maps chunks on the shared thread pool (one BLAS thread each) with at most
    ``2 * cores`` chunks in flight, and adds the summaries in file order, so memory is a few
    batches whatever the number of rows and the result does not depend on scheduling.
    """

    def __init__(self, scan, bound, offset_map, verbose=0):
        super().__init__(bound, offset_map)
        self.scan = scan
        self.verbose = verbose
        self.passes = 0

    def _data_owner(self):
        return self.scan

    def _first_features(self):
        return next(iter(self.chunks())).X

    def chunks(self, fragments=None):
        """Chunks in file order (or of the given fragments)."""
        drop = self.bound.summary.drop_missing  # the features decide which rows are kept
        columns = self.scan._columns(self.bound.features or drop)
        for batch in self.scan.record_batches(columns, fragments):
            chunk = self.scan.chunk(batch, self.bound, self.offset_map)
            if chunk.n_rows or not drop:
                yield chunk

    def reduce(self, fn):
        """Sum ``fn(chunk)`` over all chunks (one pass over the files)."""
        pool, _ = _pool()
        self.passes += 1
        total, window = None, deque()
        bar = _progress(self.n_rows, f"pass {self.passes}", self.verbose)
        with single_threaded_blas():
            for chunk in self.chunks():
                window.append((pool.submit(fn, chunk), chunk.n_rows))
                if len(window) >= 2 * max(1, pool._max_workers):
                    total = _take(window, total, bar)
            while window:
                total = _take(window, total, bar)
        if bar is not None:
            bar.close()
        return total

    def batches(self, batch_size, rng=None):
        """Mini-batches of ``batch_size`` rows; with ``rng``, the row groups in a shuffled
        order and the rows inside each shuffled (one epoch)."""
        pieces = self.scan.fragments()
        if rng is not None:
            pieces = [pieces[i] for i in rng.permutation(len(pieces))]
        pending = None
        for chunk in self.chunks(pieces):
            if rng is not None:
                chunk = chunk.rows(rng.permutation(chunk.n_rows))
            pending = chunk if pending is None else _concat(pending, chunk)
            while pending.n_rows >= batch_size:
                yield pending.rows(slice(0, batch_size))
                pending = pending.rows(slice(batch_size, None))
        if pending is not None and pending.n_rows:
            yield pending


def _take(window, total, bar):
    future, rows = window.popleft()
    total = add_summaries(total, future.result())
    if bar is not None:
        bar.update(rows)
    return total


def _progress(total, desc, verbose):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="rows", unit_scale=True, leave=False)


def _concat(a, b):
    off = None if a.offset is None else np.concatenate([a.offset, b.offset])
    return Chunk(
        np.concatenate([a.X, b.X]),
        np.concatenate([a.y, b.y]),
        np.concatenate([a.weight, b.weight]),
        off,
    )
