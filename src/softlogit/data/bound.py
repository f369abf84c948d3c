"""The base of the streamed and Dask sources: what one descriptive pass finds
(:class:`DataSummary`), label coding for chunks (:func:`codes_of`) and the source bound to one
fit (:class:`BoundSource`). :mod:`~softlogit.data.stream` and :mod:`~softlogit.data.dask_source`
build on it; :mod:`~softlogit.data.external` sits on both."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..coordinates import reference_point
from .class_order import label_codes

__all__ = ["BoundSource", "DataSummary", "codes_of"]


@dataclass
class DataSummary:
    """What one descriptive pass over external data finds.

    Attributes
    ----------
    n_rows : int
    classes : ndarray
        Sorted distinct labels of the target.
    class_weight_totals : ndarray
        Sum of prior weights per class (in ``classes`` order).
    class_counts : ndarray
        Rows per class.
    drop_missing : bool
        Whether rows with a missing value are dropped (``missing="drop"``): then ``n_rows``
        counts the rows kept, and every pass drops the same rows, chunk by chunk.
    n_dropped : int
        Rows dropped (each once).
    dropped_by_column : dict
        Column name -> rows with a missing value there.
    """

    n_rows: int
    classes: np.ndarray
    class_weight_totals: np.ndarray
    class_counts: np.ndarray
    drop_missing: bool = False
    n_dropped: int = 0
    dropped_by_column: dict = field(default_factory=dict)

    def missing_attributes(self):
        """The fitted attributes ``n_dropped_`` and ``dropped_by_column_`` of a fit with
        ``missing="drop"`` (none otherwise)."""
        if not self.drop_missing:
            return {}
        return {
            "n_dropped_": int(self.n_dropped),
            "dropped_by_column_": dict(self.dropped_by_column),
        }


def codes_of(labels, classes, where="y"):
    """Integer codes of ``labels`` in ``classes`` (sorted, or a binary model's positive-class
    order); a clear error for unknown or missing labels (naming the first bad row of the
    chunk)."""
    labels = np.asarray(labels)
    codes = label_codes(labels, classes)
    bad = codes < 0
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{where} has label {labels[row]!r} (row {row} of a chunk) not in {list(classes)}"
        )
    return codes


class BoundSource:
    """What the streamed and Dask sources share: the rows bound to one fit (labels, class
    weights), the offset map, and the shape and total weight the descriptive pass found."""

    def __init__(self, bound, offset_map):
        self.bound = bound
        self.offset_map = offset_map

    @property
    def n_rows(self):
        """Number of rows (from the descriptive pass)."""
        return self.bound.summary.n_rows

    @property
    def n_features(self):
        """Number of feature columns."""
        return self.bound.shape[1]

    @property
    def total_weight(self):
        """Sum of the weights (times class weights), known from the descriptive pass."""
        return float(np.sum(self.bound.class_totals))

    def reference_point(self):
        """The reference point of the centred coordinates (:mod:`softlogit.coordinates`)
        from the rows of the first chunk (one batch or block read, remembered by the data,
        whose ``_first_features`` subclasses provide); None without features."""
        if self.n_features == 0:
            return None
        owner = self._data_owner()
        if "_reference_point" not in owner.__dict__:
            owner.__dict__["_reference_point"] = reference_point(self._first_features())
        return owner.__dict__["_reference_point"]
