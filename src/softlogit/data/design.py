"""Turning what users pass into a validated design matrix, class codes, weights and offsets.

Every check raises a ``ValueError`` or ``TypeError`` that names the problem: the column, the
row and the value, so bad input never reaches numpy's internals.
"""

from __future__ import annotations

import narwhals.stable.v1 as nw
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d, validate_data

from ..numerics import scales_from_moments

__all__ = [
    "MAX_ABS_SQRT_ROWS",
    "check_class_weights",
    "check_finite",
    "check_magnitude",
    "check_unique_columns",
    "encode_labels",
    "encode_labels_partial",
    "feature_scales",
    "penalty_factors",
    "validate_design",
    "validate_offset",
    "validate_weights",
]


#: Largest accepted ``max |x_ij| * sqrt(n)`` of a training column: ``sqrt(float max) / 2**32``
#: (about 3.1e144). The Hessian and Gram diagonal hold :math:`\sum_i w_i x_{ij}^2`, up to
#: ``n max|x_ij|^2``; the bound keeps that sum ``2**64`` (1.8e19) below the float range, room
#: for the sample weights and for sums over columns. Columns scaled by 1e12 (or 1e-12) are far
#: inside it; a value of 1e308, or a column scaled by 1e200, is refused.
MAX_ABS_SQRT_ROWS = float(np.sqrt(np.finfo(np.float64).max)) / 2.0**32


def _is_dataframe(X):
    return nw.dependencies.is_into_dataframe(X)


def check_unique_columns(X):
    """ValueError naming a column name that a data frame ``X`` holds twice."""
    names = getattr(X, "columns", None)
    if names is None:
        return
    seen = {}
    for j, name in enumerate(list(names)):
        if name in seen:
            raise ValueError(
                f"X has two columns named {name!r} (columns {seen[name]} and {j}): column "
                "names must be unique; rename or drop one of them"
            )
        seen[name] = j


def _reject_non_numeric(X):
    """TypeError naming every non-numeric column of a data frame."""
    frame = nw.from_native(X, eager_only=True)
    bad = [
        f"{name!r} ({dtype})"
        for name, dtype in frame.schema.items()
        if not (dtype.is_numeric() or dtype == nw.Boolean)
    ]
    if bad:
        raise TypeError(
            f"non-numeric feature column(s) {', '.join(bad)}: without a formula only numeric "
            "columns can be used; encode them first or pass a formula such as "
            "formula='y ~ x + C(group)'"
        )


def _numeric_from_objects(X):
    """Float array from an object/string array, or a TypeError naming the first bad cell."""
    try:
        return np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        pass
    for index, value in np.ndenumerate(X):
        try:
            float(value)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"X has a non-numeric value {value!r} at {_location(index, None)} ({err}); "
                "encode categorical features first or pass a data frame with a formula"
            ) from None
    return np.asarray(X, dtype=float)


def _location(index, columns):
    row, col = (int(index[0]), int(index[1])) if len(index) == 2 else (int(index[0]), None)
    where = f"row {row}"
    if col is not None:
        name = f" ({columns[col]!r})" if columns is not None else ""
        where += f", column {col}{name}"
    return where


#: Entries from which the sum of squares is a BLAS dot product (threads pay off): below,
#: numpy's own loop, since waking BLAS's sleeping threads costs milliseconds on a busy machine.
BLAS_SUM_SIZE = 2**24


def _sum_of_squares(data):
    r"""The sum of squares :math:`\sum x^2` of contiguous float data (one BLAS dot product,
    which reads the data once), or None for other data. It is finite only if every entry is
    (a NaN or an infinity propagates into it), and it bounds the largest square."""
    if (
        data.dtype.kind == "f"
        and data.size
        and (data.flags.c_contiguous or data.flags.f_contiguous)
    ):
        flat = data.ravel(order="K")
        with np.errstate(over="ignore", invalid="ignore"):
            if flat.size < BLAS_SUM_SIZE:  # no BLAS threads to wake: 0.1 ms, not 10 ms
                return float(np.einsum("i,i->", flat, flat))
            return float(flat @ flat)
    return None


