"""Tables for the command line: finding, reading and writing CSV and Parquet data.

Every table is read through pyarrow datasets, whole (:func:`read_frame`) or batch by batch
(:func:`iter_frames`), so a file gives the same column types whether a fit reads it into
memory or streams it; every file's columns are checked against the others'
(:class:`~softlogit.data.stream.TableFiles`). Predictions are written batch by batch to a
temporary file that is renamed over the destination (:func:`write_frames`): the old file or
the complete new one, never a part. Before any work, :func:`check_outputs` refuses outputs
that would destroy something: one of the command's inputs, a special file, a missing or
read-only folder, or (without ``--force``) a file that softlogit did not write.
"""

from __future__ import annotations

import glob
import os
import re
import sys

import numpy as np
import pandas as pd

from ..data.stream import TableFiles
from ..files import atomic_path, check_target

__all__ = [
    "DataError",
    "PREDICT_BATCH_ROWS",
    "STREAM_BYTES",
    "Table",
    "check_labels",
    "check_outputs",
    "class_weight_for",
    "error_message",
    "is_model_file",
    "is_predictions_file",
    "is_report_file",
    "iter_frames",
    "label_for",
    "offset_values",
    "open_table",
    "output_format",
    "parse_class_weight",
    "prediction_frame",
    "read_frame",
    "scan_labels",
    "sorted_labels",
    "write_frames",
]

#: Inputs larger than this (bytes, all files together) are streamed by ``softlogit fit``.
STREAM_BYTES = 200 * 2**20
#: Rows per batch when predicting (memory stays bounded whatever the number of rows).
PREDICT_BATCH_ROWS = 65_536
#: Read buffer per Parquet column when predicting: memory does not grow with row groups.
READ_BUFFER_BYTES = 2**20
#: File formats by file name extension.
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class DataError(ValueError):
    """A problem with the user's files or columns (the command exits with status 1)."""


def error_message(err):
    """One line describing ``err`` for the ``Error: ...`` line of the command line.

    Parameters
    ----------
    err : Exception

    Returns
    -------
    str
        The message without colour codes or line breaks; errors other than ValueError and
        OSError are prefixed with their type, which then says more than the text.
    """
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        text = f"{err.strerror}: {os.fspath(err.filename)!r}"
    else:
        text = str(err)
    text = " ".join(_ANSI.sub("", text).split())
    if isinstance(err, KeyError) or not isinstance(err, (ValueError, OSError)):
        text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text or type(err).__name__


# --------------------------------------------------------------------------- inputs
def _format_of(path):
    fmt = FORMATS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise DataError(
            f"cannot tell the format of {path!r}: name it .csv, .parquet or .pq "
            "(or give a folder or glob of such files)"
        )
    return fmt


def _resolve(path):
    """The files named by a file, a folder (its .csv/.parquet/.pq files) or a glob."""
    if os.path.isdir(path):
        found = sorted(
            os.path.join(path, name)
            for name in os.listdir(path)
            if not name.startswith((".", "_"))
            and os.path.splitext(name)[1].lower() in FORMATS
            and os.path.isfile(os.path.join(path, name))
        )
        if not found:
            raise DataError(f"the folder {path!r} has no .csv, .parquet or .pq files")
        return found
    if glob.has_magic(path):
        found = sorted(p for p in glob.glob(path) if os.path.isfile(p))
        if not found:
            raise DataError(f"{path!r} matches no files")
        return found
    if not os.path.isfile(path):
        raise DataError(f"no such file: {path!r}")
    return [path]


