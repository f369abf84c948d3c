"""Wilkinson formulas through formulaic: ``"admit ~ gre + gpa + C(rank)"``.

The right-hand side becomes the design matrix (its ``Intercept`` column becomes the model's
intercept), the left-hand side the response. The encoding learnt at fit time (levels of
categorical terms, transforms' state) is reused on new data, where an unseen category or a
missing value is an error, never a silent row of zeros or a dropped row.

Every formula is checked against the closed grammar of :mod:`.formula_grammar` before
formulaic evaluates any of it, and formulaic evaluates it with no context but the data and its
own transforms.
"""

from __future__ import annotations

import re
import warnings

import narwhals.stable.v1 as nw
import numpy as np
import pandas as pd
from formulaic import model_matrix
from formulaic.errors import FormulaicError

from .formula_grammar import cbind_columns, check_formula

__all__ = ["FormulaDesign", "offset_columns"]

INTERCEPT = "Intercept"
#: ``offset(...)`` as a call in a factor's code.
OFFSET_CALL = re.compile(r"(?<![A-Za-z0-9_.])offset\s*\(")


def _offset(values):
    """R's ``offset(x)``: the values themselves, a column that joins the linear predictor
    with coefficient 1 instead of being estimated (split off the design by
    :class:`FormulaDesign`)."""
    return values


#: What formulaic sees besides the data and its own transforms.
CONTEXT = {"offset": _offset}


def offset_columns(spec):
    """The design columns of ``spec`` that are ``offset(...)`` terms; a ValueError for an
    ``offset(...)`` that is not a whole term of its own (``offset(t):x``, ``I(offset(t))``)."""
    found = []
    for structure in spec.structure:
        factors = [f.expr for f in structure.term.factors]
        hits = [e for e in factors if OFFSET_CALL.search(e)]
        if not hits:
            continue
        if len(factors) != 1 or not OFFSET_CALL.match(factors[0]):
            raise ValueError(
                f"formula term {str(structure.term)!r}: offset(...) must be a term of its own "
                "('y ~ x + offset(np.log(t))'), not part of an interaction or an expression"
            )
        found.extend(str(c) for c in structure.columns)
    return found


#: ``C(name`` or ``C(`a name`,``: a categorical term of one column.
CATEGORICAL_CALL = re.compile(r"^C\(\s*(`[^`]+`|[A-Za-z_][A-Za-z0-9_.]*)\s*[,)]")


def _as_pandas(data):
    """A pandas DataFrame view of a pandas/polars/other data frame (or a dict of columns)."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        return pd.DataFrame(data)
    if nw.dependencies.is_into_dataframe(data):
        frame = nw.from_native(data, eager_only=True)
        return pd.DataFrame({name: frame[name].to_numpy() for name in frame.columns})
    raise TypeError(
        f"with a formula, X must be a data frame (pandas, polars) or a dict of columns; "
        f"got {type(data).__name__}"
    )


def _evaluate(spec_or_formula, data):
    """Run formulaic, turning its errors and mismatch warnings into clear ValueErrors."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*categories outside.*")
            return model_matrix(spec_or_formula, data, na_action="raise", context=dict(CONTEXT))
    except Warning as warn:  # a categorical term of an expression (not a plain column)
        levels = re.search(r"\{.*\}", str(warn))
        raise ValueError(
            f"unseen category in new data: levels {levels.group(0) if levels else '?'} of a "
            "categorical term were not seen when the model was fitted, so they have no "
            "coefficient; drop those rows or recode them to a level seen in training"
        ) from None
    except FormulaicError as err:
        raise ValueError(f"formula error: {err}") from None
    except ValueError as err:
        if "null values" in str(err):
            raise ValueError(f"{err} (first missing row: {_first_missing_row(data)})") from None
        raise


def _factor_column(factor, columns):
    """The data column a categorical factor reads: the factor itself (``g``) or the first
    argument of ``C(g, ...)``; None for other expressions."""
    if factor in columns:
        return factor
    match = CATEGORICAL_CALL.match(factor)
    name = match and match.group(1).strip("`")
    return name if name in columns else None


def _check_levels(spec, data):
    """Refuse levels of a categorical column that the fit did not see, naming the column,
    the unseen levels and the known ones (formulaic would warn and encode them as NaN)."""
    problems = {}
    for factor, (kind, state) in spec.encoder_state.items():
        column = _factor_column(factor, list(data.columns))
        known = state.get("categories") if getattr(kind, "value", kind) == "categorical" else None
        if known is None or column is None or column in problems:
            continue
        seen = set(known)
        unseen = [v for v in pd.unique(data[column].dropna()) if v not in seen]
        if unseen:
            problems[column] = (_plain_list(unseen), _plain_list(known))
    if problems:
        text = "; ".join(
            f"column {col!r} has {len(new)} unseen level(s) {new[:10]} (fitted levels: "
            f"{known[:20]})"
            for col, (new, known) in problems.items()
        )
        raise ValueError(
            f"unseen category in new data: {text}. A level not seen when the model was "
            "fitted has no coefficient; drop those rows or recode them to a fitted level"
        )


def _plain_list(values):
    return [v.item() if hasattr(v, "item") else v for v in values]


