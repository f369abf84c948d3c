r"""Formulas on streamed (Parquet/CSV) and Dask data: learn the encoding in one pass, then
apply it batch by batch.

A formula's encoding depends on the whole data: the levels of a categorical term are every
value that occurs, and a stateful transform (``center``, ``scale``, ``standardize``,
``poly``, the splines ``bs``/``cr``/``cs``/``cc``) keeps state computed from the whole column
(a mean, a standard deviation, quantile knots, orthogonal-polynomial coefficients). The
descriptive pass therefore collects, over all batches,

- the union of the values of every categorical column (text and boolean columns, and the
  columns of ``C(column)`` terms): a few values per level;
- the full columns that stateful transforms read (one column of the data per variable
  such a transform reads, ``n`` values each: the only part that grows with the rows);

and then lets formulaic learn the encoding on a small frame built from them (the collected
levels, sorted as pandas sorts the whole column; the collected columns whole; any other
column a repeat of valid values). The state is therefore the one formulaic learns on all
rows together, and the design columns equal the in-memory fit's. Every later pass applies
that :class:`~softlogit.data.formula.FormulaDesign` to each batch's pandas frame.

On streams, the left side must be a column or ``cbind(...)`` of columns (a counts
response, :mod:`softlogit.data.formula_counts`), and a categorical term must be a column
(``C(g)``, or a text column ``g``): ``C(np.floor(x))`` has levels known only after
evaluating it on every row, and is refused with a message naming the term.
"""

from __future__ import annotations

import ast
import copy
import re

import numpy as np
import pandas as pd
from formulaic.utils.code import sanitize_variable_names

from .bound import DataSummary, codes_of
from .formula import CATEGORICAL_CALL, FormulaDesign, _factor_column
from .formula_frame import DaskFormulaFrame
from .formula_grammar import check_formula
from .sources import Chunk
from .stream import TableFiles, TableScan, _as_list, _kind_of

__all__ = [
    "DaskFormulaFrame",
    "EncodingLearner",
    "FormulaScan",
]

#: Rows per batch of a formula scan when ``batch_rows`` is not given.
FORMULA_BATCH_ROWS = 65536
#: formulaic's transforms whose state comes from the data (C's levels are found apart).
STATEFUL = ("center", "scale", "standardize", "poly", "bs", "cr", "cs", "cc")
_STATEFUL_CALL = re.compile(r"(?<![A-Za-z0-9_.])(" + "|".join(STATEFUL) + r")\s*\(")


def _factor_variables(expr, columns):
    """The data columns the code of one factor reads (backtick-quoted names included)."""
    aliases = {}
    code = sanitize_variable_names(expr, {}, aliases)
    nodes = ast.walk(ast.parse(code, mode="eval"))
    names = {aliases.get(n.id, n.id) for n in nodes if isinstance(n, ast.Name)}
    return [c for c in columns if c in names]


