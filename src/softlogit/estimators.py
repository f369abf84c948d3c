"""scikit-learn estimators: they validate, choose a solver and store the result.

This module is their scikit-learn face: parameters, data validation, the fit spec and
``fit``/``partial_fit``. What a fitted model does lives beside it: storing and publishing the
fit (:mod:`softlogit.fitted_state`), predicting (:mod:`softlogit.prediction`) and inference
(:mod:`softlogit.estimator_inference`), mixed into the classes here.

``LogisticRegression`` is the binary model (one neuron: affine map + sigmoid);
``SoftmaxRegression`` the K-class model (one layer of K neurons: affine maps + softmax).
Both minimise the same objective, the mean weighted cross-entropy plus an optional L2
penalty (glmnet convention, intercepts unpenalised).
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .data.class_order import label_codes, positive_order, reorder_codes, reorder_summary
from .data.counts import (
    binomial_counts,
    check_counts,
    expand_counts,
    grouped_scale,
    is_counts_response,
)
from .data.design import (
    check_class_weights,
    check_unique_columns,
    encode_labels,
    encode_labels_partial,
    feature_scales,
    penalty_factors,
    validate_design,
    validate_offset,
    validate_weights,
)
from .data.external import (
    BoundRows,
    class_factor,
    external_data,
    external_feature_scales,
    is_external,
)
from .data.formula import FormulaDesign
from .data.formula_external import data_formula, formula_external_data
from .data.missing import drop_missing, drop_missing_formula, take_kept
from .estimator_inference import Inference
from .fitted_state import FittedState
from .model.fitting import FitSpec, fit_model, solver_for
from .model.penalties import make_penalty
from .model.solvers import STOCHASTIC, SolverOptions
from .params import (
    BINARY_CONSTRAINTS,
    PARAMETER_CONSTRAINTS,
    check_penalty_settings,
    is_fitted_name,
    validate_params,
)
from .prediction import Prediction
from .stats.modelled import label_table, shown_label
from .stats.profile import rebased_results
from .stats.survey import external_weights, resolve_weights

__all__ = ["LogisticRegression", "SoftmaxRegression"]

#: Key of the training rows' ``offset(...)`` terms among the attributes of a fit under way.
FORMULA_OFFSET = "_formula_offset_rows"
DEFAULT_MAX_ITER = {"newton": 100, "lbfgs": 1000, "gd": 5000, "sgd": 5000, "adam": 5000, "cd": 100}
DEFAULT_TOL = {"newton": 1e-8, "lbfgs": 1e-8, "gd": 1e-6, "sgd": 1e-6, "adam": 1e-6, "cd": 1e-8}


class _LinearClassifier(Prediction, Inference, FittedState, ClassifierMixin, BaseEstimator):
    """Shared machinery of the binary and softmax estimators."""

    _binary_only = False

    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    def __init__(
        self,
        *,
        penalty=None,
        alpha=0.0,
        solver="auto",
        fit_intercept=True,
        max_iter=None,
        tol=None,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        batch_size=None,
        learning_rate="adaptive",
        learning_rate_init=None,
        momentum=0.0,
        formula=None,
        l1_ratio=0.0,
        penalty_factor=None,
        standardize=False,
        grouped=False,
        missing="raise",
    ):
        self.missing = missing
        self.formula = formula
        self.l1_ratio = l1_ratio
        self.penalty_factor = penalty_factor
        self.standardize = standardize
        self.grouped = grouped
        self.penalty = penalty
        self.alpha = alpha
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum

    def _validate_params(self):
        """scikit-learn's check of ``_parameter_constraints``, led by ``name=value``."""
        validate_params(self)

    # ----------------------------------------------------------------- data
    def _design(self, X, y, reset, need_y=False):
        """Validated design matrix (and response): from a formula when one is set. With
        ``reset=True`` the design's fitted attributes are set on ``self`` (for templates
        such as the path's; ``fit`` itself uses :meth:`_fit_design` and publishes them with
        the rest of the fit)."""
        if reset:
            X, y, fitted = self._fit_design(X, y)
            fitted.pop(FORMULA_OFFSET, None)
            self.__dict__.update(fitted)
            return X, y
        if self.formula is None:
            return validate_design(self, X, reset=False)[0], y
        if y is not None and need_y:
            raise ValueError(
                f"formula={self.formula!r} takes the response from the data: call fit(data) "
                "without y"
            )
        check_is_fitted(self, "_formula")
        frame = self._formula.transform(X)
        if need_y:
            y = self._formula.response_values(X)
        return validate_design(self, frame, reset=False, allow_no_features=True)[0], y

    def _fit_design(self, X, y):
        """The training design and response, and the fitted attributes they define
        (``n_features_in_``, ``feature_names_in_``, the formula's ``_formula``), computed
        without changing ``self``."""
        if self.formula is None:
            Xv, fitted = validate_design(self, X, reset=True)
            return Xv, y, fitted
        check_unique_columns(X)
        formula = FormulaDesign(self.formula)
        frame, response, formula_offset = formula.fit_parts(X)
        _check_same_response(self.formula, y, response)
        y = response
        if formula.has_intercept and not self.fit_intercept:
            raise ValueError(
                "fit_intercept=False but the formula has an intercept: write '... - 1' "
                "in the formula instead"
            )
        Xv, fitted = validate_design(self, frame, reset=True, allow_no_features=True)
        fitted["_formula"] = formula
        fitted[FORMULA_OFFSET] = formula_offset
        return Xv, y, fitted

    def _drop_missing(self, X, y, sample_weight, offset, extras=None):
        """With ``missing="drop"``, the complete rows of the fit's arguments (``extras``: a
        dict of the other per-row ones, returned with their kept rows) and the fitted
        attributes ``n_dropped_`` and ``dropped_by_column_`` (:mod:`softlogit.data.missing`);
        with ``"raise"`` the arguments unchanged (validation names a missing value)."""
        extras = {k: v for k, v in (extras or {}).items() if v is not None}
        if getattr(self, "missing", "raise") != "drop":
            return X, y, sample_weight, offset, {}, extras
        if self.formula is None:
            X, y, sample_weight, offset, report = drop_missing(X, y, sample_weight, offset, extras)
        else:
            check_unique_columns(X)
            X, y, sample_weight, offset, report = drop_missing_formula(
                self.formula, X, y, sample_weight, offset, extras
            )
        kept = {k: take_kept(v, report) for k, v in extras.items()}
        return X, y, sample_weight, offset, report.attributes(), kept

    def _fit_intercept(self, fitted=None):
        """Whether the model has an intercept; ``fitted``: the attributes of a fit under way
        (default: the stored ones)."""
        if self.formula is not None:
            source = self.__dict__ if fitted is None else fitted
            return bool(source["_formula"].has_intercept)
        return bool(self.fit_intercept)

    # ----------------------------------------------------------------- settings
    def _reference_code(self, classes):
        return 0

    def _class_order(self, classes):
        """Indices into the sorted ``classes`` giving ``classes_`` (identity here; the
        positive class last for :class:`LogisticRegression`)."""
        return np.arange(len(classes))

    def _options(self, solver_name, max_iter=None):
        """Solver settings (the parameters are validated by ``_parameter_constraints``)."""
        key = solver_name if solver_name in DEFAULT_TOL else "newton"
        tol = DEFAULT_TOL[key] if self.tol is None else float(self.tol)
        iters = max_iter or (DEFAULT_MAX_ITER[key] if self.max_iter is None else self.max_iter)
        return SolverOptions(
            max_iter=int(iters),
            tol=tol,
            verbose=int(self.verbose),
            random_state=self.random_state,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            learning_rate_init=self.learning_rate_init,
            momentum=float(self.momentum),
        )

    def _feature_names(self, n_features, fitted=None):
        """Term names of the features: ``feature_names_in_`` of ``fitted`` (a fit under way)
        or of the stored fit, else ``x0, x1, ...``."""
        source = self.__dict__ if fitted is None else fitted
        names = source.get("feature_names_in_")
        if names is not None:
            return [str(v) for v in names]
        return [f"x{j}" for j in range(n_features)]

    def _class_weights(self, classes, y_codes):
        if self.class_weight is None:
            return np.ones(classes.size)
        labels = classes[y_codes]
        weights = compute_class_weight(self.class_weight, classes=classes, y=labels)
        return check_class_weights(weights, classes)

    def _spec(self, X, y, sample_weight, offset, classes=None, fitted=None):
        """The fit spec of in-memory data; ``fitted``: the design attributes of a fit under
        way (default: the stored ones)."""
        new_fit = classes is None
        if classes is None:
            classes, codes = encode_labels(y, X.shape[0])
            classes, codes = reorder_codes(classes, codes, self._class_order(classes))
        else:
            codes = self._codes_for(y, classes, X.shape[0])
        self._check_binary(classes)
        weight = validate_weights(sample_weight, X.shape[0])
        weight = weight * self._class_weights(classes, codes)[codes]
        if new_fit:
            _require_two_weighted_classes(classes, np.bincount(codes, weight, classes.size))
        offset = validate_offset(offset, X.shape[0], classes.size)
        return self._make_spec(X, classes, codes, weight, offset, fitted)

    def _counts_spec(self, X, y, trials, sample_weight, offset, fitted):
        """The fit spec of a counts response (:mod:`softlogit.data.counts`): the rows
        expanded to one per class with a positive count, weighted by prior weight times
        count, with the grouped-scale sums and each expanded row's origin."""
        n = X.shape[0]
        if self._binary_only:
            if getattr(self, "positive_class", None) not in (None, 1):
                raise ValueError(
                    f"positive_class={self.positive_class!r} with a counts response: the "
                    "modelled class of [successes, failures] counts is the successes (class "
                    "1); swap the two columns to model the other"
                )
            counts, classes = binomial_counts(y, trials, n), np.array([0, 1])
        elif trials is not None:
            raise ValueError("trials= is for LogisticRegression; pass (n, K) class counts as y")
        else:
            counts, names = check_counts(y, n)
            classes = np.arange(counts.shape[1]) if names is None else np.array(names, object)
            if names is not None and len(set(names)) < len(names):
                raise ValueError(f"the counts columns {names} repeat a name")
            order = np.argsort(classes, kind="stable")
            counts, classes = counts[:, order], classes[order]
        if self.class_weight is not None:
            raise ValueError(
                "class_weight with a counts response is not supported: scale the counts "
                "(or pass sample_weight per row)"
            )
        weight = validate_weights(sample_weight, n)
        offset = validate_offset(offset, n, classes.size)
        Xe, codes, we, oe, origin = expand_counts(X, counts, weight, offset)
        _require_two_weighted_classes(classes, np.bincount(codes, we, classes.size))
        spec = self._make_spec(Xe, classes, codes, we, oe, fitted)
        spec.counts = (grouped_scale(counts, weight), origin, n)
        return spec

    def _make_spec(self, X, classes, codes, weight, offset, fitted=None):
        return FitSpec(
            X=X,
            codes=codes,
            weight=weight,
            offset=offset,
            classes=classes,
            reference=self._reference_code(classes),
            fit_intercept=self._fit_intercept(fitted),
            penalty=self._penalty(X, weight, fitted),
            solver=self.solver,
            options=None,
            feature_names=self._feature_names(X.shape[1], fitted),
            binary_fast=self._binary_only,
        )

    def _check_binary(self, classes):
        if self._binary_only and classes.size > 2:
            raise ValueError(
                "Only binary classification is supported. LogisticRegression is binary but y "
                f"has {classes.size} classes "
                f"{list(classes[:6])}{'...' if classes.size > 6 else ''}; use SoftmaxRegression "
                "for multinomial (softmax) regression"
            )

    def _external_spec(self, X, y, sample_weight, offset, fitted_design=None):
        """The fit spec of streamed (``scan_parquet``/``scan_csv``) or Dask data, and its
        design attributes: one descriptive pass for the labels and class totals, nothing
        loaded into memory. ``fitted_design``: a formula model's fitted encoding, applied
        as it is (evaluating the model on new data) instead of learning one."""
        design = None
        if self.formula is not None or data_formula(X) is not None:
            data = formula_external_data(
                X, self.formula, y, sample_weight, offset, design=fitted_design
            )
        else:
            data = external_data(X, y, sample_weight, offset)
        counts = hasattr(data, "describe_counts")  # a counts response (counts_stream)
        missing = getattr(self, "missing", "raise")
        if counts:
            if missing != "raise":
                raise ValueError(
                    f"missing={missing!r} with a streamed or Dask counts response is not "
                    "supported: drop the incomplete rows from the files first"
                )
            summary = data.describe_counts(self._binary_only)
        else:
            summary = _describe(data, missing)
        if self.formula is not None:
            design = data.design
            if design.has_intercept and not self.fit_intercept:
                raise ValueError(
                    "fit_intercept=False but the formula has an intercept: write '... - 1' "
                    "in the formula instead"
                )
        if counts and getattr(self, "positive_class", None) not in (None, 1):
            raise ValueError(
                f"positive_class={self.positive_class!r} with a counts response: the "
                "modelled class of [successes, failures] counts is the successes"
            )
        classes = summary.classes
        if classes.size < 2:
            raise ValueError(f"y has a single class {classes[0]!r}: classification needs 2")
        self._check_binary(classes)
        summary = reorder_summary(summary, self._class_order(classes))
        classes = summary.classes
        bound = BoundRows(
            data, summary, class_factor(self.class_weight, classes, summary.class_counts)
        )
        _require_two_weighted_classes(classes, bound.class_totals)
        fitted = {"n_features_in_": data.n_features, **summary.missing_attributes()}
        names = getattr(data, "feature_names", None)
        if names is not None:
            fitted["feature_names_in_"] = np.asarray(names, dtype=object)
        if design is not None:
            fitted["_formula"] = design
            fitted[FORMULA_OFFSET] = data.user_offset  # the offset= part: has_offset_
        spec = self._make_spec(bound, classes, None, None, None, fitted)
        if counts:
            if self.class_weight is not None:
                raise ValueError("class_weight with a counts response is not supported")
            spec.counts = (summary.grouped, None, summary.n_input)
        return spec, fitted

    def _penalty(self, X, weight, fitted=None):
        """The penalty object, with per-feature factors and standardisation scales."""
        factor = penalty_factors(self.penalty_factor, X.shape[1])
        scale = None
        if self.standardize and isinstance(X, BoundRows):
            scale = external_feature_scales(X, self._fit_intercept(fitted))
        elif self.standardize:
            scale = feature_scales(X, weight, self._fit_intercept(fitted))
        if self.grouped and self._binary_only:
            raise ValueError("grouped=True groups coefficients over classes: SoftmaxRegression")
        return make_penalty(
            self.penalty, self.alpha, self.l1_ratio, factor, scale, bool(self.grouped)
        )

    @staticmethod
    def _codes_for(y, classes, n_rows):
        y_classes, codes = encode_labels_partial(y, n_rows)
        where = label_codes(y_classes, classes)
        if np.any(where < 0):
            unknown = list(y_classes[where < 0])
            raise ValueError(f"y contains labels {unknown} not in classes {list(classes)}")
        return where[codes]

    # ----------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y=None,
        sample_weight=None,
        offset=None,
        *,
        probability_weight=None,
        analytic_weight=None,
        clusters=None,
        strata=None,
        trials=None,
    ):
        """Fit by maximum likelihood (or penalised likelihood).

        Every parameter is validated first (``_parameter_constraints``; an
        ``InvalidParameterError``, a ``ValueError``, names it), then settings that would
        do nothing: a penalty with ``alpha=0``, ``penalty="elasticnet"`` with
        ``l1_ratio=0``, ``solver="cd"`` without a penalty. The fitted attributes are
        computed first and published together at the end, so a fit running in another
        thread never leaves a mix of two models.

        Parameters
        ----------
        X : array-like, sparse matrix or data frame of shape (n, p)
            Numeric features; with ``formula``, the data frame the formula refers to.
        y : array-like of shape (n,), or counts of shape (n, 2) or (n, K), optional
            Class labels of any sortable type; with ``formula`` it comes from the formula's
            left side: pass none, or the same column (as ``cross_val_score(m, data,
            data["admit"], scoring="roc_auc")`` does; scikit-learn's named scorers need it).
            A two-dimensional ``y`` is a counts response: LogisticRegression's
            ``[successes, failures]`` (R's ``cbind``), SoftmaxRegression's K class counts
            (the classes are a frame's column names, sorted, or ``0 .. K-1``).
        sample_weight : array-like of shape (n,), optional
            Non-negative prior weights (multiplied by ``class_weight``).
        offset : array-like of shape (n,) or (n, K), optional
            Known part of the linear predictor, added before the inverse link. A model
            fitted with one (``has_offset_``) needs the offset of new rows to predict.
        probability_weight : array-like of shape (n,), optional
            Survey (sampling) weights, the inverse inclusion probabilities: the estimate of
            ``sample_weight``, with design-based standard errors (``cov_type="survey"``,
            the default of every inference method, as R's ``survey::svyglm``), ``nobs_``
            counting rows, and no likelihood-ratio test, AIC or BIC. For a
            ``scan_parquet``/``scan_csv`` scan: the weight column's name. See
            :mod:`softlogit.stats.survey`.
        analytic_weight : array-like of shape (n,), optional
            Inverse-variance weights (statsmodels' ``var_weights``): the estimate and
            nonrobust covariance of ``sample_weight``, ``nobs_`` counting rows and robust
            covariances that square the weights. One weight type per fit.
        clusters, strata : array-like of shape (n,), optional
            With ``probability_weight``: the primary sampling unit (cluster) and stratum
            of each row (``svydesign(ids=, strata=, nest=TRUE)``): arrays, column names
            of a scan, or Dask arrays.
        trials : array-like of shape (n,), optional
            LogisticRegression: trials per row; ``y`` is then the proportion of successes
            (R's ``glm(y ~ x, binomial, weights = trials)``). A counts response (``y`` of
            shape (n, 2) ``[successes, failures]``, or (n, K) class counts for
            SoftmaxRegression, or a formula ``cbind(s, f) ~ x``) needs no ``trials``; see
            :mod:`softlogit.data.counts` and docs/counts.md.

        Returns
        -------
        self
        """
        check_penalty_settings(self)
        self._adopt_data_formula(X)
        old = self._snapshot()
        fitted = {"response_name_": _response_name(X, y)}
        given_offset = offset is not None
        if is_external(X):
            if trials is not None:
                raise ValueError(
                    "trials= needs in-memory data: for a scan pass scan_parquet(..., "
                    "trials=column); on Dask pass y as the two columns [successes, failures]"
                )
            X, y, sample_weight, offset, weights = external_weights(
                X, y, sample_weight, offset, probability_weight, analytic_weight, clusters, strata
            )
            spec, design = self._external_spec(X, y, sample_weight, offset)
            given_offset = design.pop(FORMULA_OFFSET, None)
        else:
            rows = {
                "trials": trials,
                "probability_weight": probability_weight,
                "analytic_weight": analytic_weight,
                "clusters": clusters,
                "strata": strata,
            }
            X, y, sample_weight, offset, dropped, rows = self._drop_missing(
                X, y, sample_weight, offset, rows
            )
            fitted.update(dropped)
            trials = rows.get("trials")
            X, y, design = self._fit_design(X, y)
            offset = _add_offsets(offset, design.pop(FORMULA_OFFSET, None))
            sample_weight, weights = resolve_weights(
                X.shape[0],
                sample_weight,
                *(rows.get(k) for k in ("probability_weight", "analytic_weight")),
                *(rows.get(k) for k in ("clusters", "strata")),
            )
            if trials is not None or is_counts_response(y):
                spec = self._counts_spec(X, y, trials, sample_weight, offset, design)
            else:
                spec = self._spec(X, y, sample_weight, offset, fitted=design)
        _check_weights_penalty(self.penalty, weights)
        if spec.counts is not None:
            _check_counts_weights(weights)
        fitted.update(design)
        if self.formula is not None:
            fitted["response_name_"] = design["_formula"].response
        spec.options = self._options(solver_for(spec))
        out = fit_model(spec, theta0=old._warm_start_theta(spec))
        fitted.update(self._fitted_attributes(spec, out))
        fitted.update(self._result_attributes(spec, out, weights))
        if self.formula is not None and fitted["_formula"].has_offset:
            fitted["has_offset_"] = bool(given_offset)  # offset(...) terms come with the rows
        self._publish(fitted)
        return self

    def _adopt_data_formula(self, X):
        """A scan made with ``formula=`` (``scan_parquet(path, formula=...)``) gives its
        formula to an estimator without one, as if passed to it: ``self.formula`` is set,
        and set back to None by the next fit on other data. A different formula on both is
        an error (raised by :func:`~softlogit.data.formula_external.formula_external_data`)."""
        carried = data_formula(X)
        if self.__dict__.pop("_formula_from_data", False):
            self.formula = None
        if carried is not None and self.formula is None:
            self.formula = carried
            self._formula_from_data = True

    @available_if(lambda self: self.solver in STOCHASTIC)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None, offset=None):
        """One epoch of the gradient-descent solver on a batch of data (streaming use).

        The first call needs ``classes`` (all labels that will ever appear) unless the model
        is already fitted; later calls continue from the stored optimiser state. With
        ``missing="drop"`` each batch's incomplete rows are left out (not counted in
        ``n_dropped_``).
        """
        check_penalty_settings(self)
        X, y, sample_weight, offset, _, _ = self._drop_missing(X, y, sample_weight, offset)
        old = self._snapshot()
        first = not hasattr(old, "coef_")
        given_offset = offset is not None
        if first:
            X, y, fitted = self._fit_design(X, y)
            offset = _add_offsets(offset, fitted.pop(FORMULA_OFFSET, None))
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            classes = np.unique(np.asarray(classes))
            if classes.size < 2:
                raise ValueError("classes must hold at least 2 classes")
            classes = classes[self._class_order(classes)]
        else:
            rows = X
            X, y = old._design(X, y, reset=False)
            offset = old._with_formula_offset(rows, offset, X.shape[0])
            fitted, classes = {}, old.classes_
        spec = old._spec(X, y, sample_weight, offset, classes=classes, fitted=fitted or None)
        spec.options = self._options(self.solver, max_iter=1)
        state = None if first else old._train_state
        theta0 = None if first else old._stored_theta(spec.fit_intercept)
        out = fit_model(spec, theta0=theta0, state=state, diagnose=False)
        new = self._fitted_attributes(spec, out)
        new["loss_curve_"] = ([] if first else old.loss_curve_) + new["loss_curve_"]
        new["n_iter_"] = out.state.epoch
        new["has_offset_"] = new["has_offset_"] or bool(not first and old.has_offset_)
        design = fitted.get("_formula", getattr(old, "_formula", None))
        if self.formula is not None and design is not None and design.has_offset:
            new["has_offset_"] = given_offset or bool(not first and old.has_offset_)
        kept = {k: v for k, v in vars(old).items() if is_fitted_name(k)}
        self._publish({**kept, **fitted, **new})
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_class = not self._binary_only
        return tags


