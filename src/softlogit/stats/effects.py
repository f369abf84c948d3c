r"""Effects by variable, as Stata's ``margins`` and R's ``marginaleffects`` define them.

Every quantity here is an average, over rows :math:`i` with weights :math:`w_i` (summing to
one within a group), of a function of the model's predictions on *counterfactual* copies of
the data: the data with one variable changed, then passed through the model's own formula
(so a variable reaches every term that contains it: ``gpa`` and ``I(gpa**2)``, ``a:b``,
``np.log(x + 1)``).

* **Average predictions**: :math:`\bar P_k = \sum_i w_i P_k(x_i)`.
* **Comparisons** of a factor :math:`v` (levels as counterfactuals):
  :math:`\sum_i w_i [P_k(x_i; v = b) - P_k(x_i; v = a)]`, against the reference level
  :math:`a` (the first fitted level, or the formula's ``Treatment(reference=...)``) or
  between every pair :math:`a < b`; for a 0/1 numeric variable ``1 - 0``, for another
  numeric variable a unit increase ``+1``, :math:`P(x + 1) - P(x)`.
* **Slopes** of a numeric variable :math:`v` on the data scale, by central differences of the
  data column with step :math:`h = \epsilon\,\mathrm{sd}(v)` (``eps``, default
  :math:`10^{-4}`): :math:`d_{ik} = [P_k(x_i; v + h) - P_k(x_i; v - h)] / 2h`, and the
  elasticities of Stata's ``margins`` averaged row by row: ``dydx`` :math:`d`, ``eyex``
  :math:`d\,v / P`, ``dyex`` :math:`d\,v`, ``eydx`` :math:`d / P`.

``at`` chooses the rows: the sample (``"overall"``, average marginal effects, AME), one row
of the (weighted) means of the numeric variables and the most frequent level of each factor
(``"mean"``, effects at the means, MEM, as ``marginaleffects``' ``newdata = "mean"``), or
representative values ``{"gpa": [3.0, 3.5], "rank": [1]}``: for every combination the
sample with those variables set, the other variables as observed (Stata's ``at()``).
``by`` averages within groups of rows.

Standard errors by the delta method, :math:`\operatorname{Var}(\hat E) \approx J V J^T`,
with :math:`V` the covariance of the free parameters under any ``cov_type`` and the
analytic Jacobian of the average: for a row quantity :math:`q_i = \phi(P^{(1)}_i, \dots,
P^{(R)}_i)` of predictions on counterfactual designs :math:`\tilde x^{(r)}_i`,

.. math::

    \frac{\partial E_k}{\partial \theta_{a}} = \sum_i w_i \sum_r
    \frac{\partial \phi}{\partial P^{(r)}_{ik}}\, H^{(r)}_{i,ka}\, \tilde x^{(r)}_i,
    \qquad H_{i,ka} = \frac{\partial P_{ik}}{\partial \eta_{ia}}
    = P_{ik}(\delta_{k f_a} - P_{i f_a}),

over the free logits :math:`a` (intercept, then coefficients). Rows are visited in blocks.
Models fitted on arrays have one variable per design column, where a slope equals the
per-column marginal effect of :func:`softlogit.stats.margins.marginal_effects`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data.formula import _factor_column
from .inference import z_table
from .margins import BLOCK_ELEMENTS, _cross, _delta_se, _dprob_deta, _Layer

__all__ = ["SLOPES", "avg_comparisons", "avg_predictions", "avg_slopes", "effects_by_variable"]

SLOPES = ("dydx", "eyex", "dyex", "eydx")
CONTRASTS = ("reference", "pairwise")
COLUMNS = ["estimate", "std_err", "z", "p_value", "ci_low", "ci_high"]


# ---------------------------------------------------------------------- the data


class _Data:
    """The rows effects are averaged over, as the model reads them: a data frame passed
    through the formula, or the design columns of a model fitted on arrays."""

    def __init__(self, model, data, weights, offset):
        self.model = model
        self.formula = model.formula is not None
        if data is None:
            if self.formula:
                raise ValueError(
                    "effects by variable of a formula model need its data frame (the "
                    "variables before the formula's transforms): pass it, e.g. "
                    "m.marginal_effects(data); kind='column' works on the stored design"
                )
            source = model.results_._objective.source
            X = source.X
            frame = X.tocsr() if sp.issparse(X) else np.asarray(X, dtype=float)
            weight = source.weight if weights is None else weights
            free_offset = _free_offset_of_source(model, source.offset)
        else:
            frame = _as_frame(data) if self.formula else _design_array(model, data)
            weight = weights
            if self.formula:  # offset(...) terms, evaluated on the rows as given
                offset = model._with_formula_offset(frame, offset, frame.shape[0])
            free_offset = _free_offset(model, offset, frame.shape[0])
        n = frame.shape[0]
        weight = np.ones(n) if weight is None else np.asarray(weight, dtype=float)
        if weight.shape != (n,) or not np.all(np.isfinite(weight)) or np.any(weight < 0):
            raise ValueError(f"weights must be {n} finite non-negative numbers, one per row")
        self.frame, self.weight, self.offset = frame, weight, free_offset
        self.dtypes = dict(frame.dtypes) if self.formula else {}
        self.variables, self.factors = _variables(model, frame)

    def __len__(self):
        return self.frame.shape[0]

    def column(self, name, frame=None):
        frame = self.frame if frame is None else frame
        if self.formula:
            return frame[name].to_numpy()
        col = frame[:, [self.variables.index(name)]]
        return col.toarray().ravel() if sp.issparse(col) else np.asarray(col).ravel()

    def rows(self, index):
        """The frame restricted to positional ``index`` (dense rows for arrays)."""
        if self.formula:
            return self.frame.iloc[index]
        block = self.frame[index]
        return block.toarray() if sp.issparse(block) else block

    def set(self, frame, name, value):
        """A copy of ``frame`` with variable ``name`` set to ``value`` (scalar or per row)."""
        if self.formula:
            old = frame[name]
            if isinstance(old.dtype, pd.CategoricalDtype) and np.ndim(value) == 0:
                value = pd.Categorical([value] * len(frame), categories=old.cat.categories)
            return frame.assign(**{name: value})
        out = np.array(frame, dtype=float)
        out[:, self.variables.index(name)] = value
        return out

    def design(self, frame):
        """The model's design matrix of ``frame``."""
        if self.formula:
            return self.model._design(frame.reset_index(drop=True), None, reset=False)[0]
        return frame


