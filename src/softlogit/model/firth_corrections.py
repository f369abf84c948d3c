r"""FLIC and FLAC: Firth's logistic regression with its intercept corrected (Puhr et al. 2017).

Firth's penalty shrinks the predicted probabilities toward 1/2, so their mean exceeds the
observed proportion of the rarer class. Two corrections (R's ``logistf::flic`` and
``logistf::flac``) restore :math:`\sum_i w_i \hat p_i = \sum_i w_i y_i`:

* **FLIC** (intercept correction): keep Firth's slopes :math:`\hat\beta_F` and refit the
  intercept alone by maximum likelihood with :math:`x_i^T\hat\beta_F` (plus any offset) as
  offset. Its score equation is :math:`\sum_i w_i (y_i - \hat p_i) = 0`. Standard errors as
  ``logistf``: the slopes' covariance is Firth's, :math:`I(\hat\theta_F)^{-1}`; the
  intercept's variance, and its covariances with the slopes, are those of
  :math:`I(\hat\theta_{FLIC})^{-1}`, the inverse Fisher information of the whole model at the
  corrected estimate.
* **FLAC** (added covariate): with Firth's hat values :math:`h_i = w_i \hat p_i (1 - \hat
  p_i)\, \tilde x_i^T I(\hat\theta_F)^{-1} \tilde x_i`, augment the data by two
  pseudo-observations per row, :math:`(x_i, y = 1)` and :math:`(x_i, y = 0)`, each of weight
  :math:`h_i / 2`, add an indicator :math:`g` (0 for the original rows, 1 for the pseudo ones)
  and fit ordinary maximum likelihood of :math:`y \sim x + g`. The coefficients other than
  :math:`g`'s are FLAC's and their covariance is the inverse information of that fit (without
  :math:`g`'s row and column). The intercept's score is :math:`\sum_i w_i (y_i - \hat p_i) +
  \sum_i h_i (\tfrac12 - \hat p_i^{(g=1)})` and :math:`g`'s is the second sum alone, so at
  the solution :math:`\sum_i w_i (y_i - \hat p_i) = 0` over the original rows.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.special import expit

from ..data.sources import InMemorySource, chunk_rows_for
from .objective import Objective, scaled_design
from .penalties import NoPenalty
from .solvers import SOLVERS

__all__ = ["CORRECTIONS", "correct_intercept", "firth_hat_values"]

#: The corrections of Firth's estimate by name (``penalty="flic"`` / ``"flac"``).
CORRECTIONS = ("flic", "flac")


def _raw_covariance(objective, theta, free, factor=None):
    r"""Inverse Fisher information (raw coordinates, NaN for fixed parameters) of the
    unpenalised ``objective`` at ``theta``; ``factor``: an existing Cholesky factor of the
    centred information's free block."""
    if factor is None:
        _, _, H = objective.value_grad_hess_centered(theta)
        factor = sla.cho_factor(objective.total_weight * H[np.ix_(free, free)])
    V = np.full((free.size, free.size), np.nan)
    V[np.ix_(free, free)] = sla.cho_solve(factor, np.eye(int(free.sum())))
    return objective.centering.cov_to_theta(V)


def _check(objective):
    if objective.m != 1:
        raise ValueError("penalty='flic' and 'flac' correct a binary Firth fit (two classes)")
    if not objective.fit_intercept:
        raise ValueError("penalty='flic' and 'flac' correct the intercept: fit_intercept=True")


