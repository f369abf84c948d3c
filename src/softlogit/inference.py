r"""Covariance of the estimates, and the Wald and likelihood-ratio tests built on it.

Everything is computed from sums over rows, through the training source's ``reduce``:

* the information :math:`A = \sum_i w_i H_i \otimes \tilde x_i \tilde x_i^T` (observed = expected
  for the canonical link), and with a penalty the penalised :math:`A_\lambda = A + W\Lambda`;
* the score cross-products :math:`B = \sum_i w_i s_i s_i^T` with
  :math:`s_i = g_i \otimes \tilde x_i` (``HC0``), or over cluster sums
  :math:`B = \sum_g (\sum_{i \in g} w_i s_i)(\cdot)^T` (``cluster``).

The covariance is the sandwich :math:`A_\lambda^{-1} M A_\lambda^{-1}` with :math:`M = A`
(``"nonrobust"``: for an unpenalised fit this is :math:`A^{-1}`, the inverse Fisher
information) or :math:`M = B` (robust), times the small-sample factor:

* ``"HC0"``: 1;  ``"HC1"``: :math:`n / (n - k)`;
* ``"cluster"``: :math:`\frac{G}{G-1}\frac{n-1}{n-k}`, as Stata's ``vce(cluster)`` and
  statsmodels' default. (Stata's ``vce(robust)`` for ``logit`` is ``HC0 * n / (n - 1)``, which
  is none of these; softlogit offers ``HC0``, ``HC1`` and ``cluster``.)

Sample weights are frequency weights: a row of weight 2 counts as two identical rows, so
:math:`n` is the sum of the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg as sla
import scipy.sparse as sp
from scipy import stats

from .objective import scaled_design

__all__ = [
    "COV_TYPES",
    "TestResult",
    "covariance",
    "information",
    "score_products",
    "wald",
    "z_table",
]

COV_TYPES = ("nonrobust", "HC0", "HC1", "cluster")


@dataclass(frozen=True)
class TestResult:
    """A chi-squared test: statistic, degrees of freedom and p-value."""

    statistic: float
    df: int
    pvalue: float
    name: str = "Wald"

    def __str__(self):
        return f"{self.name} chi2({self.df}) = {self.statistic:.4f}, p = {self.pvalue:.4g}"


def information(objective, theta):
    """Penalised and unpenalised information matrices (sum scale) at ``theta``, in the
    centred coordinates of :mod:`softlogit.coordinates` (``objective.centering`` maps a
    covariance computed from them back: :meth:`~softlogit.coordinates.Centering.cov_to_theta`).
    """
    _, _, H = objective.value_grad_hess_centered(theta)
    A_pen = objective.total_weight * H
    coef, _ = objective.split(theta)
    diag = np.zeros(objective.shape)
    diag[:, : objective.p] = objective.penalty.hessian_diag(coef)
    A = A_pen - np.diag(objective.total_weight * diag.ravel())
    return A_pen, A


def _scores(objective, theta, chunk):
    """Per-row scores ``g_i (x) [x_i - c, 1]`` in centred coordinates, shape (rows, m * q)
    (the loss gradient)."""
    eta = objective.linear_predictor(theta, chunk)
    _, grad = objective.family.loss_gradient(eta, chunk.y)
    X = chunk.X.toarray() if sp.issparse(chunk.X) else chunk.X
    ones = np.ones(X.shape[0])
    X = scaled_design(X, ones, objective.fit_intercept, None, objective.centering.center)
    return (grad[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)


def score_products(objective, theta, groups=None, n_groups=None):
    """``B``: summed weighted score outer products (centred coordinates, as
    :func:`information`), or over cluster sums when ``groups`` (integer codes per row,
    aligned with the source's rows) is given."""
    if groups is None:

        def stats_(chunk):
            S = _scores(objective, theta, chunk) * np.sqrt(chunk.weight)[:, None]
            return (S.T @ S,)

        return objective.reduce(stats_)[0]

    def sums(chunk):
        S = _scores(objective, theta, chunk) * chunk.weight[:, None]
        total = np.zeros((n_groups, S.shape[1]))
        np.add.at(total, chunk.groups, S)
        return (total,)

    C = objective.source.with_groups(groups).reduce(sums)[0]
    return C.T @ C


def _inverse(A):
    """Inverse of a symmetric positive definite matrix by Cholesky (least squares if singular)."""
    try:
        factor = sla.cho_factor(A, check_finite=False)
        return sla.cho_solve(factor, np.eye(A.shape[0]), check_finite=False)
    except (np.linalg.LinAlgError, sla.LinAlgError):
        return np.linalg.pinv(A, hermitian=True)


def covariance(A_pen, meat, free, factor=1.0):
    """Sandwich covariance over the free parameters; fixed (aliased) ones get NaN."""
    bread = _inverse(A_pen[np.ix_(free, free)])
    V = np.full(A_pen.shape, np.nan)
    V[np.ix_(free, free)] = factor * bread @ meat[np.ix_(free, free)] @ bread
    return V


def small_sample_factor(cov_type, nobs, k, n_groups=None):
    """The correction multiplying HC0 for ``cov_type`` (see the module docstring)."""
    if cov_type == "HC1":
        return nobs / (nobs - k)
    if cov_type == "cluster":
        return n_groups / (n_groups - 1) * (nobs - 1) / (nobs - k)
    return 1.0


def z_table(estimate, se, alpha, index, name="coef"):
    r"""The table of a normal (Wald) approximation: ``name, std_err, z, p_value, ci_low,
    ci_high`` with :math:`z = \hat\beta / \mathrm{se}`, two-sided p-values and
    :math:`\hat\beta \pm z_{1-\alpha/2}\,\mathrm{se}` intervals."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    estimate, se = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = estimate / se
    crit = stats.norm.ppf(1 - alpha / 2)
    columns = {
        name: estimate,
        "std_err": se,
        "z": z,
        "p_value": 2 * stats.norm.sf(np.abs(z)),
        "ci_low": estimate - crit * se,
        "ci_high": estimate + crit * se,
    }
    return pd.DataFrame(columns, index=index)


def wald(estimate, cov, R, r=None, name="Wald"):
    r"""Wald test of :math:`R\theta = r`: :math:`(R\hat\theta - r)^T (R V R^T)^{-1}
    (R\hat\theta - r) \sim \chi^2_{\operatorname{rank}(R)}`."""
    R = np.atleast_2d(np.asarray(R, dtype=float))
    r = np.zeros(R.shape[0]) if r is None else np.asarray(r, dtype=float)
    diff = R @ estimate - r
    middle = R @ cov @ R.T
    stat = float(diff @ np.linalg.pinv(middle, hermitian=True) @ diff)
    df = int(np.linalg.matrix_rank(middle))
    return TestResult(stat, df, float(stats.chi2.sf(stat, df)), name)
