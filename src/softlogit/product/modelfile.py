"""Safe model files: a fitted estimator as checksummed JSON, with no pickle and no code.

``save`` writes one JSON document: format tag and version, estimator class and parameters,
the fitted layer, the formula's fitted encoding (levels, transform state, column structure),
fit statistics, the nonrobust and HC0 (robust) covariances and a SHA-256 checksum of it
all, through a synced temporary file renamed over ``path`` (the old file or the complete
new one, never a part).

``load`` reads only a regular file no larger than a limit (:data:`DEFAULT_MAX_BYTES`), parses
the JSON (nothing is unpickled or evaluated), checks tag, version, checksum and that the parts
fit together, and rebuilds an estimator whose predictions equal the saved one's bitwise; its
``results_`` (:class:`StoredResults`) serves the nonrobust, HC0 and HC1 tables (HC1 is HC0
times n/(n-k)), and what needs the training rows (cluster covariances, marginal effects
over them) raises :class:`NoTrainingDataError`. Formula terms are code that formulaic evaluates on
new data: a formula is written and read only within the closed grammar of
:mod:`softlogit.data.formula_grammar` (:func:`check_formula`), and the encoding state stored
with it is bounded by the model's size.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import stat

import numpy as np
from formulaic import ModelSpec
from formulaic.errors import FormulaicError
from formulaic.materializers.base import EncodedTermStructure
from formulaic.materializers.types import EvaluatedFactor, ScopedFactor, ScopedTerm
from formulaic.parser.types import Factor
from formulaic.transforms.contrasts import ContrastsState
from sklearn.utils.validation import check_is_fitted

from ..coordinates import Centering
from ..data.formula import INTERCEPT, FormulaDesign, offset_columns
from ..data.formula_grammar import check_formula
from ..estimators import LogisticRegression, SoftmaxRegression
from ..files import atomic_path, file_kind
from ..model.families import Categorical, make_family
from ..model.separation import SeparationResult
from ..model.solvers import SOLVERS
from ..selection.cv import LogisticRegressionCV, SoftmaxRegressionCV
from ..stats.inference import small_sample_factor
from ..stats.results import FitResults
from ..stats.survey import WEIGHT_TYPES, WeightDesign
from .modelfile_counts import counts_stats_in, counts_stats_out
from .modelfile_values import (
    ModelFileError,
    _array_in,
    _array_out,
    _get,
    _is_int,
    _is_real,
    _need,
    _short,
    _value_in,
    _value_out,
)

__all__ = [
    "ModelFileError",
    "NoTrainingDataError",
    "StoredResults",
    "check_formula",
    "load",
    "save",
]

FORMAT = "softlogit-model"
FORMAT_VERSION = 1

ESTIMATORS = {
    cls.__name__: cls
    for cls in (LogisticRegression, SoftmaxRegression, LogisticRegressionCV, SoftmaxRegressionCV)
}
#: Fit statistics stored as they are (their types too) and restored as attributes.
STATS = tuple(
    "loglike_ null_loglike_ deviance_ aic_ bic_ pseudo_r2_ lr_stat_ lr_pvalue_ df_model_ "
    "df_resid_ nobs_".split()
)
#: What the cross-validated estimators learn besides the refitted model.
CV_ATTRIBUTES = tuple(
    "l1_ratios_ alphas_ cv_scores_ cv_mean_ cv_se_ l1_ratio_ alpha_ alpha_1se_ "
    "alpha_selected_".split()
)
#: formulaic ModelSpec settings stored as plain JSON values (enums by their values).
SPEC_FIELDS = ("materializer", "ensure_full_rank", "na_action", "output", "cluster_by")
_DUMP = {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False, "allow_nan": False}
#: Model files store covariances of at most this many parameters (a JSON matrix of 10^6
#: numbers, about 25 MB); above it the file says so and loaded models have no standard errors.
MAX_STORED_PARAMS = 1000
_JSON_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError)
#: The largest model file :func:`load` reads by default: 256 MiB, some 12 million stored
#: numbers (a K=50, p=2000 softmax's 100,050 coefficients take about 2.5 MB; a covariance of
#: 3,000 parameters about 200 MB).
DEFAULT_MAX_BYTES = 256 * 2**20
#: The environment variable that raises (or lowers) :data:`DEFAULT_MAX_BYTES`, in bytes.
MAX_BYTES_VARIABLE = "SOFTLOGIT_MAX_MODEL_BYTES"
#: How much longer than the model's column count a list in the encoding state may be (the
#: knots of a spline exceed its columns by its degree plus two).
STATE_SLACK = 64


class NoTrainingDataError(ValueError):
    """An operation on a loaded model that needs the training rows, which are not stored."""


# ---------------------------------------------------------------------- formula state


def _without_contrasts(state):
    """Encoder state minus formulaic's ``ContrastsState`` (kept for introspection only: the
    contrasts come from the formula, the levels from ``categories``)."""
    if isinstance(state, dict):
        return {
            k: _without_contrasts(v) for k, v in state.items() if not isinstance(v, ContrastsState)
        }
    return state


def _formula_out(design):
    spec = design.spec
    structure = [
        {
            "term": str(s.term),
            "scoped_terms": [
                {
                    "factors": [[f.factor.expr, bool(f.reduced)] for f in st.factors],
                    "scale": _value_out(st.scale, "formula.scale"),
                }
                for st in s.scoped_terms
            ],
            "columns": [str(c) for c in s.columns],
        }
        for s in spec.structure
    ]
    encoders = {
        expr: {"kind": kind.value, "state": _value_out(_without_contrasts(state), expr)}
        for expr, (kind, state) in spec.encoder_state.items()
    }
    return {
        **{k: getattr(getattr(spec, k), "value", getattr(spec, k)) for k in SPEC_FIELDS},
        "formula": design.formula,
        "rhs": str(spec.formula),
        "has_intercept": bool(design.has_intercept),
        "materializer_params": _value_out(spec.materializer_params, "materializer_params"),
        "structure": structure,
        "encoder_state": encoders,
        "transform_state": _value_out(spec.transform_state, "transform_state"),
    }


def _structure_in(spec, items):
    """formulaic's term structure, rehydrated against the terms of the parsed formula."""
    terms = {str(t): t for t in spec.formula}
    out = []
    for item in items:
        name = _get(item, "term", "str", "formula.structure")
        _need(name in terms, f"formula.structure: term {name!r} is not in the formula")
        factors = {f.expr: f for f in terms[name].factors}
        scoped = []
        for st in _get(item, "scoped_terms", "list", "formula.structure"):
            pairs = _get(st, "factors", "list", "formula.structure")
            _need(
                all(isinstance(p, list) and len(p) == 2 and p[0] in factors for p in pairs),
                f"formula.structure: bad factors {_short(pairs)} for term {name!r}",
            )
            evaluated = [
                ScopedFactor(EvaluatedFactor(factors[e], None), reduced=bool(r)) for e, r in pairs
            ]
            scoped.append(ScopedTerm(evaluated, scale=_value_in(st.get("scale", 1), "scale")))
        columns = _get(item, "columns", "list", "formula.structure")
        out.append(EncodedTermStructure(terms[name], scoped, [str(c) for c in columns]))
    return out


