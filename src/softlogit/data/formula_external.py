"""Streamed and Dask data read through a formula, as the estimators receive them: a
:class:`~.formula_stream.FormulaScan` (a counts response's
:class:`~.formula_counts.FormulaCountsScan`), or a Dask data frame mapped through the
encoding learnt over its partitions (:mod:`.formula_stream`'s :class:`EncodingLearner`)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from .external import external_data
from .formula_counts import FormulaCountsScan
from .formula_frame import DaskFormulaFrame
from .formula_stream import EncodingLearner, FormulaScan
from .stream import TableScan, _as_list

__all__ = ["data_formula", "formula_external_data"]


def data_formula(X):
    """The formula a scan carries (``scan_parquet(path, formula=...)``), else None."""
    return X.formula if isinstance(X, (FormulaScan, DaskFormulaFrame)) else None


def formula_external_data(X, formula, y=None, sample_weight=None, offset=None, design=None):
    """Streamed or Dask data read through ``formula`` (the estimator's; None: the scan's):
    a :class:`FormulaScan` (its encoding learnt by its ``describe``) or a
    :class:`~softlogit.data.dask_source.DaskData` of the design columns (the encoding
    learnt in a pass over the partitions first). The data object has ``design`` and
    ``user_offset``. ``design``: a fitted encoding to apply as it is (evaluating a fitted
    model on new data), instead of learning one."""
    if isinstance(X, DaskFormulaFrame):
        if formula is not None and formula != X.formula:
            raise ValueError(
                f"the scan has formula={X.formula!r} and the estimator formula={formula!r}: "
                "give the formula to one of them (or the same to both)"
            )
        if y is not None or sample_weight is not None or offset is not None:
            external_data(TableScan.__new__(TableScan), y, sample_weight, offset)
        frame = X.frame
        weight = None if X.weight is None else frame[X.weight]
        cols = _as_list(X.offset, "offset")
        user = None if not cols else frame[cols[0]] if len(cols) == 1 else frame[cols]
        return _dask_design(frame, X.formula, weight, user, design)
    if isinstance(X, TableScan):
        if not isinstance(X, FormulaScan):
            raise ValueError(
                "a formula reads its columns itself: make the scan without target= "
                "(scan_parquet(path)) or with formula= (scan_parquet(path, formula=...))"
            )
        external_data(X, y, sample_weight, offset)  # refuses y=, sample_weight=, offset=
        if design is not None:
            return _counts_aware(X.with_design(design))
        return _counts_aware(X.with_formula(formula) if formula is not None else X)
    if not hasattr(X, "map_partitions"):
        raise ValueError(
            f"formula= needs a data frame: a pandas/polars frame, a Dask DataFrame or a scan "
            f"(scan_parquet/scan_csv); got {type(X).__name__}"
        )
    if y is not None:
        raise ValueError(f"formula={formula!r} takes the response from the data: no y")
    return _dask_design(X, formula, sample_weight, offset, design)


def _counts_aware(scan):
    """``scan``, as a :class:`~softlogit.data.formula_counts.FormulaCountsScan` when its
    formula's left side is ``cbind(...)`` (a counts response)."""
    if scan.learner is None or scan.learner.counts_columns is None:
        return scan
    return FormulaCountsScan.of(scan)


def _partition_summary(frame, learner, start):
    """What one partition gives the learner: its first rows, levels and state columns."""
    part = copy.deepcopy(learner)
    part.reset()
    part.add(frame.reset_index(drop=True), start)
    return part.first, part.levels, part.states


def _dask_design(frame, formula, weight, offset, design=None):
    """The design of a Dask data frame through ``formula``: one pass over the partitions
    collects the levels and the columns stateful transforms read (unless a fitted
    ``design`` is given), then every partition is mapped through the encoding (on the
    workers)."""
    columns = [str(c) for c in frame.columns]
    text = [c for c in columns if frame[c].dtype.kind not in "fiuc"]
    learner = EncodingLearner(formula, columns, text)
    sub = frame[learner.columns]
    design = design or _learn_on_partitions(sub, learner)
    return _dask_rows(sub, learner.response_columns, design, weight, offset)


def _learn_on_partitions(sub, learner):
    """The encoding learnt from every partition of ``sub`` (one pass on the workers: each
    returns its levels and the columns stateful transforms read)."""
    import dask

    blocks = sub.to_delayed()  # lengths of these very blocks (dask may regroup a graph)
    lengths = dask.compute(*[dask.delayed(len)(b) for b in blocks])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)
    parts = [
        dask.delayed(_partition_summary)(p, learner, int(s))
        for p, s in zip(blocks, starts, strict=True)
    ]
    for first, levels, states in dask.compute(*parts):
        if first is None:
            continue
        learner.first = learner.first if learner.first is not None else first
        for c in learner.levels:
            learner.levels[c].update(levels[c])
        for c in learner.states:
            learner.states[c].extend(states[c])
    return learner.learn()


def _dask_rows(sub, response, design, weight, offset):
    """DaskData of the design columns, labels, weights and offsets of ``sub``;
    ``response``: the label column, or the counts columns of a ``cbind(...)`` left side
    (then a :class:`~softlogit.data.counts_dask.DaskCountsData`)."""
    from .counts_dask import DaskCountsData
    from .dask_source import DaskData

    meta = pd.DataFrame({n: pd.Series([], dtype=float) for n in design.feature_names})
    X = sub.map_partitions(lambda p: _design_rows(design, p), meta=meta)
    user_given = offset is not None
    if design.has_offset:
        terms = sub.map_partitions(
            lambda p: pd.Series(design.transform_parts(p)[1], index=p.index),
            meta=pd.Series([], dtype=float),
        )
        offset = terms if offset is None else offset + terms
    if design.counts_columns is not None:
        data = DaskCountsData(X, sub[design.counts_columns], weight, offset).persist()
    else:
        data = DaskData(X, sub[response[0]], weight, offset).persist()
    data.design, data.user_offset = design, user_given
    return data


def _design_rows(design, part):
    frame = design.transform(part)
    frame.index = part.index
    return frame
