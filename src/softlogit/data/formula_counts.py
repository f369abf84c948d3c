r"""Formulas with a ``cbind(...)`` left side on streamed (Parquet/CSV) data: a counts
response read through a formula, batch by batch.

``scan_parquet(path, formula="cbind(s, f) ~ x + C(g)")`` (binomial ``[successes,
failures]`` for ``LogisticRegression``) or ``"cbind(n1, n2, n3) ~ ..."`` (K class counts
for ``SoftmaxRegression``) gives a :class:`FormulaCountsScan`. It is a
:class:`~softlogit.data.formula_stream.FormulaScan` (the encoding is learnt in the
descriptive pass, then applied to each batch) whose response is counts, handled as
:class:`~softlogit.data.counts_stream.CountsTableScan` handles them: the descriptive pass
also adds up the expanded rows, the class totals and the
:class:`~softlogit.data.counts.GroupedScale` sums, and every later pass expands each batch
(:func:`~softlogit.data.counts.expand_counts`): row :math:`i` becomes one row per class
:math:`k` with :math:`c_{ik} > 0`, of label :math:`k` and frequency weight
:math:`w_i c_{ik}`. The fit therefore equals the in-memory ``cbind`` formula fit, on R's
grouped scale. Each chunk's ``groups`` are the counts rows within its batch (the unit of the
sandwich covariances). Dask data frames with a ``cbind`` formula become a
:class:`~softlogit.data.counts_dask.DaskCountsData` of the design columns
(:func:`~softlogit.data.formula_external.formula_external_data`).
"""

from __future__ import annotations

import numpy as np

from .counts import check_counts, counts_summary, expand_counts
from .counts_stream import CountsSummary
from .formula_stream import FormulaScan, _pandas_batch
from .sources import Chunk, add_summaries

__all__ = ["FormulaCountsScan"]


class FormulaCountsScan(FormulaScan):
    """A :class:`~softlogit.data.formula_stream.FormulaScan` whose formula's left side is
    ``cbind(c_1, ..., c_K)``: a counts response (see the module doc).

    ``binomial``: whether the classes are ``[0, 1]`` (failures, successes) from
    ``cbind(successes, failures)``, as ``LogisticRegression`` needs; else the counts
    columns' names, sorted. Set by :meth:`describe_counts`.
    """

    binomial = False

    @classmethod
    def of(cls, scan):
        """The formula scan ``scan`` (bound to a ``cbind`` formula) as a counts scan."""
        if isinstance(scan, cls):
            return scan
        counts = cls.__new__(cls)
        counts.__dict__.update(scan.__dict__)
        counts.__dict__.pop("_reference_point", None)
        return counts

    @property
    def counts_columns(self):
        """The columns named by ``cbind(...)``."""
        return self.learner.counts_columns

    def _counts(self, frame, start):
        """The (rows, K) counts of one batch, classes in fitting order; a ValueError names
        the global row."""
        C = frame[self.counts_columns].to_numpy(dtype=float)
        try:
            C = check_counts(C, len(frame), "the cbind() counts")[0]
        except ValueError as err:
            raise ValueError(f"{err} (row numbers within the batch from row {start})") from None
        return (C[:, ::-1] if self.binomial else C)[:, self._order]

    def describe_counts(self, binomial):
        """One pass: the encoding (as :meth:`FormulaScan.describe`), expanded rows, class
        totals and the grouped sums; ``binomial``: classes ``[0, 1]`` for
        LogisticRegression, else the counts columns' names (sorted)."""
        K = len(self.counts_columns)
        if binomial and K != 2:
            raise ValueError(
                f"formula {self.formula!r}: a binomial counts response is cbind(successes, "
                f"failures), 2 columns, not {K} (use SoftmaxRegression for K class counts)"
            )
        if len(set(self.counts_columns)) != K:
            raise ValueError(f"the counts columns {self.counts_columns} repeat a name")
        self.binomial = binomial
        classes = np.arange(2) if binomial else np.array(self.counts_columns, dtype=object)
        self._order = np.argsort(classes, kind="stable")
        return self._describe_counts(classes[self._order])

    def describe(self):
        """:meth:`describe_counts` with the last setting."""
        return self.describe_counts(self.binomial)

    def _describe_counts(self, classes):
        start, total = 0, None
        self.learner.reset(collect=self.fitted_design is None)
        special = [c for c in [self.weight, *self.offset] if c]
        for batch in self.record_batches(self._columns()):
            frame = _pandas_batch(batch)
            self.learner.add(frame, start)
            self._check_batch(batch.select(special), start)
            C, w = self._counts(frame, start), self._weights(batch)
            total = add_summaries(total, counts_summary(C, w))
            start += batch.num_rows
        if start == 0:
            raise ValueError(f"{self.paths[0]!r} has no rows")
        totals, rows, n_exp, scale = total
        self.design = self.fitted_design or self.learner.learn()
        self.feature_names = self.design.feature_names
        return CountsSummary(n_exp, classes, totals, rows, grouped=scale, n_input=start)

    def chunk(self, batch, bound, offset_map):
        """The batch's expanded rows as a :class:`Chunk` (groups: its counts rows)."""
        frame = _pandas_batch(batch)
        X, offset = self._design_rows(frame, bound, offset_map)
        C = self._counts(frame, 0)
        Xe, codes, w, off, origin = expand_counts(X, C, self._weights(batch), offset)
        return Chunk(Xe, codes, w * bound.class_factor[codes], off, origin)
