"""The statistics of a fitted estimator: coefficient tables, covariance, tests, marginal
effects and the summary, delegated to its :class:`~softlogit.stats.results.FitResults`.

The estimators of :mod:`softlogit.estimators` inherit :class:`Inference`. Lasso and
elastic-net fits give no standard errors (inference after selection is not valid).
"""

from __future__ import annotations

from sklearn.utils.validation import check_is_fitted

from .stats import effects
from .stats.margins import marginal_effects
from .stats.summary import Summary

__all__ = ["Inference"]


class Inference:
    """Inference methods of a fitted LogisticRegression or SoftmaxRegression (a mixin of
    the estimators)."""

    @property
    def has_lasso_penalty(self):
        """bool: whether the penalty has a lasso part, ``alpha * l1_ratio * |b|_1`` with
        ``alpha > 0`` and ``l1_ratio > 0``. Such fits select variables, so they give no
        standard errors, tests or intervals (inference after selection is not valid)."""
        ratio = 1.0 if self.penalty == "l1" else self.l1_ratio
        return self.penalty in ("l1", "elasticnet") and self.alpha > 0 and ratio > 0

    def _inference(self, allow_symmetric=False):
        """The fit's :class:`~softlogit.stats.results.FitResults`, refused after lasso
        selection; a symmetric softmax (``reference=None``) is refused too unless
        ``allow_symmetric``: its results are those of the identified layout against the first
        class, right for what does not depend on the layout (probabilities, marginal
        effects, ratios against a chosen class) but not for its own K-row coefficients."""
        model = self._snapshot()  # one model, even if a fit publishes meanwhile
        check_is_fitted(model, "results_")
        if model.has_lasso_penalty:
            raise ValueError(
                "no standard errors after lasso/elastic-net selection: the naive covariance "
                "ignores the selection and its p-values are invalid. Refit the selected terms "
                "without penalty on new data, or use penalty='l2' (sandwich covariance)"
            )
        if getattr(model, "_reference", 0) is None and not allow_symmetric:
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

    def summary(self, alpha=0.05, cov_type="nonrobust", groups=None, signif_stars=None):
        """The model summary: ``str()`` gives a text report, notebooks render its HTML.

        It shows the model, observations, classes and reference, log-likelihoods, the LR
        test against the intercept-only model, McFadden's pseudo-R2, AIC/BIC, convergence,
        the coefficient table and notes (separation, aliased columns, penalty).

        Parameters
        ----------
        alpha, cov_type, groups
            As for :meth:`coef_table`.
        signif_stars : bool, optional
            Add R's significance codes (``***`` for p < 0.001, ``**`` < 0.01, ``*`` < 0.05,
            ``.`` < 0.1) and their legend; default
            :data:`softlogit.stats.summary.SIGNIF_STARS` (False).

        Returns
        -------
        Summary
        """
        model = self._snapshot()
        check_is_fitted(model, "results_")
        return Summary.from_model(model, alpha, cov_type, groups, signif_stars=signif_stars)

    # ---- issue 13: marginal effects by variable
    def marginal_effects(
        self,
        X=None,
        at="overall",
        dummy=False,
        alpha=0.05,
        cov_type="nonrobust",
        groups=None,
        *,
        kind="variable",
        variables=None,
        slope="dydx",
        by=None,
        weights=None,
        offset=None,
    ):
        """Marginal effects with delta-method standard errors, z, p and intervals.

        ``kind="variable"`` (default; Stata's ``margins, dydx(*)``): one row per original
        variable through every formula term that contains it (``gpa`` and ``I(gpa**2)``
        together), factors as counterfactual contrasts against their reference level; see
        :func:`softlogit.stats.effects.effects_by_variable`. A formula model needs its data
        frame as ``X``. ``kind="column"`` (statsmodels' ``get_margeff``): one row per design
        column, each differentiated as if it could move alone; see
        :func:`softlogit.stats.margins.marginal_effects`. The two agree for a model of plain
        numeric columns (no transforms, interactions or factors).

        Parameters
        ----------
        X : data frame or array-like, optional
            Rows to average over. None: the training rows (models fitted on arrays).
        at : {"overall", "mean"} or dict
            Average over the rows (AME), at the means (MEM), or (``kind="variable"``) at
            representative values ``{"gpa": [3.0, 3.5], "rank": [1]}``.
        dummy : bool
            0/1 numeric variables (columns) as discrete changes ``1 - 0``.
        alpha, cov_type, groups
            As for :meth:`coef_table`.
        kind : {"variable", "column"}
        variables, slope, by, weights, offset
            ``kind="variable"`` only: see :func:`softlogit.stats.effects.avg_slopes`.
        """
        if kind == "column":
            return marginal_effects(self, X, at, dummy, alpha, cov_type, groups)
        if kind != "variable":
            raise ValueError(f"kind={kind!r} is not 'variable' or 'column'")
        return effects.effects_by_variable(
            self, X, at, dummy, alpha, cov_type, groups, variables, slope, by, weights, offset
        )

    def avg_slopes(self, data=None, variables=None, slope="dydx", **options):
        """Average slopes (and elasticities) of the predicted probabilities per variable;
        see :func:`softlogit.stats.effects.avg_slopes` for ``by``, ``at``, ``weights``,
        ``offset``, ``eps``, ``alpha``, ``cov_type`` and ``groups``."""
        return effects.avg_slopes(self, data, variables, slope, **options)

    def avg_comparisons(self, data=None, variables=None, contrast="reference", **options):
        """Average counterfactual comparisons of factor levels (against the reference or
        pairwise); see :func:`softlogit.stats.effects.avg_comparisons`."""
        return effects.avg_comparisons(self, data, variables, contrast, **options)

    def avg_predictions(self, data=None, by=None, **options):
        """Average predicted probabilities, by group or at counterfactual values; see
        :func:`softlogit.stats.effects.avg_predictions`."""
        return effects.avg_predictions(self, data, by, **options)
