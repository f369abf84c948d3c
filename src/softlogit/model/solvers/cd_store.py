"""Reuse of exact Hessians by the coordinate-descent solver, across its iterations and
along a regularisation path."""

from __future__ import annotations

import numpy as np

__all__ = ["HessianStore"]


class HessianStore:
    r"""The likelihood part of the last exact Hessian (mean scale, no ridge term), kept for
    reuse: by the next iterations, and along a path by the next alpha, whose solution is
    close. A reused Hessian still gives a descent direction (the line search guards it).

    Each step is a Newton step with the exact Hessian at its start point, computed in the
    line search's first trial pass of the step before (that pass gives the value and the
    gradient there anyway), so an iteration costs one pass and the KKT violation falls
    quadratically, :math:`v_+ \approx C v^2` (:math:`C` is measured on every such step).
    A Hessian is reused, the trial pass computing only value and gradient, where that
    pays:

    * on a step predicted to be the last: when :math:`C v^2 \le` ``tol`` (after a reused
      Hessian: :math:`\rho v \le` ``tol``, :math:`\rho` the ratio :math:`v_+/v` its last
      step gave) the pass at the trial point is expected only to confirm convergence, and
      a Hessian there would serve nothing but a next alpha;
    * on the step before the last, when one more step with the same Hessian is predicted
      to reach ``tol``: that step contracts by about the ratio :math:`\rho = C v` of the
      exact step before it (Shamanskii's method: :math:`v_{k+2} \approx C v_k v_{k+1}`), so
      two cheap passes do what a Hessian pass and a cheap one would;
    * on the first step of a path's alpha, which starts where the previous alpha ended:
      the stored Hessian (from that alpha's last steps, a point close to the new start)
      serves without the pass a fresh one would cost there. Its ratio is predicted by the
      previous alpha's first step.

    A step with a reused Hessian that cut the violation by less than ``STALE_RATE``, or
    had to be shortened, drops it (the solver calls :meth:`drop`); after ``MAX_STALE`` uses
    it is refreshed. A Hessian that costs little next to a value-and-gradient pass (``(m
    |S|)^2 <= CHEAP m q``), or little at all (``n (m |S|)^2 <= CHEAP * CHEAP_PASS``), is
    computed in every trial pass. When the subproblem gains columns, the stored Hessian
    grows by the new columns' blocks at the point where it was computed (a pass costing
    ``n |S| |new|`` rather than ``n |S|^2``), so it stays the exact Hessian of one point.
    """

    MAX_STALE = 16
    CHEAP = 4.0
    #: Multiply-adds of a Hessian pass that count as cheap whatever the gradient pass costs
    #: (divided by ``CHEAP``): on few rows the coordinate-descent sweeps dominate, and exact
    #: Hessians save sweeps.
    CHEAP_PASS = 1e7
    #: A reused Hessian whose step cut the KKT violation by less than this is refreshed.
    STALE_RATE = 0.25
    #: A last step with a reused Hessian must be predicted to reach this fraction of tol
    #: (its ratio is about, but may be a few times more than, that of the step before).
    MARGIN = 0.1

    def __init__(self):
        self.cols, self.H, self.theta, self.uses = None, None, None, 0
        self.C = None  # v_+ / v^2 of the last exact Newton step
        self.rate = None  # v_+ / v of the stored Hessian's last use in this solve
        self.first_rate = None  # v_+ / v of the last solve's first step, when reused
        self.steps = 0  # steps of this solve

    def cheap(self, objective, cols):
        """Whether a Hessian over ``cols`` costs little next to a value-and-gradient pass, or
        little at all (see the class notes): then every step computes it afresh."""
        m = objective.m
        n_rows = getattr(objective.source, "n_rows", None) or np.inf
        budget = max(m * objective.q, self.CHEAP_PASS / n_rows)
        return (m * cols.size) ** 2 <= self.CHEAP * budget

    def begin(self):
        """Start a solve: the ratio of a Hessian's last use was measured on another problem
        (alpha); the last solve's first step predicts this one's."""
        self.rate, self.steps = None, 0

    def due(self, objective, cols, v, fresh, tol):
        """Whether the trial pass of a step from violation ``v`` (taken with the exact
        Hessian at its start when ``fresh``) should compute a fresh Hessian over ``cols``:
        not when this step, or this and one more with the same Hessian, is predicted to
        reach ``tol`` (the latter within ``MARGIN``)."""
        if self.cheap(objective, cols) or self.uses >= self.MAX_STALE or self.C is None:
            return True
        rate = self.C * v if fresh else (self.rate if self.steps else self.first_rate)
        if rate is None or rate > self.STALE_RATE:
            return True
        v_next = rate * v
        return v_next > tol and rate * v_next > self.MARGIN * tol

    def observe(self, v, v_new, fresh):
        """Record a full step's KKT violations before (``v``) and after (``v_new``), taken
        with the exact Hessian at its start when ``fresh``."""
        if v > 0:
            self.rate = v_new / v
            if fresh:
                self.C = v_new / (v * v)
            elif self.steps == 0:
                self.first_rate = self.rate
        self.steps += 1

    def fit_budget(self, objective, cols, fits):
        """Forget a stored Hessian that, grown by ``cols``, would not satisfy ``fits``."""
        if self.H is not None and not fits(objective.m * np.union1d(self.cols, cols).size):
            self.drop()

    def get(self, objective, theta, cols):
        """A copy of the (possibly stored) Hessian over ``cols`` with the ridge term at
        ``theta``, and whether it is the exact Hessian at ``theta``."""
        ridge = _ridge_diag(objective, theta, cols)
        new = None if self.H is None else np.setdiff1d(cols, self.cols)
        fresh = self.H is None or self.uses >= self.MAX_STALE
        if fresh or (new.size and self.cheap(objective, cols)):
            _, _, H = objective.value_grad_hess_cols(theta, cols)
            self.put_penalised(objective, theta, cols, H)
        elif new.size:
            self._grow(objective, new)
        self.uses += 1
        if np.array_equal(self.cols, cols):
            H = self.H.copy()
        else:
            pos = _positions(self.cols, cols, objective.m)
            H = self.H[np.ix_(pos, pos)]
        H[np.diag_indices_from(H)] += ridge
        return H, np.array_equal(self.theta, theta)

    def put_penalised(self, objective, theta, cols, H):
        """Store ``H``, the penalised Hessian over ``cols`` at ``theta`` (the ridge term is
        taken off in place)."""
        H[np.diag_indices_from(H)] -= _ridge_diag(objective, theta, cols)
        self.cols, self.H, self.theta, self.uses, self.rate = cols, H, theta, 0, None

    def _grow(self, objective, new):
        """Add the blocks of columns ``new`` (not yet stored) at the stored point."""
        m = objective.m
        union = np.union1d(self.cols, new)
        cross = objective.hessian_cross(self.theta, union, new)  # (m |union|, m |new|)
        old, add = _positions(union, self.cols, m), _positions(union, new, m)
        H = np.empty((union.size * m, union.size * m))
        H[np.ix_(old, old)] = self.H
        H[:, add] = cross
        H[add, :] = cross.T
        self.cols, self.H = union, H

    def drop(self):
        """Forget the stored Hessian: the next :meth:`get` computes a fresh one."""
        self.H, self.rate = None, None


def _ridge_diag(objective, theta, cols):
    coef, _ = objective.split(theta)
    diag = np.zeros(objective.shape)
    diag[:, : objective.p] = objective.penalty.hessian_diag(coef)
    return diag[:, cols].ravel()


def _positions(stored, cols, m):
    """Indices of ``cols`` (per class) inside a Hessian over ``stored`` columns."""
    where = np.searchsorted(stored, cols)
    return (np.arange(m)[:, None] * stored.size + where[None, :]).ravel()