def _longest(value):
    """The length of the longest list, tuple, dict or array anywhere in ``value``."""
    if isinstance(value, np.ndarray):
        return value.size
    if isinstance(value, dict):
        return max([len(value), *map(_longest, value), *map(_longest, value.values())])
    if isinstance(value, (list, tuple)):
        return max([len(value), *map(_longest, value)])
    return 0


def _formula_in(doc, feature_names):
    formula = _get(doc, "formula", "str", "formula")
    columns = len(feature_names) + 1  # with the intercept
    try:
        parsed = check_formula(formula, max_levels=len(feature_names) + 2)
    except ValueError as err:
        raise ModelFileError(str(err)) from None
    rhs = _get(doc, "rhs", "str", "formula")
    _need(rhs == str(parsed.rhs), f"formula: stored terms {rhs!r} != {str(parsed.rhs)!r}")
    encoders = {
        expr: (
            Factor.Kind(_get(e, "kind", "str", f"formula.encoder_state[{expr!r}]")),
            _value_in(e.get("state"), f"formula.encoder_state[{expr!r}]"),
        )
        for expr, e in _get(doc, "encoder_state", "dict", "formula").items()
    }
    states = _value_in(_get(doc, "transform_state", "dict", "formula"), "state")
    longest = max(_longest(states), _longest([state for _, state in encoders.values()]))
    _need(
        longest <= columns + STATE_SLACK,
        f"formula: its encoding state holds a list of {longest} values, too long for a model "
        f"of {columns} columns",
    )
    spec = ModelSpec(
        formula=parsed.rhs,  # the checked terms themselves, not a second parse of other text
        materializer_params=_value_in(doc.get("materializer_params"), "materializer_params"),
        transform_state=states,
        encoder_state=encoders,
        **{k: _get(doc, k, "str|bool|none", "formula") for k in SPEC_FIELDS},
    )
    structure = _structure_in(spec, _get(doc, "structure", "list", "formula"))
    terms = [str(t) for t in spec.formula]
    _need([str(s.term) for s in structure] == terms, f"formula.structure: not the terms {terms}")
    spec = spec.update(structure=structure)
    columns = [c for s in spec.structure for c in s.columns]
    try:
        offsets = offset_columns(spec)  # offset(...) terms: not features
    except ValueError as err:
        raise ModelFileError(str(err)) from None
    has_intercept = _get(doc, "has_intercept", "bool", "formula")
    _need(
        [c for c in columns if c not in (INTERCEPT, *offsets)] == list(feature_names)
        and has_intercept == (INTERCEPT in columns),
        f"formula: its columns {columns} do not match the features {list(feature_names)}",
    )
    design = FormulaDesign(formula)
    design.spec, design.has_intercept = spec, has_intercept
    return design


