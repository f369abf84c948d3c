"""``softlogit fit`` with a counts response (:mod:`softlogit.data.counts`).

``--target s,f`` (two or more comma-separated columns: binomial ``[successes, failures]``
or K class counts), ``--target p --trials n`` (a proportion and its trials) or
``--formula "cbind(s, f) ~ x"``. The data are read into memory, or streamed with
``--stream`` (a formula's encoding is then learnt in the descriptive pass,
:mod:`softlogit.data.formula_counts`). Counts take frequency weights only (``--weight``
with ``--weight-type frequency``). The printed summary and the saved model show R's grouped
scale (:mod:`softlogit.stats.grouped`).
"""

from __future__ import annotations

import contextlib
import sys

from . import cli_data
from .cli_data import DataError

__all__ = ["counts_columns", "fit_counts"]


def counts_columns(target, trials, formula):
    """The counts columns of the request (a list), or None for a label response."""
    if formula is not None:
        from ..data.formula_grammar import cbind_columns

        names = cbind_columns(formula.partition("~")[0])
        if names is not None and trials is not None:
            raise DataError("--trials goes with --target PROPORTION, not with a cbind formula")
        return names
    columns = [] if target is None else [c.strip() for c in target.split(",")]
    if trials is None and len(columns) < 2:
        return None
    if trials is not None and len(columns) != 1:
        raise DataError(f"--trials goes with one --target column (a proportion), not {columns}")
    if any(not c for c in columns):
        raise DataError(f"--target {target!r} has an empty column name")
    return columns


def _classes(columns, trials):
    return [0, 1] if trials is not None or len(columns) == 2 else sorted(columns)


def fit_counts(table, request, make, stream):
    """Fit the counts response of ``request`` (the fit command's options)."""
    trials, formula, special = request["trials"], request["formula"], request["special"]
    columns = counts_columns(request["target"], trials, formula)
    if request["report"] is not None or request["cv"] is not None:
        raise DataError("--report and --cv are not supported for a counts response yet")
    if request.get("weight_type", "frequency") != "frequency":
        raise DataError(
            f"--weight-type {request['weight_type']} with a counts response is not supported: "
            "counts take frequency weights (--weight-type frequency)"
        )
    response = columns + ([trials] if trials else [])
    table.require([*response, *special])
    model = make(_classes(columns, trials), {"formula": formula} if formula else {})
    if stream:
        return _streamed(table, request, model, columns, trials)
    features = request["features"]
    keep = None if features is None or formula else [*response, *features, *special]
    frame = cli_data.read_frame(table, keep)
    args = {}
    if request["weight"]:
        args["sample_weight"] = frame[request["weight"]].to_numpy(dtype=float)
    if request["offset"]:
        args["offset"] = cli_data.offset_values(frame, request["offset"])
    if formula:
        return model.fit(frame, **args)
    X = frame.drop(columns=[*response, *special])
    if trials:
        y = frame[columns[0]].to_numpy(dtype=float)
        return model.fit(X, y, trials=frame[trials].to_numpy(dtype=float), **args)
    return model.fit(X, frame[columns], **args)


def _streamed(table, request, model, columns, trials):
    from ..data.scans import scan_csv, scan_parquet

    scan_of = scan_parquet if table.format == "parquet" else scan_csv
    offset = request["offset"]
    if request["formula"] is not None:  # the scan reads the cbind() columns itself
        response = {"formula": request["formula"]}
    else:
        response = {
            "target": columns[0] if trials else columns,
            "features": request["features"],
            "trials": trials,
        }
    scan = scan_of(
        table.paths,
        **response,
        weight=request["weight"],
        offset=None if not offset else offset[0] if len(offset) == 1 else list(offset),
    )
    with contextlib.redirect_stdout(sys.stderr):
        return model.fit(scan)