class EncodingLearner:
    """Collects what a formula's encoding needs from the batches of one pass.

    Parameters
    ----------
    formula : str
    columns : list of str
        The data's columns.
    text_columns : list of str
        Columns holding text or booleans (categorical whenever a formula reads them).
    """

    def __init__(self, formula, columns, text_columns=()):
        design = FormulaDesign(formula)
        parsed = check_formula(formula, columns=columns)
        #: the counts columns of a ``cbind(...)`` left side, else None
        self.counts_columns = design.counts_columns
        responses = self.counts_columns or [design.response]
        missing = [c for c in responses if c not in columns]
        if missing:
            raise ValueError(
                f"formula {formula!r}: on streamed or Dask data the left side must be a "
                f"column of the data (or cbind() of columns), one of {list(columns)[:20]}"
            )
        factors = [f.expr for term in parsed.rhs for f in term.factors]
        variables = set()
        self.state_columns = []
        for expr in factors:
            read = _factor_variables(expr, columns) if expr not in columns else [expr]
            variables.update(read)
            if _STATEFUL_CALL.search(expr):
                self.state_columns += [c for c in read if c not in self.state_columns]
        categorical = {m.group(1).strip("`") for e in factors if (m := CATEGORICAL_CALL.match(e))}
        self.variables = [c for c in columns if c in variables and c not in responses]
        self.level_columns = [
            c for c in self.variables if c in categorical or c in set(text_columns)
        ]
        self.formula, self.response, self.response_columns = formula, design.response, responses
        self.reset()

    def reset(self, collect=True):
        """Forget what earlier passes collected; ``collect=False``: only check the values
        (a fitted encoding is applied, none is learnt)."""
        self.collect = collect
        self.levels = {c: set() for c in self.level_columns} if collect else {}
        self.states = {c: [] for c in self.state_columns} if collect else {}
        self.first = None

    @property
    def columns(self):
        """The columns a pass reads for the formula: the response (or the counts columns)
        and the variables."""
        return [*self.response_columns, *self.variables]

    def add(self, frame, start=0):
        """Take one batch (a pandas frame of :attr:`columns`, first row ``start``)."""
        for col in self.columns:
            missing = frame[col].isna().to_numpy()
            if missing.any():
                row = start + int(np.flatnonzero(missing)[0])
                raise ValueError(f"column {col!r} has a missing value at row {row}")
        if self.first is None:
            self.first = frame.iloc[: min(len(frame), 64)].reset_index(drop=True)
            if self.collect:
                self._check_terms(self.first)
        for col in self.levels:
            self.levels[col].update(pd.unique(frame[col]).tolist())
        for col in self.states:
            self.states[col].append(frame[col].to_numpy())

    def _check_terms(self, frame):
        """Refuse, on the first batch, a categorical term that is not a column (a formula
        that does not evaluate on a few rows is checked on the learnt encoding instead)."""
        probe = FormulaDesign(self.formula)
        try:
            probe.fit_parts(frame)
        except ValueError:
            return
        self._check_categorical(probe.spec)

    def _check_categorical(self, spec):
        for factor, (kind, _) in spec.encoder_state.items():
            if getattr(kind, "value", kind) != "categorical":
                continue
            column = _factor_column(factor, self.variables)
            if column is None or column not in self.level_columns:
                raise ValueError(
                    f"formula term {factor!r}: on streamed or Dask data a categorical term "
                    "must be a column (C(g), or a text column g), so that its levels can be "
                    "collected in the descriptive pass; compute the column first"
                )

    def learn(self):
        """The :class:`FormulaDesign` learnt on the collected levels and columns."""
        if self.first is None:
            raise ValueError("the data have no rows")
        states = {c: np.concatenate(v) for c, v in self.states.items()}
        n = max([len(v) for v in states.values()] + [len(v) for v in self.levels.values()] + [2])
        proto = {}
        for col in self.columns:
            if col in states:
                proto[col] = states[col]
            elif col in self.levels:  # a pandas category column: its values, sorted
                dtype = self.first[col].dtype
                dtype = object if isinstance(dtype, pd.CategoricalDtype) else dtype
                values = pd.Series(sorted(self.levels[col]), dtype=dtype).to_numpy()
                proto[col] = np.resize(values, n)
            else:
                proto[col] = np.resize(self.first[col].to_numpy(), n)
        design = FormulaDesign(self.formula)
        design.fit_parts(pd.DataFrame(proto))
        self._check_categorical(design.spec)
        return design


def _pandas_batch(batch):
    """A pyarrow record batch as a pandas frame, dictionary columns read as their values
    (their levels are then the sorted values, as for text columns)."""
    import pyarrow as pa

    columns = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        columns[name] = column.to_pandas()
    return pd.DataFrame(columns)


def _offset_sum(formula_offset, raw):
    """The ``offset(...)`` terms plus the offset columns (either may be None)."""
    if raw is None:
        return formula_offset
    if formula_offset is None:
        return raw
    return raw + (formula_offset if raw.ndim == 1 else formula_offset[:, None])