# ---------------------------------------------------------------------- stored results


class _StoredLayout:
    """What :class:`FitResults` reads from its training objective: the parameter layout,
    the family, the total weight and the log-likelihood. The training rows are not kept."""

    def __init__(self, family, n_features, fit_intercept, total_weight, loglike, center=None):
        self.family, self.fit_intercept, self.p = family, bool(fit_intercept), int(n_features)
        self.m, self.q = family.n_outputs, self.p + self.fit_intercept
        self.total_weight, self._loglike = total_weight, loglike
        self.centering = Centering(center, self.m, self.fit_intercept)

    @property
    def center(self):
        """The reference point of the stored covariance's coordinates (or None)."""
        return self.centering.center

    def split(self, theta):
        """Coefficients (m, p) and intercepts (m,) of a flat parameter vector."""
        T = np.asarray(theta, dtype=float).reshape(self.m, self.q)
        return T[:, : self.p], (T[:, self.p] if self.fit_intercept else np.zeros(self.m))

    def loglike(self, theta):
        """The stored log-likelihood at the fitted parameters."""
        return self._loglike

    @property
    def source(self):
        raise NoTrainingDataError(
            "a loaded model has no training rows: pass rows, e.g. marginal_effects(X=...)"
        )


class StoredResults(FitResults):
    """:class:`~softlogit.stats.results.FitResults` of a loaded model: tables, ``cov_params``, Wald
    tests and probability intervals from the stored nonrobust and HC0 covariances (HC1 is
    HC0 times ``nobs / (nobs - k)``); cluster covariances need the training rows and raise
    :class:`NoTrainingDataError`, as do robust ones when the file holds no HC0.

    Parameters
    ----------
    layout : _StoredLayout
    theta, free, names, row_labels, null_loglike
        As for :class:`~softlogit.stats.results.FitResults`.
    covariance : ndarray of shape (n_params, n_params) or None
        Nonrobust covariance (NaN where aliased), in the centred coordinates of the layout's
        reference point (:mod:`softlogit.coordinates`); None when the file left it out.
    omitted : str or None
        Why the file holds no covariance.
    robust : ndarray of shape (n_params, n_params) or None
        The HC0 sandwich covariance, in the same coordinates; None when the file has none.
    robust_omitted : str or None
        Why the file holds no HC0 covariance.
    weights : WeightDesign, optional
        The weight type of the fit (files before typed weights: frequency); ``covariance``
        is then the weight type's own (``"survey"`` under probability weights).
    """

    @property
    def nobs(self):
        """The stored number of observations."""
        return self._objective.total_weight

    def __init__(
        self,
        layout,
        theta,
        free,
        names,
        row_labels,
        null_loglike,
        covariance,
        omitted=None,
        robust=None,
        robust_omitted=None,
        weights=None,
    ):
        super().__init__(layout, theta, free, names, row_labels, null_loglike, weights)
        self._stored_cov, self._omitted = covariance, omitted
        self._stored_hc0, self._hc0_omitted = robust, robust_omitted

    def _cov_centered(self, cov_type=None, groups=None):
        """The stored covariance and the reference point of its coordinates."""
        cov_type = self.resolve_cov_type(cov_type)
        if (cov_type == "cluster") != (groups is not None):
            raise ValueError("cov_type='cluster' needs groups=..., and groups needs 'cluster'")
        if cov_type == "cluster":
            raise NoTrainingDataError(
                "cov_type='cluster' needs the training rows, which a model file does not keep: "
                "a loaded model has the nonrobust, HC0 and HC1 covariances (refit for others)"
            )
        if cov_type in ("HC0", "HC1"):
            return self._robust(cov_type), self._objective.center
        if self._stored_cov is None:  # the weight type's own: nonrobust or survey
            why = self._omitted or "lasso fits have no standard errors"
            raise ValueError(f"this model was saved without a covariance matrix ({why})")
        return self._stored_cov, self._objective.center

    def _robust(self, cov_type):
        """The stored HC0 covariance, times HC1's correction for ``"HC1"``."""
        if self._stored_hc0 is None:
            why = self._hc0_omitted or "it was written before softlogit stored them"
            raise NoTrainingDataError(
                f"cov_type={cov_type!r}: this model file holds no robust covariance ({why}); "
                "they need the training rows: refit, or save the model again from a fit"
            )
        return self._stored_hc0 * small_sample_factor(cov_type, self.nobs, self.k_params)