def _all_finite(data):
    """Whether every entry is finite, without a boolean array the size of ``data``: the
    entries are tested one by one only when the sum of squares is not finite (a bad entry,
    or squares overflowing)."""
    total = _sum_of_squares(data)
    if total is not None and np.isfinite(total):
        return True
    return bool(np.isfinite(data).all())


def check_finite(values, what, columns=None):
    """Raise ValueError naming the first NaN or infinite entry of ``values`` (row, column)."""
    data = values.data if sp.issparse(values) else np.asarray(values)
    if data.dtype.kind not in "fc" or _all_finite(data):
        return
    if sp.issparse(values):
        coo = values.tocoo()
        k = int(np.flatnonzero(~np.isfinite(coo.data))[0])
        index, value = (coo.row[k], coo.col[k]), coo.data[k]
    else:
        index = np.argwhere(~np.isfinite(data))[0]
        value = data[tuple(index)]
    kind = "NaN" if np.isnan(value) else "inf"
    raise ValueError(f"{what} contains {kind} at {_location(index, columns)}")


def _column_extremes(X):
    """The entry of largest magnitude of each column (signed) and the row holding it."""
    if sp.issparse(X):
        C = X.tocsc()
        value, rows = np.zeros(X.shape[1]), np.zeros(X.shape[1], dtype=int)
        for j in range(X.shape[1]):
            start, stop = C.indptr[j], C.indptr[j + 1]
            if stop > start:
                k = start + int(np.argmax(np.abs(C.data[start:stop])))
                value[j], rows[j] = C.data[k], C.indices[k]
        return value, rows
    hi, lo = X.max(axis=0), X.min(axis=0)
    top = hi >= -lo
    return np.where(top, hi, lo).astype(np.float64), np.where(top, X.argmax(0), X.argmin(0))


def check_magnitude(X, columns=None, total=None):
    """ValueError naming the first column (and row) of training data ``X`` whose magnitude
    would overflow the sums of squares of the objective's Hessian (see
    :data:`MAX_ABS_SQRT_ROWS`); ``X`` is finite, ``total`` its sum of squares if known."""
    n = max(X.shape[0], 1)
    limit = MAX_ABS_SQRT_ROWS / np.sqrt(n)
    if total is None:
        total = _sum_of_squares(X.data if sp.issparse(X) else X)
    if total is not None and total <= limit * limit:  # every |x| <= sqrt(total)
        return
    value, rows = _column_extremes(X)
    over = np.flatnonzero(np.abs(value) > limit)
    if over.size:
        j = int(over[0])
        raise ValueError(
            f"X has {float(value[j]):.3g} at {_location((rows[j], j), columns)}: a value this "
            f"large overflows the Hessian's sums of squares over {n} rows (|x| must be at "
            f"most {limit:.3g}, i.e. |x| * sqrt(n_rows) <= {MAX_ABS_SQRT_ROWS:.3g}); rescale "
            "that column"
        )


def _blank(estimator):
    """An unfitted estimator of the same class and parameters, for scikit-learn's
    ``validate_data(reset=True)`` to record the fitted names on (not on ``estimator``)."""
    probe = object.__new__(type(estimator))
    probe.__dict__.update(estimator.get_params(deep=False))
    return probe


def _no_features(estimator, frame, reset):
    """The (n, 0) design of a formula without terms (``y ~ 1``: the null model), and the
    fitted attributes it defines (with ``reset=True``)."""
    if len(frame) == 0:
        raise ValueError(f"{type(estimator).__name__} needs at least one row; X has none")
    if reset:
        return np.empty((len(frame), 0)), {
            "n_features_in_": 0,
            "feature_names_in_": np.array([], dtype=object),
        }
    if estimator.n_features_in_ != 0:
        raise ValueError(
            f"X has 0 features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input"
        )
    return np.empty((len(frame), 0)), {}


