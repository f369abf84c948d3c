r"""The neural-network view: the linear layer trained by gradient descent on the cross-entropy.

``gd`` (full batch), ``sgd`` (mini-batches) and ``adam`` share this one training loop and differ
only in the optimiser (:mod:`.optimizers`) and the batch size. Steps are taken in standardised
coordinates :math:`\phi` (features centred and scaled to unit variance, the usual input
normalisation of a network), an affine reparameterisation :math:`\theta = A\phi`; gradients map
as :math:`\nabla_\phi = A^T \nabla_\theta`, so the objective and its minimiser are unchanged.
After every epoch the full objective and gradient are evaluated (one pass): the loss curve
holds exact objective values, and training stops when the scale-free gradient measure of
:mod:`.views` (each gradient entry in centred coordinates over the square root of its
curvature times the loss scale) is at most ``tol``, verified with the curvature at the point
itself: a plateau of the training loss is not convergence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...numerics import scales_from_moments
from .base import SolverResult
from .optimizers import make_optimizer
from .views import CurvatureScale

__all__ = ["Standardizer", "TrainState", "make_trainer"]

DEFAULT_RATES = {"gd": 1.0, "sgd": 0.1, "adam": 0.01}
DEFAULT_BATCH = 200
MIN_RATE = 1e-6
PATIENCE = 5


@dataclass(frozen=True)
class Standardizer:
    r"""Affine map :math:`\theta = A\phi` between raw and standardised parameters.

    For each class row: :math:`\beta_j = \phi_j / s_j` and
    :math:`b = \phi_b - \sum_j \phi_j \mu_j / s_j`.
    """

    mean: np.ndarray
    scale: np.ndarray
    m: int
    fit_intercept: bool

    @classmethod
    def from_objective(cls, objective):
        """Column means and standard deviations from one pass (RMS without intercept). The
        moments are summed about the objective's reference point (dense data), so that the
        spread of a column far from 0 keeps its digits."""
        shift = np.zeros(objective.p) if objective.center is None else objective.center

        def moments(chunk):
            X, n = chunk.X, float(chunk.n_rows)
            if hasattr(X, "multiply"):  # sparse: shifted sums from the raw ones
                s1 = np.asarray(X.sum(axis=0)).ravel()
                s2 = np.asarray(X.multiply(X).sum(axis=0)).ravel()
                return n, s1 - n * shift, s2 - 2 * shift * s1 + n * shift * shift
            Xs = X if objective.center is None else X - shift  # no copy when not centred
            return n, Xs.sum(axis=0), (Xs * Xs).sum(axis=0)

        total, sum1, sum2 = objective.source.reduce(moments)
        mean, scale = scales_from_moments(total, sum1, sum2, objective.fit_intercept)
        if objective.fit_intercept:  # (without one there is no reference point: shift 0)
            mean = mean + shift
        return cls(mean, scale, objective.m, objective.fit_intercept)

    def _split(self, v):
        V = np.asarray(v, dtype=float).reshape(self.m, -1)
        p = self.mean.size
        return V[:, :p], (V[:, p] if self.fit_intercept else None)

    def _join(self, coef, intercept):
        out = coef if intercept is None else np.hstack([coef, intercept[:, None]])
        return out.ravel()

    def to_theta(self, phi):
        """Raw parameters from standardised ones."""
        c, b = self._split(phi)
        coef = c / self.scale
        return self._join(coef, None if b is None else b - coef @ self.mean)

    def to_phi(self, theta):
        """Standardised parameters from raw ones."""
        c, b = self._split(theta)
        return self._join(c * self.scale, None if b is None else b + c @ self.mean)

    def grad_to_phi(self, grad):
        r""":math:`A^T g`: a raw-parameter gradient in standardised coordinates."""
        gc, gb = self._split(grad)
        if gb is None:
            return self._join(gc / self.scale, None)
        return self._join((gc - gb[:, None] * self.mean) / self.scale, gb)


@dataclass
class TrainState:
    """Everything needed to resume training (``partial_fit``, ``warm_start``)."""

    scaler: Standardizer
    opt_state: object
    lr: float
    check: CurvatureScale
    batch: int = DEFAULT_BATCH
    f_best: float = np.inf
    stalls: int = 0
    epoch: int = 0


def _epoch(objective, theta, phi, state, optimizer, free, batches, scaler):
    """One pass of optimiser steps over ``batches``; returns the new (theta, phi)."""
    for chunk in batches:
        if chunk is None:
            _, g = objective.value_grad(theta)
        else:
            _, g = objective.batch_value_grad(theta, chunk)
        gphi = scaler.grad_to_phi(g)
        gphi[~free] = 0.0
        delta, state.opt_state = optimizer.update(gphi, state.opt_state, state.lr)
        phi = phi + delta
        theta = scaler.to_theta(phi)
    return theta, phi


def _schedule(options, state, f, lr0, n_rows):
    """Update the step size (and batch size) after an epoch with objective ``f``.

    ``"constant"`` keeps both; ``"invscaling"`` sets ``lr0 / epoch**power_t``;
    ``"adaptive"`` reacts to a plateau (``PATIENCE`` epochs without a new best objective,
    the iterates bouncing on the noise floor of the mini-batch gradient) by doubling the batch
    size (Smith et al. 2018), and once batches hold every row by dividing the rate by 5 (never
    below ``MIN_RATE * lr0``). Growing batches remove the gradient noise, so the iterates
    converge to the exact minimiser.
    """
    if options.learning_rate == "invscaling":
        state.lr = lr0 / (state.epoch + 1) ** options.power_t
    elif options.learning_rate == "adaptive":
        if f < state.f_best:
            state.f_best, state.stalls = f, 0
        else:
            state.stalls += 1
        if state.stalls >= PATIENCE:  # a new regime: forget the old record
            state.stalls, state.f_best = 0, np.inf
            if state.batch < n_rows:
                state.batch = min(2 * state.batch, n_rows)
            else:
                state.lr = max(state.lr / 5.0, MIN_RATE * lr0)


def make_trainer(kind):
    """The training loop of solver ``kind`` in {"gd", "sgd", "adam"}."""

    def solve(objective, theta0, free, options, state=None):
        optimizer = (
            make_optimizer(0.9, 0.999) if kind == "adam" else make_optimizer(options.momentum)
        )
        lr0 = options.learning_rate_init or DEFAULT_RATES[kind]
        if state is None:
            scaler = Standardizer.from_objective(objective)
            batch = options.batch_size or DEFAULT_BATCH
            check = CurvatureScale(objective, theta0, free)
            state = TrainState(scaler, optimizer.init(scaler.to_phi(theta0)), lr0, check, batch)
        scaler, rng = state.scaler, np.random.default_rng(options.random_state)
        theta = np.array(theta0, dtype=float)
        phi = scaler.to_phi(theta)
        history, converged, it = [], False, 0
        for it in range(1, options.max_iter + 1):
            batches = [None] if kind == "gd" else objective.source.batches(state.batch, rng)
            new_theta, new_phi = _epoch(
                objective, theta, phi, state, optimizer, free, batches, scaler
            )
            f, g = objective.value_grad(new_theta)
            state.epoch += 1
            if not np.isfinite(f):  # diverged: undo the epoch and shrink the step
                state.lr /= 5.0
                state.opt_state = optimizer.init(phi)
                continue
            theta, phi = new_theta, new_phi
            history.append(f)
            if options.verbose:
                print(f"{kind} epoch {it:4d}  objective {f:.12g}  lr {state.lr:.3g}")
            if state.check.converged(theta, g, options.tol):
                converged = True
                break
            _schedule(options, state, f, lr0, objective.source.n_rows)
        return SolverResult(theta, it, converged, history, state)

    return solve