# ---------------------------------------------------------------------- model <-> document


def _families(n_classes, reference, binary_only):
    """The model's family and the one its results use (reference 0 for symmetric fits)."""
    if reference is None:
        return Categorical(n_classes, None), Categorical(n_classes, 0)
    family = make_family(n_classes, reference, binary_only)
    return family, family


def _theta_and_free(model, fit_intercept):
    """The results' parameters and free mask, as the estimator derives them from the fit."""
    full = np.column_stack([model.coef_, model.intercept_]) if fit_intercept else model.coef_
    theta = (full[1:] - full[0]).ravel() if model._reference is None else full.ravel()
    m = full.shape[0] - (model._reference is None)
    free = np.ones((m, full.shape[1]), dtype=bool)
    free[:, : model.coef_.shape[1]][:, np.asarray(model.aliased_, dtype=bool)] = False
    rows = None if model._binary_only else list(np.delete(model.classes_, model._reference or 0))
    return theta, free.ravel(), rows


def _separation_in(doc):
    if doc is None:
        return None
    values = _value_in(doc, "fitted.separation")
    fields = [f.name for f in dataclasses.fields(SeparationResult)]
    _need(isinstance(values, dict) and list(values) == fields, f"fitted.separation: {fields}")
    return SeparationResult(**values)


def _fitted_out(model):
    names, sep = getattr(model, "feature_names_in_", None), model.separation_
    return {
        "classes": _array_out(model.classes_, "classes_"),
        "reference": None if model._reference is None else int(model._reference),
        "coef": _array_out(model.coef_, "coef_"),
        "intercept": _array_out(model.intercept_, "intercept_"),
        "n_features_in": int(model.n_features_in_),
        "feature_names_in": None if names is None else [str(n) for n in names],
        "n_iter": int(model.n_iter_),
        "response": getattr(model, "response_name_", None),
        "converged": bool(model.converged_),
        "has_offset": bool(getattr(model, "has_offset_", False)),
        "solver": str(model.solver_),
        "loss_curve": _array_out(np.asarray(model.loss_curve_, dtype=float), "loss_curve_"),
        "aliased": _array_out(np.asarray(model.aliased_, dtype=bool), "aliased_"),
        "separation": _value_out(sep and dataclasses.asdict(sep), "separation_"),
        **_weights_out(model),
        "dropped": _dropped_out(model),
    }


def _weights_out(model):
    """The weight type and whether the survey design had clusters and strata."""
    results = getattr(model, "results_", None)
    weights = getattr(results, "weights", None) or WeightDesign()
    return {
        "weight_type": str(getattr(model, "weight_type_", weights.weight_type)),
        "weight_clusters": bool(weights.has_clusters),
        "weight_strata": bool(weights.has_strata),
    }


def _dropped_out(model):
    """``{"n": rows, "by_column": {column: rows}}`` of a ``missing="drop"`` fit, or None."""
    if not hasattr(model, "n_dropped_"):
        return None
    counts = {str(k): int(v) for k, v in model.dropped_by_column_.items()}
    return {"n": int(model.n_dropped_), "by_column": counts}


def _dropped_in(model, doc):
    """Restore ``n_dropped_`` and ``dropped_by_column_`` (files without them: none)."""
    if doc is None:
        return
    n, counts = (doc.get(k) for k in ("n", "by_column")) if isinstance(doc, dict) else (0, 0)
    ok = _is_int(n) and n >= 0 and isinstance(counts, dict) and set(doc) == {"n", "by_column"}
    ok = ok and all(_is_int(v) and 0 < v <= n for v in counts.values())
    _need(ok, "fitted.dropped must be {'n': rows >= 0, 'by_column': {column: rows in [1, n]}}")
    model.n_dropped_, model.dropped_by_column_ = n, dict(counts)


def _covariance_out(model, results, n_params):
    """The nonrobust covariance (centred coordinates) and its reference point, or why the
    file leaves it out: lasso fits have none; above ``MAX_STORED_PARAMS`` parameters it is
    neither formed nor stored."""
    if model.has_lasso_penalty:
        return None, None, "lasso fits have no standard errors"
    if n_params > MAX_STORED_PARAMS:
        why = (
            f"{n_params:,} parameters: model files store covariances of at most "
            f"{MAX_STORED_PARAMS:,}; refit on the training rows for standard errors"
        )
        return None, None, why
    cov, center = results._cov_centered(None)  # the weight type's own (survey, nonrobust)
    return cov, center, None