def validate_design(estimator, X, reset, accept_sparse=True, allow_no_features=False):
    """Validate features with scikit-learn (names, counts) and our own clear messages.

    Returns ``(Xv, fitted)``: a float ndarray (float32 kept) or a CSR matrix, and with
    ``reset=True`` the fitted attributes ``n_features_in_`` (and ``feature_names_in_`` for a
    data frame) for the caller to publish; the estimator itself is never changed. With
    ``reset=True`` magnitudes that would overflow the fit are refused
    (:func:`check_magnitude`); ``fitted`` is empty with ``reset=False``.
    ``allow_no_features`` accepts a data frame without columns (the design of an
    intercept-only formula).
    """
    if X is None:
        raise ValueError(f"{type(estimator).__name__} needs X; got None")
    if allow_no_features and _is_dataframe(X) and not nw.from_native(X, eager_only=True).columns:
        return _no_features(estimator, X, reset)
    columns = None
    if _is_dataframe(X):
        check_unique_columns(X)
        _reject_non_numeric(X)
        columns = list(nw.from_native(X, eager_only=True).columns)
    elif isinstance(X, np.ndarray) and X.dtype.kind in "OUS":
        X = _numeric_from_objects(X)
    target = _blank(estimator) if reset else estimator
    Xv = validate_data(
        target,
        X,
        reset=reset,
        accept_sparse="csr" if accept_sparse else False,
        dtype=[np.float64, np.float32],
        ensure_all_finite=False,
        ensure_min_samples=1,
    )
    total = _sum_of_squares(Xv.data if sp.issparse(Xv) else Xv)
    if total is None or not np.isfinite(total):
        check_finite(Xv, "X", columns)
    if not reset:
        return Xv, {}
    check_magnitude(Xv, columns, total)
    names = ("n_features_in_", "feature_names_in_")
    return Xv, {k: getattr(target, k) for k in names if hasattr(target, k)}


def encode_labels(y, n_rows):
    """Sorted class labels and integer codes of ``y``; at least two classes are required."""
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    y = column_or_1d(np.asarray(y) if not hasattr(y, "__array__") else y, warn=True)
    if len(y) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(y)}: they must have the same length")
    if y.dtype.kind == "f":
        check_finite(y, "y")
    check_label_values(y)
    if y.dtype.kind not in "iub":  # integer labels are always classes
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {type_of_target(y)}")
    classes, codes = _unique_codes(y)
    if classes.size < 2:
        raise ValueError(
            f"y has only 1 class ({classes[0]!r}); classification needs at least 2 classes"
        )
    return classes, codes.astype(np.intp)


def _unique_codes(y):
    """``np.unique(y, return_inverse=True)``, in O(n) by counting for integer labels of a
    small range (sorting 10^6 labels costs more than a Newton step)."""
    if y.dtype.kind in "iub" and y.size:
        lo, hi = int(y.min()), int(y.max())
        if hi - lo <= 4 * y.size:
            shifted = y.astype(np.intp) - lo
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            classes = (np.flatnonzero(present) + lo).astype(y.dtype)
            return classes, (np.cumsum(present) - 1)[shifted]
    return np.unique(y, return_inverse=True)


def encode_labels_partial(y, n_rows):
    """Labels and codes of a batch that may hold a single class (``partial_fit``)."""
    y = column_or_1d(np.asarray(y), warn=True)
    if len(y) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(y)}: they must have the same length")
    if y.dtype.kind == "f":
        check_finite(y, "y")
    check_label_values(y)
    return np.unique(y, return_inverse=True)


def _label_kind(kind):
    """ "str", "number" or the type's name, for a label's type."""
    if issubclass(kind, (str, bytes)):
        return "str"
    if issubclass(kind, (bool, np.bool_, int, float, np.number)):
        return "number"
    return kind.__name__


