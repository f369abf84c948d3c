r"""Tests of terms and of nested models: likelihood-ratio and Rao score tests, the
analysis-of-deviance tables of R's ``anova.glm`` and ``drop1`` and car's ``Anova``.

A *term* is a formula term: all the design columns it generates (``C(rank)`` is its three
dummies), in every non-reference class of a softmax model; without a formula each feature
column is a term. Every restricted model is fitted in the full model's own objective (same
rows, weights, class weights and offset), with the parameters of the dropped terms held at
0, so no data need to be passed again and streamed fits work too.

For nested models with log-likelihoods :math:`\ell_0 \le \ell_1` and estimated parameters
:math:`k_0 < k_1`:

* likelihood ratio: :math:`LR = 2(\ell_1 - \ell_0) = D_0 - D_1` (deviances :math:`D = -2\ell`);
* Rao score: :math:`S = U(\tilde\theta)^T I(\tilde\theta)^{-1} U(\tilde\theta)`, the score
  :math:`U` and Fisher information :math:`I` of the larger model at the restricted estimate
  :math:`\tilde\theta` (the larger model's parameters, those outside the smaller one at 0);
  for the logit link observed and expected information agree, so this is R's
  ``test="Rao"``.

Both are referred to :math:`\chi^2_{k_1 - k_0}`. The parameters that are aliased (linear
combinations of the others) are found again for every restricted model, as R's refit does, so
``df`` counts estimated parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg as sla
from scipy import stats

from ..exceptions import ConvergenceWarning, warn
from ..model.objective import Objective
from ..model.rank import aliased_columns
from ..model.solvers import SOLVERS, SolverOptions
from .inference import TestResult
from .results import lr_test, refuse_likelihood_tests

__all__ = ["Term", "TermTests", "anova_models", "model_terms", "score_test"]

#: Settings of the restricted refits (Newton up to this many parameters, L-BFGS beyond).
REFIT_OPTIONS = SolverOptions(max_iter=200, tol=1e-10)
NEWTON_MAX_PARAMS = 1000
TESTS = {"LRT": "LRT", "Chisq": "LRT", "LR": "LRT", "Rao": "Rao"}
TYPES = {"sequential": "sequential", "drop1": "drop1", 1: "sequential", "I": "sequential",
         2: 2, "II": 2, 3: 3, "III": 3}  # fmt: skip


@dataclass(frozen=True)
class Term:
    """A model term: its name, the variables it multiplies and its design columns."""

    name: str
    factors: frozenset
    columns: tuple

    def contained_in(self, other):
        """Whether ``other`` is a higher-order relative (``a:b`` of ``a``), as R's
        marginality and car's ``relatives`` define it."""
        return self.factors < other.factors


def model_terms(formula, feature_names):
    """The terms of a model, in the formula's order (R's: by degree, then as written).

    Parameters
    ----------
    formula : FormulaDesign or None
        The fitted formula (``m._formula``); None: each feature column is a term.
    feature_names : sequence of str
        The design columns (``m.feature_names_in_``).
    """
    names = [str(n) for n in feature_names]
    if formula is None:
        return [Term(n, frozenset([n]), (j,)) for j, n in enumerate(names)]
    spec, position, terms = formula.spec, {n: j for j, n in enumerate(names)}, []
    columns = list(spec.column_names)
    for term, indices in spec.term_indices.items():
        factors = frozenset(str(f) for f in term.factors)
        if factors <= {"1"}:  # the intercept
            continue
        cols = tuple(position[columns[i]] for i in indices)
        terms.append(Term(str(term), factors, cols))
    return terms


def _check_test(test):
    if test not in TESTS:
        raise ValueError(f"test={test!r} is not one of {list(TESTS)}")
    return TESTS[test]


def _chi2_sf(stat, df):
    return float(stats.chi2.sf(stat, df)) if df > 0 else np.nan


