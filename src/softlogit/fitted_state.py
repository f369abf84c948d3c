"""How an estimator stores a fit: the fitted attributes, published all at once, read from
one snapshot, and the doors to the model file and the ONNX graph.

The estimators of :mod:`softlogit.estimators` inherit :class:`FittedState`; a fit computes
its attributes apart from ``self`` and :meth:`FittedState._publish` swaps them in with one
assignment, so a reader (predicting, saving, summarising) in another thread sees the old
model or the new one, never a mix.
"""

from __future__ import annotations

import numpy as np

from .model.families import Categorical
from .model.fitting import (
    build_objective,
    fits_in_reference,
    has_offset,
    null_loglike,
    solver_for,
)
from .model.solvers import STOCHASTIC
from .params import is_fitted_name
from .stats.corrected_results import CorrectedFitResults
from .stats.grouped import grouped_statistics
from .stats.results import FitResults

__all__ = ["FittedState"]

#: The fit statistics of :class:`FitResults` that are also estimator attributes (``name_``).
RESULT_STATISTICS = (
    "loglike",
    "null_loglike",
    "deviance",
    "aic",
    "bic",
    "pseudo_r2",
    "lr_stat",
    "lr_pvalue",
    "df_model",
    "df_resid",
    "nobs",
)


class FittedState:
    """The fitted attributes of a LogisticRegression or SoftmaxRegression and how they are
    stored, read and written (a mixin of the estimators)."""

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
            "has_offset_": bool(has_offset(spec)),
            "_family": out.family,
            "_reference": spec.reference,
            "_train_state": out.state,
        }

    def _result_attributes(self, spec, out, weights=None):
        """The inference object and its fit statistics, as attributes; ``weights``: what
        the weights mean (a :class:`~softlogit.stats.survey.WeightDesign`, default
        frequency)."""
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
        args = (objective, theta, free.ravel(), spec.feature_names, rows, null_loglike(spec))
        r = (
            FitResults(*args, weights=weights)
            if out.covariance is None
            else CorrectedFitResults(*args, out.covariance)
        )
        stats = {f"{name}_": getattr(r, name) for name in RESULT_STATISTICS}
        if spec.counts is not None:  # a counts response: R's grouped scale
            scale, origin, n_input = spec.counts
            r.set_counts_units(origin, scale.n_rows, n_input)
            stats.update(grouped_statistics(r, scale))
        return {"results_": r, "weight_type_": r.weight_type, **stats}

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
            and not (mapped and fits_in_reference(spec.penalty))
        )

    def _stored_theta(self, fit_intercept):
        """The fitted parameters as the flat ``[coef, intercept]`` vector of the objective."""
        T = np.column_stack([self.coef_, self.intercept_]) if fit_intercept else self.coef_
        return T.ravel()

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