def _robust_out(results):
    """The HC0 covariance (the coordinates of the nonrobust one), or why it is left out. It
    takes one more pass over the training rows; a loaded model passes on what its file held,
    and a streamed fit whose files are gone has none."""
    if isinstance(results, StoredResults):
        if results._stored_hc0 is None:
            return None, results._hc0_omitted or "its model file held none"
        return results._stored_hc0, None
    try:
        return results._cov_centered("HC0")[0], None
    except OSError as err:  # the training files of a streamed fit were moved or removed
        return None, f"the training rows could not be read again: {err}"


def _results_out(model):
    """Fit statistics and the nonrobust covariance; checks the derivation used by load."""
    r = model.results_
    theta, free, rows = _theta_and_free(model, r._objective.fit_intercept)
    same = np.array_equal(theta, r._theta) and np.array_equal(free, r._free) and rows == r._rows
    if not same:  # the estimator's layout changed: a file written now would not load faithfully
        raise RuntimeError(
            "softlogit.product.modelfile: the results layout no longer matches the estimator"
        )
    cov, center, omitted = _covariance_out(model, r, theta.size)
    hc0, hc0_omitted = (None, omitted) if cov is None else _robust_out(r)
    return {
        "stats": {name: _value_out(getattr(model, name), name) for name in STATS},
        "covariance": None if cov is None else _array_out(cov, "covariance"),
        "covariance_center": None if center is None else _array_out(center, "center"),
        "covariance_omitted": omitted,
        "covariance_hc0": None if hc0 is None else _array_out(hc0, "covariance_hc0"),
        "covariance_hc0_omitted": hc0_omitted,
        **counts_stats_out(model),
    }


def _document(model):
    """The model file's content (without its checksum)."""
    from .. import __version__

    name = type(model).__name__
    if ESTIMATORS.get(name) is not type(model):
        raise TypeError(f"only {', '.join(ESTIMATORS)} can be saved, not {type(model)}")
    check_is_fitted(model, "coef_")
    if model.formula is not None:
        check_formula(model.formula)
    design = getattr(model, "_formula", None) if model.formula is not None else None
    if model.formula is not None and getattr(design, "formula", None) != model.formula:
        raise ValueError("the formula was changed after fitting: refit the model before saving")
    is_cv = name.endswith("CV")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "softlogit_version": __version__,
        "estimator": name,
        "params": {k: _value_out(v, k) for k, v in model.get_params().items()},
        "fitted": _fitted_out(model),
        "formula": None if design is None else _formula_out(design),
        "results": _results_out(model) if hasattr(model, "results_") else None,
        "cv": {k: _value_out(getattr(model, k), k) for k in CV_ATTRIBUTES} if is_cv else None,
    }


def _new_estimator(doc):
    name = _get(doc, "estimator", "str", "file")
    _need(name in ESTIMATORS, f"unknown estimator {name!r}; expected one of {sorted(ESTIMATORS)}")
    cls = ESTIMATORS[name]
    raw = _get(doc, "params", "dict", "file")
    params = {k: _value_in(v, f"params.{k}") for k, v in raw.items()}
    unknown = set(params) - set(cls._get_param_names())
    _need(not unknown, f"params: {sorted(unknown)} are not parameters of {name}")
    return cls(**params)