def _as_frame(data):
    from ..data.formula import _as_pandas

    return _as_pandas(data).reset_index(drop=True)


def _design_array(model, data):
    X, _ = model._design(data, None, reset=False)
    return X.tocsr() if sp.issparse(X) else np.asarray(X, dtype=float)


def _free_offset(model, offset, n):
    from ..data.design import validate_offset

    if offset is None:
        if getattr(model, "has_offset_", False):
            raise ValueError(
                "the model was fitted with an offset: pass offset= with the offset of these "
                "rows (offset=np.zeros(n) predicts without it)"
            )
        return None
    o = validate_offset(offset, n, model.classes_.size)
    return _Layer.of(model).family.offset_to_free(o)


def _free_offset_of_source(model, offset):
    """The training offset on the free scale of the identified layout."""
    if offset is None or model._reference is not None:
        return offset
    return offset[:, 1:] - offset[:, :1]  # symmetric: the first class as reference


def _variables(model, frame):
    """The model's variables, in formula order, and the levels of its factors
    ``{name: (levels, reference)}``."""
    if model.formula is None:
        return model._feature_names(frame.shape[1]), {}
    spec = model._formula.spec
    rhs = model.formula.split("~", 1)[1]
    names = [str(v) for v in spec.required_variables if str(v) in frame.columns]
    if not names:  # a spec rebuilt from a model file: the data columns the formula names
        words = set(re.findall(r"`([^`]+)`|([A-Za-z_][A-Za-z0-9_.]*)", rhs))
        names = sorted({a or b for a, b in words} & {str(c) for c in frame.columns})
    names.sort(key=lambda v: (_position(rhs, v), v))
    factors = {}
    for factor, (kind, state) in spec.encoder_state.items():
        column = _factor_column(factor, list(frame.columns))
        if getattr(kind, "value", kind) != "categorical" or column is None:
            continue
        levels = list(state.get("categories", []))
        factors.setdefault(column, (levels, _reference_level(state, levels, factor)))
    return names, factors


