r"""Influence measures of a binary model, as R's ``influence.measures`` on a ``glm``, row by
row (no ``n x n`` matrix), in memory or batch by batch into a file.

With the deviance and Pearson residuals :math:`d_i, r_i` and hat values :math:`h_i` of
:mod:`softlogit.stats.residuals`, :math:`V = (X^T W X)^{-1}` (the inverse information),
:math:`n` the rows of positive weight and :math:`p` the estimated parameters (R's
``model$rank``), R computes (``lm.influence``, ``influence.measures``, ``cooks.distance.glm``):

* ``dfbeta``: the one-step change of the estimates when row :math:`i` is left out,
  :math:`\hat\beta - \hat\beta_{(i)} \approx \sqrt{w_i v_i}\, V \tilde x_i\, d_i / (1 - h_i)`
  (0 where :math:`h_i = 1`). R's ``lm.influence`` uses the *deviance* residual here (its
  "weighted residuals" of a glm); so does this module, to equal R. The textbook one-step
  update (Pregibon 1981) has the Pearson residual in its place;
* ``sigma``: :math:`s_{(i)} = \sqrt{(\sum_j d_j^2 - d_i^2 / (1 - h_i)) / (n - p - 1)}`;
* ``dfbetas``: :math:`\mathrm{dfbeta}_{ij} / (s_{(i)} \sqrt{V_{jj}})`;
* ``dffit``: :math:`d_i \sqrt{h_i} / (s_{(i)} (1 - h_i))`;
* ``cov_r``: :math:`(s_{(i)} / s)^{2p} / (1 - h_i)` with :math:`s^2 = \sum_j d_j^2 / (n - p)`;
* ``cooks_d``: :math:`(r_i / (1 - h_i))^2\, h_i / p` (the binomial dispersion is 1).

The sums over rows (:math:`n`, :math:`\sum d_j^2`) take one pass before the rows are
computed, so streamed data is read twice. Values that R returns as ``Inf`` are NaN, as
``influence.measures`` makes them; rows of zero prior weight (which R drops) are NaN. R
also zeroes deviance residuals below ``100 eps`` times their median before these formulas;
that is not done here (it changes nothing but rows fitted exactly).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..data.bound import DataSummary
from ..data.external import BoundRows, class_factor
from ..files import atomic_path
from .residuals import (
    BINARY_KINDS,
    RowModel,
    binary_rows,
    hat_values,
    ordered_chunks,
    row_source,
    standardized,
)
from .results import INFORMATION

__all__ = ["diagnostics_table", "influence", "write_diagnostics"]

MEASURES = ("dffit", "cov_r", "cooks_d", "hat", "sigma")
#: The residual columns :func:`write_diagnostics` writes by default.
DEFAULT_COLUMNS = ("linear_predictor", "fitted", *BINARY_KINDS)
FORMATS = ("csv", "parquet")


class _Influence:
    """The per-fit constants of the influence formulas, and their rows for one chunk."""

    def __init__(self, model, source):
        self.rm = RowModel.of(model, need_cov=True)
        if not self.rm.binary:
            raise ValueError(
                "influence measures are those of a binary glm (R's influence.measures); "
                "for a multinomial model use residuals(kind='response' or 'pearson')"
            )
        results = model._snapshot().results_
        obj = self.rm.objective
        self.order = results._order  # table order: intercept, then the terms
        self.free = results._free[self.order]
        self.names = [t for t, f in zip(results.index, self.free, strict=True) if f]
        V = results._cov_theta(INFORMATION)
        self.se = np.sqrt(np.diag(V)[self.order][self.free])
        self.rank = int(results.k_params)
        self.center = obj.center
        self.p = obj.p

        def sums(chunk):
            rows = binary_rows(self.rm, chunk)
            used = rows["weight"] > 0
            return float(np.sum(used)), float(np.sum(rows["deviance"][used] ** 2))

        self.n_used, self.dev_sum = source.reduce(sums)
        denom = self.n_used - self.rank
        self.s = np.sqrt(self.dev_sum / denom) if denom > 0 else np.nan

    def rows(self, chunk):
        """The residuals and influence measures of one chunk (a dict of columns)."""
        rows = binary_rows(self.rm, chunk)
        h, G = hat_values(self.rm, chunk, rows)
        rows["hat"] = h
        rows.update(standardized(rows, h))
        d, r = rows["deviance"], rows["pearson"]
        denom = self.n_used - self.rank - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            left = self.dev_sum - np.where(h < 1, d * d / (1.0 - h), 0.0)
            sigma = np.sqrt(left / denom) if denom > 0 else np.full(h.shape, np.nan)
            step = np.where(h < 1, d / (1.0 - h), 0.0)
            eta = rows["linear_predictor"]
            root_wv = np.sqrt(rows["weight"] * _var(eta))
            dfbeta = self._to_table(G * (root_wv * step)[:, None])
            rows["dffit"] = d * np.sqrt(h) / (sigma * (1.0 - h))
            rows["cov_r"] = (sigma / self.s) ** (2 * self.rank) / (1.0 - h)
            rows["cooks_d"] = (r / (1.0 - h)) ** 2 * h / self.rank
            dfbetas = dfbeta / (sigma[:, None] * self.se[None, :])
        rows["sigma"] = sigma
        for j, name in enumerate(self.names):
            rows[f"dfbeta_{name}"] = dfbeta[:, j]
        for j, name in enumerate(self.names):
            rows[f"dfbetas_{name}"] = dfbetas[:, j]
        zero = rows["weight"] <= 0
        for key in ["sigma", "dffit", "cov_r", "cooks_d", *self._coef_columns()]:
            rows[key] = np.where(np.isfinite(rows[key]) & ~zero, rows[key], np.nan)
        return rows

    def _coef_columns(self):
        return [f"{kind}_{n}" for kind in ("dfbeta", "dfbetas") for n in self.names]

    def _to_table(self, D):
        """Centred parameter changes (rows, q) as raw ones over the free table columns."""
        D = np.array(D, dtype=float)
        if self.center is not None:
            D[:, self.p] -= D[:, : self.p] @ self.center
        return D[:, self.order][:, self.free]

    def influence_columns(self):
        """The columns of :func:`influence`, in order."""
        return [*self._coef_columns(), *MEASURES]


def _var(eta):
    from ..numerics import expit

    return expit(eta) * expit(-eta)


def influence(model, X=None, y=None, sample_weight=None, offset=None):
    r"""Influence measures of a binary model, as R's ``influence.measures`` (and
    ``dfbeta``, ``dfbetas``, ``cooks.distance``, ``hatvalues``) on a ``glm``.

    Parameters
    ----------
    model : fitted LogisticRegression
        Unpenalised (or Firth: then with its inverse information).
    X : array-like, sparse matrix or data frame, optional
        Rows; None: the training rows with their weights and offset (the rows the
        measures are meant for: :math:`n` and :math:`\sum d_j^2` are sums over them).
    y, sample_weight, offset
        Labels, prior weights and offset of ``X``, as for
        :func:`softlogit.stats.residuals.residuals`.

    Returns
    -------
    DataFrame
        One row per row of the data; columns ``dfbeta_<term>`` and ``dfbetas_<term>`` per
        estimated coefficient (``Intercept`` first, as the coefficient table), then
        ``dffit``, ``cov_r``, ``cooks_d``, ``hat`` and ``sigma`` (R's leave-one-out
        :math:`s_{(i)}`); the formulas are in :mod:`softlogit.stats.influence`.
    """
    return diagnostics_table(model, X, y, sample_weight, offset, columns=(), influence=True)


def diagnostics_table(
    model, X=None, y=None, sample_weight=None, offset=None, columns=DEFAULT_COLUMNS, influence=True
):
    """Per-row diagnostics of a binary model in memory: the ``columns`` of
    :func:`write_diagnostics` followed (``influence=True``) by those of :func:`influence`.

    Returns
    -------
    DataFrame
    """
    model = model._snapshot()  # one model, even if a fit publishes meanwhile
    source = row_source(model, X, y, sample_weight, offset)
    state = _Influence(model, source)
    names = _column_names(state, columns, influence)
    parts = []
    for chunk in ordered_chunks(source):
        rows = state.rows(chunk)
        parts.append(pd.DataFrame({c: rows[c] for c in names}))
    if not parts:
        return pd.DataFrame(columns=names)
    return pd.concat(parts, ignore_index=True)


def _column_names(state, columns, influence):
    bad = [c for c in columns if c not in DEFAULT_COLUMNS]
    if bad:
        raise ValueError(f"unknown columns {bad}; choose among {list(DEFAULT_COLUMNS)}")
    return list(columns) + (state.influence_columns() if influence else [])


def scan_source(model, scan):
    """The data source of a ``scan_parquet``/``scan_csv`` scan bound to the fitted model's
    classes (one descriptive pass checks the values and the labels)."""
    if getattr(model, "has_offset_", False) and not scan.has_offset:
        raise ValueError(
            "the model was fitted with an offset: name the scan's offset column (offset=)"
        )
    if model.formula is not None:  # the fitted encoding, applied batch by batch
        from ..data.formula_external import formula_external_data

        scan = formula_external_data(scan, model.formula, design=model._formula)
    summary = scan.describe()
    classes = model.classes_
    unknown = [c for c in summary.classes if c not in set(classes.tolist())]
    if unknown:
        raise ValueError(f"the scan has labels {unknown} not among the classes {list(classes)}")
    at = {c: i for i, c in enumerate(summary.classes.tolist())}
    pick = lambda values: np.array([values[at[c]] if c in at else 0 for c in classes.tolist()])  # noqa: E731
    aligned = DataSummary(
        summary.n_rows, classes, pick(summary.class_weight_totals), pick(summary.class_counts)
    )
    factor = class_factor(model.class_weight, classes, aligned.class_counts)
    bound = BoundRows(scan, aligned, factor)
    family = model.results_._objective.family
    return bound.make_source(family.offset_to_free)


def write_diagnostics(
    model, path, data=None, columns=DEFAULT_COLUMNS, influence=True, file_format=None
):
    r"""Write residuals (and influence measures) of a binary model to a CSV or Parquet file,
    batch by batch: memory holds one batch whatever the number of rows.

    Parameters
    ----------
    model : fitted LogisticRegression
    path : str or os.PathLike
        The file, written atomically (:func:`softlogit.files.atomic_path`).
    data : scan, optional
        A :func:`softlogit.scan_parquet` / :func:`softlogit.scan_csv` scan (its target,
        weight and offset columns); None: the training rows (for a model fitted on a
        scan, that scan).
    columns : sequence of str
        Per-row columns: ``linear_predictor``, ``fitted`` and the residual kinds of
        :func:`softlogit.stats.residuals.residuals`.
    influence : bool
        Also write the columns of :func:`influence`. Either way one pass for :math:`n`
        and :math:`\sum d_j^2` comes before the pass that writes.
    file_format : {"csv", "parquet"}, optional
        Default: from the file name (``.parquet``/``.pq``: Parquet, else CSV).

    Returns
    -------
    int
        The number of rows written.
    """
    fmt = file_format or _format_of(path)
    if fmt not in FORMATS:
        raise ValueError(f"file_format={fmt!r} is not one of {FORMATS}")
    model = model._snapshot()
    source = row_source(model) if data is None else scan_source(model, data)
    state = _Influence(model, source)
    names = _column_names(state, columns, influence)
    import pyarrow as pa

    n = 0
    with atomic_path(path) as tmp:
        writer = None
        try:
            for chunk in ordered_chunks(source):
                rows = state.rows(chunk)
                table = pa.table({c: np.asarray(rows[c], dtype=float) for c in names})
                writer = writer or _writer(fmt, tmp, table.schema)
                writer.write_table(table)
                n += table.num_rows
            if writer is None:  # no rows: the header (or schema) alone
                schema = pa.schema([(c, pa.float64()) for c in names])
                writer = _writer(fmt, tmp, schema)
        finally:
            if writer is not None:
                writer.close()
    return n


def _format_of(path):
    ext = os.path.splitext(os.fspath(path))[1].lower()
    return "parquet" if ext in (".parquet", ".pq") else "csv"


def _writer(fmt, path, schema):
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetWriter(path, schema)
    import pyarrow.csv as pcsv

    return pcsv.CSVWriter(path, schema)