class TermTests:
    """Restricted fits of one fitted model and the tests and tables built from them.

    Parameters
    ----------
    results : FitResults
        The fitted model's results (its objective holds the training rows).
    terms : list of Term
        The model's terms (see :func:`model_terms`).
    """

    def __init__(self, results, terms):
        obj = results._objective
        if type(obj) is not Objective or not obj.penalty.is_zero:
            raise ValueError(
                "likelihood-ratio and score tests need an unpenalised maximum-likelihood fit "
                "(penalty=None); a penalised (l2, Firth) likelihood is not a likelihood ratio"
            )
        self.results, self.terms, self.obj = results, list(terms), obj
        self.full_free = np.asarray(results._free, dtype=bool)
        self._fits, self._alias = {}, {}
        self._gram = None

    # ------------------------------------------------------------------ parameters
    def _mask(self, kept_terms):
        """Free-parameter mask of the model with the intercept (if any) and ``kept_terms``,
        its aliased columns found again."""
        obj = self.obj
        cols = sorted({c for t in kept_terms for c in t.columns})
        cols = [c for c, alias in zip(cols, self._aliased(tuple(cols)), strict=True) if not alias]
        per_class = np.zeros(obj.q, dtype=bool)
        per_class[cols] = True
        if obj.fit_intercept:
            per_class[obj.p] = True
        return np.tile(per_class, obj.m)

    def _aliased(self, cols):
        """Aliased columns among ``cols`` (in order, after the intercept), from the class-0
        block of the information at the full fit (positive working weights: the rank of
        the weighted design)."""
        if self._gram is None:
            _, _, H = self.obj.value_grad_hess_centered(self.results._theta)
            self._gram = H[: self.obj.q, : self.obj.q]
        if cols not in self._alias:
            order = ([self.obj.p] if self.obj.fit_intercept else []) + list(cols)
            mask = aliased_columns(
                self._gram[np.ix_(order, order)], intercept_first=self.obj.fit_intercept
            )
            self._alias[cols] = mask[1:] if self.obj.fit_intercept else mask
        return self._alias[cols]

    def mask_without(self, dropped=()):
        """Free mask of the full model without the terms ``dropped``."""
        if not dropped:
            return self.full_free
        return self._mask([t for t in self.terms if t not in dropped])

    # ------------------------------------------------------------------ fits
    def fit(self, free):
        """Restricted estimate (flat theta, 0 outside ``free``) and its log-likelihood."""
        key = free.tobytes()
        if np.array_equal(free, self.full_free):
            return self.results._theta, self.results.loglike
        if key not in self._fits:
            theta0 = np.where(free, self.results._theta, 0.0)
            if not free.any():
                self._fits[key] = theta0, self.obj.loglike(theta0)
                return self._fits[key]
            name = "newton" if self.obj.n_params <= NEWTON_MAX_PARAMS else "lbfgs"
            result = SOLVERS[name](self.obj, theta0, free, REFIT_OPTIONS)
            if not result.converged:
                warn(
                    f"a restricted model did not converge in {result.n_iter} iterations; its "
                    "test may be inaccurate (separation in the smaller model?)",
                    ConvergenceWarning,
                )
            self._fits[key] = result.theta, self.obj.loglike(result.theta)
        return self._fits[key]

    def score(self, small, large):
        """Rao score statistic of the model ``small`` within ``large`` (free masks)."""
        theta, _ = self.fit(small)
        return score_statistic(self.obj, theta, large)

    def compare(self, small, large, test):
        """``(df, LR, statistic of test)`` of the nested models with free masks
        ``small`` within ``large``."""
        ll0, ll1 = self.fit(small)[1], self.fit(large)[1]
        df = int(large.sum() - small.sum())
        lr = 2.0 * (ll1 - ll0)
        stat = lr if test == "LRT" else (self.score(small, large) if df > 0 else 0.0)
        return df, lr, stat

    # ------------------------------------------------------------------ tables
    def table(self, test="LRT", type="sequential"):
        """The analysis-of-deviance table (see :meth:`Inference.anova`)."""
        test = _check_test(test)
        if type not in TYPES:
            raise ValueError(f"type={type!r} is not one of {list(TYPES)}")
        kind = TYPES[type]
        if kind == "sequential":
            return self._sequential(test)
        if kind == "drop1":
            return self._drop1(test)
        return self._typed(test, kind)

    def _sequential(self, test):
        stat_name = "rao" if test == "Rao" else None
        masks = [self._mask(self.terms[:k]) for k in range(len(self.terms))] + [self.full_free]
        rows = []
        for k, mask in enumerate(masks):
            ll = self.fit(mask)[1]
            row = {"df": np.nan, "deviance": np.nan, "resid_df": self.results.nobs - mask.sum(),
                   "resid_dev": -2.0 * ll}  # fmt: skip
            if k:
                df, lr, stat = self.compare(masks[k - 1], mask, test)
                row.update(df=df, deviance=lr, p_value=_chi2_sf(stat, df))
                if stat_name:
                    row[stat_name] = stat
            rows.append(row)
        columns = ["df", "deviance", "resid_df", "resid_dev", *([stat_name] if stat_name else [])]
        index = pd.Index(["NULL"] + [t.name for t in self.terms], name="term")
        return pd.DataFrame(rows, index=index).reindex(columns=[*columns, "p_value"])

    def _drop1(self, test):
        stat_name = "rao" if test == "Rao" else "lrt"
        full_ll = self.results.loglike
        k = self.full_free.sum()
        rows = [{"df": np.nan, "deviance": -2 * full_ll, "aic": -2 * full_ll + 2 * k}]
        scope = [t for t in self.terms if not any(t.contained_in(u) for u in self.terms)]
        for term in scope:
            small = self.mask_without((term,))
            df, _, stat = self.compare(small, self.full_free, test)
            ll = self.fit(small)[1]
            rows.append({"df": df, "deviance": -2 * ll, "aic": -2 * ll + 2 * small.sum(),
                         stat_name: stat, "p_value": _chi2_sf(stat, df)})  # fmt: skip
        index = pd.Index(["<none>"] + [t.name for t in scope], name="term")
        columns = ["df", "deviance", "aic", stat_name, "p_value"]
        return pd.DataFrame(rows, index=index).reindex(columns=columns)

    def _typed(self, test, kind):
        rows = []
        for term in self.terms:
            if kind == 2:  # car: drop the term from the model without its relatives
                relatives = tuple(u for u in self.terms if term.contained_in(u))
                large = self.mask_without(relatives)
                small = self.mask_without((term, *relatives))
            else:
                large, small = self.full_free, self.mask_without((term,))
            df, _, stat = self.compare(small, large, test)
            rows.append({"statistic": stat, "df": df, "p_value": _chi2_sf(stat, df)})
        name = "lr_chisq" if test == "LRT" else "rao"
        index = pd.Index([t.name for t in self.terms], name="term")
        return pd.DataFrame(rows, index=index).rename(columns={"statistic": name})