class Table:
    """Data files of one format, described by a pyarrow dataset (nothing read yet).

    Parameters
    ----------
    path : str
        A ``.csv``, ``.parquet`` or ``.pq`` file, a folder of such files or a glob.

    Attributes
    ----------
    path : str
        As given (for messages).
    paths : list of str
        The files, sorted.
    format : {"csv", "parquet"}
    dataset : pyarrow.dataset.Dataset
    """

    def __init__(self, path):
        self.path = path
        self.paths = _resolve(path)
        formats = sorted({_format_of(p) for p in self.paths})
        if len(formats) > 1:
            raise DataError(f"{path!r} mixes CSV and Parquet files: use one format")
        self.format = formats[0]
        try:
            self.files = TableFiles(self.paths, self.format)
        except ValueError as err:  # names the file and pyarrow's problem
            raise DataError(str(err)) from None
        self.dataset = self.files.dataset

    @property
    def columns(self):
        """Column names, in file order (of all files, in order of first appearance)."""
        return self.files.names

    @property
    def n_bytes(self):
        """Size of all files together, in bytes."""
        return sum(os.path.getsize(p) for p in self.paths)

    def require(self, columns):
        """Raise :class:`DataError` naming the first of ``columns`` that is not a column."""
        have = self.columns
        known = set(have)
        missing = [c for c in columns if c not in known]
        if missing:
            shown = ", ".join(have[:20]) + (", ..." if len(have) > 20 else "")
            raise DataError(f"column {missing[0]!r} is not in {self.path!r}; it has {shown}")
        try:
            self.files.check(columns)
        except ValueError as err:  # a column missing from one file, or of another type there
            raise DataError(str(err)) from None

    def batches(self, columns=None, batch_rows=None):
        """pyarrow record batches of ``columns`` (default all), file by file; a read error
        names its file."""
        try:
            yield from self.files.batches(columns, batch_rows or PREDICT_BATCH_ROWS)
        except ValueError as err:
            raise DataError(str(err)) from None

    def stream(self, columns=None, batch_rows=None):
        """Record batches of at most ``batch_rows`` rows (default :data:`PREDICT_BATCH_ROWS`)
        of ``columns`` (default all), with the table's column types, file by file.

        Unlike :meth:`batches` (pyarrow's dataset scanner, which decodes whole Parquet row
        groups and reads ahead), memory holds one batch and a read buffer per column,
        whatever the size of the files and of their row groups: Parquet through
        ``ParquetFile.iter_batches`` with a small read buffer, CSV through
        ``pyarrow.csv.open_csv``, block by block. A read error names its file.
        """
        import pyarrow as pa

        names = self.columns if columns is None else list(columns)
        schema = pa.schema([self.files.schema.field(c) for c in names])
        limit = batch_rows or PREDICT_BATCH_ROWS
        for path in self.paths:
            try:
                for batch in self._file_batches(path, schema, limit):
                    for start in range(0, batch.num_rows, limit):
                        yield batch.slice(start, limit)
            except (pa.ArrowException, ValueError, TypeError) as err:
                raise DataError(f"cannot read {path!r}: {err}") from None

    def _file_batches(self, path, schema, batch_rows):
        """The batches of one file, columns in ``schema``'s order and types."""
        import pyarrow as pa

        if self.format == "parquet":
            import pyarrow.parquet as pq

            reader = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER_BYTES)
            batches = reader.iter_batches(batch_size=batch_rows, columns=schema.names)
        else:
            import pyarrow.csv as csv

            scan = self.dataset.format.default_fragment_scan_options
            convert = csv.ConvertOptions(
                include_columns=schema.names,
                column_types=dict(zip(schema.names, schema.types, strict=True)),
            )
            batches = csv.open_csv(path, read_options=scan.read_options, convert_options=convert)
        for batch in batches:
            if batch.schema.names != schema.names or batch.schema.types != schema.types:
                arrays = [batch.column(f.name).cast(f.type) for f in schema]
                batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
            yield batch


def open_table(path):
    """The :class:`Table` of ``path`` (a :class:`DataError` when it names no data files)."""
    return Table(path)


