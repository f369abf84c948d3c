"""The Dask data frame of a formula scan (``scan_parquet(..., formula=, dask=True)``), a
plain holder that :mod:`.external` recognises as external data and
:mod:`.formula_stream` reads."""

from __future__ import annotations

__all__ = ["DaskFormulaFrame"]


class DaskFormulaFrame:
    """A Dask data frame of Parquet files with a formula (``scan_parquet(..., formula=,
    dask=True)``): fitting learns the encoding over its partitions."""

    def __init__(self, frame, formula, weight, offset):
        self.frame, self.formula, self.weight, self.offset = frame, formula, weight, offset
