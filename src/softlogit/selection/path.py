r"""Regularisation paths: the penalised fit over a decreasing grid of ``alpha``, as glmnet.

* Grid: :math:`\alpha_{\max} = \max_j \lvert \nabla_j f(\hat\theta_0) \rvert / (\lambda_1 v_j)`
  (group norms for grouped penalties) at the intercept-only fit :math:`\hat\theta_0`, the
  smallest ``alpha`` with all coefficients zero, down to :math:`\epsilon\,\alpha_{\max}`
  (:math:`\epsilon = 10^{-2}` when :math:`n < p`, else :math:`10^{-4}`, as glmnet),
  log-spaced. For a
  pure ridge (:math:`\lambda_1 = 0`) :math:`\lambda_1` is replaced by :math:`10^{-3}`, as
  glmnet does.
* Warm starts: each fit starts from the previous solution.
* Sequential strong rules (Tibshirani et al. 2012): feature :math:`j` is left out at
  :math:`\alpha_k` when :math:`\lvert \nabla_j f \rvert < \lambda_1 v_j (2\alpha_k -
  \alpha_{k-1})` at the previous solution; after the fit the KKT conditions are checked on
  every left-out feature and violators are added back and refitted, so the path is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sklearn.base import clone

from ..data.sources import single_threaded_blas
from ..estimators import LogisticRegression, SoftmaxRegression
from ..model.fitting import _null_intercepts, _solver_family, build_objective
from ..model.penalties import NoPenalty, make_penalty
from ..model.solvers import SOLVERS, SolverOptions, cd_dense, cd_sparse
from ..model.solvers.cd import column_scales

__all__ = [
    "RegularizationPath",
    "alpha_grid",
    "check_alphas",
    "null_fit",
    "path_on_spec",
    "path_setup",
    "regularization_path",
]


@dataclass
class RegularizationPath:
    """Coefficients along a decreasing ``alpha`` grid.

    Attributes
    ----------
    alphas : ndarray of shape (k,)
    coefs : ndarray of shape (k, m, p)
        Coefficients per alpha in the estimator's layout (``coef_`` of each fit).
    intercepts : ndarray of shape (k, m)
    deviance : ndarray of shape (k,)
        Training deviance :math:`-2\\ell` per alpha.
    n_nonzero : ndarray of shape (k,)
        Features with a non-zero coefficient (in any class).
    n_iter : ndarray of shape (k,)
        Proximal Newton iterations per alpha.
    l1_ratio : float
    classes : ndarray
    feature_names : list of str
    reference : label or None
        The reference class of a softmax path (its coefficients are fixed at 0, so ``coefs``
        has a row per other class); None for the symmetric parameterisation.
    """

    alphas: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    deviance: np.ndarray
    n_nonzero: np.ndarray
    n_iter: np.ndarray
    l1_ratio: float
    classes: np.ndarray
    feature_names: list
    reference: object = None


def _penalty_at(spec, alpha, ratio):
    p = spec.penalty
    return make_penalty("elasticnet", alpha, ratio, p.factor, p.scale, p.grouped)


def _feature_scores(objective, g, penalty):
    """Per-feature |gradient| (group norm over classes when grouped) and lasso weights."""
    G = g.reshape(objective.shape)[:, : objective.p]
    score = np.linalg.norm(G, axis=0) if penalty.grouped else np.abs(G).max(axis=0)
    unit = make_penalty("elasticnet", 1.0, 1.0, penalty.factor, penalty.scale)
    weights = unit.l1_weights(np.zeros((1, objective.p)))[0]
    return score, weights


def null_fit(spec, family):
    """The intercept-only fit (all coefficients fixed at 0) and its objective. Newton runs
    on the intercepts alone (a design without columns: the coefficients are 0), so its
    Hessian has ``m`` rows however many features there are."""
    objective = build_objective(spec, family)
    T = np.zeros(objective.shape)
    if spec.fit_intercept:
        none = spec.X[:, :0]
        small = build_objective(replace(spec, X=none, penalty=NoPenalty()), family)
        start = _null_intercepts(spec, family)[:, None]
        free = np.ones(small.shape, dtype=bool)
        if family.reference is None:
            free[0, -1] = False
        options = SolverOptions(max_iter=100, tol=1e-10)
        T[:, -1] = SOLVERS["newton"](small, start.ravel(), free.ravel(), options).theta
    return objective, T.ravel()


def alpha_grid(spec, family, l1_ratio, n_alphas=100, eps=None):
    """glmnet's default grid for ``spec`` (largest first) and the intercept-only fit."""
    objective, theta = null_fit(replace(spec, penalty=_penalty_at(spec, 0.0, l1_ratio)), family)
    _, g = objective.value_grad(theta)
    score, weights = _feature_scores(objective, g, spec.penalty)
    penalised = weights > 0
    if not penalised.any():
        raise ValueError("every penalty_factor is 0: there is no path to compute")
    alpha_max = float(np.max(score[penalised] / weights[penalised])) / max(l1_ratio, 1e-3)
    if eps is None:  # glmnet: ifelse(nobs < nvars, 0.01, 1e-4)
        eps = 1e-2 if spec.X.shape[0] < spec.X.shape[1] else 1e-4
    return np.geomspace(alpha_max, alpha_max * eps, n_alphas), theta


def _strong_set(objective, g, penalty, alpha, alpha_prev):
    score, weights = _feature_scores(objective, g, penalty)
    return score >= penalty.l1_ratio * weights * (2 * alpha - alpha_prev)


