r"""Gradient-descent optimisers as pure ``(init, update)`` pairs with explicit state.

One implementation covers plain SGD, heavy-ball momentum and Adam:

.. math::

    m_t = \beta_1 m_{t-1} + c\, g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2,

    \Delta_t = -\mathrm{lr}\;
    \begin{cases}
      \hat m_t / (\sqrt{\hat v_t} + \epsilon) & \text{Adam } (c = 1 - \beta_1,
        \text{ bias-corrected } \hat m, \hat v)\\
      m_t & \text{SGD with momentum } \beta_1 \ (c = 1)
    \end{cases}
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["OptState", "Optimizer", "make_optimizer"]


class OptState(NamedTuple):
    """Step count and first/second moment estimates."""

    step: int
    mu: np.ndarray
    nu: np.ndarray


class Optimizer(NamedTuple):
    """A pure optimiser: ``init(params)`` gives a state, ``update(grad, state, lr)`` a step."""

    init: object
    update: object


def make_optimizer(beta1=0.0, beta2=None, eps=1e-8):
    """Build SGD (``beta2=None``; ``beta1`` is the momentum) or Adam (``beta2`` set).

    Parameters
    ----------
    beta1 : float
        Momentum (SGD) or first-moment decay (Adam).
    beta2 : float or None
        Second-moment decay; None turns the second moment (and bias correction) off.
    eps : float
        Adam's denominator guard.
    """
    adaptive = beta2 is not None

    def init(params):
        zeros = np.zeros_like(params, dtype=float)
        return OptState(0, zeros, zeros.copy() if adaptive else zeros)

    def update(grad, state, lr):
        step = state.step + 1
        mu = beta1 * state.mu + ((1.0 - beta1) if adaptive else 1.0) * grad
        if not adaptive:
            return -lr * mu, OptState(step, mu, state.nu)
        nu = beta2 * state.nu + (1.0 - beta2) * grad * grad
        mu_hat = mu / (1.0 - beta1**step)
        nu_hat = nu / (1.0 - beta2**step)
        return -lr * mu_hat / (np.sqrt(nu_hat) + eps), OptState(step, mu, nu)

    return Optimizer(init, update)