def _position(text, name):
    found = re.search(rf"(?<![A-Za-z0-9_.]){re.escape(name)}(?![A-Za-z0-9_.])", text)
    return found.start() if found else len(text)


def _reference_level(state, levels, factor=""):
    """The factor's reference: the contrast's base, else a ``Treatment(reference=...)`` of
    the factor's expression (a model file keeps the expression, not the state), else the
    first level."""
    base = getattr(getattr(state.get("contrasts"), "contrasts", None), "base", None)
    if base in levels:
        return base
    found = re.search(r"Treatment\(\s*(?:reference\s*=\s*)?([^()]+?)\s*\)", factor)
    if found:
        literal = found.group(1).strip("'\"")
        for level in levels:
            if str(level) == literal:
                return level
    return levels[0]


# ---------------------------------------------------------------------- estimands


@dataclass
class _Estimand:
    """One row quantity: counterfactual ``versions`` (``{variable: value or fn(column)}``;
    ``{}`` is the data as they are) and ``combine(P_list, x) -> (q, [dq/dP_r])``."""

    term: str
    contrast: str
    versions: list
    combine: object
    variable: str | None = None
    fields: dict = field(default_factory=dict)


def _slope(variable, kind, h):
    def combine(P, x):
        d = (P[0] - P[1]) / (2 * h)
        c = 1.0 / (2 * h)
        x = None if x is None else x[:, None]
        if kind == "dydx":
            return d, [np.full_like(d, c), np.full_like(d, -c)]
        if kind == "dyex":
            return d * x, [c * x + 0 * d, -c * x + 0 * d]
        base = P[2]
        scale = x if kind == "eyex" else 1.0
        q = d * scale / base
        return q, [c * scale / base, -c * scale / base, -q / base]

    versions = [{variable: lambda v: v + h}, {variable: lambda v: v - h}]
    if kind in ("eyex", "eydx"):
        versions.append({})
    label = {"dydx": "dY/dX", "eyex": "eY/eX", "dyex": "dY/eX", "eydx": "eY/dX"}[kind]
    return _Estimand(variable, label, versions, combine, variable)


def _difference(term, label, high, low):
    def combine(P, x):
        return P[0] - P[1], [np.ones_like(P[0]), -np.ones_like(P[0])]

    return _Estimand(term, label, [high, low], combine, term)


def _contrasts(data, variable, contrast, dummy=True):
    """Estimands of the comparisons of ``variable``."""
    if variable in data.factors:
        levels, ref = data.factors[variable]
        if contrast == "reference":
            pairs = [(ref, b) for b in levels if b != ref]
        else:
            pairs = list(itertools.combinations(levels, 2))
        return [_difference(variable, f"{b} - {a}", {variable: b}, {variable: a}) for a, b in pairs]
    if dummy and _is_binary(data.column(variable)):
        return [_difference(variable, "1 - 0", {variable: 1.0}, {variable: 0.0})]
    return [_difference(variable, "+1", {variable: lambda v: v + 1.0}, {})]


def _is_binary(values):
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(np.all((v == 0) | (v == 1)) and np.any(v == 0) and np.any(v == 1))


def _step(data, variable, eps):
    """Central-difference step: ``eps`` times the column's standard deviation."""
    try:
        x = np.asarray(data.column(variable), dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"variable {variable!r} is not numeric: it has comparisons, not slopes"
        ) from None
    sd = float(np.std(x)) if x.size > 1 else 0.0
    return eps * (sd if sd > 0 and np.isfinite(sd) else max(1.0, float(np.max(np.abs(x)))))


def _chosen(data, variables):
    if variables is None:
        return list(data.variables)
    variables = [variables] if isinstance(variables, str) else list(variables)
    unknown = [v for v in variables if v not in data.variables]
    if unknown:
        raise ValueError(f"unknown variable(s) {unknown}: the model's are {data.variables}")
    return variables


