r"""Cross-validated penalised models: ``LogisticRegressionCV`` and ``SoftmaxRegressionCV``.

For each ``l1_ratio``, the ``alpha`` grid is computed on all rows (glmnet's convention), then
each of ``cv`` stratified folds fits the whole path on its training rows (warm starts, strong
rules) and scores every alpha on its held-out rows: by default the mean weighted
cross-entropy (deviance / 2n, lower is better), or any scikit-learn scorer (higher is
better). The curve's mean and standard error per alpha are kept; ``alpha_`` minimises the
mean loss (``rule="min"``) and ``alpha_1se_`` is the largest alpha within one standard error
of it (``rule="1se"`` refits with that one). The final model is refitted on all rows.
"""

from __future__ import annotations

from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import _fit_context
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..data.design import feature_scales
from ..data.sources import single_threaded_blas
from ..estimators import LogisticRegression, SoftmaxRegression
from ..model.fitting import build_objective
from ..model.penalties import NoPenalty
from ..model.solvers import SolverOptions
from ..params import is_fitted_name
from .path import alpha_grid, check_alphas, null_fit, path_on_spec, path_setup

__all__ = ["LogisticRegressionCV", "SoftmaxRegressionCV"]

#: KKT tolerance of the per-fold paths (the refit uses the estimator's own ``tol``).
CV_PATH_TOL = 1e-7

CV_PARAMS = ("alphas", "n_alphas", "eps", "l1_ratios", "cv", "scoring", "rule", "n_jobs")

#: The CV estimators' own parameters and the penalties they cross-validate (checked at fit;
#: the other parameters as for the plain estimators, ``alpha`` unused).
CV_CONSTRAINTS = {
    "alphas": ["array-like", None],
    "n_alphas": [Interval(Integral, 1, None, closed="left")],
    "eps": [Interval(Real, 0, 1, closed="neither"), None],
    "l1_ratios": [Interval(Real, 0, 1, closed="both"), "array-like", None],
    "cv": ["cv_object"],
    "scoring": [StrOptions(set(get_scorer_names())), callable, None],
    "rule": [StrOptions({"min", "1se"})],
    "n_jobs": [Integral, None],
    "penalty": [StrOptions({"l1", "l2", "elasticnet"})],
}


def _subset(spec, rows, penalty=None):
    """The rows ``rows`` of ``spec`` under ``penalty``; by default the spec's, with a
    standardised penalty standardised on those rows (as ``cv.glmnet``, whose fold fits are
    the fits on the folds' own rows)."""
    off = None if spec.offset is None else spec.offset[rows]
    X, weight = spec.X[rows], spec.weight[rows]
    if penalty is None:
        penalty = spec.penalty
        if getattr(penalty, "scale", None) is not None:
            penalty = replace(penalty, scale=feature_scales(X, weight, spec.fit_intercept))
    return replace(spec, X=X, codes=spec.codes[rows], weight=weight, offset=off, penalty=penalty)


def _fold(spec, family, grid, ratio, train, test, options, scorer, template):
    """Path on the training rows; validation scores per alpha (losses are negated scores)."""
    train_spec = _subset(spec, train)
    theta0 = null_fit(train_spec, family)[1]
    out = path_on_spec(train_spec, family, grid, ratio, theta0, options)
    test_spec = _subset(spec, test, NoPenalty())
    if scorer is None:
        return _heldout_losses(build_objective(test_spec, family), out)
    scores = []
    for coef, intercept in zip(out["coefs"], out["intercepts"], strict=True):
        X_test, coef = _scoring_inputs(test_spec, family, coef)
        model = _scoring_model(template, spec, family, coef, intercept)
        scores.append(scorer(model, X_test, spec.classes[test_spec.codes]))
    return np.array(scores)


def _heldout_losses(objective, out):
    r"""Mean weighted cross-entropy :math:`-\sum_i w_i \log p(y_i) / \sum_i w_i` of the
    held-out rows under every alpha's coefficients: the linear predictors of all alphas
    come from one product of the held-out rows with the stacked coefficients."""
    source, m = objective.source, objective.m
    coefs, intercepts = np.asarray(out["coefs"]), np.asarray(out["intercepts"])
    k, p = coefs.shape[0], coefs.shape[2]
    eta = np.asarray(source.X @ coefs.reshape(k * m, p).T) + intercepts.ravel()
    eta = eta.reshape(-1, k, m)
    if source.offset is not None:
        eta += np.asarray(source.offset).reshape(-1, 1, m)
    losses = [
        -float(source.weight @ objective.family.loglike(eta[:, a], source.y)) for a in range(k)
    ]
    return np.array(losses) / objective.total_weight


