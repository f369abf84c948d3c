"""Reuse of exact Hessians by the coordinate-descent solver, across its iterations and
along a regularisation path."""

from __future__ import annotations

import numpy as np

__all__ = ["HessianStore"]


class HessianStore:
    """The likelihood part of the last exact Hessian (mean scale, no ridge term), kept for
    reuse: by the next iterations, and along a path by the next alpha, whose solution is
    close. A reused Hessian still gives a descent direction (the line search guards it).

    * A Hessian that costs little next to a value-and-gradient pass (``(m |S|)^2 <=
      CHEAP m q``), or little at all (``n (m |S|)^2 <= CHEAP * CHEAP_PASS``), is computed
      in the line search's first trial pass, so every step uses the exact Hessian at its
      start point at no extra pass.
    * When the subproblem gains columns, the stored Hessian grows by the new columns' blocks
      at the point where it was computed (a pass costing ``n |S| |new|`` rather than
      ``n |S|^2``), so it stays the exact Hessian of one point.
    * It is refreshed when a step with it has to be shortened, when a step with it cut the
      KKT violation too little (the solver calls :meth:`drop`), and after ``MAX_STALE``
      uses (in the trial pass that ends that use).
    """

    MAX_STALE = 16
    CHEAP = 4.0
    #: Multiply-adds of a Hessian pass that count as cheap whatever the gradient pass costs
    #: (divided by ``CHEAP``): on few rows the coordinate-descent sweeps dominate, and exact
    #: Hessians save sweeps.
    CHEAP_PASS = 1e7

    def __init__(self):
        self.cols, self.H, self.theta, self.uses = None, None, None, 0

    def _cheap(self, objective, cols):
        m = objective.m
        n_rows = getattr(objective.source, "n_rows", None) or np.inf
        budget = max(m * objective.q, self.CHEAP_PASS / n_rows)
        return (m * cols.size) ** 2 <= self.CHEAP * budget

    def due(self, objective, cols):
        """Whether the next trial pass should compute a fresh Hessian over ``cols``."""
        return self._cheap(objective, cols) or self.uses >= self.MAX_STALE

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
        if fresh or (new.size and self._cheap(objective, cols)):
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
        self.cols, self.H, self.theta, self.uses = cols, H, theta, 0

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
        self.H = None


def _ridge_diag(objective, theta, cols):
    coef, _ = objective.split(theta)
    diag = np.zeros(objective.shape)
    diag[:, : objective.p] = objective.penalty.hessian_diag(coef)
    return diag[:, cols].ravel()


def _positions(stored, cols, m):
    """Indices of ``cols`` (per class) inside a Hessian over ``stored`` columns."""
    where = np.searchsorted(stored, cols)
    return (np.arange(m)[:, None] * stored.size + where[None, :]).ravel()
