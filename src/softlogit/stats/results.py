r"""The statistics of a fitted model: likelihoods, information criteria, covariance, tables
and tests (the GLM view's output, as R's ``glm`` and statsmodels' ``LogitResults`` give it).

Parameters are listed per class (binary: one), each with ``Intercept`` first and then the
terms, as R and Stata print them; softmax rows are a ``(class, term)`` MultiIndex over the
non-reference classes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from ..data.sources import single_threaded_blas
from ..memory import check_dense_square
from ..model.objective import scaled_design
from ..numerics import logsumexp
from .inference import (
    COV_TYPES,
    TestResult,
    covariance,
    independent_restrictions,
    information,
    local_score_products,
    parse_restriction,
    score_products,
    small_sample_factor,
    split_hypotheses,
    wald,
    z_table,
)
from .survey import FREQUENCY, survey_meat, weighted_hc_meat

__all__ = ["INFORMATION", "FitResults"]

#: The ``cov_type`` of internal uses of the inverse information (hat values, influence
#: measures) that hold under every weight type; users ask for ``"nonrobust"``, which
#: probability weights refuse.
INFORMATION = "_information"

TABLE_COLUMNS = ["coef", "std_err", "z", "p_value", "ci_low", "ci_high"]


class FitResults:
    """Inference for a fitted LogisticRegression or SoftmaxRegression.

    Parameters
    ----------
    objective : Objective
        The training objective (its source still holds the training rows).
    theta : ndarray
        Fitted parameters in the objective's layout.
    free : ndarray of bool
        Estimated (not aliased) parameters.
    names : list of str
        Term names of the features.
    row_labels : list or None
        Class labels of the parameter rows (None for binary).
    null_loglike : float
        Log-likelihood of the intercept-only model.
    weights : WeightDesign, optional
        What the weights mean (:mod:`softlogit.stats.survey`); default frequency weights.
    """

    def __init__(self, objective, theta, free, names, row_labels, null_loglike, weights=None):
        self._objective = objective
        self._theta = np.asarray(theta, dtype=float)
        self._free = np.asarray(free, dtype=bool)
        self._names = list(names)
        self._rows = row_labels
        self.null_loglike = float(null_loglike)
        self.loglike = objective.loglike(self._theta)
        self._info = None
        self._cov_cache = {}
        self._units = None  # counts fits: (origin row per expanded row, grouped rows)
        self.weights = FREQUENCY if weights is None else weights

    def set_counts_units(self, origin, n_units, n_input):
        """Make the sandwich covariances of a counts fit (:mod:`softlogit.data.counts`)
        sum scores per counts row: ``origin`` is each training (expanded) row's counts row,
        ``n_units`` the number of counts rows of positive weight (the ``n`` of HC1),
        ``n_input`` the number of counts rows (``origin``'s range). Then
        ``HC0``/``HC1`` equal R's ``sandwich::vcovHC`` on the grouped ``glm``, and
        ``cluster`` groups are given per counts row."""
        origin = None if origin is None else np.asarray(origin, dtype=np.intp)
        self._units = (origin, float(n_units), int(n_input))
        self._cov_cache = {}

    @property
    def weight_type(self):
        """``"frequency"``, ``"probability"`` or ``"analytic"`` (see
        :mod:`softlogit.stats.survey`)."""
        return self.weights.weight_type

    @property
    def default_cov_type(self):
        """The covariance used when ``cov_type=None``: ``"survey"`` under probability
        weights, else ``"nonrobust"``."""
        return self.weights.default_cov_type

    def resolve_cov_type(self, cov_type):
        """``cov_type``, or the weight type's own for None; ``"nonrobust"`` is refused under
        probability weights and ``"survey"`` needs them."""
        cov_type = self.default_cov_type if cov_type is None else cov_type
        if cov_type == INFORMATION:  # hat values, influence: A^-1 whatever the weights
            return "nonrobust"
        if cov_type not in COV_TYPES:
            raise ValueError(f"cov_type={cov_type!r} is not one of {COV_TYPES}")
        if cov_type == "nonrobust" and self.weight_type == "probability":
            raise ValueError(
                "cov_type='nonrobust' is not valid under probability (survey) weights: the "
                "inverse information treats the weights as replicated rows, so its standard "
                "errors shrink as the weights grow. Use cov_type='survey' (the default, as "
                "survey::svyglm) or a sandwich ('HC0', 'HC1', 'cluster')"
            )
        if cov_type == "survey" and self.weight_type != "probability":
            raise ValueError(
                "cov_type='survey' is the design-based covariance of probability weights: "
                "fit with probability_weight= (and clusters=, strata=)"
            )
        return cov_type

    @property
    def _is_likelihood(self):
        """Whether the weighted log-likelihood is a likelihood (not under probability
        weights, where it is a pseudo-likelihood: no LR test, AIC or BIC)."""
        return self.weight_type != "probability"

    @property
    def terms(self):
        """Names of the feature terms (without the intercept)."""
        return list(self._names)

    # ------------------------------------------------------------------ counts
    @property
    def nobs(self):
        """Number of observations: the sum of the weights for frequency weights, else the
        number of rows with positive weight (one more pass for streamed data)."""
        if self.weight_type == "frequency":
            return self._objective.total_weight
        if getattr(self, "_rows_counted", None) is None:
            self._rows_counted = _positive_rows(self._objective)
        return self._rows_counted

    @property
    def k_params(self):
        """Estimated parameters, intercepts included (aliased ones excluded)."""
        return int(self._free.sum())

    @property
    def df_model(self):
        """Model degrees of freedom: estimated parameters other than the intercepts."""
        m = self._objective.m
        return self.k_params - (m if self._objective.fit_intercept else 0)

    @property
    def df_resid(self):
        """Residual degrees of freedom: ``nobs - k_params``."""
        return self.nobs - self.k_params

    # ------------------------------------------------------------------ fit statistics
    @property
    def deviance(self):
        """Residual deviance ``-2 loglike`` (the saturated model's log-likelihood is 0)."""
        return -2.0 * self.loglike

    @property
    def aic(self):
        """Akaike's criterion ``-2 loglike + 2 k`` (NaN under probability weights)."""
        if not self._is_likelihood:
            return float("nan")
        return -2.0 * self.loglike + 2.0 * self.k_params

    @property
    def bic(self):
        """Schwarz's criterion ``-2 loglike + k log(nobs)`` (NaN under probability
        weights)."""
        if not self._is_likelihood:
            return float("nan")
        return -2.0 * self.loglike + self.k_params * np.log(self.nobs)

    @property
    def pseudo_r2(self):
        """McFadden's pseudo-R2 ``1 - loglike / null_loglike``."""
        return 1.0 - self.loglike / self.null_loglike

    @property
    def lr_stat(self):
        """Likelihood-ratio statistic against the intercept-only model (NaN under
        probability weights: use :meth:`slopes_test`)."""
        if not self._is_likelihood:
            return float("nan")
        return 2.0 * (self.loglike - self.null_loglike)

    @property
    def lr_pvalue(self):
        """Chi-squared p-value of ``lr_stat`` on ``df_model`` degrees of freedom."""
        if not self._is_likelihood:
            return float("nan")
        return float(stats.chi2.sf(self.lr_stat, self.df_model))

    def slopes_test(self, cov_type=None, groups=None):
        """Wald test that every coefficient other than the intercepts is 0 (the test of
        the model that probability-weighted summaries show in place of the LR test)."""
        V = self.cov_params(cov_type, groups).to_numpy()
        terms = self.index.get_level_values("term")
        keep = (terms != "Intercept") & ~np.isnan(np.diag(V))
        R = np.eye(len(terms))[keep]
        free = ~np.isnan(np.diag(V))
        return wald(self.params.to_numpy()[free], V[np.ix_(free, free)], R[:, free])

    # ------------------------------------------------------------------ layout
    @property
    def _order(self):
        """Positions in ``theta`` of the table rows: per class, intercept then terms."""
        obj = self._objective
        p, q = obj.p, obj.q
        per_class = ([p] if obj.fit_intercept else []) + list(range(p))
        return np.concatenate([a * q + np.array(per_class, dtype=int) for a in range(obj.m)])

    @property
    def index(self):
        """Row labels of every table: terms, or (class, term) pairs for softmax."""
        terms = (["Intercept"] if self._objective.fit_intercept else []) + self._names
        if self._rows is None:
            return pd.Index(terms, name="term")
        pairs = [(label, term) for label in self._rows for term in terms]
        return pd.MultiIndex.from_tuples(pairs, names=["class", "term"])

    @property
    def params(self):
        """Estimates as a Series over :attr:`index`."""
        return pd.Series(self._theta[self._order], index=self.index, name="coef")

    # ------------------------------------------------------------------ covariance
    def _cov_theta(self, cov_type=None, groups=None):
        """Covariance in the objective's parameter layout."""
        V, _ = self._cov_centered(cov_type, groups)
        return self._objective.centering.cov_to_theta(V)

    def _cov_centered(self, cov_type=None, groups=None):
        """Covariance in the centred coordinates of :mod:`softlogit.coordinates`, and the
        reference point (None: the raw coordinates). BLAS runs on one thread here (see
        :func:`single_threaded_blas`)."""
        with single_threaded_blas():
            return self._cov_centered_computed(cov_type, groups), self._objective.center

    def _cov_centered_computed(self, cov_type, groups):
        cov_type = self.resolve_cov_type(cov_type)
        if (cov_type == "cluster") != (groups is not None):
            raise ValueError("cov_type='cluster' needs groups=..., and groups needs 'cluster'")
        key = cov_type
        if key in self._cov_cache and groups is None:
            return self._cov_cache[key]
        if self._info is None:
            check_dense_square(self._theta.size, "the covariance", copies=4)
            self._info = information(self._objective, self._theta)
        A_pen, A = self._info
        n_groups, nobs = None, self.nobs
        if cov_type == "nonrobust":
            meat = A
        elif self._units is not None:
            meat, n_groups, nobs = self._counts_meat(cov_type, groups)
        elif cov_type == "cluster":
            codes, n_groups = _group_codes(groups, self._objective.source.n_rows)
            meat = score_products(self._objective, self._theta, codes, n_groups)
        elif cov_type == "survey":
            meat = survey_meat(self._objective, self._theta, self.weights)
        elif self.weight_type == "frequency":
            meat = score_products(self._objective, self._theta)
        else:
            meat = weighted_hc_meat(self._objective, self._theta)
        factor = small_sample_factor(cov_type, nobs, self.k_params, n_groups)
        V = covariance(A_pen, meat, self._free, factor)
        if groups is None:
            self._cov_cache[key] = V
        return V

    @property
    def robust_unavailable(self):
        """Why cluster covariances are not available (a streamed or Dask counts fit, whose
        batches know their counts rows but not the clusters of them), or None."""
        if self._units is not None and self._units[0] is None:
            return (
                "cluster covariances of a streamed or Dask counts fit are not supported (the "
                "groups are given per counts row, which the batches do not number); fit in "
                "memory"
            )
        return None

    def _counts_meat(self, cov_type, groups):
        """The summed score products of a counts fit over its counts rows (or over the
        clusters ``groups`` of the counts rows), their number and the counts rows' count."""
        origin, n_units, n_input = self._units
        if origin is None and cov_type == "cluster":
            raise ValueError(f"cov_type={cov_type!r}: {self.robust_unavailable}")
        if origin is None:  # streamed or Dask: each chunk carries its counts rows
            return local_score_products(self._objective, self._theta), None, n_units
        if cov_type == "cluster":
            codes, n_groups = _group_codes(groups, n_input)
            codes = codes[origin]
        else:
            codes, n_groups = origin, n_input
        meat = score_products(self._objective, self._theta, codes, n_groups)
        return meat, (n_groups if cov_type == "cluster" else None), n_units

    def cov_params(self, cov_type=None, groups=None):
        """Covariance of the estimates as a DataFrame over :attr:`index` (NaN where aliased).

        Parameters
        ----------
        cov_type : {None, "nonrobust", "HC0", "HC1", "cluster", "survey"}
            Inverse Fisher information, or a sandwich (see :mod:`softlogit.stats.inference`);
            ``"survey"``: the design-based covariance of probability weights
            (:mod:`softlogit.stats.survey`). None: the weight type's own
            (:attr:`default_cov_type`).
        groups : array-like of shape (n,), optional
            Cluster labels of the training rows, for ``cov_type="cluster"``.
        """
        V = self._cov_theta(cov_type, groups)[np.ix_(self._order, self._order)]
        return pd.DataFrame(V, index=self.index, columns=self.index)

    def coef_table(self, alpha=0.05, cov_type=None, groups=None):
        r"""Estimates with standard errors, Wald :math:`z = \hat\beta / \mathrm{se}`, two-sided
        normal p-values and :math:`1 - \alpha` confidence intervals
        :math:`\hat\beta \pm z_{1-\alpha/2}\,\mathrm{se}`.

        Returns
        -------
        DataFrame with columns ``coef, std_err, z, p_value, ci_low, ci_high``.
        """
        coef = self.params.to_numpy()
        se = np.sqrt(np.diag(self.cov_params(cov_type, groups).to_numpy()))
        return z_table(coef, se, alpha, self.index)

    def exp_table(self, alpha=0.05, cov_type=None, groups=None, name="exp_coef", base=None):
        """``exp`` of the estimates (column ``name``: odds or relative-risk ratios) with the
        p-values and the exponentiated interval ends ``ci_low, ci_high``.

        ``base``: for softmax, ``(base, reference, classes)`` to compare every class with
        ``base`` instead of the reference class of the parameters (see :meth:`rebased`).
        """
        if base is None:
            table = self.coef_table(alpha, cov_type, groups)
        else:
            params, cov = self.rebased(*base, cov_type=cov_type, groups=groups)
            se = np.sqrt(np.diag(cov.to_numpy()))
            table = z_table(params.to_numpy(), se, alpha, params.index)
        out = np.exp(table[["coef", "ci_low", "ci_high"]]).rename(columns={"coef": name})
        out.insert(1, "p_value", table["p_value"])
        return out

    def rebased(self, base, reference, classes, cov_type=None, groups=None):
        r"""Softmax estimates and their covariance against another class: for every class
        :math:`k \ne` ``base``, :math:`\theta_k - \theta_{base}` (the reference class's
        row is 0), a linear map :math:`A` of the estimates with covariance
        :math:`A V A^T`.

        Parameters
        ----------
        base, reference : class labels
            The new base class and the reference class of the parameters.
        classes : sequence
            All class labels, in the order of the new rows.

        Returns
        -------
        params : Series over a ``(class, term)`` MultiIndex
        cov : DataFrame over the same rows (NaN for aliased terms)
        """
        if self._rows is None:
            raise ValueError("a binary model has one logit row: there is no other base class")
        terms = list(self.params.index.get_level_values("term")[: self._objective.q])
        block = {label: i for i, label in enumerate(self._rows)}
        labels = [c for c in classes if c != base]
        T, m = len(terms), len(self._rows)
        A = np.zeros((len(labels) * T, m * T))
        eye = np.eye(T)
        for i, label in enumerate(labels):
            for cls, sign in ((label, 1.0), (base, -1.0)):
                if cls != reference:
                    A[i * T : (i + 1) * T, block[cls] * T : (block[cls] + 1) * T] += sign * eye
        V = self.cov_params(cov_type, groups).to_numpy()
        aliased = (np.abs(A) @ np.isnan(np.diag(V))) > 0
        V = A @ np.nan_to_num(V) @ A.T
        V[aliased, :], V[:, aliased] = np.nan, np.nan
        index = pd.MultiIndex.from_tuples(
            [(label, t) for label in labels for t in terms], names=["class", "term"]
        )
        params = pd.Series(A @ self.params.to_numpy(), index=index, name="coef")
        return params, pd.DataFrame(V, index=index, columns=index)

    # ------------------------------------------------------------------ predictions
    def proba_interval(self, X, offset_free=None, alpha=0.05, cov_type=None, groups=None):
        r"""Probabilities with delta-method intervals computed on the log-odds scale.

        For class :math:`k` with full logits :math:`z` (the reference class's is 0),
        :math:`g_k = \operatorname{logit} p_k = z_k - \log\sum_{j \ne k} e^{z_j}`, computed
        from the linear predictor (exact for any logit, where rebuilding it from the rounded
        probability loses every digit beyond :math:`|z| \approx 37`). Its gradient in the
        free logits is :math:`J_{ka} = \delta_{ka} - [a \ne k]\, e^{z_a - \log\sum_{j \ne k}
        e^{z_j}}`, so :math:`\operatorname{Var} g_k = \sum_{a,b} J_{ka} J_{kb}\, \tilde x^T
        V_{ab} \tilde x` (in centred coordinates, :mod:`softlogit.coordinates`); the interval
        :math:`g_k \pm z_{1-\alpha/2}\,\mathrm{se}` is mapped back by the sigmoid. For a
        binary model this is the usual interval on the linear predictor.

        Returns
        -------
        proba, lower, upper : ndarray of shape (n, K)
        """
        obj = self._objective
        V, center = self._cov_centered(cov_type, groups)
        V = np.nan_to_num(V)  # aliased: fixed, no variance
        m, q = obj.m, obj.q
        coef, intercept = obj.split(self._theta)
        eta = np.asarray(X @ coef.T) + intercept
        if offset_free is not None:
            eta = eta + offset_free
        X1 = scaled_design(_dense(X), np.ones(X.shape[0]), obj.fit_intercept, None, center)
        Q = np.einsum("iq,aqbr,ir->iab", X1, V.reshape(m, q, m, q), X1)
        logit, J = _class_logits(obj.family, eta)
        se = np.sqrt(np.maximum(np.einsum("ika,iab,ikb->ik", J, Q, J), 0.0))
        crit = stats.norm.ppf(1 - alpha / 2)
        lower, upper = expit(logit - crit * se), expit(logit + crit * se)
        return obj.family.probabilities(eta), lower, upper

    # ------------------------------------------------------------------ tests
    def wald_test(self, hypotheses, cov_type=None, groups=None):
        """Wald test of linear hypotheses on named terms.

        Parameters
        ----------
        hypotheses : str or list of str
            Linear restrictions separated by commas: ``"gpa = 0, gre = 0"``,
            ``"gpa = gre"``, ``"gpa - 2*gre = 1"``, ``"2 * gpa + gre = 0"``; or a list of
            equations, or of terms meaning each equals 0. For softmax each equation is
            tested in every non-reference class (as Stata's ``test`` after ``mlogit``);
            ``"class:term"`` names a single class's coefficient. Contradictory restrictions
            (``"gre = 0, gre = 1"``) are a ValueError; a restriction implied by the others
            is dropped with a warning, so ``df`` counts independent restrictions.
        """
        R, r = self._constraints(hypotheses)
        V = self.cov_params(cov_type, groups).to_numpy()
        free = ~np.isnan(np.diag(V))
        used = np.abs(R).sum(axis=0) > 0
        if np.any(used & ~free):
            raise ValueError("the hypotheses involve aliased terms, which were not estimated")
        return wald(self.params.to_numpy()[free], V[np.ix_(free, free)], R[:, free], r)

    def _term_names(self):
        """Names a hypothesis may use, each mapped to ``(class or None, term)``: the terms
        (every class of a softmax), and ``"class:term"`` for one class's coefficient."""
        terms = list(dict.fromkeys(t if self._rows is None else t[1] for t in self.index))
        names = {f"{label}:{term}": (label, term) for label in self._rows or [] for term in terms}
        names.update({term: (None, term) for term in terms})
        return names

    def _constraints(self, hypotheses):
        """``R`` and ``r`` of the restrictions :math:`R\\theta = r`, independent rows only."""
        index = list(self.index)
        names = self._term_names()
        rows, rhs, labels = [], [], []
        for equation in split_hypotheses(hypotheses):
            weights, value = parse_restriction(equation, list(names))
            per_class = self._rows is not None and any(names[n][0] is None for n in weights)
            for label in self._rows if per_class else [None]:
                row = np.zeros(len(index))
                for name, weight in weights.items():
                    cls, term = names[name]
                    key = term if self._rows is None else (label if cls is None else cls, term)
                    row[index.index(key)] += weight
                rows.append(row)
                rhs.append(value)
                labels.append(equation if label is None else f"{equation} [class {label}]")
        return independent_restrictions(np.array(rows), np.array(rhs), labels)


def _class_logits(family, eta):
    r"""Per class ``k``, :math:`\operatorname{logit} p_k = z_k - \log\sum_{j \ne k} e^{z_j}`
    from the full logits ``z`` (n, K), and its gradient in the free logits (n, K, m)."""
    Z = family.full_logits(eta)
    n, K = Z.shape
    free = [k for k in range(K) if k != family.reference]
    logit, J = np.empty((n, K)), np.zeros((n, K, len(free)))
    for k in range(K):
        others = np.delete(Z, k, axis=1)
        lse = logsumexp(others, axis=1)
        logit[:, k] = Z[:, k] - lse
        for a, cls in enumerate(free):
            J[:, k, a] = 1.0 if cls == k else -np.exp(Z[:, cls] - lse)
    return logit, J


def _dense(X):
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=float)


def _positive_rows(objective):
    """Rows with positive weight, through the source's ``reduce``."""
    return float(objective.reduce(lambda chunk: (float(np.sum(chunk.weight > 0)),))[0])


def _group_codes(groups, n_rows):
    groups = np.asarray(groups)
    if groups.shape != (n_rows,):
        raise ValueError(f"groups has shape {groups.shape}; expected ({n_rows},), one per row")
    _, codes = np.unique(groups, return_inverse=True)
    n_groups = int(codes.max()) + 1
    if n_groups < 2:
        raise ValueError("cluster-robust covariance needs at least 2 groups")
    return codes, n_groups


def refuse_likelihood_tests(restricted, full, test):
    """A ValueError when either fit has probability weights (no likelihood: Wald only)."""
    kinds = (getattr(restricted, "weight_type", None), getattr(full, "weight_type", None))
    if "probability" in kinds:
        raise ValueError(
            f"no {test} test under probability (survey) weights: the weighted "
            "log-likelihood is not a likelihood. Use the Wald test, full.wald_test(...), "
            "with the design-based covariance (as survey's regTermTest)"
        )


def lr_test(restricted, full):
    """Likelihood-ratio test of nested fitted models: ``2 (ll_full - ll_restricted)`` on the
    difference in estimated parameters.

    Parameters
    ----------
    restricted, full : fitted LogisticRegression or SoftmaxRegression
        The restricted model must be nested in the full one and fitted to the same rows.
    """
    r, f = restricted.results_, full.results_
    refuse_likelihood_tests(r, f, "likelihood-ratio")
    if not np.isclose(r.nobs, f.nobs):
        raise ValueError(f"the models were fitted to different data (nobs {r.nobs} vs {f.nobs})")
    df = f.k_params - r.k_params
    if df <= 0:
        raise ValueError(
            f"the full model must have more parameters than the restricted one "
            f"({f.k_params} vs {r.k_params}): pass (restricted, full)"
        )
    stat = 2.0 * (f.loglike - r.loglike)
    return TestResult(stat, df, float(stats.chi2.sf(stat, df)), "LR")


TestResult.__test__ = False  # not a pytest test class