def _scoring_inputs(test_spec, family, coef):
    """The held-out rows and the coefficients a scorer sees. Scorers call ``predict_proba(X)``
    without an offset, so a fit's offset enters as extra columns (its free logits) with
    coefficient 1: the scorer's predictions are those of the fitted model with its offset."""
    if test_spec.offset is None:
        return test_spec.X, coef
    free = family.offset_to_free(test_spec.offset)
    if sp.issparse(test_spec.X):
        X = sp.hstack([test_spec.X, sp.csr_matrix(free)], format="csr")
    else:
        X = np.hstack([np.asarray(test_spec.X), free])
    return X, np.hstack([coef, np.eye(free.shape[1])])


def _scoring_model(template, spec, family, coef, intercept):
    """A fitted plain estimator with the given coefficients, for a scikit-learn scorer.

    scikit-learn's scorers take the larger label as the positive one (``roc_auc_score``,
    ``log_loss`` and ``brier_score_loss`` order ``y`` by sorting): a binary fit with
    ``positive_class`` the smaller label (``classes_ = [larger, smaller]``) is scored as the
    same model in sorted order, its coefficients negated."""
    model = type(template)()
    classes = spec.classes
    if classes.size == 2 and not classes[0] < classes[1]:
        classes, coef, intercept = classes[::-1], -coef, -intercept
    model.classes_ = classes
    model.coef_, model.intercept_ = coef, intercept
    model._family = family  # the path's family is the model's (symmetric: Categorical(K, None))
    model._reference = family.reference
    model.n_features_in_ = coef.shape[1]
    return model


def _without_missing(cls):
    """The constraints of ``cls`` but ``missing``: the cross-validated estimators fit the
    rows they are given (no ``missing="drop"``; drop incomplete rows first)."""
    return {k: v for k, v in cls._parameter_constraints.items() if k != "missing"}


class _CrossValidated:
    """Shared ``fit`` of the cross-validated estimators."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, offset=None):
        """Cross-validate the penalty over the alpha path (and ``l1_ratios``), then refit.

        Parameters are as for :meth:`LogisticRegression.fit`; they are validated first, and
        the fitted attributes are published together at the end.
        """
        if self.l1_ratios is None and self.penalty == "elasticnet" and self.l1_ratio == 0:
            raise ValueError(
                "penalty='elasticnet' with l1_ratio=0 is ridge: set l1_ratio in (0, 1], pass "
                "l1_ratios, or use penalty='l2'"
            )
        ratios = self._ratios()
        folds = self._folds()
        scorer = None if self.scoring is None else check_scoring(self, scoring=self.scoring)
        options = SolverOptions(max_iter=100, tol=self.tol or CV_PATH_TOL)
        grids, curves = [], []
        for ratio in ratios:
            template, spec, family = path_setup(X, y, self._base(), ratio, sample_weight, offset)
            grid = (
                alpha_grid(spec, family, ratio, self.n_alphas, self.eps)[0]
                if self.alphas is None
                else check_alphas(self.alphas)
            )
            splits = list(folds.split(spec.X, spec.codes))
            with single_threaded_blas():  # one BLAS thread per fold (folds share the cores)
                scores = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                    delayed(_fold)(spec, family, grid, ratio, tr, te, options, scorer, template)
                    for tr, te in splits
                )
            grids.append(grid)
            curves.append(np.array(scores).T)  # (n_alphas, n_folds)
        fitted = self._curve(np.array(ratios), np.array(grids), np.array(curves))
        alpha = fitted["alpha_1se_"] if self.rule == "1se" else fitted["alpha_"]
        final = self._base().set_params(**self._final_params(fitted["l1_ratio_"], alpha))
        final.fit(X, y, sample_weight=sample_weight, offset=offset)
        fitted.update({k: v for k, v in vars(final).items() if is_fitted_name(k)})
        fitted["alpha_selected_"] = alpha
        self._publish(fitted)
        return self

    def _folds(self):
        """Shuffled stratified folds for an integer ``cv``, else scikit-learn's ``check_cv``."""
        if isinstance(self.cv, (int, np.integer)):
            return StratifiedKFold(int(self.cv), shuffle=True, random_state=self.random_state)
        return check_cv(self.cv, classifier=True)

    @property
    def has_lasso_penalty(self):
        """bool: whether the refitted model's penalty (the selected ``alpha_selected_`` and
        ``l1_ratio_``) has a lasso part; then no standard errors are given."""
        return getattr(self, "l1_ratio_", 0.0) > 0 and getattr(self, "alpha_selected_", 0) > 0

    def _ratios(self):
        if self.l1_ratios is not None:
            return [float(r) for r in np.atleast_1d(self.l1_ratios)]
        return [{"l1": 1.0, "l2": 0.0}.get(self.penalty, self.l1_ratio)]

    def _base(self):
        params = {k: v for k, v in self.get_params().items() if k not in CV_PARAMS}
        return type(self).__mro__[2](**params)

    def selected_estimator(self):
        """The unfitted estimator of the final refit: this model's parameters with the
        selected penalty (``alpha_selected_``, ``l1_ratio_``) and no cross-validation.

        Returns
        -------
        LogisticRegression or SoftmaxRegression
        """
        check_is_fitted(self, "alpha_selected_")
        return self._base().set_params(**self._final_params(self.l1_ratio_, self.alpha_selected_))

    def _final_params(self, l1_ratio, alpha):
        """The penalty parameters of the refit at ``alpha`` and ``l1_ratio``: ridge for
        ``l1_ratio=0``, no penalty (and not coordinate descent) for ``alpha=0``."""
        if alpha == 0:
            solver = "auto" if self.solver == "cd" else self.solver
            return {"penalty": None, "alpha": 0.0, "l1_ratio": 0.0, "solver": solver}
        if l1_ratio == 0:
            return {"penalty": "l2", "alpha": alpha, "l1_ratio": 0.0}
        return {"penalty": "elasticnet", "alpha": alpha, "l1_ratio": l1_ratio}

    def _curve(self, ratios, grids, curves):
        """The CV curve's attributes and the selected alpha and l1_ratio."""
        sign = -1.0 if self.scoring is None else 1.0  # losses: lower is better
        score = sign * curves  # (n_ratios, n_alphas, n_folds), higher is better
        se = curves.std(axis=2, ddof=1) / np.sqrt(curves.shape[2])
        mean = score.mean(axis=2)
        r, a = np.unravel_index(np.argmax(mean), mean.shape)
        within = mean[r] >= mean[r, a] - se[r, a]
        return {
            "l1_ratios_": ratios,
            "alphas_": grids,
            "cv_scores_": curves,
            "cv_mean_": curves.mean(axis=2),
            "cv_se_": se,
            "l1_ratio_": float(ratios[r]),
            "alpha_": float(grids[r, a]),
            "alpha_1se_": float(grids[r][within].max()),
        }