def score_statistic(objective, theta, free):
    r"""Rao's score statistic :math:`U^T I^{-1} U` over the ``free`` parameters at ``theta``
    (sum scale; computed in the centred coordinates, where it is the same number)."""
    _, g, H = objective.value_grad_hess_centered(theta)
    g, H = g[free], H[np.ix_(free, free)]
    try:
        x = sla.cho_solve(sla.cho_factor(H), g)
    except (np.linalg.LinAlgError, ValueError):
        x = np.linalg.lstsq(H, g, rcond=None)[0]
    return float(objective.total_weight * (g @ x))


# ---------------------------------------------------------------------------- nested models
def _nested_theta(restricted, full):
    """The restricted model's estimate in the full model's layout (matched by row names:
    ``(class, term)`` or term), after checking the models are nested on the same rows."""
    r, f = restricted.results_, full.results_
    if not np.isclose(r.nobs, f.nobs, rtol=1e-12):
        raise ValueError(f"the models were fitted to different data (nobs {r.nobs} vs {f.nobs})")
    for res in (r, f):
        if type(res._objective) is not Objective or not res._objective.penalty.is_zero:
            raise ValueError("the score test needs unpenalised fits (penalty=None)")
    names = list(f.index)
    position = {name: i for i, name in enumerate(names)}
    missing = [name for name in r.index if name not in position]
    if missing:
        raise ValueError(
            f"the restricted model is not nested in the full one: its terms {missing[:5]} are "
            "not terms of the full model (pass (restricted, full))"
        )
    theta = np.zeros(f._theta.size)
    order = f._order
    for name, value in r.params.items():
        theta[order[position[name]]] = 0.0 if np.isnan(value) else value
    ll = f._objective.loglike(theta)
    if not np.isclose(ll, r.loglike, rtol=1e-7, atol=1e-7):
        raise ValueError(
            "the restricted model's estimate does not give its log-likelihood in the full "
            f"model ({ll} vs {r.loglike}): the models are not nested on the same rows"
        )
    return theta