def _restore_fitted(model, doc):
    """Set the fitted layer's attributes, checking each against the others."""
    where = "fitted"
    classes = _array_in(_get(doc, "classes", "dict", where), "fitted.classes", "biufUO")
    K = classes.size
    _need(classes.ndim == 1 and K >= 2, f"fitted.classes must list >= 2 labels, got {K}")
    order = "fitted.classes: not sorted and distinct (nor [other, positive_class])"
    _need(_ordered_classes(model, classes), order)
    _need(not (model._binary_only and K != 2), f"{type(model).__name__} needs 2 classes, not {K}")
    ref = _get(doc, "reference", "int|none", where)
    _need(ref is None or 0 <= ref < K, f"fitted.reference {ref} is not a class index < {K}")
    _need(not (model._binary_only and ref != 0), "fitted.reference must be 0 for binary models")
    p = _get(doc, "n_features_in", "int", where)
    m = K if ref is None else K - 1
    coef = _array_in(_get(doc, "coef", "dict", where), "fitted.coef", "f")
    intercept = _array_in(_get(doc, "intercept", "dict", where), "fitted.intercept", "f")
    expected = f"expected ({m}, {p}) for {K} classes, reference {ref} and {p} features"
    _need(coef.shape == (m, p), f"fitted.coef has shape {coef.shape}; {expected}")
    _need(intercept.shape == (m,), f"fitted.intercept has shape {intercept.shape}, not ({m},)")
    _need(np.isfinite(coef).all() and np.isfinite(intercept).all(), "non-finite coefficients")
    names = _get(doc, "feature_names_in", "list|none", where)
    ok = names is None or (len(names) == p and all(isinstance(n, str) for n in names))
    _need(ok, f"fitted.feature_names_in must be {p} strings")
    aliased = _array_in(_get(doc, "aliased", "dict", where), "fitted.aliased", "b")
    _need(aliased.shape == (p,), f"fitted.aliased has shape {aliased.shape}, not ({p},)")
    solver = _get(doc, "solver", "str", where)
    _need(solver in SOLVERS, f"fitted.solver {solver!r} is not one of {list(SOLVERS)}")
    if names is not None:
        model.feature_names_in_ = np.array(names, dtype=object)
    model.n_features_in_, model.classes_, model._reference = p, classes, ref
    model.coef_, model.intercept_, model.aliased_, model.solver_ = coef, intercept, aliased, solver
    model.n_iter_ = _get(doc, "n_iter", "int", where)
    response = doc.get("response")
    _need(response is None or isinstance(response, str), "fitted.response must be a string")
    model.response_name_ = response
    model.converged_ = _get(doc, "converged", "bool", where)
    has_offset = doc.get("has_offset", False)  # files written before it was stored: none
    _need(isinstance(has_offset, bool), "fitted.has_offset must be true or false")
    model.has_offset_ = has_offset
    model.loss_curve_ = _array_in(_get(doc, "loss_curve", "dict", where), "loss_curve", "f")
    model.loss_curve_ = model.loss_curve_.ravel().tolist()
    model.separation_ = _separation_in(_get(doc, "separation", "dict|none", where))
    weight_type = doc.get("weight_type", "frequency")  # files before typed weights
    _need(weight_type in WEIGHT_TYPES, f"fitted.weight_type must be one of {WEIGHT_TYPES}")
    model.weight_type_ = weight_type
    design = [doc.get("weight_clusters", False), doc.get("weight_strata", False)]
    _need(all(isinstance(v, bool) for v in design), "fitted.weight_clusters/strata: booleans")
    model._weight_design = WeightDesign(weight_type, None, None, *design)
    _dropped_in(model, doc.get("dropped"))
    model._family = _families(K, ref, model._binary_only)[0]
    model._train_state = None
    if not model._binary_only:
        model.reference_ = None if ref is None else classes[ref]


def _ordered_classes(model, classes):
    """Whether ``classes`` are distinct and sorted, or a binary model's ``[other,
    positive_class]`` (:mod:`softlogit.data.class_order`)."""
    if np.unique(classes).size != classes.size:
        return False
    if model._binary_only and model.positive_class is not None:
        return classes.size == 2 and bool(classes[1] == model.positive_class)
    return bool(np.array_equal(np.unique(classes), classes))


def _stats_in(doc):
    stats = _get(doc, "stats", "dict", "results")
    _need(set(stats) == set(STATS), f"results.stats must hold exactly {list(STATS)}")
    values = {k: _value_in(v, f"results.stats.{k}") for k, v in stats.items()}
    bad = [k for k, v in values.items() if not _is_real(v)]
    _need(not bad, f"results.stats {bad} are not numbers")
    _need(values["nobs_"] > 0 and math.isfinite(values["nobs_"]), "results.stats.nobs_ <= 0")
    return values


def _restore_results(model, doc):
    """Statistics, ``results_`` (a :class:`StoredResults`) and their consistency checks."""
    stats = _stats_in(doc)
    fit_intercept = model._fit_intercept()
    _need(fit_intercept or not np.any(model.intercept_), "intercepts without fit_intercept")
    p, K = model.n_features_in_, model.classes_.size
    family = _families(K, model._reference, model._binary_only)[1]
    center, omitted = _covariance_extras_in(doc, p, fit_intercept)
    layout = _StoredLayout(family, p, fit_intercept, stats["nobs_"], stats["loglike_"], center)
    theta, free, rows = _theta_and_free(model, fit_intercept)
    cov = _covariance_in(doc, "covariance", free)
    hc0 = _covariance_in(doc, "covariance_hc0", free)
    hc0_omitted = doc.get("covariance_hc0_omitted")
    _need(hc0_omitted is None or isinstance(hc0_omitted, str), "covariance_hc0_omitted: a string")
    names = model._feature_names(p)
    weights = model._weight_design
    results = StoredResults(
        layout,
        theta,
        free,
        names,
        rows,
        stats["null_loglike_"],
        cov,
        omitted,
        hc0,
        hc0_omitted,
        weights,
    )
    k = results.k_params
    _need(stats["df_model_"] == results.df_model, "results.stats.df_model_ does not fit")
    counts = counts_stats_in(doc, stats, k)
    per_row = (K - 1) if counts else 1  # a counts row has K - 1 residual df (VGAM)
    _need(np.isclose(stats["df_resid_"], stats["nobs_"] * per_row - k, rtol=1e-12), "bad df_resid_")
    model.results_ = results
    for name, value in {**stats, **counts}.items():
        setattr(model, name, value)


