"""From validated arrays to a fitted linear layer: parameterisation, checks, solver, diagnosis.

The estimators call :func:`fit_model`; it chooses the parameterisation the solver works in,
fixes aliased columns, runs the solver chosen through the table, maps the result to the
parameterisation the user asked for and diagnoses separation.

Softmax identifiability (reference versus symmetric) is handled here, in one place:

* reference class ``r``: ``m = K - 1`` free logit rows, the GLM parameterisation;
* symmetric (``reference=None``): ``K`` rows. Gradient-descent solvers train all ``K`` rows (the
  network layer). Newton and L-BFGS solve the identifiable problem instead: unpenalised in the
  reference parameterisation, penalised with the intercept of class 0 held at 0. The result is
  mapped to the sum-to-zero solution by :func:`to_symmetric`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.external import BoundRows
from ..data.sources import InMemorySource, chunk_rows_for, single_threaded_blas
from ..exceptions import CollinearityWarning, ConvergenceWarning, PerfectSeparationWarning, warn
from .families import Categorical, make_family
from .firth import FirthObjective
from .firth_corrections import correct_intercept
from .objective import NEAR_CERTAIN, Objective
from .penalties import Firth, NoPenalty
from .rank import aliased_columns, design_gram
from .separation import SeparationReport, certify_existence, find_separation, lp_nonzeros
from .solvers import SOLVERS, STOCHASTIC, SolverOptions, resolve_solver
from .solvers.newton import subsample_by_newton, subsample_objective

__all__ = [
    "FitOutcome",
    "FitSpec",
    "build_objective",
    "class_totals",
    "fit_model",
    "fits_in_reference",
    "has_offset",
    "is_external",
    "make_source",
    "null_loglike",
    "solver_for",
    "to_symmetric",
]

#: A row whose observed class has a fitted probability above 1 - this triggers the LP test;
#: above ``LP_ROWS`` rows (where the LP takes seconds, and extreme but finite fits are
#: common) a converged fit triggers it only at ``LARGE_SEPARATION_TRIGGER`` (R's glm warns
#: at 1e-15).
SEPARATION_TRIGGER, LARGE_SEPARATION_TRIGGER = NEAR_CERTAIN  # 1e-6, 1e-12
LP_ROWS = 50_000
#: Above this many non-zeros in its constraint matrix (about 1 GB in HiGHS) the LP is not
#: run: separation is then suspected, not confirmed (a 6000-row softmax over 50 classes and
#: 2000 features would need 1.2e9, some 20 GB).
LP_MAX_NONZEROS = 5e7


@dataclass
class FitSpec:
    """Everything a fit needs, validated: data, model, penalty and solver settings."""

    X: object
    codes: np.ndarray
    weight: np.ndarray
    offset: np.ndarray | None
    classes: np.ndarray
    reference: int | None
    fit_intercept: bool
    penalty: object
    solver: str
    options: object
    feature_names: list
    binary_fast: bool = True
    #: counts responses (:mod:`softlogit.data.counts`): ``(GroupedScale, origin, n)``, the
    #: grouped-scale sums, each expanded row's counts row and the number of counts rows;
    #: None for label responses
    counts: object = None


@dataclass
class FitOutcome:
    """Fitted coefficients in the requested parameterisation and how the fit went."""

    coef: np.ndarray
    intercept: np.ndarray
    family: object
    solver: str
    n_iter: int
    converged: bool
    history: list
    aliased: np.ndarray
    separation: object
    state: object = None
    objective: object = None
    theta: np.ndarray | None = None
    free: np.ndarray | None = None
    covariance: np.ndarray | None = None  # FLIC/FLAC: their own (raw coordinates)


def to_symmetric(coef, intercept, reference):
    """Map reference-class parameters (K-1 rows) to the sum-to-zero K-row form.

    Inserts a zero row for the reference class and subtracts the column means; the full
    logits change by a common shift per row, so the probabilities are identical.
    """
    if reference is not None:
        coef = np.insert(coef, reference, 0.0, axis=0)
        intercept = np.insert(intercept, reference, 0.0)
    return coef - coef.mean(axis=0), intercept - intercept.mean()


def is_external(spec):
    """Whether the rows of ``spec`` are streamed or distributed (not in-memory arrays)."""
    return isinstance(spec.X, BoundRows)


def class_totals(spec):
    """Prior weight per class (after class weights)."""
    if is_external(spec):
        return spec.X.class_totals
    return np.bincount(spec.codes, weights=spec.weight, minlength=spec.classes.size)


def has_offset(spec):
    """Whether the fit has an offset."""
    return spec.X.has_offset if is_external(spec) else spec.offset is not None


def make_source(spec, family):
    """The data source of ``spec``: in-memory chunks, or the streamed/distributed rows."""
    if is_external(spec):
        verbose = spec.options.verbose if spec.options is not None else 0
        return spec.X.make_source(family.offset_to_free, verbose=verbose)
    offset = None if spec.offset is None else family.offset_to_free(spec.offset)
    rows = chunk_rows_for(spec.X.shape[1] + spec.fit_intercept)  # Hessian passes: in pieces
    return InMemorySource(spec.X, spec.codes, spec.weight, offset, chunk_rows=rows)


def build_objective(spec, family):
    """The objective of ``spec`` under ``family``."""
    source = make_source(spec, family)
    if isinstance(spec.penalty, Firth):
        return FirthObjective(Objective(family, source, NoPenalty(), spec.fit_intercept))
    return Objective(family, source, spec.penalty, spec.fit_intercept)


def _solver_family(spec, solver_name):
    """Family the solver works in, and whether the result must be mapped to symmetric."""
    K = spec.classes.size
    if spec.reference is not None:
        return make_family(K, spec.reference, spec.binary_fast), False
    if solver_name in STOCHASTIC or not fits_in_reference(spec.penalty):
        return Categorical(K, None), False
    return Categorical(K, 0), True


def fits_in_reference(penalty):
    """Whether a symmetric softmax under ``penalty`` is fitted in the reference-0
    parameterisation and mapped to the sum-to-zero form: without a penalty, and under
    Firth's, whose Jeffreys prior is invariant to the parameterisation (the symmetric
    information is singular)."""
    return penalty.is_zero or isinstance(penalty, Firth)


def _null_intercepts(spec, family):
    """Intercepts of the intercept-only model (log class frequencies), the Newton start."""
    freq = class_totals(spec)
    logp = np.log(np.maximum(freq / freq.sum(), 1e-10))
    if family.reference is None:
        return logp - logp.mean()
    return np.delete(logp - logp[family.reference], family.reference)


def _full_rank_on_subsample(objective, theta0, solver_name):
    """Whether the rows Newton solves first (see :func:`subsample_rows`) already have a
    full-rank design: adding rows never lowers the rank, so no full pass is needed. With
    few parameters the Gram matrix is read off the subsample's first Hessian, the pass its
    Newton fit starts with anyway."""
    small = subsample_objective(objective) if solver_name == "newton" else None
    if small is None:
        return False
    if subsample_by_newton(objective):
        gram = _gram_from_hessian(small, theta0)
    else:
        gram = design_gram(small.source, objective.fit_intercept, objective.center)
    return not aliased_columns(gram, intercept_first=objective.fit_intercept).any()


def _gram_from_hessian(objective, theta0):
    """The weighted Gram matrix ``[1, X - c]^T diag(w D) [1, X - c]`` of the centred columns
    (intercept first, as R orders the columns): the class-0 diagonal block of the centred
    Hessian at ``theta0``, whose working weights ``D`` are positive, so it has the rank R's
    QR sees, whatever the location of the columns."""
    unpenalised = getattr(objective, "base", objective)  # Firth: the plain likelihood
    gram = unpenalised.value_grad_hess_centered(theta0)[2][: objective.q, : objective.q]
    if objective.fit_intercept:
        order = np.r_[objective.p, : objective.p]
        gram = gram[np.ix_(order, order)]
    return gram


def _aliased(spec, objective, theta0, solver_name):
    """Mask of aliased feature columns (unpenalised fits only), with a warning naming them.

    Newton reads the weighted Gram matrix off its first Hessian (on its subsample when that
    is full rank); the other solvers make one pass for ``[X, 1]^T W [X, 1]``.
    """
    p = objective.p
    if not spec.penalty.needs_full_rank or _full_rank_on_subsample(objective, theta0, solver_name):
        return np.zeros(p, dtype=bool)
    if solver_name == "newton":
        gram = _gram_from_hessian(objective, theta0)
    else:
        gram = design_gram(objective.source, spec.fit_intercept, objective.center)
    mask = aliased_columns(gram, intercept_first=spec.fit_intercept)
    mask = mask[1:] if spec.fit_intercept else mask
    if mask.any():
        names = [spec.feature_names[j] for j in np.flatnonzero(mask)]
        warn(
            f"columns {names} are linear combinations of earlier columns"
            f"{' and the intercept' if spec.fit_intercept else ''} (aliased); their "
            "coefficients are fixed at 0 and the remaining ones are fitted",
            CollinearityWarning,
        )
    return mask


def _start(spec, family, objective, theta0):
    if theta0 is not None:
        return theta0
    T = np.zeros(objective.shape)
    if spec.fit_intercept:
        T[:, -1] = _null_intercepts(spec, family)
    return T.ravel()


def fit_model(spec, theta0=None, state=None, diagnose=True):
    """Fit the model described by ``spec``; ``theta0`` is a warm start in solver layout.

    BLAS runs single-threaded throughout: the passes parallelise over chunks, and the
    parameter-sized algebra between them is too small to gain from threads."""
    with single_threaded_blas():
        return _fit_model(spec, theta0, state, diagnose)


def _fit_model(spec, theta0, state, diagnose):
    name = solver_for(spec)
    solve = SOLVERS[name]
    family, map_symmetric = _solver_family(spec, name)
    objective = build_objective(spec, family)
    theta0 = _start(spec, family, objective, theta0)
    aliased = np.zeros(objective.p, dtype=bool)
    if diagnose:
        aliased = _aliased(spec, objective, theta0, name)
    free = np.ones(objective.shape, dtype=bool)
    free[:, : objective.p][:, aliased] = False
    if family.reference is None and name not in STOCHASTIC and spec.fit_intercept:
        free[0, objective.p] = False
    if isinstance(spec.penalty, Firth):
        if name in STOCHASTIC:
            raise ValueError(f"penalty='firth' needs solver 'newton' or 'lbfgs', not {name!r}")
        objective.free = free.ravel()
    kwargs = {"state": state} if name in STOCHASTIC else {}
    result = solve(objective, theta0, free.ravel(), spec.options, **kwargs)
    covariance = None
    if isinstance(spec.penalty, Firth) and spec.penalty.correction is not None:
        firth = result
        result, objective, covariance = correct_intercept(
            spec, objective, firth.theta, free.ravel(), spec.options
        )
        result.converged = result.converged and firth.converged
        result.n_iter += firth.n_iter
        result.history = firth.history + result.history
    coef, intercept = objective.split(result.theta)
    coef, intercept = coef.copy(), intercept.copy()
    if map_symmetric or (family.reference is None and spec.penalty.is_zero):
        coef, intercept = to_symmetric(coef, intercept, family.reference)
        family = Categorical(spec.classes.size, None)
    elif family.reference is None:  # penalised: the coefficients are identified as they are
        intercept = intercept - intercept.mean()
    separation, suspected = None, False
    if diagnose and spec.penalty.is_zero:
        separation, suspected = _diagnose_separation(spec, objective, result, aliased)
    converged = result.converged and separation is None and not suspected
    if not result.converged and separation is None and diagnose:
        warn(
            f"solver {name!r} did not converge in {result.n_iter} iterations "
            f"(max_iter={spec.options.max_iter}, tol={spec.options.tol:g}); increase max_iter "
            "or scale the features",
            ConvergenceWarning,
        )
    return FitOutcome(
        coef,
        intercept,
        family,
        name,
        result.n_iter,
        converged,
        result.history,
        aliased,
        separation,
        result.state,
        objective,
        result.theta,
        free.ravel(),
        covariance,
    )


def solver_for(spec):
    """Name of the solver ``spec.solver`` resolves to ("auto" looks at the Hessian size)."""
    K = spec.classes.size
    m = K if spec.reference is None else K - 1
    n_params = m * (spec.X.shape[1] + spec.fit_intercept)
    return resolve_solver(spec.solver, n_params, spec.penalty.nonsmooth)[0]


def _n_perfectly_predicted(objective, theta, trigger=SEPARATION_TRIGGER):
    """Rows (with positive weight) whose observed class has fitted probability within
    ``trigger`` of 1 (counted by the solver's last pass at ``theta``: no extra pass)."""
    return objective.near_certain_rows(theta, trigger)


def _fitted_probabilities(objective, theta):
    """Fitted class probabilities (n, K) of the in-memory rows at ``theta``."""
    family = objective.family
    parts = [
        family.probabilities(objective.linear_predictor(theta, chunk))
        for chunk in objective.source.chunks()
    ]
    return np.vstack(parts)


def _diagnose_separation(spec, objective, result, aliased):
    """Run the LP test when the fit did not converge or some observed class has a fitted
    probability within ``SEPARATION_TRIGGER`` of 1, unless the fitted probabilities prove
    that the MLE exists (:func:`certify_existence`); warn with the classes and terms.

    Returns the separation found (or None) and whether separation is suspected but could
    not be tested (streamed or Dask data, where the LP needs the rows in memory): such a
    fit is not reported as converged, since its optimum may not exist."""
    large = objective.source.n_rows > LP_ROWS
    trigger = LARGE_SEPARATION_TRIGGER if large else SEPARATION_TRIGGER
    if result.converged and _n_perfectly_predicted(objective, result.theta, trigger) == 0:
        return None, False
    q = objective.q - np.count_nonzero(aliased)
    too_big = lp_nonzeros(objective.source.n_rows, spec.classes.size, q) > LP_MAX_NONZEROS
    if is_external(spec) or too_big:
        if _n_perfectly_predicted(objective, result.theta) == 0:
            return None, False
        why = "needs in-memory data" if is_external(spec) else "is too large for these data"
        warn(
            "some observed classes have fitted probability 1: the classes may be separated, "
            f"so the fit is not reported as converged (the linear-programming check {why}; "
            "fit a sample in memory to name the terms)",
            PerfectSeparationWarning,
        )
        return None, True
    keep = spec.weight > 0
    X, codes = (spec.X, spec.codes) if keep.all() else (spec.X[keep], spec.codes[keep])
    proba = _fitted_probabilities(objective, result.theta)[keep]
    K = spec.classes.size
    if certify_existence(X, codes, proba, K, spec.fit_intercept, ~aliased, spec.weight[keep]):
        return None, False  # the fitted probabilities prove the MLE exists: no LP needed
    found = find_separation(X, codes, K, spec.fit_intercept, ~aliased)
    if not found.separated:
        return None, False
    report = SeparationReport.from_result(found, spec.classes, spec.feature_names)
    warn(
        f"{report}; the maximum-likelihood estimate does not exist and the reported "
        "coefficients diverge. Use penalty='firth' or penalty='l2' (alpha > 0) for finite "
        "estimates.",
        PerfectSeparationWarning,
    )
    return found, False


def null_loglike(spec):
    r"""Log-likelihood of the intercept-only model (no features), honouring weights and offset.

    Without an offset it is :math:`\sum_k W_k \log(W_k / W)` with :math:`W_k` the total weight
    of class :math:`k`; with one, the intercepts are fitted by Newton. Without an intercept the
    null model has no parameters: all logits equal the offset.
    """
    K = spec.classes.size
    if not has_offset(spec) and spec.fit_intercept:
        wk = class_totals(spec)
        wk = wk[wk > 0]
        return float(np.sum(wk * np.log(wk / wk.sum())))
    external = is_external(spec)
    null = FitSpec(
        X=spec.X.without_features() if external else np.empty((spec.X.shape[0], 0)),
        codes=spec.codes,
        weight=spec.weight,
        offset=spec.offset,
        classes=spec.classes,
        reference=0,
        fit_intercept=spec.fit_intercept,
        penalty=NoPenalty(),
        solver="newton",
        options=SolverOptions(max_iter=100, tol=1e-10),
        feature_names=[],
    )
    objective = build_objective(null, make_family(K, 0))
    theta = np.zeros(objective.n_params)
    if spec.fit_intercept:
        theta = fit_model(null, diagnose=False).theta
    return -objective.total_weight * objective.value(theta)