def score_test(restricted, full):
    r"""Rao score (Lagrange multiplier) test of nested fitted models, as R's
    ``anova(restricted, full, test="Rao")``.

    :math:`S = U(\tilde\theta)^T I(\tilde\theta)^{-1} U(\tilde\theta)`: the score and Fisher
    information of the full model at the restricted estimate :math:`\tilde\theta` (the full
    model's parameters that the restricted one lacks set to 0), referred to
    :math:`\chi^2` on the difference in estimated parameters. Only the restricted estimate
    and one pass over the full model's rows are needed.

    Parameters
    ----------
    restricted, full : fitted LogisticRegression or SoftmaxRegression
        Unpenalised fits to the same rows (weights, offset); the restricted model's terms
        (coefficient-table rows) are terms of the full one.

    Returns
    -------
    TestResult
        ``statistic``, ``df``, ``pvalue`` (``name="Rao"``).
    """
    refuse_likelihood_tests(restricted.results_, full.results_, "score")
    theta = _nested_theta(restricted, full)
    f = full.results_
    df = f.k_params - restricted.results_.k_params
    if df <= 0:
        raise ValueError(
            f"the full model must have more parameters than the restricted one "
            f"({f.k_params} vs {restricted.results_.k_params}): pass (restricted, full)"
        )
    stat = score_statistic(f._objective, theta, f._free)
    return TestResult(stat, df, _chi2_sf(stat, df), "Rao")


def anova_models(*models, test="LRT"):
    r"""Analysis of deviance of nested fitted models, smallest first, as R's
    ``anova(m1, m2, ..., test="LRT" or "Rao")``.

    Row ``i > 0`` tests model ``i - 1`` within model ``i``: ``df`` (the difference in
    estimated parameters), ``deviance`` (:math:`D_{i-1} - D_i`, the LR statistic), ``rao``
    (with ``test="Rao"``, see :func:`score_test`) and ``p_value`` of the chosen statistic.

    Returns
    -------
    DataFrame
        Columns ``resid_df, resid_dev, df, deviance, [rao,] p_value`` (R's ``Resid. Df``,
        ``Resid. Dev``, ``Df``, ``Deviance``, ``Rao``, ``Pr(>Chi)``); ``resid_df`` is
        ``nobs - k`` with ``nobs`` the sum of the weights.
    """
    test = _check_test(test)
    if len(models) < 2:
        raise ValueError("anova of models needs at least two nested models, smallest first")
    rows = []
    for i, model in enumerate(models):
        r = model.results_
        row = {"resid_df": r.df_resid, "resid_dev": r.deviance}
        if i:
            lr = lr_test(models[i - 1], model)
            row.update(df=lr.df, deviance=lr.statistic)
            result = score_test(models[i - 1], model) if test == "Rao" else lr
            if test == "Rao":
                row["rao"] = result.statistic
            row["p_value"] = result.pvalue
        rows.append(row)
    columns = ["resid_df", "resid_dev", "df", "deviance", *(["rao"] if test == "Rao" else [])]
    index = pd.RangeIndex(1, len(models) + 1, name="model")
    return pd.DataFrame(rows, index=index).reindex(columns=[*columns, "p_value"])