def _describe(data, missing):
    """The descriptive pass of streamed or Dask data, dropping incomplete rows with
    ``missing="drop"`` where the source can (plain scans and Dask arrays and frames)."""
    if missing == "raise":
        return data.describe()
    if "missing" not in inspect.signature(data.describe).parameters:
        raise ValueError(
            f"missing={missing!r} is not supported on {type(data).__name__} data (a formula "
            "on a stream or a Dask frame, survey-design columns): drop the incomplete rows "
            "first, or name the columns with target=/features= instead of a formula"
        )
    return data.describe(missing=missing)


def _check_counts_weights(weights):
    """A counts response takes frequency weights only (its grouped-scale statistics and
    its sandwich per counts row are those of frequency weights)."""
    if weights.weight_type != "frequency":
        raise ValueError(
            f"{weights.weight_type} weights with a counts response are not supported: pass "
            "frequency weights (sample_weight), or expand the counts to rows"
        )


def _check_weights_penalty(penalty, weights):
    """Firth-type fits keep their own covariance: frequency weights only."""
    if penalty in ("firth", "flic", "flac") and weights.weight_type != "frequency":
        raise ValueError(
            f"penalty={penalty!r} takes frequency weights (sample_weight) only, not "
            f"{weights.weight_type} weights"
        )