def _covariance_in(doc, key, free):
    """The square covariance ``doc[key]`` over the parameters (finite where ``free``), or
    None (a file written before softlogit stored ``covariance_hc0`` lacks that key)."""
    cov = _get(doc, key, "dict|none", "results") if key in doc or key == "covariance" else None
    if cov is None:
        return None
    cov = _array_in(cov, f"results.{key}", "f")
    n = free.size
    _need(cov.shape == (n, n), f"results.{key} has shape {cov.shape}, not ({n}, {n})")
    _need(np.isfinite(cov[np.ix_(free, free)]).all(), f"{key}: non-finite entries")
    return cov


def _covariance_extras_in(doc, p, fit_intercept):
    """The covariance's reference point and the note on an omitted covariance (both absent
    from files written before softlogit stored them)."""
    center = doc.get("covariance_center")
    if center is not None:
        center = _array_in(center, "results.covariance_center", "f")
        ok = fit_intercept and center.shape == (p,) and np.isfinite(center).all()
        _need(ok, f"results.covariance_center must be {p} finite numbers (with an intercept)")
    omitted = doc.get("covariance_omitted")
    _need(omitted is None or isinstance(omitted, str), "results.covariance_omitted: a string")
    return center, omitted


def _restore_cv(model, doc):
    _need(set(doc) == set(CV_ATTRIBUTES), f"cv must hold exactly {list(CV_ATTRIBUTES)}")
    values = {k: _value_in(v, f"cv.{k}") for k, v in doc.items()}
    scalars = ("l1_ratio_", "alpha_", "alpha_1se_", "alpha_selected_")
    _need(all(_is_real(values[k]) for k in scalars), f"cv: {list(scalars)} must be numbers")
    for name in CV_ATTRIBUTES:
        setattr(model, name, values[name])


def _model_from(doc):
    model = _new_estimator(doc)
    _restore_fitted(model, _get(doc, "fitted", "dict", "file"))
    formula = _get(doc, "formula", "dict|none", "file")
    _need((formula is None) == (model.formula is None), "formula and params.formula disagree")
    if formula is not None:
        _need(formula.get("formula") == model.formula, "formula differs from params.formula")
        names = getattr(model, "feature_names_in_", None)
        _need(names is not None, "a formula model needs fitted.feature_names_in")
        model._formula = _formula_in(formula, names)
    results = _get(doc, "results", "dict|none", "file")
    if results is not None:
        _restore_results(model, results)
    is_cv = type(model).__name__.endswith("CV")
    cv = _get(doc, "cv", "dict" if is_cv else "none", "file")
    if is_cv:
        _restore_cv(model, cv)
    return model


# ---------------------------------------------------------------------- files


