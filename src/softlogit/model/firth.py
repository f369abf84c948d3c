r"""Firth's bias-reduced logistic regression (Jeffreys-prior penalised likelihood).

Firth (1993) maximises :math:`\ell^*(\theta) = \ell(\theta) + \tfrac12 \log\det I(\theta)` with
:math:`I = \tilde X^T W D \tilde X`, :math:`D = \operatorname{diag}(p_i(1 - p_i))`. Its
estimates are finite even under separation, and their first-order bias vanishes. The
gradient of the penalty is :math:`\sum_i h_i (\tfrac12 - p_i) \tilde x_i`, with the leverages
:math:`h_i = w_i p_i (1 - p_i)\, \tilde x_i^T I^{-1} \tilde x_i`, giving Firth's modified score

.. math:: U^*(\theta) = \sum_i \bigl[w_i (y_i - p_i) + h_i (\tfrac12 - p_i)\bigr] \tilde x_i .

For a multinomial model with a reference class (Kosmidis & Firth 2011; R's
``brglm2::brmultinom``, whose default ``type="AS_mean"`` solves the same equations, the
canonical link making the mean-bias-reducing adjustment the Jeffreys-penalty score) the
information is :math:`I = \sum_i w_i\, V_i \otimes \tilde x_i \tilde x_i^T` over the
:math:`m = K - 1` free logits, :math:`V_i = \operatorname{diag}(p_i) - p_i p_i^T`. The
penalty's gradient :math:`\tfrac12 \operatorname{tr}(I^{-1}\, \partial I / \partial\theta)`
needs, per row, only the :math:`m \times m` block :math:`A_i` with
:math:`(A_i)_{ab} = \tilde x_i^T (I^{-1})_{ab}\, \tilde x_i` (so that
:math:`H_i = V_i^{1/2} A_i V_i^{1/2} w_i` is the row's block of the hat matrix): with
:math:`\partial V_{ab} / \partial\eta_c = \delta_{ab} V_{ac} - V_{ac} p_b - p_a V_{bc}`,

.. math:: \frac{\partial}{\partial \theta_c} \tfrac12 \log\det I
   = \sum_i \tfrac12 w_i \bigl[V_i (\operatorname{diag} A_i - 2 A_i p_i)\bigr]_c\,
   \tilde x_i ,

which for :math:`m = 1` is the binary :math:`h_i (\tfrac12 - p_i)`. No :math:`n \times n`
matrix is formed: the rows are reduced chunk by chunk.

As R's ``logistf`` does, the iterations are Newton steps with the Fisher information as the
Hessian and step-halving on :math:`\ell^*`; standard errors come from :math:`I^{-1}` at the
estimate. Each evaluation takes two passes over the data (information, then leverages).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.special import expit

from .objective import scaled_design
from .penalties import Firth

__all__ = ["FirthObjective"]


class FirthObjective:
    r"""The objective :math:`-\ell^*(\theta) / W` of a binary model, over a base objective.

    Parameters
    ----------
    base : Objective
        The unpenalised objective: binary (one logit row) or multinomial in a reference-class
        parameterisation (``K - 1`` rows; the symmetric softmax has a singular information).
    """

    #: The Hessian returned is the Fisher information, an approximation of the penalised
    #: objective's (Newton then finishes with quasi-Newton steps).
    approximate_hessian = True
    #: Relative rounding of the value: the log-determinant of the information sums the
    #: rounding of an ill-conditioned matrix (about 1e-12 of the value on breast cancer's
    #: features), so steps whose predicted decrease is below this are judged by the gradient.
    value_resolution = 1e-10

    def __init__(self, base):
        if getattr(base.family, "reference", 0) is None:
            raise ValueError("penalty='firth' needs a reference-class parameterisation")
        self.base = base
        self.free = np.ones(base.n_params, dtype=bool)
        self.penalty = Firth()

    def __getattr__(self, name):  # m, p, q, shape, split, source, total_weight, ...
        return getattr(self.base, name)

    def _information(self, theta):
        """Unpenalised value, centred gradient and Hessian, and the Cholesky factor of the
        centred information (free block): centred coordinates (:mod:`softlogit.coordinates`)
        keep a column far from 0 apart from the intercept; the determinant is the same in
        both coordinates."""
        f0, g0, H0 = self.base.value_grad_hess_centered(theta)
        info = self.total_weight * H0[np.ix_(self.free, self.free)]
        return f0, g0, H0, sla.cho_factor(info, check_finite=False)

    def _penalty_gradient(self, theta, factor):
        """The penalty's gradient in centred coordinates (binary or multinomial)."""
        if self.m == 1:
            return self._binary_penalty_gradient(theta, factor)
        return self._multinomial_penalty_gradient(theta, factor)

    def _multinomial_penalty_gradient(self, theta, factor):
        r""":math:`\sum_i \tfrac12 w_i [V_i(\operatorname{diag} A_i - 2 A_i p_i)]_c \tilde
        x_i` (module docstring) in centred coordinates; aliased parameters get 0."""
        free, center, m, q = self.free, self.centering.center, self.m, self.q
        inv = np.zeros((self.n_params, self.n_params))
        inv[np.ix_(free, free)] = sla.cho_solve(factor, np.eye(int(free.sum())))
        inv = inv.reshape(m, q, m, q)

        def stats(chunk):
            eta = self.base.linear_predictor(theta, chunk)
            X = chunk.X.toarray() if sp.issparse(chunk.X) else chunk.X
            X = scaled_design(X, np.ones(X.shape[0]), self.fit_intercept, None, center)
            D, P = self.family.working_weights(eta)  # V = diag(D) - P P^T, p = P
            A = np.empty((X.shape[0], m, m))
            for a in range(m):
                Y = (X @ inv[a].reshape(q, m * q)).reshape(X.shape[0], m, q)
                A[:, a, :] = np.einsum("nbj,nj->nb", Y, X)
            v = np.einsum("naa->na", A) - 2.0 * np.einsum("nab,nb->na", A, P)
            G = D * v - P * np.sum(P * v, axis=1, keepdims=True)
            G *= 0.5 * chunk.weight[:, None]
            return (G.T @ X,)

        out = self.reduce(stats)[0].ravel()
        out[~free] = 0.0
        return out

    def _binary_penalty_gradient(self, theta, factor):
        """:math:`\\sum_i h_i (1/2 - p_i) \\tilde x_i` in centred coordinates, with the
        leverages from the centred design."""
        free, center = self.free, self.centering.center

        def stats(chunk):
            eta = self.base.linear_predictor(theta, chunk)[:, 0]
            X = chunk.X.toarray() if sp.issparse(chunk.X) else chunk.X
            X = scaled_design(X, np.ones(X.shape[0]), self.fit_intercept, None, center)[:, free]
            p = expit(eta)
            d = p * expit(-eta)
            h = chunk.weight * d * np.sum(sla.cho_solve(factor, X.T).T * X, axis=1)
            return (X.T @ (h * (0.5 - p)),)

        out = np.zeros(self.n_params)
        out[free] = self.reduce(stats)[0]
        return out

    def value_grad_hess_centered(self, theta):
        """Penalised value, and gradient and Fisher information (mean scale, as the Hessian)
        in the centred coordinates of :mod:`softlogit.coordinates`."""
        f0, g0, H0, factor = self._information(theta)
        logdet = 2.0 * np.sum(np.log(np.diag(factor[0])))
        W = self.total_weight
        g = g0 - self._penalty_gradient(theta, factor) / W
        return f0 - 0.5 * logdet / W, g, H0

    def value_grad_hess(self, theta):
        """Penalised value and gradient; the Fisher information (mean scale) as Hessian."""
        f, g, H = self.value_grad_hess_centered(theta)
        return f, self.centering.grad_to_theta(g), self.centering.hess_to_theta(H)

    def value_grad(self, theta):
        """Penalised value and gradient (two passes)."""
        f, g, _ = self.value_grad_hess(theta)
        return f, g

    def value(self, theta):
        """Penalised value (one information pass)."""
        f0, _, _, factor = self._information(theta)
        return f0 - np.sum(np.log(np.diag(factor[0]))) / self.total_weight

    def loglike(self, theta):
        """The unpenalised log-likelihood at ``theta``."""
        return self.base.loglike(theta)
