"""The user's doors to streamed data: ``scan_parquet`` and ``scan_csv`` describe files for
an out-of-core fit and hand them to the scan that reads them (:class:`~.stream.TableScan`,
a counts response's :class:`~.counts_stream.CountsTableScan`, a formula's
:class:`~.formula_stream.FormulaScan`). The scans build on :mod:`.stream`; this module sits
on all of them, so none imports another upwards."""

from __future__ import annotations

from .counts_stream import CountsTableScan
from .formula_stream import FormulaScan
from .stream import TableScan, _resolve_paths

__all__ = ["scan_csv", "scan_parquet"]


def scan_parquet(
    path_or_glob,
    target=None,
    features=None,
    weight=None,
    offset=None,
    batch_rows=None,
    dask=False,
    trials=None,
    formula=None,
):
    """Describe Parquet files for an out-of-core fit: ``model.fit(scan)``.

    Parameters
    ----------
    path_or_glob : str, path, or list of them
        A file, a folder (all its files), or a glob such as ``"data/part-*.parquet"``.
    target : str or list of str
        The label column; or a counts response (:mod:`softlogit.data.counts_stream`): two
        columns ``[successes, failures]`` (LogisticRegression) or K class-count columns
        (SoftmaxRegression); or, with ``trials``, the proportion of successes.
    features : list of str, optional
        Feature columns (numeric); default every column but target, weight and offset.
    weight : str, optional
        Column of non-negative prior (sample) weights.
    offset : str or list of str, optional
        Offset column (added to the linear predictor), or one column per class.
    batch_rows : int, optional
        Rows per batch; default about 16 MiB of features per batch.
    dask : bool
        Read the files with ``dask.dataframe.read_parquet`` instead, so that every pass runs
        on the Dask workers (the default scheduler, or a ``distributed`` cluster), each
        reading its own row groups.
    trials : str, optional
        Column of binomial trials; ``target`` is then the proportion of successes.
    formula : str, optional
        A Wilkinson formula such as ``"admit ~ gre + gpa + C(rank)"`` instead of ``target``
        and ``features``: the descriptive pass learns its encoding from every batch (levels,
        transforms' state) and every later pass applies it batch by batch; see
        :mod:`softlogit.data.formula_stream`. With neither ``target`` nor ``formula``, the
        scan waits for the estimator's ``formula=``.

    Returns
    -------
    TableScan or DaskData
        Pass it to ``fit`` in place of ``X`` (and no ``y``). Newton/IRLS then runs as a few
        full passes over the files (exact MLE, standard errors, fit statistics) with memory
        that does not grow with the number of rows.
    """
    paths = _resolve_paths(path_or_glob)
    if formula is not None or target is None:
        scan = _formula_scan(
            paths, "parquet", target, features, weight, offset, batch_rows, formula, trials
        )
    elif trials is not None or not isinstance(target, str):
        scan = _counts_scan(paths, "parquet", target, trials, features, weight, offset, batch_rows)
    else:
        scan = TableScan(paths, "parquet", target, features, weight, offset, batch_rows)
    return scan.on_dask() if dask else scan


def scan_csv(
    path_or_glob,
    target=None,
    features=None,
    weight=None,
    offset=None,
    batch_rows=None,
    trials=None,
    formula=None,
):
    """Describe CSV files (with a header row) for an out-of-core fit; parameters and result
    as :func:`scan_parquet`. Column types are inferred by pyarrow's CSV reader."""
    paths = _resolve_paths(path_or_glob)
    if formula is not None or target is None:
        return _formula_scan(
            paths, "csv", target, features, weight, offset, batch_rows, formula, trials
        )
    if trials is not None or not isinstance(target, str):
        return _counts_scan(paths, "csv", target, trials, features, weight, offset, batch_rows)
    return TableScan(paths, "csv", target, features, weight, offset, batch_rows)


def _counts_scan(paths, file_format, target, trials, *rest):
    """A :class:`~softlogit.data.counts_stream.CountsTableScan` (counts responses)."""
    return CountsTableScan(paths, file_format, target, trials, *rest)


def _formula_scan(
    paths, file_format, target, features, weight, offset, batch_rows, formula, trials=None
):
    """A :class:`~softlogit.data.formula_stream.FormulaScan` (a formula names the target
    and the terms: ``target=``/``features=`` with it are an error)."""
    if target is not None or features is not None:
        raise ValueError(
            f"formula={formula!r} names the target and the terms itself: leave out "
            f"{'target=' if target is not None else 'features='}"
        )
    if trials is not None:
        raise ValueError(
            "trials= with a streamed formula is not supported: name the counts on the "
            "formula's left side, or use target= and trials= without a formula"
        )
    return FormulaScan(paths, file_format, formula, weight, offset, batch_rows)
