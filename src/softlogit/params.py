"""What the estimators accept: their parameter constraints, the settings that would do
nothing, and which attributes belong to a fit.

Parameters are checked at ``fit`` with scikit-learn's mechanism (``_parameter_constraints``,
:mod:`sklearn.utils._param_validation`): a value of the wrong type or outside its range is an
``InvalidParameterError`` (a ``ValueError`` and a ``TypeError``) led by ``name=value``.
"""

from __future__ import annotations

import reprlib
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)

from .model.solvers import SOLVERS

__all__ = [
    "BINARY_CONSTRAINTS",
    "FITTED_PRIVATE",
    "LEARNING_RATES",
    "PARAMETER_CONSTRAINTS",
    "STRENGTH_PENALTIES",
    "check_penalty_settings",
    "is_fitted_name",
    "validate_params",
]

LEARNING_RATES = ("constant", "invscaling", "adaptive")
#: Penalties with a strength ``alpha`` (they need ``alpha > 0``).
STRENGTH_PENALTIES = ("l1", "l2", "elasticnet")
#: Private attributes that belong to a fit (replaced, or removed, by the next one).
FITTED_PRIVATE = ("_formula", "_family", "_reference", "_train_state")

#: The constraints of LogisticRegression's and SoftmaxRegression's shared parameters.
PARAMETER_CONSTRAINTS = {
    "penalty": [StrOptions({"none", *STRENGTH_PENALTIES, "firth", "flic", "flac"}), None],
    "alpha": [Interval(Real, 0, None, closed="left")],  # [0, inf): inf is refused
    "solver": [StrOptions({"auto", *SOLVERS})],
    "fit_intercept": ["boolean"],
    "max_iter": [Interval(Integral, 1, None, closed="left"), None],
    "tol": [Interval(Real, 0, None, closed="neither"), None],
    "class_weight": [dict, StrOptions({"balanced"}), None],
    "warm_start": ["boolean"],
    "random_state": [
        Interval(Integral, 0, None, closed="left"),
        np.random.Generator,
        np.random.RandomState,
        None,
    ],
    "verbose": ["verbose"],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "learning_rate": [StrOptions(set(LEARNING_RATES))],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither"), None],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "formula": [str, None],
    "l1_ratio": [Interval(Real, 0, 1, closed="both")],
    "penalty_factor": ["array-like", None],
    "standardize": ["boolean"],
    "grouped": ["boolean"],
    "missing": [StrOptions({"raise", "drop"})],
}

#: The constraints of LogisticRegression's own parameters: the modelled class is a label
#: (a string or a number, bools included) or None.
BINARY_CONSTRAINTS = {"positive_class": [str, Real, None]}


def validate_params(estimator):
    """scikit-learn's validation of ``estimator._parameter_constraints``, one parameter at a
    time, each message led by ``name=value``."""
    params = estimator.get_params(deep=False)
    for name, constraints in estimator._parameter_constraints.items():
        try:
            validate_parameter_constraints(
                {name: constraints}, {name: params[name]}, caller_name=type(estimator).__name__
            )
        except InvalidParameterError as err:
            raise InvalidParameterError(f"{name}={reprlib.repr(params[name])}: {err}") from None


def check_penalty_settings(estimator):
    """ValueError for settings that silently do nothing: a penalty of strength 0, an elastic
    net without its lasso part, coordinate descent without a penalty."""
    penalty = None if estimator.penalty == "none" else estimator.penalty
    if penalty in STRENGTH_PENALTIES and estimator.alpha == 0:
        raise ValueError(
            f"penalty={penalty!r} needs alpha > 0 (the penalty strength); with alpha=0 it "
            "would fit the unpenalised estimate: use penalty=None for that"
        )
    if penalty == "elasticnet" and estimator.l1_ratio == 0:
        raise ValueError(
            "penalty='elasticnet' with l1_ratio=0 is ridge: set l1_ratio in (0, 1] or use "
            "penalty='l2'"
        )
    if estimator.solver == "cd" and penalty not in STRENGTH_PENALTIES:
        raise ValueError(
            f"solver='cd' (coordinate descent) solves penalised fits: penalty={penalty!r} "
            "needs solver 'auto', 'newton' or 'lbfgs' (or set penalty='l1', 'l2' or "
            "'elasticnet' with alpha > 0)"
        )


def is_fitted_name(name):
    """Whether an instance attribute belongs to a fit: ``name_`` (scikit-learn's convention,
    not ``__name``) or one of :data:`FITTED_PRIVATE`."""
    return (name.endswith("_") and not name.startswith("_")) or name in FITTED_PRIVATE