def _fit_screened(base, spec, family, alpha, ratio, theta, keep, options, store=None):
    """Fit at ``alpha`` on the strong set, adding back KKT violators until none remain."""
    spec_a = replace(spec, penalty=_penalty_at(spec, alpha, ratio))
    objective = base.with_penalty(spec_a.penalty)
    base_free = np.ones(objective.shape, dtype=bool)
    if family.reference is None and spec.fit_intercept:
        base_free[0, objective.p] = False
    iters = 0
    while True:
        free = base_free.copy()
        free[:, : objective.p] &= keep[None, :]
        T = theta.reshape(objective.shape).copy()
        T[:, : objective.p][:, ~keep] = 0.0
        result = SOLVERS["cd"](objective, T.ravel(), free.ravel(), options, state=store)
        iters += result.n_iter
        theta, store = result.theta, result.state
        _, g = objective.value_grad(theta)
        score, weights = _feature_scores(objective, g, spec_a.penalty)
        slack = options.tol * column_scales(objective)  # the solver's scale-free tolerance
        violators = ~keep & (score > alpha * ratio * weights + slack)
        if not violators.any():
            return theta, g, objective, iters, store
        keep = keep | violators


def regularization_path(
    X,
    y,
    model=None,
    alphas=None,
    n_alphas=100,
    eps=None,
    l1_ratio=None,
    sample_weight=None,
    offset=None,
    tol=1e-8,
    max_iter=100,
):
    """Penalised fits over a decreasing ``alpha`` grid with warm starts and strong rules.

    Parameters
    ----------
    X, y : as for ``fit`` (with a formula in ``model``, ``X`` is the data frame and ``y`` None)
    model : LogisticRegression or SoftmaxRegression, optional
        Template for the model settings (``penalty_factor``, ``standardize``, ``grouped``,
        ``reference``, ``fit_intercept``, ``formula``, ``class_weight``). Default: a
        LogisticRegression for two classes, else a SoftmaxRegression.
    alphas : array-like, optional
        The grid (sorted decreasing); default: glmnet's grid of ``n_alphas`` values.
    n_alphas : int
    eps : float, optional
        Ratio of the smallest to the largest alpha of the default grid.
    l1_ratio : float, optional
        Lasso share (default: the template's, or 1 for a template without a lasso part).
    sample_weight, offset : optional, as for ``fit``
    tol, max_iter : KKT tolerance and proximal Newton iterations per alpha.

    Returns
    -------
    RegularizationPath
    """
    template, spec, family = path_setup(X, y, model, l1_ratio, sample_weight, offset)
    ratio = spec.penalty.l1_ratio
    grid, theta = alpha_grid(spec, family, ratio, n_alphas, eps)
    if alphas is not None:
        grid = check_alphas(alphas)
        theta = null_fit(spec, family)[1]
    options = SolverOptions(max_iter=max_iter, tol=tol)
    out = path_on_spec(spec, family, grid, ratio, theta, options)
    return RegularizationPath(
        grid,
        *(np.array(out[k]) for k in ("coefs", "intercepts", "deviance", "n_nonzero", "n_iter")),
        ratio,
        spec.classes,
        spec.feature_names,
        None if spec.reference is None else spec.classes[spec.reference],
    )


def check_alphas(alphas):
    """A user grid as a float array sorted decreasing, or a ValueError."""
    grid = np.sort(np.asarray(alphas, dtype=float).ravel())[::-1]
    if grid.size == 0 or np.any(grid < 0) or not np.all(np.isfinite(grid)):
        raise ValueError("alphas must be a non-empty array of finite values >= 0")
    return grid


def path_on_spec(spec, family, grid, ratio, theta, options):
    """Fit every alpha of ``grid`` from the start ``theta`` with strong rules; per-alpha
    coefficients, intercepts, deviance, non-zero counts and iterations. BLAS runs
    single-threaded, as in :func:`softlogit.model.fitting.fit_model`: the passes parallelise over
    chunks, and the small factorisations between them only lose to BLAS threads."""
    with single_threaded_blas():
        return _path_on_spec(spec, family, grid, ratio, theta, options)


def _path_on_spec(spec, family, grid, ratio, theta, options):
    base = objective = build_objective(spec, family)
    for compiled in (cd_dense, cd_sparse):  # small dense or sparse binary: all compiled
        if compiled.path_applicable(objective):
            _, weights = _feature_scores(objective, np.zeros(objective.n_params), spec.penalty)
            return compiled.path(objective, weights, grid, theta, options)
    out = cd_dense.new_path_output()
    _, g = objective.value_grad(theta)
    prev, store = grid[0], None
    for alpha in grid:
        keep = _strong_set(objective, g, spec.penalty, alpha, prev)
        theta, g, objective, iters, store = _fit_screened(
            base, spec, family, alpha, ratio, theta, keep, options, store
        )
        cd_dense.record_alpha(out, objective, theta, -2.0 * objective.loglike(theta), iters)
        prev = alpha
    return out


def path_setup(X, y, model, l1_ratio, sample_weight, offset):
    """Template estimator, validated spec (with a unit-strength penalty) and solver family."""
    if model is None:
        labels = np.unique(np.asarray(y)) if y is not None else None
        binary = labels is not None and labels.size == 2
        model = LogisticRegression() if binary else SoftmaxRegression()
    template = clone(model)
    ratio = l1_ratio
    if ratio is None:
        ratio = template.l1_ratio if template.penalty == "elasticnet" else 1.0
    template.set_params(penalty="elasticnet", l1_ratio=ratio, alpha=0.0, solver="cd")
    Xv, y = template._design(X, y, reset=True)
    offset = template._with_formula_offset(X, offset, Xv.shape[0])  # offset(...) terms
    spec = template._spec(Xv, y, sample_weight, offset)
    spec = replace(spec, penalty=_penalty_at(spec, 1.0, ratio))  # any alpha > 0
    family, _ = _solver_family(spec, "cd")
    return template, spec, family