def read_frame(table, columns=None):
    """The whole table (or the named columns) as a pandas DataFrame.

    Parameters
    ----------
    table : Table
    columns : list of str, optional
        Checked to exist; default all columns.

    Returns
    -------
    pandas.DataFrame
    """
    table.require(table.columns if columns is None else columns)
    import pyarrow as pa

    schema = table.dataset.schema
    schema = schema if columns is None else pa.schema([schema.field(c) for c in columns])
    data = pa.Table.from_batches(list(table.batches(columns)), schema=schema)
    if data.num_rows == 0:
        raise DataError(f"{table.path!r} has no rows")
    return data.to_pandas()


def iter_frames(table, columns=None, batch_rows=None):
    """The table as pandas DataFrames of at most ``batch_rows`` rows (default
    :data:`PREDICT_BATCH_ROWS`), in file order.

    Yields at least one frame (an empty one for a table without rows), so that writers
    always learn the output columns.
    """
    table.require(table.columns if columns is None else columns)
    empty = True
    for batch in table.stream(columns, batch_rows):
        if batch.num_rows:
            empty = False
            yield batch.to_pandas()
    if empty:
        nothing = table.dataset.schema.empty_table()
        yield (nothing if columns is None else nothing.select(columns)).to_pandas()


def sorted_labels(values):
    """The distinct non-missing labels of ``values`` in sorted order (a list)."""
    labels = pd.Series(values).dropna().unique()
    try:
        return sorted(labels.tolist())
    except TypeError:  # mixed types: the estimator says what is wrong
        return labels.tolist()


def check_labels(values, column):
    """Refuse a label that is only white space (a CSV cell of spaces): it is a missing
    value, not a class. A :class:`DataError` names the column and the row (from 0)."""
    series = pd.Series(values)
    if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
        return
    blank = series.str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    if blank.any():
        row = int(np.flatnonzero(blank)[0])
        raise DataError(f"column {column!r} has a missing value (a blank cell) at row {row}")


def scan_labels(scan):
    """The distinct labels of a :class:`~softlogit.data.stream.TableScan`'s target, sorted,
    from one pass over that column alone."""
    import pyarrow.compute as pc

    seen = set()
    for batch in scan.record_batches([scan.target]):
        seen.update(pc.unique(batch.column(0)).to_pylist())
    seen.discard(None)
    return sorted_labels(list(seen))


# --------------------------------------------------------------------------- outputs
def offset_values(frame, columns):
    """The offset of the rows of ``frame``: column ``columns[0]`` as an (n,) array, or the
    (n, K) array of several columns (softmax, one per class); None without columns."""
    if not columns:
        return None
    values = frame[list(columns)].to_numpy(dtype=float)
    return values[:, 0] if values.shape[1] == 1 else values


def prediction_frame(model, frame, proba=False, ids=(), features=None, offset=()):
    """Predicted labels (column ``label``) and, with ``proba``, one ``proba_<label>``
    column per class, for the rows of ``frame``.

    Parameters
    ----------
    model : fitted estimator
    frame : pandas.DataFrame
    proba : bool
    ids : sequence of str
        Columns of ``frame`` copied, first, into the output.
    features : list of str, optional
        The columns the model reads (default: all but ``ids``; a model fitted on arrays
        reads them by position).
    offset : sequence of str
        The offset columns of ``frame`` (one, or one per class), for a model fitted with an
        offset; they are not features.
    """
    classes = model.classes_
    names = [f"proba_{c}" for c in classes]
    out = frame[list(ids)].reset_index(drop=True)
    if len(frame) == 0:
        out["label"] = pd.Series([], dtype=classes.dtype)
        for name in names if proba else []:
            out[name] = pd.Series([], dtype=float)
        return out
    skip = list(dict.fromkeys([*ids, *offset]))
    X = frame[features] if features is not None else frame.drop(columns=skip)
    if model.formula is None and getattr(model, "feature_names_in_", None) is None:
        X = X.to_numpy()  # a model fitted on arrays: columns by position
    off = offset_values(frame, offset)
    out["label"] = model.predict(X, offset=off)
    if proba:
        P = model.predict_proba(X, offset=off)
        out = pd.concat([out, pd.DataFrame(P, columns=names)], axis=1)
    return out


