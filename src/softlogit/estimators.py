"""scikit-learn estimators: they validate, choose a solver and store the result.

``LogisticRegression`` is the binary model (one neuron: affine map + sigmoid);
``SoftmaxRegression`` the K-class model (one layer of K neurons: affine maps + softmax).
Both minimise the same objective, the mean weighted cross-entropy plus an optional L2
penalty (glmnet convention, intercepts unpenalised).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

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
from .model.families import Categorical
from .model.fitting import FitSpec, build_objective, fit_model, null_loglike, solver_for
from .model.penalties import make_penalty
from .model.solvers import STOCHASTIC, SolverOptions
from .params import (
    PARAMETER_CONSTRAINTS,
    check_penalty_settings,
    is_fitted_name,
    validate_params,
)
from .stats.margins import marginal_effects
from .stats.results import FitResults
from .stats.summary import Summary

__all__ = ["LogisticRegression", "SoftmaxRegression"]

DEFAULT_MAX_ITER = {"newton": 100, "lbfgs": 1000, "gd": 5000, "sgd": 5000, "adam": 5000, "cd": 100}
DEFAULT_TOL = {"newton": 1e-8, "lbfgs": 1e-8, "gd": 1e-6, "sgd": 1e-6, "adam": 1e-6, "cd": 1e-8}


class _LinearClassifier(ClassifierMixin, BaseEstimator):
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
    ):
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
        if y is not None:
            raise ValueError(
                f"formula={self.formula!r} takes the response from the data: call fit(data) "
                "without y"
            )
        check_unique_columns(X)
        formula = FormulaDesign(self.formula)
        frame, y = formula.fit(X)
        if formula.has_intercept and not self.fit_intercept:
            raise ValueError(
                "fit_intercept=False but the formula has an intercept: write '... - 1' "
                "in the formula instead"
            )
        Xv, fitted = validate_design(self, frame, reset=True, allow_no_features=True)
        fitted["_formula"] = formula
        return Xv, y, fitted

    def _fit_intercept(self, fitted=None):
        """Whether the model has an intercept; ``fitted``: the attributes of a fit under way
        (default: the stored ones)."""
        if self.formula is not None:
            source = self.__dict__ if fitted is None else fitted
            return bool(source["_formula"].has_intercept)
        return bool(self.fit_intercept)

    def _publish(self, fitted):
        """Replace every fitted attribute at once by those of ``fitted``: one assignment of
        the instance dictionary, so a reader sees the old model or the new, never a mix;
        attributes of the old fit that the new one does not have are gone."""
        state = {k: v for k, v in self.__dict__.items() if not is_fitted_name(k)}
        state.update(fitted)
        self.__dict__ = state

    def _snapshot(self):
        """A shallow copy of the estimator as it is now (its dictionary read once): readers
        work on it, so a fit published meanwhile cannot mix two models under them."""
        snap = object.__new__(type(self))
        snap.__dict__.update(self.__dict__)
        return snap

    # ----------------------------------------------------------------- settings
    def _reference_code(self, classes):
        return 0

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
        else:
            codes = self._codes_for(y, classes, X.shape[0])
        self._check_binary(classes)
        weight = validate_weights(sample_weight, X.shape[0])
        weight = weight * self._class_weights(classes, codes)[codes]
        if new_fit:
            _require_two_weighted_classes(classes, np.bincount(codes, weight, classes.size))
        offset = validate_offset(offset, X.shape[0], classes.size)
        return self._make_spec(X, classes, codes, weight, offset, fitted)

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

    def _external_spec(self, X, y, sample_weight, offset):
        """The fit spec of streamed (``scan_parquet``/``scan_csv``) or Dask data, and its
        design attributes: one descriptive pass for the labels and class totals, nothing
        loaded into memory."""
        if self.formula is not None:
            raise ValueError(
                "formula= needs in-memory data; for streamed or Dask data, encode the columns "
                "first and name them with features="
            )
        data = external_data(X, y, sample_weight, offset)
        summary = data.describe()
        classes = summary.classes
        if classes.size < 2:
            raise ValueError(f"y has a single class {classes[0]!r}: classification needs 2")
        self._check_binary(classes)
        bound = BoundRows(
            data, summary, class_factor(self.class_weight, classes, summary.class_counts)
        )
        _require_two_weighted_classes(classes, bound.class_totals)
        fitted = {"n_features_in_": data.n_features}
        names = getattr(data, "feature_names", None)
        if names is not None:
            fitted["feature_names_in_"] = np.asarray(names, dtype=object)
        return self._make_spec(bound, classes, None, None, None, fitted), fitted

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
        unknown = np.setdiff1d(y_classes, classes)
        if unknown.size:
            raise ValueError(f"y contains labels {list(unknown)} not in classes {list(classes)}")
        return np.searchsorted(classes, y_classes)[codes]

    # ----------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, offset=None):
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
        y : array-like of shape (n,), optional
            Class labels of any sortable type; with ``formula`` it comes from the formula's
            left side and must not be passed.
        sample_weight : array-like of shape (n,), optional
            Non-negative prior weights (multiplied by ``class_weight``).
        offset : array-like of shape (n,) or (n, K), optional
            Known part of the linear predictor, added before the inverse link.

        Returns
        -------
        self
        """
        check_penalty_settings(self)
        old = self._snapshot()
        fitted = {"response_name_": _response_name(X, y)}
        if is_external(X):
            spec, design = self._external_spec(X, y, sample_weight, offset)
        else:
            X, y, design = self._fit_design(X, y)
            spec = self._spec(X, y, sample_weight, offset, fitted=design)
        fitted.update(design)
        if self.formula is not None:
            fitted["response_name_"] = design["_formula"].response
        spec.options = self._options(solver_for(spec))
        out = fit_model(spec, theta0=old._warm_start_theta(spec))
        fitted.update(self._fitted_attributes(spec, out))
        fitted.update(self._result_attributes(spec, out))
        self._publish(fitted)
        return self

    def _result_attributes(self, spec, out):
        """The inference object and its fit statistics, as attributes."""
        objective, theta = out.objective, out.theta
        if spec.reference is None:
            # statistics from the equivalent reference-0 fit: the solver's own when it was
            # that fit (its last pass may hold the Hessian at theta), else a new one
            if getattr(objective.family, "reference", None) != 0:
                objective = build_objective(spec, Categorical(spec.classes.size, 0))
            full = np.column_stack([out.coef, out.intercept]) if spec.fit_intercept else out.coef
            theta = (full[1:] - full[0]).ravel()
        free = np.ones(objective.shape, dtype=bool)
        free[:, : objective.p][:, out.aliased] = False
        rows = None if self._binary_only else list(np.delete(spec.classes, spec.reference or 0))
        r = FitResults(objective, theta, free.ravel(), spec.feature_names, rows, null_loglike(spec))
        stats = ("loglike", "null_loglike", "deviance", "aic", "bic", "pseudo_r2", "lr_stat")
        stats += ("lr_pvalue", "df_model", "df_resid", "nobs")
        return {"results_": r, **{f"{name}_": getattr(r, name) for name in stats}}

    def _warm_start_theta(self, spec):
        """The stored solution as a start, when ``warm_start`` is on and the layouts match."""
        if not (self.warm_start and hasattr(self, "coef_")) or not self._same_layout(spec):
            return None
        return self._stored_theta(spec.fit_intercept)

    def _same_layout(self, spec):
        """Whether the stored fit used the classes, features and parameter rows of ``spec``."""
        K = spec.classes.size
        mapped = spec.reference is None and solver_for(spec) not in STOCHASTIC
        return (
            np.array_equal(self.classes_, spec.classes)
            and self.coef_.shape == ((K if spec.reference is None else K - 1), spec.X.shape[1])
            and self._reference == spec.reference
            and not (mapped and spec.penalty.is_zero)
        )

    def _fitted_attributes(self, spec, out):
        """The fitted layer (coefficients, classes, how the fit went) as attributes."""
        intercept = out.intercept if spec.fit_intercept else np.zeros(out.coef.shape[0])
        return {
            "classes_": spec.classes,
            "coef_": out.coef,
            "intercept_": intercept,
            "n_iter_": out.n_iter,
            "converged_": bool(out.converged),
            "loss_curve_": list(out.history),
            "solver_": out.solver,
            "aliased_": out.aliased,
            "separation_": out.separation,
            "_family": out.family,
            "_reference": spec.reference,
            "_train_state": out.state,
        }

    @available_if(lambda self: self.solver in STOCHASTIC)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None, offset=None):
        """One epoch of the gradient-descent solver on a batch of data (streaming use).

        The first call needs ``classes`` (all labels that will ever appear) unless the model
        is already fitted; later calls continue from the stored optimiser state.
        """
        check_penalty_settings(self)
        old = self._snapshot()
        first = not hasattr(old, "coef_")
        if first:
            X, y, fitted = self._fit_design(X, y)
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            classes = np.unique(np.asarray(classes))
            if classes.size < 2:
                raise ValueError("classes must hold at least 2 classes")
        else:
            X, y = old._design(X, y, reset=False)
            fitted, classes = {}, old.classes_
        spec = old._spec(X, y, sample_weight, offset, classes=classes, fitted=fitted or None)
        spec.options = self._options(self.solver, max_iter=1)
        state = None if first else old._train_state
        theta0 = None if first else old._stored_theta(spec.fit_intercept)
        out = fit_model(spec, theta0=theta0, state=state, diagnose=False)
        new = self._fitted_attributes(spec, out)
        new["loss_curve_"] = ([] if first else old.loss_curve_) + new["loss_curve_"]
        new["n_iter_"] = out.state.epoch
        kept = {k: v for k, v in vars(old).items() if is_fitted_name(k)}
        self._publish({**kept, **fitted, **new})
        return self

    def _stored_theta(self, fit_intercept):
        """The fitted parameters as the flat ``[coef, intercept]`` vector of the objective."""
        T = np.column_stack([self.coef_, self.intercept_]) if fit_intercept else self.coef_
        return T.ravel()

    # ----------------------------------------------------------------- inference
    @property
    def has_lasso_penalty(self):
        """bool: whether the penalty has a lasso part, ``alpha * l1_ratio * |b|_1`` with
        ``alpha > 0`` and ``l1_ratio > 0``. Such fits select variables, so they give no
        standard errors, tests or intervals (inference after selection is not valid)."""
        ratio = 1.0 if self.penalty == "l1" else self.l1_ratio
        return self.penalty in ("l1", "elasticnet") and self.alpha > 0 and ratio > 0

    def _inference(self):
        model = self._snapshot()  # one model, even if a fit publishes meanwhile
        check_is_fitted(model, "results_")
        if model.has_lasso_penalty:
            raise ValueError(
                "no standard errors after lasso/elastic-net selection: the naive covariance "
                "ignores the selection and its p-values are invalid. Refit the selected terms "
                "without penalty on new data, or use penalty='l2' (sandwich covariance)"
            )
        if getattr(model, "_reference", 0) is None:
            raise ValueError(
                "standard errors need an identifiable parameterisation: refit with "
                "reference='first' (or a class label) instead of reference=None"
            )
        return model.results_

    def coef_table(self, alpha=0.05, cov_type="nonrobust", groups=None):
        """Coefficient table: ``coef, std_err, z, p_value, ci_low, ci_high`` (a DataFrame).

        Parameters
        ----------
        alpha : float
            Intervals have coverage ``1 - alpha``.
        cov_type : {"nonrobust", "HC0", "HC1", "cluster"}
            Inverse Fisher information or a sandwich estimator (see
            :mod:`softlogit.stats.inference` for the conventions).
        groups : array-like of shape (n,), optional
            Cluster labels of the training rows, with ``cov_type="cluster"``.
        """
        return self._inference().coef_table(alpha, cov_type, groups)

    def cov_params(self, cov_type="nonrobust", groups=None):
        """Covariance matrix of the estimates over the rows of :meth:`coef_table`."""
        return self._inference().cov_params(cov_type, groups)

    def wald_test(self, hypotheses, cov_type="nonrobust", groups=None):
        """Wald chi-squared test of linear hypotheses such as ``"gpa = 0, gre = 0"``.

        Parameters
        ----------
        hypotheses : str or list of str
            Restrictions on named terms (the ``coef_table`` rows), separated by commas:
            ``"gpa = 0, gre = 0"``, ``"gpa = gre"``, ``"gpa - 2*gre = 1"``; or a list of
            equations, or of terms that each equal 0. Softmax: an equation holds in every
            non-reference class; ``"class:term"`` names one class's coefficient. See
            :meth:`softlogit.stats.results.FitResults.wald_test`.
        cov_type, groups
            Covariance of the estimates, as for :meth:`coef_table`.

        Returns
        -------
        TestResult
            ``statistic``, ``df`` (independent restrictions) and ``pvalue``; ``str()`` gives
            ``"Wald chi2(df) = ..., p = ..."``.
        """
        return self._inference().wald_test(hypotheses, cov_type, groups)

    def marginal_effects(
        self, X=None, at="overall", dummy=False, alpha=0.05, cov_type="nonrobust", groups=None
    ):
        """Marginal effects dP(y=k)/dx with delta-method standard errors, z, p and
        intervals: averaged over rows (``at="overall"``) or at the means (``at="mean"``);
        ``dummy=True`` treats 0/1 columns as discrete changes. ``X=None`` uses the training
        rows. See :func:`softlogit.stats.margins.marginal_effects`."""
        return marginal_effects(self, X, at, dummy, alpha, cov_type, groups)

    def summary(self, alpha=0.05, cov_type="nonrobust", groups=None):
        """The model summary: ``str()`` gives a text report, notebooks render its HTML.

        It shows the model, observations, classes and reference, log-likelihoods, the LR
        test against the intercept-only model, McFadden's pseudo-R2, AIC/BIC, convergence,
        the coefficient table and notes (separation, aliased columns, penalty).
        """
        model = self._snapshot()
        check_is_fitted(model, "results_")
        return Summary.from_model(model, alpha, cov_type, groups)

    # ----------------------------------------------------------------- prediction
    def save(self, path):
        """Write the fitted model to ``path`` as a JSON model file (atomically; no pickle);
        read it back with :func:`softlogit.load` (see :func:`softlogit.save`). It writes
        one model even while another thread refits this one."""
        from .product.modelfile import save

        save(self._snapshot(), path)

    def to_onnx(self, *, name=None, opset=None):
        """The fitted model as an ONNX graph: ``Gemm`` then ``Sigmoid`` (one neuron) or
        ``Softmax`` (one layer), with ``label`` and ``probabilities`` outputs; see
        :func:`softlogit.product.onnx_export.to_onnx`."""
        from .product.onnx_export import to_onnx

        return to_onnx(self, name=name, opset=opset)

    def response_values(self, data):
        """The class labels of a formula model's data frame, read from the formula's left
        side (``"admit ~ gre"`` reads ``data["admit"]``).

        Parameters
        ----------
        data : data frame
            Holds the response column (and may hold the features).

        Returns
        -------
        ndarray of shape (n,)
        """
        check_is_fitted(self, "coef_")
        if self.formula is None:
            raise ValueError("response_values needs a formula model; pass y to this model")
        return np.asarray(self._design(data, None, reset=False, need_y=True)[1]).ravel()

    def _free_logits(self, X, offset):
        check_is_fitted(self, "coef_")
        X, _ = self._design(X, None, reset=False)
        eta = np.asarray(X @ self.coef_.T) + self.intercept_
        if offset is not None:
            o = validate_offset(offset, X.shape[0], self.classes_.size)
            eta = eta + self._family.offset_to_free(o)
        return eta

    def decision_function(self, X, offset=None):
        """Linear predictor: log-odds (n,) for two classes, else the K full logits (n, K)."""
        model = self._snapshot()
        full = model._full(model._free_logits(X, offset))
        return full[:, 1] - full[:, 0] if model.classes_.size == 2 else full

    def _full(self, eta):
        return self._family.full_logits(eta)

    def predict_proba(self, X, offset=None, return_ci=False, alpha=0.05, cov_type="nonrobust"):
        """Class probabilities (n, K): sigmoid (binary) or softmax of the linear predictor.

        Parameters
        ----------
        X : array-like, sparse matrix or data frame of shape (n, p)
        offset : array-like of shape (n,) or (n, K), optional
        return_ci : bool
            Also return delta-method intervals, computed on the log-odds scale of each
            probability (:meth:`softlogit.stats.results.FitResults.proba_interval`).
        alpha, cov_type
            Interval coverage ``1 - alpha`` and covariance, as for :meth:`coef_table`.

        Returns
        -------
        proba : ndarray of shape (n, K)
            Columns in ``classes_`` order. With ``return_ci=True`` the tuple
            ``(proba, lower, upper)`` of three such arrays.
        """
        model = self._snapshot()
        eta = model._free_logits(X, offset)
        if not return_ci:
            return model._family.probabilities(eta)
        check_is_fitted(model, "results_")
        X, _ = model._design(X, None, reset=False)
        res = model.results_
        o = None
        if offset is not None:
            o = validate_offset(offset, X.shape[0], model.classes_.size)
            o = res._objective.family.offset_to_free(o)
        return res.proba_interval(X, o, alpha, cov_type)

    def predict_log_proba(self, X, offset=None):
        """Log class probabilities (n, K), computed in log space (finite for any logit)."""
        model = self._snapshot()
        eta = model._free_logits(X, offset)
        return model._family.log_probabilities(eta)

    def predict(self, X, offset=None):
        """Most probable class label for each row."""
        model = self._snapshot()
        full = model._full(model._free_logits(X, offset))
        return model.classes_[np.argmax(full, axis=1)]

    def objective(self, X, y=None, sample_weight=None, offset=None):
        """The training objective (mean weighted cross-entropy + penalty) at the fitted
        parameters on data ``X, y`` (with ``formula``, ``y`` comes from the data)."""
        model = self._snapshot()
        check_is_fitted(model, "coef_")
        X, y = model._design(X, y, reset=False, need_y=True)
        spec = model._spec(X, y, sample_weight, offset, classes=model.classes_)
        objective = build_objective(spec, model._family)
        theta = model._stored_theta(spec.fit_intercept)
        return objective.value(theta) + spec.penalty.l1_value(objective.split(theta)[0])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_class = not self._binary_only
        return tags


