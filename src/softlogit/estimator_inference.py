"""The statistics of a fitted estimator: coefficient tables, covariance, tests, marginal
effects and the summary, delegated to its :class:`~softlogit.stats.results.FitResults`.

The estimators of :mod:`softlogit.estimators` inherit :class:`Inference`. Lasso and
elastic-net fits give no standard errors (inference after selection is not valid).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .data.external import is_external
from .stats import effects
from .stats.goodness import goodness_of_fit, model_auc, model_delong_test
from .stats.influence import influence, write_diagnostics
from .stats.margins import marginal_effects
from .stats.modelled import label_table
from .stats.profile import profile_intervals
from .stats.residuals import residuals
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

    def coef_table(self, alpha=0.05, cov_type=None, groups=None, ci="wald"):
        """Coefficient table: ``coef, std_err, z, p_value, ci_low, ci_high`` (a DataFrame).

        Parameters
        ----------
        alpha : float
            Intervals have coverage ``1 - alpha``.
        cov_type : {None, "nonrobust", "HC0", "HC1", "cluster", "survey"}
            Inverse Fisher information or a sandwich estimator (see
            :mod:`softlogit.stats.inference` for the conventions); ``"survey"``: the
            design-based covariance of probability weights (:mod:`softlogit.stats.survey`).
            None (the default of every inference method): the weight type's own,
            ``"survey"`` under probability weights, else ``"nonrobust"``.
        groups : array-like of shape (n,), optional
            Cluster labels of the training rows, with ``cov_type="cluster"``.
        ci : {"wald", "profile"}
            Interval method; ``"profile"``: profile-likelihood intervals (see
            :meth:`conf_int`), whatever ``cov_type`` (which still sets ``std_err, z,
            p_value``).
        """
        table = self._inference().coef_table(alpha, cov_type, groups)
        return label_table(self._with_interval(table, ci, alpha), self)

    def cov_params(self, cov_type=None, groups=None):
        """Covariance matrix of the estimates over the rows of :meth:`coef_table`."""
        return self._inference().cov_params(cov_type, groups)

    def wald_test(self, hypotheses, cov_type=None, groups=None):
        """Wald chi-squared test of linear hypotheses such as ``"gpa = 0, gre = 0"``.

        Parameters
        ----------
        hypotheses : str or list of str
            Restrictions on named terms (the ``coef_table`` rows), separated by commas:
            ``"gpa = 0, gre = 0"``, ``"gpa = gre"``, ``"gpa - 2*gre = 1"``,
            ``"2*(gpa - gre) = 1"``; an expression without ``=`` equals 0 and a chain
            ``"a = b = 0"`` is two restrictions (as patsy and car read them); or a list of
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

    def summary(
        self,
        alpha=0.05,
        cov_type=None,
        groups=None,
        signif_stars=None,
        goodness_of_fit=False,
    ):
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
        goodness_of_fit : bool
            Add a goodness-of-fit block computed on the training rows
            (:meth:`goodness_of_fit`: Pearson, Hosmer-Lemeshow, Brier, calibration, AUC);
            off by default, since streamed training rows take one more pass.

        Returns
        -------
        Summary
        """
        model = self._snapshot()
        check_is_fitted(model, "results_")
        fit = model.goodness_of_fit(alpha=alpha) if goodness_of_fit else None
        return Summary.from_model(
            model, alpha, cov_type, groups, signif_stars=signif_stars, goodness=fit
        )

    # ---- issue 13: tests of terms and models
    def anova(self, test="LRT", type="sequential"):
        r"""Analysis-of-deviance table of the model's terms, as R's ``anova.glm``,
        ``drop1`` and car's ``Anova``.

        A term is a formula term with all its design columns (``C(rank)``: every dummy), in
        every non-reference class of a softmax model; without a formula each feature is a
        term. Restricted models are refitted on the training rows with the same weights,
        class weights and offset (see :mod:`softlogit.stats.term_tests`).

        Parameters
        ----------
        test : {"LRT", "Rao"}
            Likelihood ratio :math:`D_0 - D_1`, or Rao's score statistic
            :math:`U^T I^{-1} U` of the smaller model within the larger one (``"Chisq"``
            and ``"LR"`` mean ``"LRT"``).
        type : {"sequential", "drop1", 2, 3}
            * ``"sequential"`` (R's ``anova(fit, test=)``): terms added one at a time in the
              formula's order (by degree, then as written); columns ``df, deviance,
              resid_df, resid_dev, [rao,] p_value``, first row ``NULL`` (intercept only).
            * ``"drop1"`` (R's ``drop1(fit, test=)``): each term that no other term contains
              (marginality: ``a`` is kept while ``a:b`` is in) dropped from the full model;
              columns ``df, deviance`` (of the smaller model), ``aic, lrt|rao, p_value``,
              first row ``<none>``.
            * ``2`` (car's ``Anova(type=2)``): each term against the model without it and
              without the terms containing it, those also absent from the larger model.
            * ``3`` (car's ``Anova(type=3)``): each term dropped alone from the full model.
              It depends on the coding of factors: the formula's (treatment contrasts
              against the first level, R's ``contr.treatment``) test a main effect at the
              reference level of the factors it interacts with.
            Columns for 2 and 3: ``lr_chisq`` (or ``rao``), ``df``, ``p_value``.

        Returns
        -------
        DataFrame
            One row per term (``df`` counts estimated parameters; ``resid_df`` is
            ``nobs - k`` with ``nobs`` the sum of the weights, where R counts rows).
        """
        from .stats.term_tests import TermTests, model_terms

        model = self._snapshot()
        results = model._inference(allow_symmetric=True)
        if results.weight_type == "probability":
            raise ValueError(
                "no analysis of deviance under probability (survey) weights: the weighted "
                "log-likelihood is not a likelihood, so LR and score tests do not hold. Test "
                "terms with the design-based Wald test, model.wald_test('x1 = 0, x2 = 0')"
            )
        terms = model_terms(getattr(model, "_formula", None), results.terms)
        return TermTests(results, terms).table(test, type)

    # ---- issue 13: residuals and influence
    def residuals(self, X=None, y=None, kind="deviance", sample_weight=None, offset=None):
        r"""Residuals as R's ``residuals.glm``, ``rstandard`` and ``rstudent`` (binary) or
        per class (multinomial).

        With :math:`\mu_i` the fitted probability, :math:`v_i = \mu_i(1-\mu_i)`, prior
        weight :math:`w_i` and hat value :math:`h_i`: response :math:`y_i - \mu_i`, Pearson
        :math:`r_i = \sqrt{w_i}(y_i-\mu_i)/\sqrt{v_i}`, deviance
        :math:`d_i = \operatorname{sign}(y_i-\mu_i)\sqrt{-2 w_i \log p(y_i)}`, working
        :math:`(y_i-\mu_i)/v_i`, standardised :math:`d_i/\sqrt{1-h_i}` and
        :math:`r_i/\sqrt{1-h_i}`, studentised
        :math:`\operatorname{sign}(d_i)\sqrt{d_i^2 + h_i r_i^2/(1-h_i)}`.

        Parameters
        ----------
        X : array-like, sparse matrix or data frame, optional
            Rows; None: the training rows, with their weights and offset.
        y : array-like of shape (n,), optional
            Labels of ``X`` (a formula model reads them from the data frame).
        kind : str
            Binary: ``"response"``, ``"pearson"``, ``"deviance"`` (default), ``"working"``,
            ``"standardized_deviance"``, ``"standardized_pearson"`` or ``"studentized"``
            (also ``"rstandard"``, ``"rstudent"`` and British spellings); multinomial:
            ``"response"`` or ``"pearson"``.
        sample_weight, offset : array-like, optional
            Prior weights and offset of the rows of ``X``.

        Returns
        -------
        ndarray of shape (n,), or (n, K) for a multinomial model (``classes_`` order)

        See :func:`softlogit.stats.residuals.residuals`.
        """
        _refuse_counts_rows(self, X, y, "residuals")
        return residuals(self, X, y, kind, sample_weight, offset)

    def influence(self, X=None, y=None, sample_weight=None, offset=None):
        r"""Influence measures of a binary model as R's ``influence.measures`` on a glm,
        computed row by row without an n-by-n matrix.

        Hat values :math:`h_i = w_i v_i \tilde x_i^T (X^T W X)^{-1} \tilde x_i`, Cook's
        distance :math:`(r_i/(1-h_i))^2 h_i/p`, the one-step ``dfbeta``
        :math:`\sqrt{w_i v_i}(X^T W X)^{-1}\tilde x_i\, d_i/(1-h_i)` (R's, with the deviance
        residual), ``dfbetas`` (``dfbeta`` over :math:`s_{(i)}` times the standard error),
        ``dffit``, ``cov_r`` and the leave-one-out :math:`s_{(i)}` (``sigma``).

        Parameters
        ----------
        X, y, sample_weight, offset : optional
            The rows, as for :meth:`residuals`; None: the training rows (what the
            measures are meant for).

        Returns
        -------
        DataFrame
            Columns ``dfbeta_<term>``, ``dfbetas_<term>``, ``dffit``, ``cov_r``,
            ``cooks_d``, ``hat``, ``sigma``; NaN for rows of zero weight. See
            :func:`softlogit.stats.influence.influence`.
        """
        _refuse_counts_rows(self, X, y, "influence measures")
        return influence(self, X, y, sample_weight, offset)

    def write_diagnostics(self, path, data=None, columns=None, influence=True, file_format=None):
        """Write residuals and influence measures of a binary model to a CSV or Parquet
        file, batch by batch (atomically; memory holds one batch).

        Parameters
        ----------
        path : str or os.PathLike
        data : scan, optional
            A ``scan_parquet``/``scan_csv`` scan; None: the training rows.
        columns : sequence of str, optional
            Per-row columns (default: ``linear_predictor``, ``fitted`` and every binary
            residual kind of :meth:`residuals`).
        influence : bool
            Also write the columns of :meth:`influence`.
        file_format : {"csv", "parquet"}, optional
            Default: from the file name.

        Returns
        -------
        int
            Rows written. See :func:`softlogit.stats.influence.write_diagnostics`.
        """
        from .stats.influence import DEFAULT_COLUMNS

        _refuse_counts_rows(self, data, None, "per-row diagnostics")
        columns = DEFAULT_COLUMNS if columns is None else columns
        return write_diagnostics(self, path, data, columns, influence, file_format)

    # ---- issue 13: goodness of fit and discrimination
    def goodness_of_fit(
        self,
        X=None,
        y=None,
        sample_weight=None,
        offset=None,
        groups=10,
        by_pattern=False,
        alpha=0.05,
        score_resolution=None,
    ):
        r"""Pearson's chi-squared, the Brier score and, for a binary model, Hosmer-Lemeshow
        with ``groups`` quantile groups of the fitted probabilities, logistic recalibration
        (intercept and slope) and the AUC with DeLong's interval; with ``by_pattern=True``
        the deviance and Pearson tests over covariate patterns (grouped data). ``X=None``
        uses the training rows; streamed and Dask data are read in one pass. See
        :func:`softlogit.stats.goodness.goodness_of_fit` for the definitions, e.g.
        Pearson's :math:`X^2 = \sum_i w_i (y_i - p_i)^2 / (p_i (1 - p_i))` on
        :math:`W - k` degrees of freedom.

        Parameters
        ----------
        X : array-like, data frame, scan or Dask collection, optional
            Rows to evaluate (default: the training rows the fit holds).
        y, sample_weight, offset : optional
            Labels (a formula model reads them from ``X``), frequency weights and offset.
        groups : int
            Hosmer-Lemeshow groups (quantile groups of the fitted probabilities).
        by_pattern : bool
            Pool equal design rows into covariate patterns: the grouped-data deviance test.
        alpha : float
            Intervals (calibration, AUC) have coverage ``1 - alpha``.
        score_resolution : float, optional
            Grid step of the linear predictor for the one-pass counts (bounds memory).

        Returns
        -------
        GoodnessOfFit
        """
        model = self._snapshot()
        check_is_fitted(model, "results_")
        _refuse_new_counts(model, X, y, "goodness_of_fit")
        return goodness_of_fit(
            model, X, y, sample_weight, offset, groups, by_pattern, alpha, score_resolution
        )

    def roc_auc(self, X=None, y=None, sample_weight=None, offset=None, alpha=0.05):
        r"""The AUC of a binary model with DeLong's standard error and interval (R's
        ``pROC::ci.auc``), on the training rows (``X=None``) or new rows, streamed and Dask
        data included. See :func:`softlogit.stats.auc.roc_auc_ci`:
        :math:`A = \sum_{i: y=1}\sum_{j: y=0} w_i w_j \psi(s_i, s_j) / (W_1 W_0)`.

        Parameters
        ----------
        X, y, sample_weight, offset : optional
            Rows to evaluate, as for :meth:`goodness_of_fit` (default: the training rows).
        alpha : float
            The interval has coverage ``1 - alpha``.

        Returns
        -------
        AUCResult
        """
        model = self._snapshot()
        check_is_fitted(model, "results_")
        _refuse_new_counts(model, X, y, "roc_auc")
        return model_auc(model, X, y, sample_weight, offset, alpha)

    def compare_auc(self, other, X=None, y=None, sample_weight=None, offset=None, offset_b=None):
        r"""DeLong's paired test of this model's AUC against ``other``'s on the same rows
        (R's ``pROC::roc.test(paired=TRUE, method="delong")``); ``X=None``: the training
        rows of both (the same rows). See :func:`softlogit.stats.goodness.model_delong_test`:
        :math:`z = (A_a - A_b) / \sqrt{V_a + V_b - 2 C_{ab}}`.

        Parameters
        ----------
        other : fitted LogisticRegression
            The second model, on the same rows.
        X, y, sample_weight, offset : optional
            Rows to evaluate (default: the training rows of both models).
        offset_b : array-like, optional
            ``other``'s offset of ``X`` (default ``offset``).

        Returns
        -------
        DeLongTest
        """
        model, other = self._snapshot(), other._snapshot()
        check_is_fitted(model, "results_")
        check_is_fitted(other, "results_")
        return model_delong_test(model, other, X, y, sample_weight, offset, offset_b)

    # ---- issue 13: profile-likelihood confidence intervals
    def conf_int(self, alpha=0.05, method="wald", cov_type=None, groups=None, terms=None):
        r"""Confidence intervals of the coefficients: ``ci_low, ci_high`` over the rows of
        :meth:`coef_table`.

        Parameters
        ----------
        alpha : float
            Coverage ``1 - alpha``.
        method : {"wald", "profile"}
            ``"wald"``: :math:`\hat\beta \pm z_{1-\alpha/2}\,\mathrm{se}` (with
            ``cov_type``). ``"profile"``: profile-likelihood intervals, as R's
            ``confint`` on a ``glm`` (and logistf's for ``penalty="firth"``, from the
            penalised likelihood): the ends are the exact roots of the signed root of the
            profile deviance, :math:`r(b) = \pm z_{1-\alpha/2}` with
            :math:`r(b) = \operatorname{sign}(b - \hat\beta)\sqrt{2(\ell(\hat\theta) -
            \max_{\beta_j = b} \ell)}`; an end that does not exist (the deviance levels
            off below the critical value: separation) is ``inf`` or ``-inf``. Weights and
            offsets count as in the fit; ridge and elastic-net fits are refused. See
            :mod:`softlogit.stats.profile`.
        cov_type, groups
            Covariance of the Wald intervals (as for :meth:`coef_table`).
        terms : list, optional
            Rows of :meth:`coef_table` to return (R's ``parm``): terms, or ``(class, term)``
            pairs for softmax; default all. Only these are profiled.

        Returns
        -------
        DataFrame
        """
        _check_interval_method(method)
        if method == "profile":
            table = label_table(profile_intervals(self._inference(), alpha, terms), self)
        else:
            table = self.coef_table(alpha, cov_type, groups)[["ci_low", "ci_high"]]
        return table if terms is None else table.loc[list(terms)]

    def _with_interval(self, table, ci, alpha, results=None, exp=False):
        """``table`` with its ``ci_low, ci_high`` columns from the interval method ``ci``
        (``exp``: exponentiated; ``results``: the fit to profile, default this one's)."""
        _check_interval_method(ci)
        if ci == "wald":
            return table
        ends = profile_intervals(results or self._inference(), alpha)
        table = table.copy()
        table[["ci_low", "ci_high"]] = np.exp(ends.to_numpy()) if exp else ends.to_numpy()
        return table

    # ---- issue 13: marginal effects by variable
    def marginal_effects(
        self,
        X=None,
        at="overall",
        dummy=False,
        alpha=0.05,
        cov_type=None,
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


INTERVAL_METHODS = ("wald", "profile")


def _check_interval_method(method):
    if method not in INTERVAL_METHODS:
        raise ValueError(f"interval method {method!r} is not one of {INTERVAL_METHODS}")


def _refuse_counts_rows(model, X, y, what):
    """Per-row diagnostics of a counts fit's training rows are refused: its rows are the
    expanded (row, class) pairs, not the counts rows R's residuals and influence measures
    are defined on; so are counts read by a ``cbind()`` formula (new 0/1 rows ``X``, ``y``
    are accepted)."""
    if not getattr(model, "counts_response_", False):
        return
    if X is None or (y is None and model.formula is not None):
        raise ValueError(
            f"{what} of the training rows are not supported for a counts response (the fit "
            "holds the expanded rows, one per class with a positive count, not the grouped "
            "rows R's residuals use); pass X and 0/1 labels y to evaluate rows"
        )


def _refuse_new_counts(model, X, y, what):
    """A ValueError for new in-memory counts rows (a two-dimensional ``y``, or a ``cbind``
    formula's data) given to a counts model's ``what``: evaluated on the training rows, on
    a scan or on 0/1 labels instead."""
    if not getattr(model, "counts_response_", False) or X is None:
        return
    if is_external(X) or (y is not None and np.ndim(y) == 1):
        return
    raise ValueError(
        f"{what} on new in-memory counts rows is not supported: call {what}() for the "
        "training rows, pass the rows as a scan (scan_parquet/scan_csv), or pass 0/1 labels "
        "y (one row per trial)"
    )