def _add_offsets(offset, terms):
    """The ``offset=`` passed plus the sum of a formula's ``offset(...)`` terms (either may
    be None); an (n, K) offset gets the terms in every column."""
    if terms is None:
        return offset
    if offset is None:
        return terms
    given = np.asarray(offset, dtype=float)
    return given + (terms if given.ndim == 1 else terms[:, None])


def _response_name(X, y):
    """The label column's name when the input carries one (a named series, a scan's
    target; counts columns as ``cbind(s, f)``), else None."""
    counts = getattr(X, "counts_columns", None)  # a counts scan, without trials
    if counts is None and getattr(y, "ndim", 1) == 2:
        counts = getattr(y, "columns", None)
    if counts is not None and getattr(X, "trials", None) is None:
        return f"cbind({', '.join(str(c) for c in counts)})"  # counts, as R names them
    target = getattr(X, "target", None)  # scan_parquet / scan_csv
    if isinstance(target, str):
        return target
    name = getattr(y, "name", None)
    return name if isinstance(name, str) else None


def _check_same_response(formula, y, response):
    """A formula model reads ``y`` from its data; a ``y`` passed too (as scikit-learn's
    ``cross_val_score(m, data, data["admit"], scoring=...)`` passes it) must be that column."""
    if y is None:
        return
    given = np.asarray(y, dtype=object).ravel()
    if given.shape != response.shape or not np.array_equal(given, response.astype(object)):
        raise ValueError(
            f"formula={formula!r} takes the response from the data, and the y passed differs "
            "from it: call fit(data) without y (or pass the formula's response column)"
        )


