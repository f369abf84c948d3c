"""What a fitted estimator computes on new rows: linear predictors, probabilities, labels,
the accuracy and the training objective.

The estimators of :mod:`softlogit.estimators` inherit :class:`Prediction`. Each method reads
one snapshot of the model (see :class:`softlogit.fitted_state.FittedState`), so a refit in
another thread cannot mix two models under it. A model fitted with an offset needs the
offset of the new rows too (as R's ``predict`` needs it in ``newdata``).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.utils.validation import check_is_fitted

from .data.design import validate_offset
from .data.missing import feature_missing_rows, spread, take_rows
from .model.fitting import build_objective

__all__ = ["Prediction"]


class Prediction:
    """Predictions of a fitted LogisticRegression or SoftmaxRegression (a mixin of the
    estimators)."""

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

    def _missing_rows(self, X, offset):
        """Rows of ``X`` with a missing feature (or offset) when the model was fitted with
        ``missing="drop"``: a boolean array, or None (no such row, or ``"raise"``)."""
        check_is_fitted(self, "coef_")
        if getattr(self, "missing", "raise") != "drop" or X is None:
            return None
        return feature_missing_rows(X, offset, self._formula if self.formula is not None else None)

    def _placed(self, X, offset, compute, fill=np.nan, tail=(), parts=1):
        """``compute(X, offset)``, on the complete rows only when the model drops missing
        values (R's ``na.exclude``): a row with a missing feature gets ``fill`` in its place
        (NaN; None for labels). ``tail``: the shape of one row's output; ``parts``: how many
        arrays ``compute`` returns (a tuple when more than one)."""
        missing = self._missing_rows(X, offset)
        if missing is None:
            return compute(X, offset)
        if missing.all():
            out = np.empty((missing.size, *tail), dtype=object if fill is None else float)
            out[...] = fill
            return out if parts == 1 else tuple(out.copy() for _ in range(parts))
        keep = np.flatnonzero(~missing)
        return spread(compute(take_rows(X, keep), take_rows(offset, keep)), missing, fill)

    def _free_logits(self, X, offset):
        check_is_fitted(self, "coef_")
        if offset is None and getattr(self, "has_offset_", False):
            raise ValueError(
                "the model was fitted with an offset: pass offset= with the offset of these "
                "rows (as R's predict needs the offset in newdata); offset=np.zeros(n) "
                "predicts without it"
            )
        rows = X
        X, _ = self._design(X, None, reset=False)
        eta = np.asarray(X @ self.coef_.T) + self.intercept_
        offset = self._with_formula_offset(rows, offset, X.shape[0])
        if offset is not None:
            o = validate_offset(offset, X.shape[0], self.classes_.size)
            eta = eta + self._family.offset_to_free(o)
        return eta

    def _with_formula_offset(self, rows, offset, n_rows):
        """``offset`` plus the ``offset(...)`` terms of a formula model evaluated on the
        data frame ``rows`` (the offset passed alone when the formula has none)."""
        design = getattr(self, "_formula", None) if self.formula is not None else None
        if design is None or not design.has_offset:
            return offset
        terms = design.transform_parts(rows)[1]
        if offset is None:
            return terms
        given = validate_offset(offset, n_rows, self.classes_.size)
        return given + (terms if given.ndim == 1 else terms[:, None])

    def decision_function(self, X, offset=None):
        """Linear predictor: log-odds (n,) for two classes, else the K full logits (n, K)."""
        model = self._snapshot()
        check_is_fitted(model, "coef_")
        K = model.classes_.size

        def compute(X, offset):
            full = model._full(model._free_logits(X, offset))
            return full[:, 1] - full[:, 0] if K == 2 else full

        return model._placed(X, offset, compute, tail=() if K == 2 else (K,))

    def _full(self, eta):
        return self._family.full_logits(eta)

    def predict_proba(self, X, offset=None, return_ci=False, alpha=0.05, cov_type=None):
        """Class probabilities (n, K): sigmoid (binary) or softmax of the linear predictor.

        Parameters
        ----------
        X : array-like, sparse matrix or data frame of shape (n, p)
        offset : array-like of shape (n,) or (n, K), optional
            Required when the model was fitted with an offset (``has_offset_``).
        return_ci : bool
            Also return delta-method intervals, computed on the log-odds scale of each
            probability (:meth:`softlogit.stats.results.FitResults.proba_interval`).
        alpha, cov_type
            Interval coverage ``1 - alpha`` and covariance, as for :meth:`coef_table`.

        Returns
        -------
        proba : ndarray of shape (n, K)
            Columns in ``classes_`` order. With ``return_ci=True`` the tuple
            ``(proba, lower, upper)`` of three such arrays. A model fitted with
            ``missing="drop"`` gives a row with a missing feature NaN in every column
            (R's ``na.exclude``); so do ``predict_log_proba`` and ``decision_function``.
        """
        model = self._snapshot()

        def compute(X, offset):
            return model._proba(X, offset, return_ci, alpha, cov_type)

        check_is_fitted(model, "coef_")
        tail = (model.classes_.size,)
        return model._placed(X, offset, compute, tail=tail, parts=3 if return_ci else 1)

    def _proba(self, X, offset, return_ci, alpha, cov_type):
        """:meth:`predict_proba` of rows without missing values."""
        model = self
        eta = model._free_logits(X, offset)
        if not return_ci:
            return model._family.probabilities(eta)
        check_is_fitted(model, "results_")
        rows = X
        X, _ = model._design(X, None, reset=False)
        res = model.results_
        o = None
        offset = model._with_formula_offset(rows, offset, X.shape[0])
        if offset is not None:
            o = validate_offset(offset, X.shape[0], model.classes_.size)
            o = res._objective.family.offset_to_free(o)
        return res.proba_interval(X, o, alpha, cov_type)

    def predict_log_proba(self, X, offset=None):
        """Log class probabilities (n, K), computed in log space (finite for any logit)."""
        model = self._snapshot()

        def compute(X, offset):
            return model._family.log_probabilities(model._free_logits(X, offset))

        check_is_fitted(model, "coef_")
        return model._placed(X, offset, compute, tail=(model.classes_.size,))

    def predict(self, X, offset=None):
        """Most probable class label for each row.

        For a model fitted with ``missing="drop"``, a row with a missing feature gets None
        (the result is then an object array, as pandas holds labels with gaps); the other
        rows their label."""
        model = self._snapshot()

        def compute(X, offset):
            full = model._full(model._free_logits(X, offset))
            return model.classes_[np.argmax(full, axis=1)]

        return model._placed(X, offset, compute, fill=None)

    def score(self, X, y=None, sample_weight=None, offset=None):
        """Mean accuracy of :meth:`predict` on ``X`` against the labels ``y``.

        A formula model reads ``y`` from the data frame when none is passed, so
        ``cross_val_score(model, data)`` and ``GridSearchCV(model, grid).fit(data)`` score it
        with the default scoring. scikit-learn's named scorers (``scoring="roc_auc"``, ...)
        compare with the ``y`` that cross-validation passes them: give the response column
        too, ``cross_val_score(model, data, data["admit"], scoring="roc_auc")``.

        Parameters
        ----------
        X : array-like, sparse matrix or data frame of shape (n, p)
            Rows to predict; with ``formula``, the data frame (holding the response when
            ``y`` is None).
        y : array-like of shape (n,), optional
            True labels; needed unless the model has a formula.
        sample_weight : array-like of shape (n,), optional
            Weights of the rows in the accuracy.
        offset : array-like of shape (n,) or (n, K), optional
            The rows' offset, needed when the model was fitted with one.

        Returns
        -------
        float
            A model fitted with ``missing="drop"`` scores the rows it predicts (those
            without a missing feature).
        """
        model = self._snapshot()
        check_is_fitted(model, "coef_")
        if y is None:
            if model.formula is None:
                raise ValueError(
                    "score needs the true labels y (only a formula model reads them from "
                    "its data frame)"
                )
            y = model.response_values(X)
        predicted = model.predict(X, offset=offset)
        missing = model._missing_rows(X, offset)
        if missing is not None:  # missing="drop": the rows it predicts (R's na.exclude)
            keep = ~missing
            y, predicted = np.asarray(y)[keep], predicted[keep].astype(model.classes_.dtype)
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[keep]
        return float(accuracy_score(y, predicted, sample_weight=sample_weight))

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
