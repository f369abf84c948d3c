"""The statistics of a fitted estimator: coefficient tables, covariance, tests, marginal
effects and the summary, delegated to its :class:`~softlogit.stats.results.FitResults`.

The estimators of :mod:`softlogit.estimators` inherit :class:`Inference`. Lasso and
elastic-net fits give no standard errors (inference after selection is not valid).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .stats.margins import marginal_effects
from .stats.profile import profile_intervals
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

    def coef_table(self, alpha=0.05, cov_type="nonrobust", groups=None, ci="wald"):
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
        ci : {"wald", "profile"}
            Interval method; ``"profile"``: profile-likelihood intervals (see
            :meth:`conf_int`), whatever ``cov_type`` (which still sets ``std_err, z,
            p_value``).
        """
        table = self._inference().coef_table(alpha, cov_type, groups)
        return self._with_interval(table, ci, alpha)

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
        rows; a symmetric softmax (``reference=None``) gives the effects of the same
        probabilities as with a reference class. See
        :func:`softlogit.stats.margins.marginal_effects`."""
        return marginal_effects(self, X, at, dummy, alpha, cov_type, groups)

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

    # ---- issue 13: profile-likelihood confidence intervals
    def conf_int(self, alpha=0.05, method="wald", cov_type="nonrobust", groups=None, terms=None):
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
            table = profile_intervals(self._inference(), alpha, terms)
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


INTERVAL_METHODS = ("wald", "profile")


def _check_interval_method(method):
    if method not in INTERVAL_METHODS:
        raise ValueError(f"interval method {method!r} is not one of {INTERVAL_METHODS}")