def _require_two_weighted_classes(classes, totals):
    if np.count_nonzero(totals > 0) < 2:
        raise ValueError(
            f"only 1 class ({classes[np.argmax(totals)]!r}) has positive weight; "
            "classification needs at least 2 classes with positive sample_weight"
        )


class LogisticRegression(_LinearClassifier):
    r"""Binary logistic regression: :math:`P(y = 1 \mid x) = \sigma(x^T\beta + b)`.

    The GLM view: a Bernoulli response with the canonical logit link, so coefficients are
    log-odds ratios. The network view: one neuron, an affine map followed by the sigmoid,
    trained on the cross-entropy. Both minimise

    .. math::

        \frac{1}{\sum_i w_i}\sum_i w_i \bigl[\log(1 + e^{\eta_i}) - y_i \eta_i\bigr]
        + \frac{\alpha}{2}\lVert\beta\rVert_2^2 \quad (\text{with } \texttt{penalty="l2"}).

    Parameters
    ----------
    penalty : {None, "l2", "l1", "elasticnet", "firth", "flic", "flac"}
        None fits the plain maximum-likelihood estimate; "l1"/"elasticnet" are solved by
        coordinate descent (``solver="cd"``); "firth" is Firth's bias reduction (binary, and
        multinomial as R's ``brglm2::brmultinom``); "flic" and "flac" (binary) are Firth's
        fit with its intercept corrected so that the mean fitted probability equals the
        observed proportion (Puhr et al. 2017; :mod:`softlogit.model.firth_corrections`).
    alpha : float
        Penalty strength (glmnet convention; ``C = 1 / (n * alpha)`` in scikit-learn terms),
        ``>= 0``; "l2", "l1" and "elasticnet" need ``alpha > 0`` (a ValueError otherwise).
    solver : {"auto", "newton", "lbfgs", "gd", "sgd", "adam", "cd"}
        "auto" uses coordinate descent for lasso/elastic-net penalties, else Newton up to
        1000 parameters and L-BFGS beyond; "cd" needs penalty "l1", "l2" or "elasticnet".
    fit_intercept : bool
        Whether to fit an (unpenalised) intercept.
    max_iter : int or None
        Iterations (Newton, L-BFGS) or epochs (gd, sgd, adam), ``>= 1``; None: a per-solver
        default.
    tol : float or None
        Convergence threshold of a scale-free optimality measure (unchanged by shifting or
        rescaling a column, or by rescaling the weights; see :mod:`softlogit.model.solvers.views`):
        Newton's decrement relative to the loss scale, :math:`\sqrt{g^T H^{-1} g / F}`, or
        for the gradient solvers each gradient entry over :math:`\sqrt{H_{jj} F}` in centred
        coordinates. ``converged_`` is True only when it holds at the returned point. None:
        1e-8 for Newton/L-BFGS, 1e-6 for gd, sgd and adam (coefficients within about
        ``20 * tol`` of the MLE, relative); for "cd" the KKT violation.
    class_weight : dict, "balanced" or None
        Weights multiplied into the sample weights per class (finite, ``>= 0``).
    warm_start : bool
        Start from the previous solution when refitting.
    random_state : int, Generator or None
        Shuffling of mini-batches.
    verbose : int
        Print the objective every iteration when > 0.
    batch_size : int or None
        Mini-batch rows for "sgd" and "adam" (default 200).
    learning_rate : {"constant", "invscaling", "adaptive"}
        Step-size schedule of the gradient-descent solvers.
    learning_rate_init : float or None
        Initial step (in standardised coordinates), finite and ``> 0``; default 1.0 (gd),
        0.1 (sgd), 0.01 (adam).
    momentum : float
        Heavy-ball momentum of "gd"/"sgd", in [0, 1).
    l1_ratio : float
        Lasso share of ``penalty="elasticnet"`` (glmnet's alpha), in (0, 1] (0 is ridge:
        use ``penalty="l2"``).
    penalty_factor : array-like of shape (p,) or None
        Per-feature penalty multipliers (0: never penalised), rescaled to sum to p as glmnet.
    standardize : bool
        Penalise the coefficients of standardised features (weighted standard deviations)
        and report them on the original scale, as glmnet's ``standardize=TRUE``.
    grouped : bool
        SoftmaxRegression only: the lasso part penalises each feature's coefficients over
        all classes as one group (glmnet's ``type.multinomial="grouped"``).
    formula : str or None
        A Wilkinson formula such as ``"admit ~ gre + gpa + C(rank)"`` (formulaic): ``fit(data)``
        then takes the response from the left side, the intercept from the formula, and
        predictions on new data frames reuse the fitted encoding.
    positive_class : label or None
        The modelled class :math:`c` of :math:`P(y = c \mid x)`: the coefficients are its
        log-odds, and ``classes_`` is ``[other, positive_class]``. None (default): the
        larger label (the second in sorted order). Choosing the smaller label negates
        every coefficient; R's ``glm`` models the level that is not the first, so
        ``relevel(factor(y), ref = other)`` there matches ``positive_class`` here. A label
        that is not a class of ``y`` is a ValueError at ``fit``.
    missing : {"raise", "drop"}
        What a missing value (NaN, None, ``pd.NA``, an Arrow null) in the data does.
        "raise" (default): an error naming its row and column. "drop": the fit uses the
        complete rows only (R's ``na.omit``, statsmodels' ``missing="drop"``): a row is
        dropped when its features, label, sample weight or offset (with a formula: any
        column the formula reads) is missing, in memory, streamed and on Dask alike; infinite
        values stay errors; for sparse ``X`` a stored NaN drops its row. ``predict``,
        ``predict_proba``, ``predict_log_proba`` and ``decision_function`` then give a row
        with a missing feature a missing result in its place (R's ``na.exclude``): NaN
        rows, and None labels in an object array. See :mod:`softlogit.data.missing`.

    Attributes
    ----------
    coef_ : ndarray of shape (1, p)
        Log-odds ratios of ``classes_[1]`` against ``classes_[0]``.
    intercept_ : ndarray of shape (1,)
    classes_ : ndarray of shape (2,)
        The labels, the modelled one last: sorted unless ``positive_class`` is the smaller;
        the model is :math:`P(y = \text{classes\_}[1])`, the class ``decision_function``,
        ``predict_proba(X)[:, 1]`` and scikit-learn's scorers refer to.
    feature_names_in_, n_features_in_ : ndarray of str, int
        Feature names (columns, or a formula's terms) and their number.
    response_name_ : str or None
        The label column's name (a named ``y``, a formula's left side, a scan's target).
    n_iter_, converged_, loss_curve_, solver_, aliased_, separation_
        How the fit went: iterations, convergence, objective per iteration, the solver used,
        the aliased columns (fixed at 0) and the separation diagnosis (or None).
    loglike_, null_loglike_ : float
        Log-likelihood of the fit and of the intercept-only model (same weights, offset).
    deviance_, aic_, bic_ : float
        :math:`-2\ell`, :math:`-2\ell + 2k` and :math:`-2\ell + k \log n`, with :math:`k`
        every estimated parameter (intercepts included, aliased ones not).
    pseudo_r2_, lr_stat_, lr_pvalue_ : float
        McFadden's :math:`1 - \ell / \ell_0`; the likelihood-ratio statistic against the
        intercept-only model and its chi-squared p-value on ``df_model_`` degrees of freedom.
    df_model_, df_resid_, nobs_ : int, float, float
        Parameters other than the intercepts; ``nobs_ - k``; the sum of the (frequency)
        weights, or the rows with positive weight under probability and analytic weights.
    weight_type_ : {"frequency", "probability", "analytic"}
        What the fit's weights meant (``sample_weight``, ``probability_weight`` or
        ``analytic_weight``; see :mod:`softlogit.stats.survey`). It sets the covariance
        that ``cov_type=None`` (the default of every inference method) means:
        ``"survey"`` under probability weights, else ``"nonrobust"``; under probability
        weights ``lr_stat_``, ``lr_pvalue_``, ``aic_`` and ``bic_`` are NaN.
    results_ : FitResults
        The inference object (:class:`softlogit.stats.results.FitResults`) behind
        ``coef_table``, ``cov_params``, ``wald_test`` and ``predict_proba(return_ci=True)``.
    counts_response_, null_deviance_, loglike_bernoulli_, null_loglike_bernoulli_, \
    deviance_bernoulli_, aic_bernoulli_, bic_bernoulli_, df_resid_bernoulli_, nobs_bernoulli_
        Counts responses only (``y`` of counts, ``trials=``, ``cbind()`` formulas;
        :mod:`softlogit.data.counts`): ``loglike_``, ``null_loglike_``, ``deviance_``,
        ``aic_``, ``bic_``, ``df_resid_`` and ``nobs_`` are then on R's grouped scale
        (:mod:`softlogit.stats.grouped`), ``null_deviance_`` is R's ``null.deviance``, and
        the ``*_bernoulli_`` attributes hold the expanded 0/1 rows' values.

    has_offset_ : bool
        Whether the fit had an offset; then ``predict``, ``predict_proba``,
        ``predict_log_proba`` and ``decision_function`` need ``offset=`` (a ValueError
        otherwise), as R's ``predict`` needs the offset in ``newdata``.
    n_dropped_ : int
        With ``missing="drop"`` only: rows dropped for a missing value (each counted once);
        ``nobs_`` counts the rows kept.
    dropped_by_column_ : dict
        With ``missing="drop"`` only: column name -> rows with a missing value there (the
        features' names, ``x0, x1, ...`` for arrays; the names of the label, weight and
        offset series or columns, else ``"y"``, ``"sample_weight"``, ``"offset"``; only
        columns with some).

    Examples
    --------
    >>> import softlogit as sl
    >>> from softlogit.datasets import load_admissions
    >>> adm = load_admissions()
    >>> m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(adm)
    >>> m.coef_table().loc["gpa", ["coef", "std_err", "p_value"]].round(4).tolist()
    [0.804, 0.3318, 0.0154]
    >>> round(m.aic_, 2), round(m.loglike_, 4)
    (470.52, -229.2587)
    >>> print(m.wald_test("C(rank)[T.2] = 0, C(rank)[T.3] = 0, C(rank)[T.4] = 0"))
    Wald chi2(3) = 20.8953, p = 0.0001107
    >>> proba, lower, upper = m.predict_proba(adm.head(2), return_ci=True)
    >>> proba[:, 1].round(3).tolist(), lower[:, 1].round(3).tolist()
    ([0.173, 0.292], [0.097, 0.208])
    """

    _binary_only = True

    _parameter_constraints: dict = {**PARAMETER_CONSTRAINTS, **BINARY_CONSTRAINTS}

    def __init__(
        self,
        *,
        penalty=None,
        alpha=0.0,
        solver="auto",
        fit_intercept=True,
        max_iter=None,
        tol=None,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        batch_size=None,
        learning_rate="adaptive",
        learning_rate_init=None,
        momentum=0.0,
        formula=None,
        l1_ratio=0.0,
        penalty_factor=None,
        standardize=False,
        grouped=False,
        missing="raise",
        positive_class=None,
    ):
        super().__init__(
            formula=formula,
            l1_ratio=l1_ratio,
            penalty_factor=penalty_factor,
            standardize=standardize,
            grouped=grouped,
            penalty=penalty,
            alpha=alpha,
            solver=solver,
            fit_intercept=fit_intercept,
            max_iter=max_iter,
            tol=tol,
            class_weight=class_weight,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            momentum=momentum,
            missing=missing,
        )
        self.positive_class = positive_class

    def _class_order(self, classes):
        """``[other, positive_class]`` (:func:`softlogit.data.class_order.positive_order`)."""
        self._check_binary(classes)
        return positive_order(classes, self.positive_class)

    def odds_ratios(self, alpha=0.05, cov_type=None, groups=None, ci="wald"):
        """``exp(coef)`` (column ``odds_ratio``) with the p-values and the exponentiated
        interval ends: odds ratios per unit change; ``ci="profile"``: the exponentiated
        profile-likelihood intervals (see :meth:`conf_int`)."""
        table = self._inference().exp_table(alpha, cov_type, groups, name="odds_ratio")
        return label_table(self._with_interval(table, ci, alpha, exp=True), self)