# ---------------------------------------------------------------------- cells and groups


def _cells(data, at):
    """``(names, [(labels, {variable: value})])`` of the ``at`` grid."""
    if at is None or isinstance(at, str):
        return [], [((), {})]
    if not isinstance(at, dict) or not at:
        raise ValueError(f'at must be "overall", "mean" or a dict of values, got {at!r}')
    names = list(at)
    unknown = [v for v in names if v not in data.variables]
    if unknown:
        raise ValueError(
            f"at names unknown variable(s) {unknown}: the model's are {data.variables}"
        )
    values = [np.atleast_1d(np.asarray(at[v], dtype=object)).tolist() for v in names]
    cells = [(combo, dict(zip(names, combo, strict=True))) for combo in itertools.product(*values)]
    return names, cells


def _groups(data, by):
    """``(names, labels per group, codes per row)``."""
    if by is None:
        return [], [()], np.zeros(len(data), dtype=int)
    if isinstance(by, str) or (isinstance(by, list) and all(isinstance(b, str) for b in by)):
        if not data.formula:
            raise ValueError("by= names columns of a data frame (a formula model); pass labels")
        names = [by] if isinstance(by, str) else by
        missing = [b for b in names if b not in data.frame.columns]
        if missing:
            raise ValueError(f"by names column(s) {missing} that the data do not have")
        keys = data.frame[names]
    else:
        labels = np.asarray(by)
        if labels.shape != (len(data),):
            raise ValueError(f"by must name columns or give {len(data)} labels, one per row")
        names, keys = ["by"], pd.DataFrame({"by": labels})
    index = pd.MultiIndex.from_frame(keys)
    codes, uniques = pd.factorize(index, sort=True)
    return names, list(uniques), codes


def _collapse_to_means(data, codes, n_groups):
    """One row per group: weighted means of the numeric variables, weighted modes of the
    factors (and of the offset, its mean)."""
    rows, offsets = [], []
    for g in range(n_groups):
        mask = codes == g
        w = data.weight[mask] / data.weight[mask].sum()
        row = {}
        for v in data.variables:
            col = data.column(v)[mask]
            if v in data.factors or not _numeric(col):
                counts = pd.Series(w).groupby(pd.Series(col)).sum()
                row[v] = counts.idxmax()
            else:
                row[v] = float(w @ np.asarray(col, dtype=float))
        rows.append(row)
        if data.offset is not None:
            offsets.append(w @ data.offset[mask])
    if data.formula:
        data.frame = pd.DataFrame(rows, columns=data.variables)
        for v in data.variables:  # keep categorical dtypes
            old = data.dtypes.get(v)
            if isinstance(old, pd.CategoricalDtype):
                data.frame[v] = pd.Categorical(data.frame[v], categories=old.categories)
    else:
        data.frame = np.array([[r[v] for v in data.variables] for r in rows], dtype=float)
    data.weight = np.ones(n_groups)
    data.offset = np.array(offsets) if data.offset is not None else None
    return np.arange(n_groups)


def _numeric(col):
    return np.issubdtype(np.asarray(col).dtype, np.number) or np.asarray(col).dtype == bool


# ---------------------------------------------------------------------- the engine


def _apply(data, frame, version):
    for name, value in version.items():
        value = (
            value(np.asarray(data.column(name, frame), dtype=float)) if callable(value) else value
        )
        frame = data.set(frame, name, value)
    return frame


def _predict(layer, X, offset):
    eta = layer.eta(X)
    if offset is not None:
        eta = eta + offset
    P = layer.family.probabilities(eta)
    return P, _dprob_deta(P, layer.free)


