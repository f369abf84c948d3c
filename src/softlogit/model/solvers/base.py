"""The contract every solver keeps: same inputs, same result type."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SolverOptions", "SolverResult"]


@dataclass(frozen=True)
class SolverOptions:
    """Settings shared by all solvers; each solver reads the ones it uses.

    Attributes
    ----------
    max_iter : int
        Newton iterations, L-BFGS iterations or epochs.
    tol : float
        Threshold of the solver's scale-free optimality measure (see :mod:`.views`).
    verbose : int
        Print progress when > 0.
    random_state : numpy Generator
        Shuffling of mini-batches.
    batch_size : int or None
        Rows per mini-batch (``sgd``/``adam``); None means 200 (capped at n).
    learning_rate : str
        ``"constant"``, ``"invscaling"`` or ``"adaptive"`` schedule for gradient descent.
    learning_rate_init : float or None
        Initial step size; None uses the solver's default.
    power_t : float
        Exponent of the ``"invscaling"`` schedule.
    momentum : float
        Heavy-ball momentum of ``sgd``/``gd``.
    """

    max_iter: int = 100
    tol: float = 1e-8
    verbose: int = 0
    random_state: object = None
    batch_size: int | None = None
    learning_rate: str = "adaptive"
    learning_rate_init: float | None = None
    power_t: float = 0.5
    momentum: float = 0.0


@dataclass
class SolverResult:
    """What every solver returns.

    Attributes
    ----------
    theta : ndarray
        Final flat parameter vector.
    n_iter : int
        Iterations (Newton, L-BFGS) or epochs (gradient descent) performed.
    converged : bool
        Whether the stopping criterion was met before ``max_iter``.
    history : list of float
        Objective value after each iteration or epoch.
    state : object
        Solver state to resume from (the optimiser state of gradient descent), or None.
    """

    theta: np.ndarray
    n_iter: int
    converged: bool
    history: list = field(default_factory=list)
    state: object = None


def max_abs(g, free):
    """Largest absolute free entry of a gradient (0 when nothing is free)."""
    g = g[free]
    return float(np.max(np.abs(g))) if g.size else 0.0
