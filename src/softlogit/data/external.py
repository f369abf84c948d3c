"""What streamed (Parquet/CSV) and distributed (Dask) data have in common.

Data that is not an in-memory array reaches the solvers through the same two verbs as
:class:`~softlogit.data.sources.InMemorySource` (``reduce`` and ``batches``). Before a fit,
one pass describes it (rows, class labels, per-class weight totals); then the estimator binds
it to the class labels and class weights of the fit (:class:`BoundRows`), which makes sources
on demand, each mapping offsets to the family's free logits.
"""

from __future__ import annotations

import numpy as np

from ..numerics import scales_from_moments
from .dask_source import DaskData
from .formula_frame import DaskFormulaFrame
from .stream import TableScan

__all__ = [
    "BoundRows",
    "class_factor",
    "external_data",
    "external_feature_scales",
    "is_external",
]


def is_external(X):
    """Whether ``X`` is a streamed scan or a Dask collection (not an in-memory array)."""
    if isinstance(X, (TableScan, DaskData, DaskFormulaFrame)):
        return True
    module = type(X).__module__ or ""
    return module.split(".")[0] == "dask"


class BoundRows:
    """External data bound to the labels and class weights of one fit.

    Parameters
    ----------
    data : TableScan or DaskData
        The described data (offers ``make_source``).
    summary : DataSummary
    class_factor : ndarray of shape (K,)
        Class weights, multiplied into the prior weights of each row.
    features : bool
        False for the intercept-only view used by the null model.
    """

    def __init__(self, data, summary, class_factor, features=True):
        self.data = data
        self.summary = summary
        self.classes = summary.classes
        self.class_factor = np.asarray(class_factor, dtype=float)
        self.features = features

    @property
    def shape(self):
        """``(rows, features)`` as for an array."""
        return (self.summary.n_rows, self.data.n_features if self.features else 0)

    @property
    def has_offset(self):
        """Whether an offset column/array was given."""
        return self.data.has_offset

    @property
    def class_totals(self):
        """Weight per class after class weights."""
        return self.summary.class_weight_totals * self.class_factor

    def without_features(self):
        """The same rows with no feature columns (for the intercept-only model)."""
        return BoundRows(self.data, self.summary, self.class_factor, features=False)

    def make_source(self, offset_map, verbose=0):
        """A data source whose chunks carry class codes, weights times class weights and
        offsets on the free-logit scale (``offset_map``)."""
        return self.data.make_source(self, offset_map, verbose=verbose)


def external_data(X, y=None, sample_weight=None, offset=None):
    """The streamed or distributed data of a ``fit`` call, with clear errors for arguments
    that do not belong (a scan names its label, weight and offset columns itself)."""
    if isinstance(X, (TableScan, DaskData)):
        given = [
            n
            for n, v in (("y", y), ("sample_weight", sample_weight), ("offset", offset))
            if v is not None
        ]
        if given:
            raise ValueError(
                f"fit(scan) takes {given[0]} from the scan: pass target=, weight= and offset= "
                "to scan_parquet/scan_csv instead"
            )
        return X
    if getattr(y, "ndim", 1) == 2 and y.shape[1] >= 2:  # counts (counts_dask)
        from .counts_dask import DaskCountsData

        return DaskCountsData(X, y, sample_weight, offset).persist()
    return DaskData(X, y, sample_weight, offset).persist()


def class_factor(class_weight, classes, counts):
    """Per-class weight multipliers for ``class_weight`` (None, "balanced" or a dict), from
    the class counts alone, as scikit-learn's ``compute_class_weight``."""
    if class_weight is None:
        return np.ones(classes.size)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"class_weight must be None, 'balanced' or a dict, got {class_weight!r}"
            )
        return counts.sum() / (classes.size * np.maximum(counts, 1))
    from sklearn.utils.class_weight import compute_class_weight

    from .design import check_class_weights

    return check_class_weights(
        compute_class_weight(class_weight, classes=classes, y=classes), classes
    )


def external_feature_scales(bound, center=True):
    """Weighted standard deviations of the feature columns (root mean squares when not
    centred) in one pass, as :func:`softlogit.data.design.feature_scales` in memory."""

    def moments(chunk):
        w, X = chunk.weight, chunk.X
        return float(w.sum()), w @ X, w @ (X * X)

    return scales_from_moments(*bound.make_source(lambda o: o).reduce(moments), center)[1]