def _accumulate(data, layer, estimands, cell, codes, n_groups):
    """Weighted sums of the estimands and their Jacobians per group: (G, E, K), (G, E, K, m*q)."""
    K, m, q = layer.n_classes, layer.free.size, layer.n_params
    E = len(estimands)
    est, jac = np.zeros((n_groups, E, K)), np.zeros((n_groups, E, K, m * q))
    step = max(1, BLOCK_ELEMENTS // max(1, K * m * q))
    for start in range(0, len(data), step):
        index = np.arange(start, min(len(data), start + step))
        frame = _apply(data, data.rows(index), cell)
        w, g = data.weight[index], codes[index]
        off = None if data.offset is None else data.offset[index]
        cache = {}
        for e, estimand in enumerate(estimands):
            parts = [
                _version(data, layer, frame, v, off, cache, estimand, r)
                for r, v in enumerate(estimand.versions)
            ]
            x = _x_of(data, frame, estimand)
            value, coefs = estimand.combine([p[0] for p in parts], x)
            for gi in np.unique(g):
                sel = g == gi
                ws = w[sel]
                est[gi, e] += ws @ value[sel]
                for (_, H, X), c in zip(parts, coefs, strict=True):
                    R = (ws[:, None] * c[sel])[:, :, None] * H[sel]
                    Xs = X[sel] if not sp.issparse(X) else X[np.flatnonzero(sel)]
                    jac[gi, e] += _cross(Xs, R.reshape(sel.sum(), -1), layer.fit_intercept).reshape(
                        K, m * q
                    )
    return est, jac


def _version(data, layer, frame, version, offset, cache, estimand, r):
    """``(P, H, X)`` of one counterfactual design, cached by its definition."""
    key = (
        (estimand.variable, estimand.contrast, r)
        if any(map(callable, version.values()))
        else (tuple(sorted((k, repr(v)) for k, v in version.items())))
    )
    if key not in cache:
        X = data.design(_apply(data, frame, version))
        cache[key] = (*_predict(layer, X, offset), X)
    return cache[key]


def _x_of(data, frame, estimand):
    if estimand.variable is None or estimand.contrast not in ("dY/eX", "eY/eX"):
        return None
    return np.asarray(data.column(estimand.variable, frame), dtype=float)


# ---------------------------------------------------------------------- the table


def _run(model, data, estimands, at, by, alpha, cov_type, groups, kind):
    """Estimates and delta-method standard errors of ``estimands`` in every ``at`` cell and
    ``by`` group, as a table."""
    results = model._inference(allow_symmetric=True)
    layer = _Layer.of(model)
    by_names, by_labels, codes = _groups(data, by)
    if at == "mean":
        codes = _collapse_to_means(data, codes, len(by_labels))
    at_names, cells = _cells(data, at)
    _check_names(by_names + at_names)
    totals = np.bincount(codes, weights=data.weight, minlength=len(by_labels))
    if np.any(totals <= 0):
        raise ValueError("a group of rows has total weight 0: nothing to average over")
    V = results.cov_params(cov_type, groups).to_numpy()
    shown = layer.free[:1] if results.index.nlevels == 1 else np.arange(layer.n_classes)
    parts = [_accumulate(data, layer, estimands, cell, codes, len(by_labels)) for _, cell in cells]
    est = np.stack([p[0] for p in parts]) / totals[None, :, None, None]  # (C, G, E, K)
    jac = np.stack([p[1] for p in parts]) / totals[None, :, None, None, None]
    with_class = shown.size > 1 or kind == "prediction"
    rows, order = [], []
    for k, (e, estimand), gi, ci in itertools.product(
        shown, enumerate(estimands), range(len(by_labels)), range(len(cells))
    ):
        key = (model.classes_[k],) if with_class else ()
        if kind != "prediction":
            key += (estimand.term, estimand.contrast)
        rows.append(key + tuple(by_labels[gi]) + tuple(cells[ci][0]))
        order.append((ci, gi, e, k))
    ci, gi, e, k = np.array(order).T
    values, se = est[ci, gi, e, k], _delta_se(jac[ci, gi, e, k], V)
    names = (["class"] if with_class else []) + (
        [] if kind == "prediction" else ["term", "contrast"]
    )
    names += by_names + at_names
    index = (
        pd.MultiIndex.from_tuples(rows, names=names)
        if len(names) > 1
        else pd.Index([r[0] for r in rows], name=names[0])
    )
    return z_table(values, se, alpha, index, name="estimate")[COLUMNS]


def _check_names(names):
    clash = [n for n in names if n in ("class", "term", "contrast")]
    if clash or len(set(names)) < len(names):
        raise ValueError(
            f"by/at names {names} must be distinct and not 'class', 'term', 'contrast'"
        )


def _prepare(model, data, weights, offset):
    model = model._snapshot()
    model._inference(allow_symmetric=True)
    if model.coef_.shape[1] == 0:
        raise ValueError("the model has no features (an intercept-only model): no effects")
    d = _Data(model, data, weights, offset)
    return model, d


# ---------------------------------------------------------------------- public


def avg_predictions(
    model,
    data=None,
    by=None,
    at="overall",
    weights=None,
    offset=None,
    alpha=0.05,
    cov_type=None,
    groups=None,
):
    r"""Average predicted probabilities :math:`\sum_i w_i P_k(x_i)` (per ``by`` group and
    ``at`` cell), with delta-method standard errors (R marginaleffects'
    ``avg_predictions``, Stata's ``margins``).

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression
    data : data frame or array-like, optional
        The rows to average over; with a formula, the data frame the formula refers to
        (required). None: the training rows of a model fitted on arrays, with its training
        weights and offset.
    by : str, list of str or array-like of shape (n,), optional
        Columns of ``data`` (or labels per row) whose groups are averaged apart.
    at : {"overall", "mean"} or dict
        The sample; one row of means (modes for factors); or a grid of representative values
        ``{"rank": [1, 2, 3, 4]}``, each cell the sample with those values set
        (counterfactual predictions, as emmeans' ``counterfactuals``).
    weights : array-like of shape (n,), optional
        Weights of the rows of ``data`` in the averages (default equal).
    offset : array-like of shape (n,) or (n, K), optional
        The rows' offset, required when the model was fitted with one.
    alpha : float
        Intervals have coverage ``1 - alpha``.
    cov_type : {None, "nonrobust", "HC0", "HC1", "cluster", "survey"}
    groups : array-like of shape (n_train,), optional
        Cluster labels of the training rows, with ``cov_type="cluster"``.

    Returns
    -------
    DataFrame
        ``estimate, std_err, z, p_value, ci_low, ci_high``, indexed by ``class`` (binary:
        ``classes_[1]`` only) then the ``by`` columns and the ``at`` variables.
    """
    model, d = _prepare(model, data, weights, offset)
    estimands = [_Estimand("", "", [{}], lambda P, x: (P[0], [np.ones_like(P[0])]))]
    return _run(model, d, estimands, _at(at), by, alpha, cov_type, groups, "prediction")


def avg_slopes(
    model,
    data=None,
    variables=None,
    slope="dydx",
    by=None,
    at="overall",
    weights=None,
    offset=None,
    eps=1e-4,
    alpha=0.05,
    cov_type=None,
    groups=None,
):
    r"""Average slopes of the predicted probabilities in each numeric variable, through
    every term of the formula that contains it (R marginaleffects' ``avg_slopes``, Stata's
    ``margins, dydx()``, ``eyex()``, ``dyex()``, ``eydx()``).

    :math:`\sum_i w_i\, \phi_i` with :math:`d_{ik} = \partial P_k(x_i) / \partial v` by
    central differences of the data column :math:`v` (step :math:`h = \epsilon\,
    \mathrm{sd}(v)`) and :math:`\phi = d` (``dydx``), :math:`d\,v/P_k` (``eyex``),
    :math:`d\,v` (``dyex``), :math:`d/P_k` (``eydx``).

    Parameters
    ----------
    model, data, by, at, weights, offset, alpha, cov_type, groups
        As for :func:`avg_predictions`.
    variables : str or list of str, optional
        Numeric variables (default: every numeric variable of the model; factors are left
        to :func:`avg_comparisons`). Models fitted on arrays: the feature names.
    slope : {"dydx", "eyex", "dyex", "eydx"}
    eps : float
        Step of the central differences relative to the variable's standard deviation.

    Returns
    -------
    DataFrame
        ``estimate, std_err, z, p_value, ci_low, ci_high`` indexed by ``class`` (softmax:
        every class), ``term`` (the variable), ``contrast`` (``"dY/dX"``, ...), then the
        ``by`` columns and ``at`` variables.
    """
    if slope not in SLOPES:
        raise ValueError(f"slope={slope!r} is not one of {SLOPES}")
    model, d = _prepare(model, data, weights, offset)
    chosen = _chosen(d, variables)
    if variables is None:
        chosen = [v for v in chosen if v not in d.factors and _numeric(d.column(v))]
    bad = [v for v in chosen if v in d.factors]
    if bad:
        raise ValueError(f"{bad} are factors: their effects are avg_comparisons' contrasts")
    estimands = [_slope(v, slope, _step(d, v, eps)) for v in chosen]
    return _run(model, d, estimands, _at(at), by, alpha, cov_type, groups, "effect")


def avg_comparisons(
    model,
    data=None,
    variables=None,
    contrast="reference",
    by=None,
    at="overall",
    weights=None,
    offset=None,
    alpha=0.05,
    cov_type=None,
    groups=None,
):
    r"""Average counterfactual comparisons :math:`\sum_i w_i [P_k(x_i; v = b) - P_k(x_i;
    v = a)]` (R marginaleffects' ``avg_comparisons``; Stata's ``margins r.rank`` and the
    factor rows of ``margins, dydx(*)``).

    Parameters
    ----------
    model, data, by, at, weights, offset, alpha, cov_type, groups
        As for :func:`avg_predictions`.
    variables : str or list of str, optional
        Default: every variable. A factor gives its levels against the reference level
        (the first fitted level, or ``Treatment(reference=...)``) or every pair; a 0/1
        numeric variable ``1 - 0``; another numeric variable a unit increase ``+1``.
    contrast : {"reference", "pairwise"}
        Factor levels against the reference (``"b - ref"``), or every pair ``"b - a"``
        with ``a`` before ``b`` in the fitted level order.

    Returns
    -------
    DataFrame
        As :func:`avg_slopes`, with ``contrast`` labels such as ``"2 - 1"``.
    """
    if contrast not in CONTRASTS:
        raise ValueError(f"contrast={contrast!r} is not one of {CONTRASTS}")
    model, d = _prepare(model, data, weights, offset)
    estimands = [e for v in _chosen(d, variables) for e in _contrasts(d, v, contrast)]
    return _run(model, d, estimands, _at(at), by, alpha, cov_type, groups, "effect")


def effects_by_variable(
    model,
    data=None,
    at="overall",
    dummy=False,
    alpha=0.05,
    cov_type=None,
    groups=None,
    variables=None,
    slope="dydx",
    by=None,
    weights=None,
    offset=None,
    eps=1e-4,
):
    r"""Stata's ``margins, dydx(*)``: one row per numeric variable (its average slope, as
    :func:`avg_slopes`) and per level of each factor (the counterfactual contrast against
    the reference level, as :func:`avg_comparisons`); ``dummy=True`` also treats 0/1
    numeric variables as discrete changes ``1 - 0``. Parameters as for those functions.

    Returns
    -------
    DataFrame
        ``estimate, std_err, z, p_value, ci_low, ci_high`` indexed by (``class``,) ``term``,
        ``contrast``, then ``by`` and ``at`` names.
    """
    if slope not in SLOPES:
        raise ValueError(f"slope={slope!r} is not one of {SLOPES}")
    model, d = _prepare(model, data, weights, offset)
    estimands = []
    for v in _chosen(d, variables):
        discrete = v in d.factors or not _numeric(d.column(v))
        if discrete or (dummy and _is_binary(d.column(v))):
            estimands += _contrasts(d, v, "reference", dummy=True)
        else:
            estimands.append(_slope(v, slope, _step(d, v, eps)))
    return _run(model, d, estimands, _at(at), by, alpha, cov_type, groups, "effect")


def _at(at):
    if at == "overall" or at is None:
        return None
    if at == "mean" or isinstance(at, dict):
        return at
    raise ValueError(f'at must be "overall", "mean" or a dict of values, got {at!r}')