class SoftmaxRegression(_LinearClassifier):
    r"""Multinomial (softmax) regression over K classes.

    :math:`P(y = k \mid x) = \operatorname{softmax}_k(B x + b)`. With a reference class the
    K-1 coefficient rows are log relative-risk ratios against it (the GLM parameterisation);
    with ``reference=None`` all K rows are estimated (the network layer), and the
    unpenalised solution returned is the one whose rows sum to zero.

    Parameters
    ----------
    reference : "first", a class label, or None
        "first" (default) makes the lowest label the reference; a label picks that class.
    penalty, alpha, solver, fit_intercept, max_iter, tol, class_weight, warm_start, \
    random_state, verbose, batch_size, learning_rate, learning_rate_init, momentum, formula, \
    l1_ratio, penalty_factor, standardize, grouped, missing
        As for :class:`LogisticRegression`.

    Attributes
    ----------
    coef_ : ndarray of shape (K-1, p), or (K, p) when ``reference=None``
        Rows in ``classes_`` order, skipping the reference class.
    intercept_ : ndarray of shape (K-1,) or (K,)
    classes_ : ndarray of shape (K,)
        The sorted labels.
    reference_ : label or None
        The reference class used.
    feature_names_in_, n_features_in_, response_name_, n_iter_, converged_, loss_curve_, \
    solver_, aliased_, separation_, loglike_, null_loglike_, deviance_, aic_, bic_, \
    pseudo_r2_, lr_stat_, lr_pvalue_, df_model_, df_resid_, nobs_, results_, has_offset_, \
    weight_type_, n_dropped_, dropped_by_column_
        As for :class:`LogisticRegression` (``null_loglike_``: the model with one intercept
        per class; ``coef_table`` rows are ``(class, term)`` pairs).

    Examples
    --------
    >>> import softlogit as sl
    >>> from softlogit.datasets import load_hsbdemo
    >>> m = sl.SoftmaxRegression(formula="prog ~ write + C(ses)").fit(load_hsbdemo())
    >>> m.coef_.shape, m.reference_
    ((2, 3), 'academic')
    >>> print(m.wald_test("write = 0"))  # in every non-reference class
    Wald chi2(2) = 26.4633, p = 1.793e-06
    >>> print(m.wald_test("general:write = 0"))  # one class's coefficient
    Wald chi2(1) = 7.3200, p = 0.006819
    """

    _parameter_constraints: dict = {
        **_LinearClassifier._parameter_constraints,
        "reference": "no_validation",  # "first", None or any class label
    }

    def __init__(
        self,
        *,
        reference="first",
        penalty=None,
        alpha=0.0,
        solver="auto",
        fit_intercept=True,
        max_iter=None,
        tol=None,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        batch_size=None,
        learning_rate="adaptive",
        learning_rate_init=None,
        momentum=0.0,
        formula=None,
        l1_ratio=0.0,
        penalty_factor=None,
        standardize=False,
        grouped=False,
        missing="raise",
    ):
        super().__init__(
            missing=missing,
            formula=formula,
            l1_ratio=l1_ratio,
            penalty_factor=penalty_factor,
            standardize=standardize,
            grouped=grouped,
            penalty=penalty,
            alpha=alpha,
            solver=solver,
            fit_intercept=fit_intercept,
            max_iter=max_iter,
            tol=tol,
            class_weight=class_weight,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            momentum=momentum,
        )
        self.reference = reference

    def _reference_code(self, classes):
        if self.reference is None:
            return None
        if isinstance(self.reference, str) and self.reference == "first" and "first" not in classes:
            return 0
        hits = np.flatnonzero(classes == self.reference)
        if hits.size == 0:
            raise ValueError(
                f"reference={self.reference!r} is not a class label; classes are "
                f"{list(classes)} (or use 'first' or None)"
            )
        return int(hits[0])

    def _fitted_attributes(self, spec, out):
        fitted = super()._fitted_attributes(spec, out)
        ref = spec.reference
        fitted["reference_"] = None if ref is None else spec.classes[ref]
        return fitted

    def relative_risk_ratios(self, alpha=0.05, cov_type=None, groups=None, base=None, ci="wald"):
        """Relative-risk ratios ``exp(coef)`` against a base class (column ``rrr``) with the
        p-values and the exponentiated interval ends.

        Parameters
        ----------
        alpha, cov_type, groups
            As for :meth:`coef_table`.
        base : class label or None
            The class every other class is compared with. None: the reference class, or
            for a symmetric model (``reference=None``) the first class of ``classes_``. Any
            other class gives the ratios of a model fitted with ``reference=base`` (the
            same probabilities, reparameterised, with the covariance mapped alike).
        ci : {"wald", "profile"}
            Interval method: ``"profile"`` gives the exponentiated profile-likelihood
            intervals (see :meth:`conf_int`; against another ``base``, those of the model
            parameterised against it).

        Returns
        -------
        DataFrame
            Rows ``(class, term)`` over the classes other than ``base``.
        """
        results = self._inference(allow_symmetric=True)
        reference = 0 if self._reference is None else self._reference  # of the results
        rebase = None
        if base is not None:
            hits = np.flatnonzero(self.classes_ == base)
            if hits.size == 0:
                raise ValueError(
                    f"base={base!r} is not a class label; classes are {list(self.classes_)}"
                )
            if hits[0] != reference:
                classes = list(self.classes_)
                rebase = (classes[hits[0]], classes[reference], classes)
        table = results.exp_table(alpha, cov_type, groups, name="rrr", base=rebase)
        if ci == "profile" and rebase is not None:
            results = rebased_results(results, rebase[0], rebase[2])
        table = self._with_interval(table, ci, alpha, results=results, exp=True)
        shown = self.classes_[reference] if base is None else base
        return label_table(table, self, f"reference class {shown_label(shown)}")
