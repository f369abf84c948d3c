"""Solvers, chosen by name through one table. Every solver has the signature
``solve(objective, theta0, free, options) -> SolverResult``."""

from . import cd, lbfgs, newton
from .base import SolverOptions, SolverResult
from .gradient_descent import make_trainer

SOLVERS = {
    "newton": newton.solve,
    "lbfgs": lbfgs.solve,
    "gd": make_trainer("gd"),
    "sgd": make_trainer("sgd"),
    "adam": make_trainer("adam"),
    "cd": cd.solve,
}

#: Solvers of the neural-network view, which also support ``partial_fit``.
STOCHASTIC = ("gd", "sgd", "adam")

#: ``solver="auto"`` picks Newton up to this many parameters, L-BFGS beyond.
AUTO_NEWTON_MAX_PARAMS = 1000


def resolve_solver(name, n_params, nonsmooth=False):
    """The solver function for ``name``: "auto" picks coordinate descent for penalties with a
    lasso part, else Newton up to ``AUTO_NEWTON_MAX_PARAMS`` parameters and L-BFGS beyond."""
    if name == "auto":
        name = "cd" if nonsmooth else "newton" if n_params <= AUTO_NEWTON_MAX_PARAMS else "lbfgs"
    if name not in SOLVERS:
        raise ValueError(f"solver={name!r} is not one of {['auto', *SOLVERS]}")
    if nonsmooth and name != "cd":
        raise ValueError(
            f"a penalty with a lasso (L1) part needs solver='cd' (or 'auto'), not {name!r}"
        )
    return name, SOLVERS[name]


__all__ = ["SOLVERS", "STOCHASTIC", "SolverOptions", "SolverResult", "resolve_solver"]