def _checksum(doc):
    """SHA-256 of the canonical JSON of everything but the checksum itself."""
    body = json.dumps({k: v for k, v in doc.items() if k != "sha256"}, **_DUMP)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _write_atomic(path, doc):
    """Write ``doc`` as JSON to ``path`` atomically (see :mod:`softlogit.files`)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(doc, fh, **_DUMP)
        fh.write("\n")


def save(model, path):
    """Save a fitted estimator as a checksummed JSON model file, atomically.

    Parameters
    ----------
    model : fitted LogisticRegression, SoftmaxRegression or their CV variants
        Its parameters must be plain values (None, bool, int, float, str, lists, dicts,
        arrays): a custom CV splitter, scorer or random generator is refused.
    path : str or os.PathLike
        The file to write; an existing file is replaced only once the new one is complete.

    Raises
    ------
    TypeError
        For another estimator class or a parameter that cannot be stored.
    ValueError
        For a formula with terms a model file may not hold (see :func:`check_formula`).
    """
    doc = _document(model)
    doc["sha256"] = _checksum(doc)
    _write_atomic(os.fspath(path), doc)


def _reject_duplicates(pairs):
    keys = [k for k, _ in pairs]
    _need(len(set(keys)) == len(keys), f"duplicate keys in a JSON object: {_short(keys)}")
    return dict(pairs)


def _reject_constant(name):
    raise ModelFileError(f"{name} is not valid JSON (non-finite numbers are stored as strings)")


def _parse(raw):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFileError("not a UTF-8 text file") from None
    _need(text.strip(), "the file is empty")
    try:
        return json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as err:
        raise ModelFileError(f"not valid JSON (truncated or corrupted?): {err}") from None
    except RecursionError:
        raise ModelFileError("JSON nested too deeply") from None


def _check_header(doc):
    _need(isinstance(doc, dict), f"not a softlogit model file (JSON {type(doc).__name__})")
    tag = doc.get("format")
    _need(tag == FORMAT, f"not a softlogit model file (format {_short(tag)}, not {FORMAT!r})")
    version = doc.get("format_version")
    _need(_is_int(version) and version >= 1, f"invalid format_version {_short(version)}")
    newer = f"format_version {version} (softlogit {doc.get('softlogit_version')})"
    _need(version <= FORMAT_VERSION, f"{newer} is newer than {FORMAT_VERSION}: upgrade softlogit")
    stored = doc.get("sha256")
    _need(isinstance(stored, str), "no sha256 checksum")
    actual = _checksum(doc)
    what = f"stored sha256 {stored[:12]}..., content {actual[:12]}..."
    _need(stored == actual, f"checksum mismatch ({what}): the file was corrupted or edited")


def _max_bytes(max_bytes):
    """The size limit: ``max_bytes``, else the environment variable, else the default."""
    where = "max_bytes"
    if max_bytes is None:
        text = os.environ.get(MAX_BYTES_VARIABLE)
        if text is None:
            return DEFAULT_MAX_BYTES
        where = MAX_BYTES_VARIABLE
        try:
            max_bytes = int(text.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"{where}={text!r} is not a whole number of bytes") from None
    if not _is_int(max_bytes) or max_bytes <= 0:
        raise ValueError(f"{where} must be a positive whole number of bytes, got {max_bytes!r}")
    return max_bytes


def _check_kind_and_size(info, limit):
    if not stat.S_ISREG(info.st_mode):
        raise ModelFileError(f"it is {file_kind(info.st_mode)}, not a regular file")
    if info.st_size > limit:
        raise ModelFileError(
            f"it has {info.st_size} bytes, more than the limit of {limit} (a larger model file "
            f"needs load(path, max_bytes=...) or the environment variable {MAX_BYTES_VARIABLE})"
        )


def _read_model_file(path, limit):
    """The bytes of the regular file at ``path``, refused by kind and size before reading.

    ``O_NONBLOCK`` keeps a FIFO swapped in after the ``stat`` from blocking the ``open``; the
    opened file's ``fstat`` decides."""
    _check_kind_and_size(os.stat(path), limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    with open(os.open(path, flags), "rb") as fh:
        _check_kind_and_size(os.fstat(fh.fileno()), limit)
        raw = fh.read(limit + 1)
    _need(len(raw) <= limit, f"it grew beyond the limit of {limit} bytes while being read")
    return raw


def load(path, max_bytes=None):
    """Load a model saved by :func:`save`: JSON only, never unpickled or evaluated.

    Parameters
    ----------
    path : str or os.PathLike
        A regular file; directories, FIFOs, devices and sockets are refused without being
        read (a FIFO never blocks the call).
    max_bytes : int, optional
        The largest file accepted, refused by its size before anything is read. Default: the
        environment variable ``SOFTLOGIT_MAX_MODEL_BYTES`` when set, else
        :data:`DEFAULT_MAX_BYTES` (256 MiB, about 12 million stored numbers).

    Returns
    -------
    LogisticRegression, SoftmaxRegression or a CV variant
        Fitted: predictions equal the saved model's bitwise; ``summary()``, ``coef_table()``
        and ``cov_params()`` work with ``cov_type=None``, ``"HC0"`` and ``"HC1"``
        (see :class:`StoredResults`).

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ModelFileError
        For a path that is not a regular file, a file over the size limit, content that is
        not JSON, another format, a newer format version, fails its checksum, holds a formula
        outside the grammar of :func:`check_formula` or does not fit together (the message
        says what is wrong).
    ValueError
        For a ``max_bytes`` (or ``SOFTLOGIT_MAX_MODEL_BYTES``) that is not a positive integer.
    """
    path, limit = os.fspath(path), _max_bytes(max_bytes)
    try:
        doc = _parse(_read_model_file(path, limit))
        _check_header(doc)
        return _model_from(doc)
    except ModelFileError as err:
        raise ModelFileError(f"cannot load model file {path!r}: {err}") from None
    except (*_JSON_ERRORS, FormulaicError, SyntaxError) as err:
        raise ModelFileError(
            f"cannot load model file {path!r}: malformed content ({type(err).__name__}: {err})"
        ) from err