def check_label_values(y, where="y"):
    """ValueError naming the first missing label (None, NaN, ``pd.NA``) of an object array
    ``y``; TypeError naming the first row of each kind when it mixes strings and numbers
    (labels must sort)."""
    if y.dtype.kind != "O":
        return
    missing = np.asarray(pd.isna(y), dtype=bool)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ValueError(f"{where} contains a missing label at row {row} ({y[row]!r})")
    if len({_label_kind(kind) for kind in set(map(type, y))}) < 2:
        return
    first = {}
    for i, value in enumerate(y):
        first.setdefault(_label_kind(type(value)), i)
        if len(first) > 1:
            seen = ", ".join(f"{k} ({y[r]!r} at row {r})" for k, r in first.items())
            raise TypeError(
                f"{where} mixes label types: {seen}; labels must be all strings or all "
                f"numbers: convert them first, e.g. {where}.astype(str)"
            )


def check_class_weights(weights, classes):
    """ValueError naming the first class whose ``class_weight`` is NaN, infinite or
    negative; returns the weights as a float array."""
    weights = np.asarray(weights, dtype=float)
    bad = ~(np.isfinite(weights) & (weights >= 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        label = classes[k].item() if isinstance(classes[k], np.generic) else classes[k]
        raise ValueError(
            f"class_weight for class {label!r} is {float(weights[k])!r}: class weights "
            "must be finite and >= 0"
        )
    return weights


def validate_weights(sample_weight, n_rows):
    """Float weights of length ``n_rows``: finite, non-negative and not all zero."""
    if sample_weight is None:
        return np.ones(n_rows)
    w = np.asarray(sample_weight, dtype=float)
    if w.ndim == 0:
        w = np.full(n_rows, float(w))
    if w.ndim != 1 or w.shape[0] != n_rows:
        raise ValueError(
            f"sample_weight has shape {w.shape} but X has {n_rows} rows: pass one weight per row"
        )
    check_finite(w, "sample_weight")
    if np.any(w < 0):
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"sample_weight must be non-negative; row {i} has {float(w[i])!r}")
    if not np.any(w > 0):
        raise ValueError("sample_weight is zero for every row: nothing to fit")
    return w


def validate_offset(offset, n_rows, n_classes):
    """Offset of shape (n,) or (n, K), finite; returned as float ndarray or None."""
    if offset is None:
        return None
    o = np.asarray(offset, dtype=float)
    ok = o.shape == (n_rows,) or o.shape == (n_rows, n_classes)
    if not ok:
        raise ValueError(
            f"offset has shape {o.shape}; expected ({n_rows},) or ({n_rows}, {n_classes}) "
            "(one value per row, or one per row and class)"
        )
    check_finite(o, "offset")
    return o


def penalty_factors(factor, n_features):
    """Validated per-feature penalty factors, rescaled to sum to ``p`` (glmnet); None stays."""
    if factor is None:
        return None
    f = np.asarray(factor, dtype=float)
    if f.shape != (n_features,):
        raise ValueError(
            f"penalty_factor has shape {f.shape}; expected ({n_features},), one per feature"
        )
    check_finite(f, "penalty_factor")
    if np.any(f < 0):
        j = int(np.flatnonzero(f < 0)[0])
        raise ValueError(f"penalty_factor must be non-negative; feature {j} has {float(f[j])!r}")
    return f * (n_features / f.sum()) if f.sum() > 0 else f


def feature_scales(X, weight, center=True):
    """Weighted standard deviations of the columns (root mean squares when not centred);
    constant columns get 1."""
    sq = X.multiply(X) if sp.issparse(X) else np.asarray(X, dtype=float) ** 2
    sums = np.asarray(weight @ X).ravel(), np.asarray(weight @ sq).ravel()
    return scales_from_moments(float(np.sum(weight)), *sums, center)[1]