_BASE_DOC = """
    Parameters
    ----------
    alphas : array-like or None
        The alpha grid; None: glmnet's grid of ``n_alphas`` values down to ``eps`` times the
        largest (computed on all rows).
    n_alphas : int
    eps : float or None
    l1_ratios : float, list of floats, or None
        Lasso shares to cross-validate; None: the one of ``penalty`` / ``l1_ratio``.
    cv : int, cross-validation splitter or iterable of (train, test) index arrays
        An integer is the number of stratified folds, shuffled with ``random_state``.
    scoring : str, callable or None
        None: held-out mean cross-entropy (lower is better); otherwise a scikit-learn scorer.
    rule : {"min", "1se"}
        Refit at ``alpha_`` (best mean) or ``alpha_1se_`` (largest alpha within one SE).
    n_jobs : int or None
        Folds in parallel (joblib threads: the compiled solvers and BLAS release the GIL,
        and the rows are shared, not copied to worker processes).
    Other parameters are those of the plain estimator (default ``penalty="l1"``).

    Attributes
    ----------
    alpha_ : float
        The alpha with the best mean CV score.
    l1_ratio_ : float
        The lasso share with the best mean CV score.
    alpha_1se_ : float
        The largest alpha whose mean score is within one standard error of the best.
    alpha_selected_ : float
        The alpha of the refitted model (``alpha_`` or ``alpha_1se_``, by ``rule``).
    alphas_ : ndarray of shape (n_ratios, n_alphas)
        The alpha grid per lasso share.
    l1_ratios_ : ndarray of shape (n_ratios,)
        The lasso shares cross-validated.
    cv_scores_ : ndarray of shape (n_ratios, n_alphas, n_folds)
        Held-out mean cross-entropy (or scorer values) per fold.
    cv_mean_, cv_se_ : ndarray of shape (n_ratios, n_alphas)
        The CV curve: mean and standard error over folds, for plotting.
    coef_, intercept_, ... :
        The refitted model's attributes, as for the plain estimator.
"""


def _store_params(estimator, params):
    """``__init__`` only stores its arguments (scikit-learn's contract)."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


class LogisticRegressionCV(_CrossValidated, LogisticRegression):
    __doc__ = "Binary logistic regression with the penalty chosen by cross-validation.\n" + (
        _BASE_DOC
    )

    _parameter_constraints: dict = {**_without_missing(LogisticRegression), **CV_CONSTRAINTS}

    def __init__(
        self,
        *,
        alphas=None,
        n_alphas=100,
        eps=None,
        l1_ratios=None,
        cv=5,
        scoring=None,
        rule="min",
        n_jobs=None,
        penalty="l1",
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
        positive_class=None,
    ):
        _store_params(self, locals())


class SoftmaxRegressionCV(_CrossValidated, SoftmaxRegression):
    __doc__ = "Multinomial (softmax) regression with the penalty chosen by cross-validation.\n" + (
        _BASE_DOC
    )

    _parameter_constraints: dict = {**_without_missing(SoftmaxRegression), **CV_CONSTRAINTS}

    def __init__(
        self,
        *,
        alphas=None,
        n_alphas=100,
        eps=None,
        l1_ratios=None,
        cv=5,
        scoring=None,
        rule="min",
        n_jobs=None,
        reference="first",
        penalty="l1",
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
        _store_params(self, locals())
