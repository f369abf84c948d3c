r"""The coordinates solvers work in, and the scale-free measure of optimality they stop on.

A stopping rule on the raw gradient, :math:`\max_j |g_j| \le \text{tol}`, depends on how the
columns are scaled and on how the weights are spread: a column scaled by :math:`10^{12}` has
a gradient whose rounding alone exceeds any ``tol``; with class weights of :math:`10^8 : 1`
the gradient of the weight-normalised objective is below ``1e-8`` at the starting point, far
from the optimum. The solvers here stop instead on measures that do not change when a column
is shifted or rescaled, nor when the objective is rescaled:

* Newton: the Newton decrement relative to the loss scale :math:`F`,
  :math:`\sqrt{g^T H^{-1} g / F} \le \text{tol}` (affine invariant; :math:`g^T H^{-1} g / 2`
  is the predicted decrease of the objective, so the relative suboptimality is about
  :math:`\text{tol}^2 / 2`);
* gradient methods: the gradient scaled by the curvature of each parameter,
  :math:`\max_j |g_{\psi,j}| / \sqrt{H_{\psi,jj} F} \le \text{tol}`, in the centred
  coordinates :math:`\psi` of :mod:`softlogit.coordinates` (Jacobi scaling: invariant to the
  location and scale of every column).

The loss scale :math:`F` is the mean negative log-likelihood at the starting point (the
intercept-only model for a cold start): the objective's natural unit, which class weights of
any ratio scale along with the objective.
"""

from __future__ import annotations

import numpy as np

from ...coordinates import Centering

__all__ = ["CenteredView", "CurvatureScale", "JacobiView", "loss_scale"]

#: Smallest loss scale used (a start that already fits every row perfectly).
MIN_LOSS_SCALE = 1e-300


def loss_scale(objective, theta):
    """The mean negative log-likelihood at ``theta`` (no penalty): the unit in which the
    solvers measure optimality."""
    value = -objective.loglike(theta) / objective.total_weight
    return max(float(value), MIN_LOSS_SCALE) if np.isfinite(value) else 1.0


class CenteredView:
    r"""An objective seen in the centred coordinates :math:`\psi` of
    :mod:`softlogit.coordinates`: values, gradients and Hessians at :math:`\psi` are those
    of the objective at :math:`\theta = M^{-1}\psi`, with :math:`g_\psi = M^{-T} g_\theta` and
    the Hessian summed over the centred design (exact where the raw one loses the digits
    that tell a column far from 0 from the intercept).

    Parameters
    ----------
    objective : Objective or FirthObjective
        Offers ``value``, ``value_grad``, ``value_grad_hess_centered`` and ``centering``.
    """

    def __init__(self, objective):
        self.base = objective
        self._map = objective.centering
        self.centering = Centering(None, objective.m, False)  # its own coordinates: centred

    def __getattr__(self, name):  # n_params, shape, source, total_weight, m, p, q, ...
        return getattr(self.base, name)

    def to_psi(self, theta):
        """Centred parameters of raw ones."""
        return self._map.to_psi(theta)

    def to_theta(self, psi):
        """Raw parameters of centred ones."""
        return self._map.to_theta(psi)

    def value(self, psi):
        """Objective value at ``psi``."""
        return self.base.value(self.to_theta(psi))

    def loglike(self, psi):
        """Log-likelihood at ``psi``."""
        return self.base.loglike(self.to_theta(psi))

    def value_grad(self, psi):
        """Value and centred gradient at ``psi`` (one value-and-gradient pass)."""
        f, g = self.base.value_grad(self.to_theta(psi))
        return f, self._map.grad_to_psi(g)

    def value_grad_hess(self, psi):
        """Value, centred gradient and centred Hessian at ``psi`` (one Hessian pass)."""
        return self.base.value_grad_hess_centered(self.to_theta(psi))

    value_grad_hess_centered = value_grad_hess

    def hessian_diag_centered(self, psi):
        """Diagonal of the centred Hessian at ``psi``."""
        return self.base.hessian_diag_centered(self.to_theta(psi))

    def on_subsample(self, n_rows):
        """The view of the objective on a subsample (same centring), or None."""
        on_subsample = getattr(self.base, "on_subsample", None)
        small = None if on_subsample is None else on_subsample(n_rows)
        return None if small is None else CenteredView(small)


class CurvatureScale:
    r"""The scale-free gradient measure of gradient methods,
    :math:`\max_j |g_{\psi,j}| / \sqrt{H_{\psi,jj} F}` over the free parameters.

    The Hessian diagonal is taken at the start and refreshed whenever the measure with the
    stored one passes ``tol``: convergence is claimed only with the curvature at the point
    itself (one diagonal pass, about the cost of a gradient pass).

    Parameters
    ----------
    objective : Objective
    theta : ndarray
        The starting point (fixes the loss scale and the first curvature).
    free : ndarray of bool
    """

    def __init__(self, objective, theta, free):
        self.objective, self.free = objective, np.asarray(free, dtype=bool)
        self.scale = loss_scale(objective, theta)
        self.refresh(theta)

    def refresh(self, theta):
        """Take the curvature (Hessian diagonal, positive) at ``theta``: one pass."""
        d = np.asarray(self.objective.hessian_diag_centered(theta), dtype=float)
        positive = d[self.free & (d > 0) & np.isfinite(d)]
        floor = positive.max() * 1e-300 if positive.size else 1.0
        self.diag = np.where(np.isfinite(d), np.maximum(d, floor), 1.0)

    def measure(self, theta, g):
        """The measure at ``theta`` with gradient ``g`` (raw coordinates), using the stored
        curvature."""
        g_psi = self.objective.centering.grad_to_psi(g)
        ratio = np.abs(g_psi[self.free]) / np.sqrt(self.diag[self.free] * self.scale)
        return float(ratio.max()) if ratio.size else 0.0

    def converged(self, theta, g, tol):
        """Whether the measure is at most ``tol`` with the curvature at ``theta``."""
        if self.measure(theta, g) > tol:
            return False
        self.refresh(theta)
        return self.measure(theta, g) <= tol


class JacobiView:
    r"""An objective in Jacobi-scaled centred coordinates, divided by its loss scale:
    :math:`\phi_j = \psi_j \sqrt{H_{\psi,jj} / F}` and :math:`\tilde f(\phi) = f / F`, so that
    the gradient in :math:`\phi` is the measure of :class:`CurvatureScale` and the Hessian
    has unit diagonal at the point the view was made (a gradient method then sees every
    column, and any weights, on one scale).

    Parameters
    ----------
    objective : Objective (or a view)
    curvature : CurvatureScale
        The loss scale :math:`F` and the (positive) Hessian diagonal to scale by.
    """

    def __init__(self, objective, curvature):
        self.objective, self.scale = objective, float(curvature.scale)
        self.jacobi = np.sqrt(curvature.diag / self.scale)

    def to_phi(self, theta):
        """Scaled coordinates of raw parameters."""
        return self.objective.centering.to_psi(theta) * self.jacobi

    def to_theta(self, phi):
        """Raw parameters of scaled coordinates."""
        return self.objective.centering.to_theta(np.asarray(phi, dtype=float) / self.jacobi)

    def value_grad(self, phi):
        """``f / F`` and its gradient in the scaled coordinates."""
        f, g = self.objective.value_grad(self.to_theta(phi))
        g_psi = self.objective.centering.grad_to_psi(g)
        return f / self.scale, g_psi / (self.jacobi * self.scale)