def _response_name(X, y):
    """The label column's name when the input carries one (a named series, a scan's
    target), else None."""
    target = getattr(X, "target", None)  # scan_parquet / scan_csv
    if isinstance(target, str):
        return target
    name = getattr(y, "name", None)
    return name if isinstance(name, str) else None


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
    penalty : {None, "l2", "l1", "elasticnet", "firth"}
        None fits the plain maximum-likelihood estimate; "l1"/"elasticnet" are solved by
        coordinate descent (``solver="cd"``); "firth" is Firth's bias reduction (binary).
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

    Attributes
    ----------
    coef_ : ndarray of shape (1, p)
        Log-odds ratios of ``classes_[1]`` against ``classes_[0]``.
    intercept_ : ndarray of shape (1,)
    classes_ : ndarray of shape (2,)
        The sorted labels; the model is :math:`P(y = \text{classes\_}[1])`.
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
        weights.
    results_ : FitResults
        The inference object (:class:`softlogit.stats.results.FitResults`) behind
        ``coef_table``, ``cov_params``, ``wald_test`` and ``predict_proba(return_ci=True)``.

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

    def odds_ratios(self, alpha=0.05, cov_type="nonrobust", groups=None):
        """``exp(coef)`` (column ``odds_ratio``) with the p-values and the exponentiated
        interval ends: odds ratios per unit change."""
        return self._inference().exp_table(alpha, cov_type, groups, name="odds_ratio")


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
    l1_ratio, penalty_factor, standardize, grouped
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
    pseudo_r2_, lr_stat_, lr_pvalue_, df_model_, df_resid_, nobs_, results_
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

    def relative_risk_ratios(self, alpha=0.05, cov_type="nonrobust", groups=None):
        """``exp(coef)`` (column ``rrr``) with the p-values and the exponentiated interval
        ends: relative-risk ratios against the reference class."""
        return self._inference().exp_table(alpha, cov_type, groups, name="rrr")
