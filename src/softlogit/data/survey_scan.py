"""A ``scan_parquet``/``scan_csv`` scan that also reads a survey design: the cluster (PSU)
and stratum columns of probability weights travel with every chunk as labels, so that the
design-based covariance (:mod:`softlogit.stats.survey`) sums scores per PSU in one pass."""

from __future__ import annotations

import copy

import numpy as np

from .sources import Chunk
from .stream import TableScan, missing_rows

__all__ = ["DesignScan", "with_design"]


class DesignScan(TableScan):
    """A :class:`TableScan` whose chunks carry ``groups``: a record array with fields
    ``stratum`` and ``psu`` (labels; 0 where the design has no strata)."""

    design_columns: tuple = (None, None)  # (strata, clusters)

    def _columns(self, features=True):
        extra = [c for c in self.design_columns if c is not None]
        return super()._columns(features) + [c for c in extra if c not in (self.weight,)]

    def _check_batch(self, batch, start, dropped=None):
        """Missing design labels are errors (with ``missing="drop"``: dropped rows, as
        :func:`~softlogit.data.missing.missing_rows` finds them); the other columns are
        checked as usual."""
        design = [c for c in self.design_columns if c is not None and c != self.weight]
        for col in design:
            arr = batch.column(col)
            if arr.null_count and dropped is None:
                row = start + int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
                raise ValueError(f"column {col!r} (survey design) has a missing value at row {row}")
        rest = [c for c in batch.schema.names if c not in design]
        super()._check_batch(batch.select(rest), start, dropped)

    def chunk(self, batch, bound, offset_map):
        if bound.summary.drop_missing:  # the design labels of the rows kept
            gone = missing_rows(batch, self.target)[0]
            if gone.any():
                batch = batch.filter(~gone)
        base = super().chunk(batch, bound, offset_map)
        fields = [_labels(batch, col, batch.num_rows) for col in self.design_columns]
        groups = np.rec.fromarrays(fields, names=["stratum", "psu"])
        return Chunk(base.X, base.y, base.weight, base.offset, groups)


def _labels(batch, column, rows):
    if column is None:
        return np.zeros(rows, dtype=np.int64)
    values = batch.column(column).to_numpy(zero_copy_only=False)
    return values.astype(str) if values.dtype == object else values


def with_design(scan, strata=None, clusters=None):
    """A copy of ``scan`` that reads the ``strata`` and ``clusters`` columns (names) as its
    survey design; each must be a column of the files and not a feature, the target or the
    offset."""
    names = scan.files.names
    for option, column in (("strata", strata), ("clusters", clusters)):
        if column is None:
            continue
        if not isinstance(column, str):
            raise ValueError(f"with a scan, {option}= is the name of a column")
        if column not in names:
            raise ValueError(f"{option}={column!r} is not a column of {scan.paths[0]!r}")
        if column in scan.feature_names or column == scan.target or column in scan.offset:
            raise ValueError(
                f"{option}={column!r} is a feature, the target or the offset of the scan: "
                "name features= without it"
            )
    new = copy.copy(scan)
    new.__class__ = DesignScan
    new.design_columns = (strata, clusters)
    return new
