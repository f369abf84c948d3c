r"""Profile-likelihood confidence intervals (R's ``confint`` on a ``glm``, logistf's ``pl``).

For a parameter :math:`\theta_k` with estimate :math:`\hat\theta_k` the profile
log-likelihood is :math:`\ell_p(b) = \max_{\theta:\ \theta_k = b} \ell(\theta)` (the other
parameters re-fitted), and the signed root of the profile deviance is

.. math:: r(b) = \operatorname{sign}(b - \hat\theta_k)\,
    \sqrt{2\,(\ell(\hat\theta) - \ell_p(b))} .

The :math:`1 - \alpha` interval is :math:`\{b : |r(b)| \le z_{1-\alpha/2}\}`; its ends are the
roots of :math:`r(b) = \pm z_{1-\alpha/2}`, found here by a bracketing root finder
(:func:`scipy.optimize.brentq`) on exact constrained fits (Newton with :math:`\theta_k` held
fixed), not by interpolating a spline through a grid as R's ``MASS`` does. Unlike Wald
intervals, they follow the shape of the likelihood, are invariant to reparameterisation
(``exp`` of the ends gives the interval of the odds ratio) and behave near separation.

For a Firth fit, :math:`\ell` is the penalised log-likelihood
:math:`\ell^*(\theta) = \ell(\theta) + \tfrac12\log\det I(\theta)` with the information of
*all* parameters, maximised over the others at fixed :math:`\theta_k` (logistf's profile
penalised likelihood, Heinze & Schemper 2002).

Where :math:`|r(b)|` never reaches the critical value as :math:`b \to \pm\infty` (the
deviance levels off: the data are separated in that direction, and the maximum-likelihood
estimate itself may be infinite), that end does not exist and is reported as ``inf`` or
``-inf``.

Weights and offsets enter through the training objective, exactly as in the fit. Ridge,
lasso and elastic-net fits have no profile likelihood here (a ValueError).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..data.sources import InMemorySource
from ..exceptions import ConvergenceWarning, warn
from ..model.families import Categorical
from ..model.firth import FirthObjective
from ..model.objective import Objective
from ..model.solvers.base import SolverOptions
from ..model.solvers.newton import solve as newton_solve
from .results import FitResults

__all__ = ["ProfileTrace", "profile_intervals", "rebased_results"]

#: Newton settings of the constrained fits (the decrement tolerance puts the relative
#: suboptimality of the profile at about ``tol**2``, far below the root finder's needs).
PROFILE_OPTIONS = SolverOptions(max_iter=200, tol=1e-10)
#: Relative tolerance of the roots (brentq's ``rtol``; ``xtol`` is this times the smaller of
#: the Wald half-width and ``1 + |estimate|``, a scale that a separated fit's huge standard
#: error does not inflate).
ROOT_RTOL = 1e-11
#: Bracketing steps outward (each doubling the distance from the estimate) before an end is
#: declared infinite, and the change of the deviance over a doubling below which it has
#: levelled off (the profile of a separated direction approaches its limit exponentially).
MAX_DOUBLINGS = 40
FLAT_DEVIANCE = 1e-9


class ProfileTrace:
    r"""The profile deviance of one parameter, by constrained fits with warm starts.

    Parameters
    ----------
    objective : Objective or FirthObjective
        The training objective (its penalty must be none or Firth's).
    theta : ndarray
        The estimate (the unconstrained optimum).
    free : ndarray of bool
        Estimated parameters (aliased ones stay fixed at 0).
    k : int
        Flat position of the profiled parameter.
    slope : ndarray
        How the other parameters move per unit of :math:`\theta_k` to first order,
        :math:`V_{\cdot k} / V_{kk}` (the start of each constrained fit).
    """

    def __init__(self, objective, theta, free, k, slope):
        self.objective = objective
        self.theta = np.asarray(theta, dtype=float)
        self.k = int(k)
        self.free = np.asarray(free, dtype=bool).copy()
        self.free[self.k] = False
        self.slope = np.where(np.isfinite(slope), slope, 0.0)
        self.loglike_hat = self.penalised_loglike(self.theta)
        self.fits = [(float(self.theta[self.k]), self.theta.copy())]
        self.unconverged = 0

    def penalised_loglike(self, theta):
        """:math:`\\ell` (Firth: :math:`\\ell^*`) at ``theta``, the sum over the rows."""
        return -self.objective.total_weight * float(self.objective.value(theta))

    def constrained_fit(self, b):
        """The maximiser of the (penalised) log-likelihood with :math:`\\theta_k = b`."""
        b0, start = min(self.fits, key=lambda fit: abs(fit[0] - b))
        start = start + self.slope * (b - b0)
        start[~self.free] = self.theta[~self.free]
        start[self.k] = b
        result = newton_solve(self.objective, start, self.free, PROFILE_OPTIONS)
        self.unconverged += not result.converged
        theta = result.theta
        theta[self.k] = b
        self.fits.append((float(b), theta.copy()))
        return theta

    def deviance(self, b):
        """:math:`2(\\ell(\\hat\\theta) - \\ell_p(b))` (0 at the estimate)."""
        return 2.0 * (self.loglike_hat - self.penalised_loglike(self.constrained_fit(b)))

    def signed_root(self, b):
        """:math:`r(b)`; a deviance below 0 (a point within rounding of the optimum, or a
        separated fit whose optimum lies at infinity) counts as 0."""
        d = self.deviance(b)
        return float(np.sign(b - self.theta[self.k]) * np.sqrt(max(d, 0.0)))

    def end(self, side, crit, step):
        """The end of the interval on ``side`` (+1 upper, -1 lower): the root of
        :math:`r(b) = \\text{side} \\cdot \\text{crit}`, or ``side * inf`` when the deviance
        levels off below ``crit**2`` (no end exists)."""
        bhat = float(self.theta[self.k])
        inner, previous, first = bhat, 0.0, step
        for _ in range(MAX_DOUBLINGS):
            outer = bhat + side * step
            d = self.deviance(outer)
            if d >= crit**2:
                return self._root(side, crit, inner, outer, min(first, 1.0 + abs(bhat)))
            if d - previous < FLAT_DEVIANCE * max(1.0, crit**2):
                return side * np.inf
            inner, previous, step = outer, d, 2.0 * step
        return side * np.inf

    def _root(self, side, crit, inner, outer, scale):
        def f(b):
            return self.signed_root(b) - side * crit

        return optimize.brentq(f, inner, outer, xtol=ROOT_RTOL * scale, rtol=ROOT_RTOL)


def _check_objective(objective):
    if isinstance(objective, FirthObjective):
        return
    if not objective.penalty.is_zero:
        raise ValueError(
            "profile-likelihood intervals need an unpenalised or Firth fit: a ridge or "
            "elastic-net objective is not a likelihood"
        )


def _uncentred(objective):
    """The objective in raw coordinates, where holding an intercept fixed means what it
    says (in the centred ones it would hold the intercept at the reference point)."""
    if objective.centering.identity:
        return objective
    base = getattr(objective, "base", objective)
    plain = Objective(base.family, base.source, base.penalty, base.fit_intercept, center=None)
    if isinstance(objective, FirthObjective):
        firth = FirthObjective(plain)
        firth.free = objective.free
        return firth
    return plain


def profile_intervals(results, alpha=0.05, terms=None):
    r"""Profile-likelihood intervals of the parameters of a fit.

    Parameters
    ----------
    results : FitResults
        The fit (``m.results_``); its objective must be unpenalised or Firth's.
    alpha : float
        Coverage :math:`1 - \alpha`: the ends solve
        :math:`r(b) = \pm z_{1-\alpha/2}` (equivalently
        :math:`2(\ell(\hat\theta) - \ell_p(b)) = \chi^2_{1, 1-\alpha}`).
    terms : list, optional
        Rows of :attr:`FitResults.index` to profile (default: all).

    Returns
    -------
    DataFrame
        ``ci_low, ci_high`` over the rows; ``inf``/``-inf`` for an end that does not exist
        (separation), NaN for aliased terms.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must lie in (0, 1)")
    objective = results._objective
    _check_objective(objective)
    theta, free, order = results._theta, results._free, results._order
    index = results.index
    wanted = np.ones(len(index), dtype=bool) if terms is None else index.isin(terms)
    if terms is not None and wanted.sum() < len(set(terms)):
        missing = [t for t in terms if t not in set(index)]
        raise KeyError(f"terms {missing} are not rows of the coefficient table")
    V = results._cov_theta()
    # the optimum to the profile's own tolerance: the fit's may stop earlier, and after
    # separation its likelihood is below the supremum by more than the roots can tolerate
    theta = newton_solve(objective, theta, free, PROFILE_OPTIONS).theta
    crit = float(stats.norm.ppf(1 - alpha / 2))
    out = np.full((len(index), 2), np.nan)
    p, q = objective.p, objective.q
    for row in np.flatnonzero(wanted):
        k = int(order[row])
        if not free[k]:
            continue
        is_intercept = objective.fit_intercept and k % q == p
        obj = _uncentred(objective) if is_intercept else objective
        vkk = V[k, k]
        good = np.isfinite(vkk) and vkk > 0
        slope = np.nan_to_num(V[:, k] / vkk) if good else np.zeros(theta.size)
        step = crit * np.sqrt(vkk) if good else 1.0
        trace = ProfileTrace(obj, theta, free, k, slope)
        out[row] = [trace.end(-1, crit, step), trace.end(+1, crit, step)]
        if trace.unconverged:
            warn(
                f"{trace.unconverged} constrained fits of the profile of {index[row]!r} did "
                f"not converge in {PROFILE_OPTIONS.max_iter} Newton iterations: its interval "
                "may be inexact",
                ConvergenceWarning,
            )
    return pd.DataFrame(out, index=index, columns=["ci_low", "ci_high"])


def rebased_results(results, base, classes):
    r"""The results of the same softmax fit parameterised against class ``base``: the
    coefficients :math:`\theta_k - \theta_{base}` (the old reference's row is 0), the
    offset mapped alike, over the same rows (in-memory data only). The likelihood is the
    same function of the probabilities, so its profile intervals are those of a model
    fitted with ``reference=base``.

    Parameters
    ----------
    results : FitResults
        A softmax fit with a reference class (``results._objective.family.reference``).
    base : class label
        The new reference class.
    classes : sequence
        All class labels in ``classes_`` order.
    """
    obj = results._objective
    source, family = obj.source, obj.family
    if not isinstance(source, InMemorySource) or isinstance(obj, FirthObjective):
        raise ValueError("rebased profile intervals need an unpenalised fit on in-memory data")
    classes = list(classes)
    K, ref, new_ref = len(classes), family.reference, classes.index(base)
    others = [k for k in range(K) if k != ref]
    new_family = Categorical(K, new_ref)
    offset = None
    if source.offset is not None:
        full = np.zeros((source.n_rows, K))
        full[:, others] = source.offset
        offset = new_family.offset_to_free(full)
    new_source = InMemorySource(source.X, source.y, source.weight, offset, source.chunk_rows)
    new_obj = Objective(new_family, new_source, obj.penalty, obj.fit_intercept)
    T = np.zeros((K, obj.q))
    T[others] = results._theta.reshape(obj.m, obj.q)
    keep = [k for k in range(K) if k != new_ref]
    theta = (T[keep] - T[new_ref]).ravel()
    free = np.tile(results._free.reshape(obj.m, obj.q)[0], len(keep))
    labels = [classes[k] for k in keep]
    return FitResults(new_obj, theta, free, results.terms, labels, results.null_loglike)
