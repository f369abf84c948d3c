"""Turning what users pass into a validated design matrix, class codes, weights and offsets.

Every check raises a ``ValueError`` or ``TypeError`` that names the problem: the column, the
row and the value, so bad input never reaches numpy's internals.
"""

from __future__ import annotations

import narwhals.stable.v1 as nw
import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d, validate_data

from ..numerics import scales_from_moments

__all__ = [
    "check_finite",
    "encode_labels",
    "encode_labels_partial",
    "feature_scales",
    "penalty_factors",
    "validate_design",
    "validate_offset",
    "validate_weights",
]


def _is_dataframe(X):
    return nw.dependencies.is_into_dataframe(X)


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


def _all_finite(data):
    r"""Whether every entry is finite, without a boolean array the size of ``data``.

    For contiguous data the sum of squares :math:`\sum x^2` (one BLAS dot product, which
    reads the data once) is finite only if every entry is: a NaN or an infinity propagates
    into it. Only when it is not finite (a bad entry, or squares overflowing) are the
    entries tested one by one."""
    if (
        data.dtype.kind == "f"
        and data.size
        and (data.flags.c_contiguous or data.flags.f_contiguous)
    ):
        flat = data.ravel(order="K")
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(flat @ flat):
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


def _no_features(estimator, frame, reset):
    """The (n, 0) design of a formula without terms (``y ~ 1``: the null model)."""
    if len(frame) == 0:
        raise ValueError(f"{type(estimator).__name__} needs at least one row; X has none")
    if reset:
        estimator.n_features_in_ = 0
        estimator.feature_names_in_ = np.array([], dtype=object)
    elif estimator.n_features_in_ != 0:
        raise ValueError(
            f"X has 0 features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input"
        )
    return np.empty((len(frame), 0))


def validate_design(estimator, X, reset, accept_sparse=True, allow_no_features=False):
    """Validate features with scikit-learn (names, counts) and our own clear messages.

    Returns a float ndarray (float32 kept) or a CSR matrix. ``allow_no_features`` accepts a
    data frame without columns (the design of an intercept-only formula).
    """
    if X is None:
        raise ValueError(f"{type(estimator).__name__} needs X; got None")
    if allow_no_features and _is_dataframe(X) and not nw.from_native(X, eager_only=True).columns:
        return _no_features(estimator, X, reset)
    columns = None
    if _is_dataframe(X):
        _reject_non_numeric(X)
        columns = list(nw.from_native(X, eager_only=True).columns)
    elif isinstance(X, np.ndarray) and X.dtype.kind in "OUS":
        X = _numeric_from_objects(X)
    Xv = validate_data(
        estimator,
        X,
        reset=reset,
        accept_sparse="csr" if accept_sparse else False,
        dtype=[np.float64, np.float32],
        ensure_all_finite=False,
        ensure_min_samples=1,
    )
    check_finite(Xv, "X", columns)
    return Xv


def encode_labels(y, n_rows):
    """Sorted class labels and integer codes of ``y``; at least two classes are required."""
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    y = column_or_1d(np.asarray(y) if not hasattr(y, "__array__") else y, warn=True)
    if len(y) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(y)}: they must have the same length")
    if y.dtype.kind == "f":
        check_finite(y, "y")
    if y.dtype.kind == "O" and any(v is None or v != v for v in y):
        raise ValueError(f"y contains a missing label at row {_first_missing(y)}")
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
    return np.unique(y, return_inverse=True)


def _first_missing(y):
    return next(i for i, v in enumerate(y) if v is None or v != v)


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