def _first_missing_row(data):
    missing = data.isna().any(axis=1).to_numpy()
    return int(np.flatnonzero(missing)[0]) if missing.any() else "unknown"


class FormulaDesign:
    r"""A formula with the encoding state learnt at fit time.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + C(g)"``; ``C(g, Treatment(reference="b"))``, interactions ``a:b``,
        ``a*b`` and transforms such as ``np.log(x)`` work as in formulaic, within the grammar
        of :func:`~softlogit.data.formula_grammar.check_formula`. ``"y ~ 1"`` is the null
        (intercept-only) model, ``"y ~ 0 + x"`` or ``"y ~ x - 1"`` a model without intercept.
        ``offset(np.log(t))`` is R's offset term: its values :math:`o_i` join the linear
        predictor, :math:`\eta_i = x_i^T\beta + o_i`, with coefficient 1 (not estimated);
        several offset terms add up.

    Attributes
    ----------
    spec : formulaic.ModelSpec or None
        The fitted encoding (None before ``fit``).
    has_intercept : bool or None
    offset_columns : list of str
        The design columns of the ``offset(...)`` terms (not features).
    """

    def __init__(self, formula):
        if not isinstance(formula, str) or "~" not in formula:
            raise ValueError(f"formula must be a string like 'y ~ x1 + x2', got {formula!r}")
        self.formula = formula
        self.spec = None
        self.has_intercept = None
        self.response = formula.split("~", 1)[0].strip()
        #: the columns of a counts response ``cbind(a, b, ...)``, else None
        self.counts_columns = cbind_columns(self.response)

    @property
    def offset_columns(self):
        """Design columns of the ``offset(...)`` terms (empty before ``fit``)."""
        return [] if self.spec is None else offset_columns(self.spec)

    @property
    def feature_names(self):
        """The design's feature columns: no intercept, no ``offset(...)`` terms."""
        skip = {INTERCEPT, *self.offset_columns}
        return [str(c) for c in self.spec.column_names if c not in skip]

    @property
    def has_offset(self):
        """Whether the formula has an ``offset(...)`` term."""
        return bool(self.offset_columns)

    def fit(self, data):
        """Design (a DataFrame of term columns, no intercept column) and response of ``data``."""
        frame, y, _ = self.fit_parts(data)
        return frame, y

    def fit_parts(self, data):
        """Design, response and the ``offset(...)`` terms' sum (None without one) of
        ``data``; learns the encoding."""
        data = _as_pandas(data)
        if not self.response:
            raise ValueError(f"formula {self.formula!r} has no response on its left side")
        parsed = check_formula(self.formula, columns=[str(c) for c in data.columns])
        matrices = _evaluate(parsed, data)
        rhs = matrices.rhs
        if not len(rhs.columns):
            raise ValueError(
                f"formula {self.formula!r} has neither terms nor an intercept: nothing to fit "
                f"(the null model is '{self.response} ~ 1')"
            )
        spec, has_intercept = rhs.model_spec, INTERCEPT in rhs.columns
        offset_columns(spec)  # offset(...) only as a term of its own
        self.spec, self.has_intercept = spec, has_intercept
        y = self._response(data, matrices.lhs)
        frame, offset = self._terms(rhs)
        return frame, y, offset

    def transform(self, data):
        """Design of new ``data`` with the fit-time encoding (the response is not needed)."""
        return self.transform_parts(data)[0]

    def transform_parts(self, data):
        """Design of new ``data`` and the sum of its ``offset(...)`` terms (None without)."""
        if self.spec is None:
            raise ValueError("the formula has not been fitted")
        data = _as_pandas(data)
        _check_levels(self.spec, data)
        return self._terms(_evaluate(self.spec, data))

    def _terms(self, matrix):
        """The feature columns (no intercept, no offset terms) and the offsets' sum."""
        frame = pd.DataFrame(np.asarray(matrix, dtype=float), columns=list(matrix.columns))
        offsets = offset_columns(self.spec)
        offset = frame[offsets].to_numpy().sum(axis=1) if offsets else None
        drop = [c for c in (INTERCEPT, *offsets) if c in frame.columns]
        return frame.drop(columns=drop), offset

    def response_values(self, data):
        """The response column of new ``data`` (a plain column name on the left side)."""
        data = _as_pandas(data)
        if self.counts_columns is not None:
            return self._counts(data)
        if self.response not in data.columns:
            raise ValueError(f"the data have no response column {self.response!r}")
        return data[self.response].to_numpy()

    def _counts(self, data):
        """The (n, K) counts of a ``cbind(...)`` response, a frame named by its columns."""
        missing = [c for c in self.counts_columns if c not in data.columns]
        if missing:
            raise ValueError(f"the data have no counts columns {missing} of {self.response!r}")
        return data[self.counts_columns]

    def _response(self, data, lhs):
        if self.counts_columns is not None:
            return self._counts(data)
        if self.response in data.columns:
            return data[self.response].to_numpy()
        if lhs.shape[1] == 1:
            return np.asarray(lhs).ravel()
        raise ValueError(
            f"the response {self.response!r} must be one column or a one-column expression"
        )
