r"""Rows with missing values: ``missing="raise"`` (the default) or ``missing="drop"``.

With ``missing="drop"`` a fit uses the complete rows only, as R's ``na.omit`` and
statsmodels' ``missing="drop"``: a row is dropped when any value the fit uses is missing
(NaN, None, ``pd.NA``, an Arrow null) in the features, the labels, the sample weights or the
offset, or, with a formula, in a column the formula reads. The fit reports how many rows it
dropped and how many were missing in each column (:class:`MissingReport`); a row missing in
two columns counts once in the total and once in each column. Infinite values are not
missing: they stay errors. For a sparse matrix, a stored NaN entry makes its row missing
(entries not stored are zeros, never missing).

Predictions of such a model are placed as R's ``na.exclude`` places them: a row with a
missing feature gets a missing prediction in its place, the other rows their usual one
(:func:`spread`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import narwhals.stable.v1 as nw
import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = [
    "MISSING_OPTIONS",
    "MissingReport",
    "drop_missing",
    "drop_missing_formula",
    "feature_missing_rows",
    "take_kept",
    "formula_columns",
    "merge_counts",
    "spread",
    "take_rows",
]

#: The values of the estimators' ``missing`` parameter.
MISSING_OPTIONS = ("raise", "drop")


@dataclass
class MissingReport:
    """What dropping incomplete rows removed.

    Attributes
    ----------
    n_rows : int
        Rows before dropping.
    n_dropped : int
        Rows dropped (each counted once).
    by_column : dict
        Column name -> rows with a missing value there (only columns with some).
    keep : ndarray of bool, shape (n_rows,), or None
        The rows kept (None for streamed data, where each batch drops its own rows).
    """

    n_rows: int
    n_dropped: int
    by_column: dict = field(default_factory=dict)
    keep: np.ndarray | None = None

    def attributes(self):
        """The fitted attributes ``n_dropped_`` and ``dropped_by_column_``."""
        return {"n_dropped_": int(self.n_dropped), "dropped_by_column_": dict(self.by_column)}


def merge_counts(total, part):
    """Add the per-column counts ``part`` into the dict ``total`` (returned)."""
    for name, count in part.items():
        total[name] = total.get(name, 0) + int(count)
    return total


def _isna(values):
    """Boolean mask of missing entries of an array of any dtype (NaN, None, ``pd.NA``)."""
    values = np.asarray(values)
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind in "O":
        return np.asarray(pd.isna(values), dtype=bool)
    return np.zeros(values.shape, dtype=bool)


def _frame_masks(X):
    """``{column: rows missing there}`` of a data frame (pandas, polars, pyarrow)."""
    if isinstance(X, pd.DataFrame):
        return {str(c): X[c].isna().to_numpy(dtype=bool) for c in X.columns}
    frame = nw.from_native(X, eager_only=True)
    masks = {}
    for name in frame.columns:
        column = frame[name]
        mask = column.is_null().to_numpy()
        if column.dtype.is_float():
            mask = mask | column.is_nan().fill_null(False).to_numpy()
        masks[str(name)] = np.asarray(mask, dtype=bool)
    return masks


def _design_masks(X):
    """``{column: rows missing there}`` of features: a data frame, an array or a sparse
    matrix (columns ``x0, x1, ...`` when unnamed); None for an input of unknown shape."""
    if nw.dependencies.is_into_dataframe(X):
        return _frame_masks(X)
    if sp.issparse(X):
        coo = sp.coo_matrix(X)
        bad = np.isnan(coo.data) if coo.data.dtype.kind in "fc" else np.zeros(coo.nnz, bool)
        masks = {}
        for j in np.unique(coo.col[bad]):
            mask = np.zeros(X.shape[0], dtype=bool)
            mask[coo.row[bad & (coo.col == j)]] = True
            masks[f"x{j}"] = mask
        return masks
    values = np.asarray(X)
    if values.ndim != 2:
        return None
    missing = _isna(values)
    return {f"x{j}": missing[:, j] for j in range(values.shape[1])}


def _vector_mask(values, n_rows):
    """Rows of a per-row argument (labels, weights, offset) that are missing, or None when
    it is absent or not one value (or row of values) per row: validation names those."""
    if values is None:
        return None
    values = np.asarray(values, dtype=object if not hasattr(values, "dtype") else None)
    if values.ndim == 0 or values.shape[0] != n_rows:
        return None
    missing = _isna(values)
    return missing.reshape(n_rows, -1).any(axis=1)


def take_rows(values, index):
    """Rows ``index`` of an array, series, data frame or sparse matrix (its type kept)."""
    if values is None:
        return None
    if isinstance(values, (pd.DataFrame, pd.Series)):
        return values.iloc[index]
    if nw.dependencies.is_into_dataframe(values):
        return nw.to_native(nw.from_native(values, eager_only=True)[index.tolist()])
    if sp.issparse(values):
        return sp.csr_matrix(values)[index]
    if hasattr(values, "__array__") or isinstance(values, (list, tuple)):
        array = np.asarray(values)
        return array if array.ndim == 0 else array[index]
    return values


def _report(masks, n_rows):
    """The :class:`MissingReport` of ``{name: mask}`` (masks of ``n_rows`` rows)."""
    any_missing = np.zeros(n_rows, dtype=bool)
    by_column = {}
    for name, mask in masks.items():
        if mask is None:
            continue
        count = int(np.count_nonzero(mask))
        if count:
            by_column[name] = by_column.get(name, 0) + count
            any_missing |= mask
    return MissingReport(n_rows, int(np.count_nonzero(any_missing)), by_column, ~any_missing)


def _n_rows(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    return len(X)


def _name(values, default):
    name = getattr(values, "name", None)
    return name if isinstance(name, str) else default


def _drop(X, y, sample_weight, offset, masks, n_rows):
    report = _report(masks, n_rows)
    if report.n_dropped == n_rows:
        raise ValueError(
            f"missing='drop' drops every one of the {n_rows} rows: each has a missing value "
            f"(missing per column: {report.by_column}); nothing is left to fit"
        )
    if not report.n_dropped:
        return X, y, sample_weight, offset, report
    index = np.flatnonzero(report.keep)

    def take(values):  # per-row arguments of another length are left to validation
        if values is None or np.ndim(values) == 0 or _n_rows(values) != n_rows:
            return values
        return take_rows(values, index)

    return take_rows(X, index), _labels(take(y)), take(sample_weight), take(offset), report


def _labels(y):
    """Labels left after dropping: an object array that held None beside numbers holds
    numbers only now, and becomes numeric (as pandas' ``infer_objects``)."""
    if getattr(getattr(y, "dtype", None), "kind", None) != "O":
        return y
    inferred = pd.Series(np.asarray(y, dtype=object)).infer_objects()
    if inferred.dtype.kind not in "iufb":
        return y
    values = inferred.to_numpy()
    return pd.Series(values, index=y.index, name=y.name) if isinstance(y, pd.Series) else values


def drop_missing(X, y=None, sample_weight=None, offset=None, extras=None):
    """The complete rows of a fit's in-memory arguments, and what was dropped.

    Parameters
    ----------
    X : array-like, sparse matrix or data frame of shape (n, p)
    y, sample_weight, offset : optional
        Per-row arguments; those without ``n`` rows are returned unchanged (validation
        names their length).
    extras : dict, optional
        Other per-row arguments by name (``probability_weight``, ``clusters``, ``trials``,
        ...): a missing value there drops the row too; the caller takes their kept rows
        with ``report.keep`` (:func:`take_kept`).

    Returns
    -------
    X, y, sample_weight, offset
        The rows where no value is missing (the input types kept).
    report : MissingReport
        Counts per column: the feature names (``x0, x1, ...`` for arrays), and the names
        of ``y``, ``sample_weight`` and ``offset`` when they are named series (else
        ``"y"``, ``"sample_weight"``, ``"offset"``).
    """
    masks = _design_masks(X)
    if masks is None:  # not two-dimensional: validation explains
        return X, y, sample_weight, offset, MissingReport(0, 0, {}, None)
    n_rows = _n_rows(X)
    masks = {
        **masks,
        _name(y, "y"): _vector_mask(y, n_rows),
        _name(sample_weight, "sample_weight"): _vector_mask(sample_weight, n_rows),
        _name(offset, "offset"): _vector_mask(offset, n_rows),
        **_extra_masks(extras, n_rows),
    }
    return _drop(X, y, sample_weight, offset, masks, n_rows)


def _extra_masks(extras, n_rows):
    """Missing-value masks of the ``extras`` of :func:`drop_missing` (by their names)."""
    return {name: _vector_mask(values, n_rows) for name, values in (extras or {}).items()}


def take_kept(values, report):
    """The rows ``report.keep`` of a per-row argument of ``report.n_rows`` rows (others,
    and None, unchanged: validation names their length)."""
    if values is None or report.keep is None or not report.n_dropped:
        return values
    if np.ndim(values) == 0 or _n_rows(values) != report.n_rows:
        return values
    return take_rows(values, np.flatnonzero(report.keep))


def formula_columns(formula, frame):
    """The columns of ``frame`` that ``formula`` (a string or a fitted formulaic model
    spec) reads, in the frame's order."""
    from .formula_grammar import check_formula

    if isinstance(formula, str):  # checked against the grammar before formulaic reads it
        formula = check_formula(formula, columns=[str(c) for c in frame.columns])
    needed = formula.required_variables
    return [c for c in frame.columns if c in needed]


def drop_missing_formula(formula, data, y=None, sample_weight=None, offset=None, extras=None):
    """As :func:`drop_missing` for a formula fit: a row is dropped when a column the formula
    reads (response included), the weight or the offset is missing there; ``data`` is
    returned as a pandas DataFrame. A value that only a transform makes missing
    (``np.log(-1)``) is not dropped: formulaic refuses it, naming the row."""
    from .formula import _as_pandas

    frame = _as_pandas(data)
    n_rows = len(frame)
    columns = formula_columns(formula, frame)
    masks = {str(c): frame[c].isna().to_numpy(dtype=bool) for c in columns}
    masks[_name(sample_weight, "sample_weight")] = _vector_mask(sample_weight, n_rows)
    masks[_name(offset, "offset")] = _vector_mask(offset, n_rows)
    masks.update(_extra_masks(extras, n_rows))
    return _drop(frame, y, sample_weight, offset, masks, n_rows)


def _right_side(design):
    """What the right-hand side of a fitted :class:`~softlogit.data.formula.FormulaDesign`
    reads: its model spec's variables, or (a spec restored from a model file lists none)
    those of the formula's right side."""
    if design.spec.required_variables:
        return design.spec
    from .formula_grammar import check_formula

    return check_formula(design.formula).rhs


def feature_missing_rows(X, offset=None, design=None):
    """Rows of new data whose features (or, with a fitted formula ``design``, the columns
    its right-hand side reads), or offset, are missing: a boolean array, or None when no
    row is."""
    if design is not None:
        from .formula import _as_pandas

        frame = _as_pandas(X)
        columns = formula_columns(_right_side(design), frame)
        masks = {c: frame[c].isna().to_numpy(dtype=bool) for c in columns}
        n_rows = len(frame)
    else:
        masks = _design_masks(X)
        if masks is None:
            return None
        n_rows = _n_rows(X)
    masks["offset"] = _vector_mask(offset, n_rows)
    report = _report(masks, n_rows)
    if not report.n_dropped:
        return None
    return ~report.keep


def spread(values, missing, fill=np.nan):
    """Place predictions of the complete rows back among all rows: ``values`` (an array of
    the complete rows, or a tuple of such arrays) gets ``fill`` at the rows where
    ``missing`` is True. Floats get NaN; labels (``fill=None``) become an object array with
    None there."""
    if isinstance(values, tuple):
        return tuple(spread(v, missing, fill) for v in values)
    values = np.asarray(values)
    dtype = object if fill is None else np.result_type(values.dtype, np.float64)
    out = np.empty((missing.size, *values.shape[1:]), dtype=dtype)
    out[missing] = fill
    out[~missing] = values
    return out