def correct_intercept(spec, firth, theta, free, options):
    """The FLIC or FLAC estimate (``spec.penalty.correction``) from Firth's ``theta``.

    Parameters
    ----------
    spec : FitSpec
        The fit (its penalty names the correction; FLAC needs in-memory rows).
    firth : FirthObjective
        The objective Firth's fit solved.
    theta, free : ndarray
        Firth's estimate and the estimated (not aliased) parameters.
    options : SolverOptions
        Newton's settings for the maximum-likelihood refit.

    Returns
    -------
    result : SolverResult
        The corrected estimate and how its refit went.
    base : Objective
        The unpenalised objective over the training rows (for the log-likelihood).
    covariance : ndarray
        The covariance of the corrected estimate, raw coordinates (see the module).
    """
    _check(firth)
    if spec.reference is None:
        raise ValueError("penalty='flic' and 'flac' need a reference class (not reference=None)")
    if spec.penalty.correction == "flic":
        return _flic(firth, theta, free, options)
    return _flac(firth, theta, free, options)


def _flic(firth, theta, free, options):
    base = firth.base
    only_intercept = np.zeros_like(free)
    only_intercept[base.p] = True
    result = SOLVERS["newton"](base, theta, only_intercept, options)
    V = _raw_covariance(base, result.theta, free)
    V_firth = _raw_covariance(base, theta, free, firth._information(theta)[3])
    slopes = np.arange(base.p)
    V[np.ix_(slopes, slopes)] = V_firth[np.ix_(slopes, slopes)]
    return result, base, V


def firth_hat_values(firth, theta, X, weight, offset=None):
    r"""Firth's hat values :math:`h_i = w_i p_i (1 - p_i)\, \tilde x_i^T I^{-1} \tilde x_i`
    of the rows ``X`` (in-memory, binary) at ``theta``, computed chunk by chunk (no
    :math:`n \times n` matrix): the diagonal of the hat matrix
    :math:`W^{1/2} \tilde X I^{-1} \tilde X^T W^{1/2}`, summing to the number of estimated
    parameters."""
    factor = firth._information(theta)[3]
    free, center = firth.free, firth.centering.center
    coef, intercept = firth.split(theta)
    rows = chunk_rows_for(firth.q)
    h = np.empty(X.shape[0])
    for start in range(0, X.shape[0], rows):
        part = slice(start, start + rows)
        Xc = X[part].toarray() if sp.issparse(X) else np.asarray(X[part])
        eta = Xc @ coef[0] + intercept[0]
        if offset is not None:
            eta = eta + offset[part, 0]
        Z = scaled_design(Xc, np.ones(Xc.shape[0]), True, None, center)[:, free]
        d = expit(eta) * expit(-eta)
        h[part] = weight[part] * d * np.sum(sla.cho_solve(factor, Z.T).T * Z, axis=1)
    return h


def _flac(firth, theta, free, options):
    base = firth.base
    rows = base.source
    if not isinstance(rows, InMemorySource):
        raise ValueError("penalty='flac' augments the data: it needs the rows in memory")
    X, codes, weight, offset = rows.X, rows.y, rows.weight, rows.offset
    h = firth_hat_values(firth, theta, X, weight, offset)
    n, p = X.shape
    g = np.r_[np.zeros(n), np.ones(2 * n)][:, None]
    stack = sp.vstack if sp.issparse(X) else np.vstack
    X_aug = stack([X] * 3)
    X_aug = sp.hstack([X_aug, g], format="csr") if sp.issparse(X_aug) else np.hstack([X_aug, g])
    y_aug = np.r_[codes, np.ones(n, dtype=codes.dtype), np.zeros(n, dtype=codes.dtype)]
    w_aug = np.r_[weight, h / 2, h / 2]
    o_aug = None if offset is None else np.vstack([offset] * 3)
    source = InMemorySource(X_aug, y_aug, w_aug, o_aug, chunk_rows=chunk_rows_for(p + 2, 1))
    augmented = Objective(base.family, source, NoPenalty(), True)
    free_aug = np.insert(free, p, True)
    result = SOLVERS["newton"](augmented, np.insert(theta, p, 0.0), free_aug, options)
    V = np.delete(np.delete(_raw_covariance(augmented, result.theta, free_aug), p, 0), p, 1)
    result.theta = np.delete(result.theta, p)
    return result, base, V
