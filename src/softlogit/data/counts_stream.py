"""Counts responses streamed from Parquet/CSV: the expansion of :mod:`softlogit.data.counts`
batch by batch.

Each chunk's ``groups`` are its expanded rows' counts rows within the batch (a counts row
never spans batches): the unit of the sandwich covariances
(:func:`softlogit.stats.inference.local_score_products`).

``scan_parquet(path, target=["s", "f"])`` (two or more count columns) or
``scan_parquet(path, target="p", trials="n")`` (a proportion and its trials, binomial) gives
a :class:`CountsTableScan`: its descriptive pass adds up the expanded rows, the class totals
and the :class:`~softlogit.data.counts.GroupedScale` sums; every later pass expands each
batch as it is read, so the fit equals the in-memory counts fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .bound import DataSummary
from .counts import (
    GroupedScale,
    binomial_counts,
    check_counts,
    counts_summary,
    expand_counts,
)
from .sources import Chunk, add_summaries
from .stream import TableFiles, TableScan, _as_list

__all__ = ["CountsSummary", "CountsTableScan"]


@dataclass
class CountsSummary(DataSummary):
    """A :class:`DataSummary` of expanded counts rows, with the grouped rows' sums and
    number (``n_input``)."""

    grouped: GroupedScale = field(default=None, kw_only=True)
    n_input: int = field(default=0, kw_only=True)


class CountsTableScan(TableScan):
    """A :class:`TableScan` whose response is counts columns (``target`` a list: binomial
    ``[successes, failures]`` or K class counts) or a proportion with a ``trials`` column.

    ``binomial``: whether the classes are ``[0, 1]`` (failures, successes), as
    ``LogisticRegression`` needs; fixed by the first fit (:meth:`for_estimator`).
    """

    def __init__(self, paths, file_format, target, trials, features, weight, offset, batch_rows):
        columns = _as_list(target, "target")
        response = columns + ([trials] if trials is not None else [])
        if features is None:
            skip = {*response, weight, *_as_list(offset, "offset")}
            features = [c for c in TableFiles(paths, file_format).names if c not in skip]
        clash = set(_as_list(features, "features")) & set(response)
        if clash:
            raise ValueError(f"column {sorted(clash)[0]!r} is both a feature and the target")
        super().__init__(paths, file_format, columns[0], features, weight, offset, batch_rows)
        missing = [c for c in response if c not in set(self.files.names)]
        if missing:
            raise ValueError(f"column {missing[0]!r} is not in {self.paths[0]!r}")
        self.counts_columns = columns
        self.trials = trials
        if trials is None and len(columns) < 2:
            raise ValueError("a counts target names two or more columns (or pass trials=)")

    binomial = False  # set by describe_counts: classes [0, 1] (LogisticRegression)

    def _columns(self, features=True):
        extra = self.counts_columns[1:] + ([self.trials] if self.trials is not None else [])
        return super()._columns(features) + extra

    def _counts(self, batch, start):
        """The (rows, K) counts of one batch; a ValueError names the global row."""
        cols = {c: batch.column(c).to_numpy(zero_copy_only=False) for c in self._columns(False)}
        n = batch.num_rows
        try:
            if self.trials is not None:
                return binomial_counts(cols[self.target], cols[self.trials], n)
            C = np.column_stack([cols[c] for c in self.counts_columns]).astype(float)
            C = check_counts(C, n, "target")[0]
            return C[:, ::-1] if self.binomial else C
        except ValueError as err:
            raise ValueError(f"{err} (row numbers within the batch from row {start})") from None

    def _check_batch(self, batch, start, dropped=None):
        names = [c for c in batch.schema.names if c not in self._columns(False)]
        super()._check_batch(batch.select(names), start)

    def describe_counts(self, binomial):
        """One pass: expanded rows, class totals and the grouped sums (see module doc);
        ``binomial``: classes ``[0, 1]`` (failures, successes) for LogisticRegression, else
        the counts columns' names (sorted)."""
        if binomial and self.trials is None and len(self.counts_columns) != 2:
            raise ValueError(
                f"a binomial counts target has 2 columns [successes, failures], not "
                f"{self.counts_columns} (use SoftmaxRegression for K class counts)"
            )
        if not binomial and self.trials is not None:
            raise ValueError("trials= is for LogisticRegression; pass K count columns")
        self.binomial = binomial
        return self.describe()

    def describe(self):
        """:meth:`describe_counts` with the last setting."""
        start, total = 0, None
        for batch in self.record_batches(self._columns()):
            self._check_batch(batch, start)
            C, w = self._counts(batch, start), self._weights(batch)
            total = add_summaries(total, counts_summary(C, w))
            start += batch.num_rows
        if start == 0:
            raise ValueError(f"{self.paths[0]!r} has no rows")
        totals, rows, n_exp, scale = total
        names = self.counts_columns
        classes = np.arange(2) if self.binomial else np.array(names, dtype=object)
        order = np.argsort(classes, kind="stable")
        self._order = order
        return CountsSummary(
            n_exp, classes[order], totals[order], rows[order], grouped=scale, n_input=start
        )

    def chunk(self, batch, bound, offset_map):
        """The batch's expanded rows as a :class:`Chunk`."""
        C = self._counts(batch, 0)[:, getattr(self, "_order", slice(None))]
        X = np.empty((batch.num_rows, self.n_features if bound.features else 0))
        if bound.features:
            for j, name in enumerate(self.feature_names):
                X[:, j] = batch.column(name).to_numpy(zero_copy_only=False)
        offset = None
        if self.offset:
            raw = np.column_stack(
                [batch.column(c).to_numpy(zero_copy_only=False) for c in self.offset]
            ).astype(float)
            offset = offset_map(raw[:, 0] if raw.shape[1] == 1 else raw)
        Xe, codes, w, off, origin = expand_counts(X, C, self._weights(batch), offset)
        return Chunk(Xe, codes, w * bound.class_factor[codes], off, origin)

    def on_dask(self):
        raise ValueError(
            "scan_parquet(..., dask=True) with a counts target is not supported: stream the "
            "files (dask=False), or read them with dask.dataframe and pass y as the counts "
            "columns"
        )