class FormulaScan(TableScan):
    """A table on disk read through a formula; see :func:`~softlogit.data.scans.scan_parquet`.

    :meth:`describe` learns the encoding from all batches (see the module) besides the
    labels and weights; :meth:`chunk` applies it to each batch. Made without a formula
    (``scan_parquet(path)`` with neither target nor formula), it waits for the estimator's
    formula (:meth:`with_formula`). Batches are of :data:`FORMULA_BATCH_ROWS` rows unless
    ``batch_rows`` says otherwise (each batch goes through pandas and formulaic, so larger
    batches than a plain scan's pay off).

    Attributes
    ----------
    formula : str or None
    design : FormulaDesign or None
        The learnt encoding (after :meth:`describe`).
    """

    def __init__(self, paths, file_format, formula, weight, offset, batch_rows):
        self.paths, self.format = paths, file_format
        self.files = TableFiles(paths, file_format)
        self.dataset = self.files.dataset
        self.weight, self.offset = weight, _as_list(offset, "offset")
        self.formula, self.design, self.learner, self.fitted_design = None, None, None, None
        self.target, self.feature_names = None, None
        self.batch_rows = int(batch_rows) if batch_rows else FORMULA_BATCH_ROWS
        if self.batch_rows < 1:
            raise ValueError(f"batch_rows must be a positive integer, got {batch_rows!r}")
        if formula is not None:
            self._bind(formula)

    def with_formula(self, formula):
        """This scan read through ``formula`` (the same scan if it already is)."""
        if formula == self.formula:
            return self
        if self.formula is not None:
            raise ValueError(
                f"the scan has formula={self.formula!r} and the estimator formula="
                f"{formula!r}: give the formula to one of them (or the same to both)"
            )
        bound = copy.copy(self)
        bound.__dict__.pop("_reference_point", None)
        bound._bind(formula)
        return bound

    def with_design(self, design):
        """This scan with the fitted encoding ``design`` applied as it is (a fitted model's,
        for evaluating it on new files): its passes learn nothing."""
        bound = self.with_formula(design.formula)
        bound = copy.copy(bound)
        bound.__dict__.pop("_reference_point", None)
        bound.fitted_design = bound.design = design
        bound.feature_names = design.feature_names
        return bound

    def _bind(self, formula):
        names = self.files.names
        schema = self.dataset.schema
        text = [n for n in names if _kind_of(schema.field(n).type) not in ("numbers",)]
        text += [n for n in names if str(schema.field(n).type) == "bool"]
        self.learner = EncodingLearner(formula, names, text)
        self.formula, self.target = formula, self.learner.response
        special = [c for c in [self.weight, *self.offset] if c is not None]
        missing = [c for c in special if c not in names]
        if missing:
            raise ValueError(f"column {missing[0]!r} is not in {self.paths[0]!r}; it has {names}")
        self.files.check([*self.learner.columns, *special])

    @property
    def n_features(self):
        """Number of design columns (known after :meth:`describe`)."""
        return 0 if self.feature_names is None else len(self.feature_names)

    @property
    def has_offset(self):
        """Whether the rows have an offset: offset columns or ``offset(...)`` terms."""
        return self.user_offset or bool(self.design is not None and self.design.has_offset)

    @property
    def user_offset(self):
        """Whether offset columns (``offset=``) are read."""
        return bool(self.offset)

    def _columns(self, features=True):
        if self.learner is None:
            raise ValueError(
                "the scan has neither target= nor formula=: give one to scan_parquet / "
                "scan_csv, or formula= to the estimator"
            )
        extra = [c for c in [self.weight, *self.offset] if c is not None]
        return list(dict.fromkeys([*self.learner.columns, *extra]))

    def describe(self):
        """One pass: rows, labels and weight totals per label, and the formula's encoding
        (:attr:`design`, :attr:`feature_names`); missing values are errors naming column
        and row."""
        n, totals, counts = 0, {}, {}
        self.learner.reset(collect=self.fitted_design is None)
        for batch in self.record_batches(self._columns()):
            frame = _pandas_batch(batch)
            self.learner.add(frame, n)
            self._check_batch(batch.select([c for c in [self.weight, *self.offset] if c]), n)
            labels = frame[self.target].to_numpy()
            uniq, inv = np.unique(labels, return_inverse=True)
            sums = np.bincount(inv, weights=self._weights(batch), minlength=uniq.size)
            for label, s, c in zip(uniq.tolist(), sums, np.bincount(inv), strict=True):
                totals[label] = totals.get(label, 0.0) + float(s)
                counts[label] = counts.get(label, 0) + int(c)
            n += batch.num_rows
        if n == 0:
            raise ValueError(f"{self.paths[0]!r} has no rows")
        self.design = self.fitted_design or self.learner.learn()
        self.feature_names = self.design.feature_names
        order = sorted(totals)
        return DataSummary(
            n,
            np.array(order),
            np.array([totals[c] for c in order]),
            np.array([counts[c] for c in order]),
        )

    def chunk(self, batch, bound, offset_map):
        """A :class:`Chunk` of one record batch: the formula applied to it."""
        frame = _pandas_batch(batch)
        X, offset = self._design_rows(frame, bound, offset_map)
        codes = codes_of(frame[self.target].to_numpy(), bound.classes, self.target)
        weight = self._weights(batch) * bound.class_factor[codes]
        return Chunk(X, codes, weight, offset)

    def _design_rows(self, frame, bound, offset_map):
        """The design columns (none when ``bound`` fits no features) and the mapped offset
        (``offset(...)`` terms plus offset columns; None without) of one batch's frame."""
        X, terms = self.design.transform_parts(frame)
        if bound.features:
            X = np.ascontiguousarray(X.to_numpy(dtype=float))
        else:
            X = np.empty((len(frame), 0))
        raw = None
        if self.offset:
            raw = np.column_stack([frame[c].to_numpy(dtype=float) for c in self.offset])
            raw = raw[:, 0] if raw.shape[1] == 1 else raw
        offset = _offset_sum(terms, raw)
        return X, None if offset is None else offset_map(offset)

    def on_dask(self):
        """The files read by ``dask.dataframe.read_parquet``, the formula applied there."""
        import dask.dataframe as dd

        frame = dd.read_parquet(self.paths, columns=self._columns())
        return DaskFormulaFrame(frame, self.formula, self.weight, self.offset)
