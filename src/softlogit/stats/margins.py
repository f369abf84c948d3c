r"""Marginal effects of the predicted probabilities, with delta-method standard errors.

For free logits :math:`\eta_i = B_F x_i + b_F` (the non-reference rows of the :math:`K \times p`
coefficient matrix :math:`B`, whose reference row is 0) the probabilities are
:math:`P_i = \operatorname{softmax}(B x_i + b)` and the effect of feature :math:`j` on class
:math:`k` is

.. math::

    \frac{\partial P_{ik}}{\partial x_{ij}} = P_{ik}\,\bigl(B_{kj} - \bar b_{ij}\bigr),
    \qquad \bar b_{ij} = \sum_l P_{il} B_{lj},

i.e. :math:`H_i B` with :math:`H_i = \operatorname{diag}(P_i) - P_i P_i^T` (binary:
:math:`P_i(1 - P_i)\beta_j`). Effects are averaged over rows (``at="overall"``) or evaluated
at the column means (``at="mean"``), as statsmodels' ``get_margeff`` does; a 0/1 column can
instead be a discrete change :math:`P(x_j = 1) - P(x_j = 0)` (``dummy=True``).

Standard errors come from the delta method, :math:`\operatorname{Var}(\hat E) \approx
J V J^T`, with the analytic Jacobian :math:`J = \partial E / \partial\theta` over the free
parameters :math:`\theta` (per non-reference class: intercept, then coefficients). With
:math:`\partial P_{ik} / \partial \eta_{ia} = H_{i,ka}`,

.. math::

    \frac{\partial}{\partial \eta_{ia}} \frac{\partial P_{ik}}{\partial x_{ij}}
    = H_{i,ka}\bigl(B_{kj} - \bar b_{ij}\bigr) - P_{ik}\,(H_i B)_{aj},

so :math:`\partial E_{kj} / \partial B_{aj'} = \sum_i w_i [H_{i,ka}\,\delta_{jj'} +
R_{i,kja}\, x_{ij'}]` and :math:`\partial E_{kj} / \partial b_a = \sum_i w_i R_{i,kja}`, with
:math:`R_{i,kja}` the right-hand side above and :math:`w` the averaging weights. Rows are
visited in blocks so that no temporary exceeds a few million numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..model.families import Categorical
from .inference import z_table

__all__ = ["marginal_effects"]

AT_OPTIONS = ("overall", "mean")
COLUMNS = ["dy_dx", "std_err", "z", "p_value", "ci_low", "ci_high"]
BLOCK_ELEMENTS = 1 << 21  # largest per-block temporary, in numbers


def marginal_effects(
    model, X=None, at="overall", dummy=False, alpha=0.05, cov_type=None, groups=None
):
    r"""Marginal effects :math:`\partial P(y = k \mid x) / \partial x_j` with delta-method
    standard errors (statsmodels' ``get_margeff(method="dydx")``).

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression
        With a reference class or symmetric (``reference=None``): the probabilities, hence
        the effects and their standard errors, are the same, computed through the
        identified layout against the first class.
    X : array-like, sparse matrix or data frame of shape (n, p), optional
        Rows over which effects are averaged (``"overall"``) or whose column means are used
        (``"mean"``); with a formula, the data frame the formula refers to. None: the
        training rows, weighted by the training weights (``sample_weight`` times
        ``class_weight``; a plain average when those are all equal). Rows passed as ``X``
        are averaged without weights. Offsets are not included, as in statsmodels.
    at : {"overall", "mean"}
        ``"overall"``: the average marginal effect :math:`\sum_i w_i \partial P_{ik} /
        \partial x_{ij}`; ``"mean"``: the effect at the (weighted) column means
        :math:`\bar x`.
    dummy : bool
        Treat every column whose values are all 0 or 1 as discrete: its effect is
        :math:`P(x_j = 1) - P(x_j = 0)` with the other columns as they are (``"overall"``,
        then averaged) or at their means (``"mean"``).
    alpha : float
        Intervals have coverage ``1 - alpha``.
    cov_type : {None, "nonrobust", "HC0", "HC1", "cluster", "survey"}
        Covariance :math:`V` of the estimates used in :math:`J V J^T` (None: the weight
        type's own, see :meth:`FitResults.resolve_cov_type`).
    groups : array-like of shape (n_train,), optional
        Cluster labels of the training rows, with ``cov_type="cluster"``.

    Returns
    -------
    DataFrame
        Columns ``dy_dx, std_err, z, p_value, ci_low, ci_high``: :math:`z = E / \mathrm{se}`,
        two-sided normal p-values and intervals :math:`E \pm z_{1-\alpha/2}\,\mathrm{se}`.
        Rows: the feature terms (index ``term``) for binary models, which report
        :math:`P(y = \text{classes\_}[1])` only; for softmax a ``(class, term)`` MultiIndex
        over every class, reference included, class-major in ``classes_`` order (the effects
        of each term sum to zero over the classes). Terms of aliased columns have effect 0
        and a NaN standard error.
    """
    if at not in AT_OPTIONS:
        raise ValueError(f"at={at!r} is not one of {AT_OPTIONS}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    results = model._inference(allow_symmetric=True)
    if model.coef_.shape[1] == 0:
        raise ValueError(
            "the model has no features (an intercept-only model): there are no marginal "
            "effects to compute"
        )
    rows, weight = _data_rows(model, X)
    layer = _Layer.of(model)
    dummies = _dummy_columns(rows) if dummy else np.array([], dtype=int)
    rows, weight = _evaluation_rows(rows, weight, at)
    effects, jac = _effects_and_jacobian(layer, rows, weight, dummies)
    binary = results.index.nlevels == 1
    shown = layer.free[:1] if binary else np.arange(layer.n_classes)
    effects = effects[shown].ravel()
    jac = jac[shown].reshape(effects.size, -1)
    se = _delta_se(jac, results.cov_params(cov_type, groups).to_numpy())
    se[np.tile(np.asarray(model.aliased_, dtype=bool), shown.size)] = np.nan
    return _table(effects, se, alpha, _index(model, layer, binary))


# ---------------------------------------------------------------------- the model


@dataclass(frozen=True)
class _Layer:
    """The fitted linear layer: free-logit coefficients and the family that maps them."""

    family: object
    coef: np.ndarray  # (m, p), rows of the non-reference classes
    intercept: np.ndarray  # (m,)
    free: np.ndarray  # (m,) class codes of the coefficient rows
    n_classes: int
    fit_intercept: bool

    @classmethod
    def of(cls, model):
        """The layer of ``model``; a symmetric softmax's in the identified layout of its
        results (rows minus the first class's, whose row is then 0): the same
        probabilities, with parameters that the covariance is over."""
        K = model.classes_.size
        fit_intercept = bool(model.results_._objective.fit_intercept)
        coef = np.asarray(model.coef_, dtype=float)
        intercept = np.asarray(model.intercept_, dtype=float)
        if model._reference is None:
            coef, intercept = coef[1:] - coef[0], intercept[1:] - intercept[0]
            return cls(Categorical(K, 0), coef, intercept, np.arange(1, K), K, fit_intercept)
        free = np.delete(np.arange(K), model._reference)
        return cls(model._family, coef, intercept, free, K, fit_intercept)

    @property
    def full_coef(self):
        """The K x p coefficient matrix with a zero row for the reference class."""
        B = np.zeros((self.n_classes, self.coef.shape[1]))
        B[self.free] = self.coef
        return B

    @property
    def n_params(self):
        """Free parameters per class: intercept (if fitted) and coefficients."""
        return self.coef.shape[1] + self.fit_intercept

    def eta(self, X):
        """Free logits :math:`X B_F^T + b_F`, shape (n, m)."""
        return np.asarray(X @ self.coef.T) + self.intercept


def _dprob_deta(P, free):
    r""":math:`\partial P_{ik} / \partial \eta_{ia} = P_{ik}(\delta_{k f_a} - P_{i f_a})` for the
    free logits :math:`a` (class codes :math:`f_a`), shape (n, K, m)."""
    H = -P[:, :, None] * P[:, None, free]
    H[:, free, np.arange(free.size)] += P[:, free]
    return H


# ---------------------------------------------------------------------- the rows


def _data_rows(model, X):
    """Design rows and averaging weights (summing to 1): training rows with their weights
    when ``X`` is None, else the rows of ``X`` with equal weights."""
    if X is None:
        source = model.results_._objective.source
        return source.X, source.weight / np.sum(source.weight)
    X, _ = model._design(X, None, reset=False)
    return X, np.full(X.shape[0], 1.0 / X.shape[0])


def _evaluation_rows(X, weight, at):
    r"""The rows effects are evaluated at: all of them, or the weighted column means
    :math:`\bar x = X^T w` as one row."""
    if at == "overall":
        return X, weight
    return np.asarray(X.T @ weight, dtype=float).reshape(1, -1), np.ones(1)


def _dummy_columns(X):
    """Positions of the columns holding both 0 and 1 and nothing else."""
    if sp.issparse(X):
        other = X.copy()
        other.data = ~np.isin(other.data, (0.0, 1.0))
        only01 = np.asarray(other.sum(axis=0)).ravel() == 0
        lo, hi = X.min(axis=0).toarray().ravel(), X.max(axis=0).toarray().ravel()
    else:
        only01 = np.all((X == 0) | (X == 1), axis=0)
        lo, hi = X.min(axis=0), X.max(axis=0)
    return np.flatnonzero(only01 & (lo == 0) & (hi == 1))


def _column(X, j):
    """Column ``j`` of a dense or CSR matrix as a 1-d array."""
    col = X[:, [j]]
    return col.toarray().ravel() if sp.issparse(col) else np.asarray(col).ravel()


def _cross(X, R, fit_intercept):
    r""":math:`R^T [1, X]` (or :math:`R^T X`), shape (columns of R, q), for weighted row
    statistics ``R`` (n, c); ``X`` may be sparse."""
    XtR = np.asarray(X.T @ R)
    if fit_intercept:
        XtR = np.vstack([R.sum(axis=0), XtR])
    return XtR.T


def _block_sums(fn, X, weight, width):
    """Sum the tuples ``fn(X_block, w_block)`` over row blocks of about
    ``BLOCK_ELEMENTS / width`` rows."""
    step = max(1, BLOCK_ELEMENTS // max(1, width))
    total = None
    for start in range(0, X.shape[0], step):
        part = fn(X[start : start + step], weight[start : start + step])
        total = part if total is None else tuple(a + b for a, b in zip(total, part, strict=True))
    return total


# ---------------------------------------------------------------------- effects


def _continuous(layer, X, w):
    r"""Weighted sums of the effects :math:`P_{ik}(B_{kj} - \bar b_{ij})`, shape (K, p), and of
    their Jacobian in the parameters, shape (K, p, m, q), over the rows of one block."""
    P = layer.family.probabilities(layer.eta(X))
    B, free = layer.full_coef, layer.free
    H = _dprob_deta(P, free)
    dev = B[None] - (P @ B)[:, None, :]
    G = P[:, :, None] * dev
    R = H[:, :, None, :] * dev[..., None]
    R -= P[:, :, None, None] * G[:, None, free, :].transpose(0, 1, 3, 2)
    n, K, p, m = R.shape
    jac = _cross(X, w[:, None] * R.reshape(n, -1), layer.fit_intercept).reshape(K, p, m, -1)
    j = np.arange(p)
    jac[:, j, :, j + layer.fit_intercept] += np.einsum("i,ika->ka", w, H)
    return np.einsum("i,ikj->kj", w, G), jac


def _discrete(layer, X, w, j):
    r"""Weighted sums of :math:`P_{ik}(x_j = 1) - P_{ik}(x_j = 0)`, shape (K,), and of its
    Jacobian :math:`H_{i,ka}(1)\,\tilde x_{i}(1) - H_{i,ka}(0)\,\tilde x_{i}(0)`, shape
    (K, m, q), over the rows of one block (:math:`\tilde x(c)` has :math:`x_j = c`)."""
    step = layer.coef[:, j]
    eta0 = layer.eta(X) - _column(X, j)[:, None] * step
    P0 = layer.family.probabilities(eta0)
    P1 = layer.family.probabilities(eta0 + step)
    H0, H1 = _dprob_deta(P0, layer.free), _dprob_deta(P1, layer.free)
    n, K, m = H0.shape
    jac = _cross(X, w[:, None] * (H1 - H0).reshape(n, -1), layer.fit_intercept)
    jac = jac.reshape(K, m, -1)
    jac[:, :, j + layer.fit_intercept] = np.einsum("i,ika->ka", w, H1)
    return w @ (P1 - P0), jac


def _effects_and_jacobian(layer, X, weight, dummies):
    """Effects (K, p) and their Jacobian (K, p, m, q), with the ``dummies`` columns as
    discrete changes."""
    K, m, p = layer.n_classes, layer.free.size, layer.coef.shape[1]
    effects, jac = _block_sums(
        lambda Xb, wb: _continuous(layer, Xb, wb), X, weight, K * p * max(m, layer.n_params)
    )
    for j in dummies:
        effects[:, j], jac[:, j] = _block_sums(
            lambda Xb, wb, j=j: _discrete(layer, Xb, wb, j), X, weight, K * max(m, K)
        )
    return effects, jac


# ---------------------------------------------------------------------- inference


def _delta_se(jac, V):
    r"""Delta-method standard errors :math:`\sqrt{\operatorname{diag}(J V J^T)}` over the
    estimated parameters (aliased ones, NaN in ``V``, are fixed and dropped)."""
    keep = ~np.isnan(np.diag(V))
    Jk = jac[:, keep]
    var = np.einsum("ij,jk,ik->i", Jk, V[np.ix_(keep, keep)], Jk)
    return np.sqrt(np.maximum(var, 0.0))


def _index(model, layer, binary):
    """Row labels: terms, or (class, term) for every class of a softmax model."""
    terms = model._feature_names(layer.coef.shape[1])
    if binary:
        return pd.Index(terms, name="term")
    pairs = [(label, term) for label in model.classes_ for term in terms]
    return pd.MultiIndex.from_tuples(pairs, names=["class", "term"])


def _table(effects, se, alpha, index):
    """The effects table: estimate, standard error, z, p-value and interval."""
    return z_table(effects, se, alpha, index, name="dy_dx")[COLUMNS]