def output_format(path):
    """``"csv"`` or ``"parquet"`` by the extension of ``path`` (ValueError otherwise)."""
    fmt = FORMATS.get(os.path.splitext(os.fspath(path))[1].lower())
    if fmt is None:
        raise ValueError(f"{path!r}: name the output .csv, .parquet or .pq")
    return fmt


def _write_csv(frames, fh):
    rows = 0
    for i, frame in enumerate(frames):
        frame.to_csv(fh, header=i == 0, index=False)
        rows += len(frame)
    return rows


def _write_parquet(frames, path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, writer = 0, None
    try:
        for frame in frames:
            schema = None if writer is None else writer.schema
            table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            rows += len(frame)
    finally:
        if writer is not None:
            writer.close()
    return rows


def write_frames(frames, out=None):
    """Write an iterator of DataFrames with the same columns as one table.

    Parameters
    ----------
    frames : iterable of pandas.DataFrame
        Consumed one at a time (memory holds one frame).
    out : str, optional
        A ``.csv``, ``.parquet`` or ``.pq`` file, written atomically; default CSV on stdout.

    Returns
    -------
    int
        The number of rows written.
    """
    if out is None:
        return _write_csv(frames, sys.stdout)
    fmt = output_format(out)
    with atomic_path(out) as tmp:
        if fmt == "parquet":
            return _write_parquet(frames, tmp)
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            return _write_csv(frames, fh)


def label_for(text, classes, option="--reference"):
    """The class of ``classes`` whose string form is ``text`` (labels read from CSV may be
    numbers; command-line values are strings): ``"1"`` also names the class ``1.0``."""
    hits = [c for c in classes if str(c) == text]
    if not hits:
        number = _number(text)
        hits = [c for c in classes if number is not None and _number(c) == number]
    if not hits:
        shown = ", ".join(str(c) for c in classes)
        raise DataError(f"{option} {text!r} is not a class of the target; the classes are {shown}")
    value = hits[0]
    return value.item() if isinstance(value, np.generic) else value


def _number(value):
    """``value`` as a float when it is a number or a string of one (else None)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_class_weight(text):
    """``--class-weight``: ``"balanced"``, or ``(label, weight)`` pairs from ``a=2,b=1``.

    Raises
    ------
    ValueError
        Naming the item that is not ``LABEL=WEIGHT`` with a finite weight ``>= 0``.
    """
    if text.strip() == "balanced":
        return "balanced"
    pairs = []
    for item in text.split(","):
        label, sep, weight = item.rpartition("=")
        try:
            value = float(weight) if sep and label.strip() else None
        except ValueError:
            value = None
        if value is None or not np.isfinite(value) or value < 0:
            raise ValueError(
                f"{item.strip()!r}: give 'balanced' or LABEL=WEIGHT pairs separated by commas, "
                "e.g. a=2,b=1 (weights finite and >= 0)"
            )
        pairs.append((label.strip(), value))
    return pairs


def class_weight_for(spec, classes):
    """The estimator's ``class_weight`` from :func:`parse_class_weight`'s result: the
    labels matched to ``classes`` (a :class:`DataError` names a label that is not one)."""
    if spec is None or spec == "balanced":
        return spec
    return {label_for(text, classes, "--class-weight"): w for text, w in spec}


# --------------------------------------------------------------------------- safe outputs
_MODEL_TAG = re.compile(rb'"format"\s*:\s*"softlogit-model"')
_MODEL_END = re.compile(rb'"sha256":"[0-9a-f]{64}","softlogit_version":"[^"]*"}\s*$')
_REPORT_TAG = re.compile(rb"<meta\s+name=['\"]generator['\"]\s+content=['\"]softlogit[ '\"]")
_READ = 2**20
_MODEL_SEARCH = 256 * 2**20


def is_model_file(path):
    """Whether ``path`` is a softlogit model file (damaged ones included): its last bytes
    are a model file's end (checksum, version), or its first 256 MiB hold ``"format":
    "softlogit-model"`` (searched block by block, so a large file is not held in memory)."""
    with open(path, "rb") as fh:
        if not fh.read(64).lstrip().startswith(b"{"):
            return False
        fh.seek(max(0, os.fstat(fh.fileno()).st_size - 4096))
        if _MODEL_END.search(fh.read()):
            return True
        fh.seek(0)
        carry = b""
        for _ in range(_MODEL_SEARCH // _READ):  # "format" follows "fitted": not far in
            block = fh.read(_READ)
            if not block:
                break
            if _MODEL_TAG.search(carry + block):
                return True
            carry = block[-64:]
    return False


def is_report_file(path):
    """Whether ``path`` is an HTML report written by softlogit (its generator tag)."""
    with open(path, "rb") as fh:
        return _REPORT_TAG.search(fh.read(8192)) is not None


def is_predictions_file(path, ids=()):
    """Whether ``path`` holds predictions as ``softlogit predict`` writes them: the columns
    ``label`` and then only ``proba_<class>`` (a CSV header, or a Parquet schema), after
    the id columns ``ids`` when it starts with them."""
    if output_format(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except Exception:  # not a Parquet file
            return False
    else:
        import csv

        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            names = next(csv.reader([fh.readline(_READ)]), [])
    ids = list(ids)
    if ids and names[: len(ids)] == ids:
        names = names[len(ids) :]
    return bool(names) and names[0] == "label" and all(n.startswith("proba_") for n in names[1:])


_KINDS = {
    "model": ("softlogit model file", is_model_file),
    "report": ("softlogit report", is_report_file),
    "predictions": ("softlogit predictions file", is_predictions_file),
}


def _same_file(a, b):
    try:
        return os.path.samestat(os.stat(a), os.stat(b))
    except OSError:  # one does not exist (yet): the same file only by name
        return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(outputs, inputs, force=False, ids=()):
    """Refuse, before any work is done, outputs that would destroy something.

    Parameters
    ----------
    outputs : list of (option, path, kind)
        The files a command writes, e.g. ``("--out", "m.json", "model")``; ``kind`` is
        ``"model"``, ``"report"`` or ``"predictions"``.
    inputs : list of (description, path)
        The files it reads, e.g. ``("the data file", "d.csv")``.
    force : bool
        Replace an existing file that is not of the output's kind.
    ids : sequence of str
        The id columns a predictions file starts with (see :func:`is_predictions_file`).

    Raises
    ------
    DataError
        When an output is one of the inputs (by inode: hard and symbolic links too), two
        outputs are the same file, or (without ``force``) an output exists, is not empty,
        and is not what the command writes there (e.g. notes over a model file).
    OSError
        From :func:`softlogit.files.check_target`: a directory, device, FIFO or socket, or
        a folder that is missing or not writable.
    """
    for number, (option, path, _) in enumerate(outputs):
        check_target(path)
        for what, source in inputs:
            if _same_file(path, source):
                raise DataError(
                    f"{option} {path!r} is {what} {source!r}: softlogit never writes over "
                    "its own input; choose another path"
                )
        for other, earlier, _ in outputs[:number]:
            if _same_file(path, earlier):
                raise DataError(f"{other} {earlier!r} and {option} {path!r} are the same file")
    for option, path, kind in outputs:
        word, recognise = _KINDS[kind]
        if force or not os.path.exists(path) or os.path.getsize(path) == 0:
            continue
        if not (recognise(path, ids) if kind == "predictions" else recognise(path)):
            raise DataError(
                f"{option} {path!r} exists and is not a {word}: give --force to replace it"
            )
