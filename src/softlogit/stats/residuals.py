r"""Residuals of a fitted model, as R's ``residuals.glm``, ``rstandard`` and ``rstudent``
define them for the binomial family.

For row :math:`i` with prior weight :math:`w_i`, response :math:`y_i \in \{0, 1\}`, linear
predictor :math:`\eta_i` (offset included), fitted probability :math:`\mu_i = \sigma(\eta_i)`
and variance :math:`v_i = \mu_i (1 - \mu_i)`:

* response: :math:`y_i - \mu_i`;
* Pearson: :math:`r_i = \sqrt{w_i}\,(y_i - \mu_i) / \sqrt{v_i}`;
* deviance: :math:`d_i = \operatorname{sign}(y_i - \mu_i)\sqrt{w_i\,\delta_i}` with the unit
  deviance :math:`\delta_i = -2 \log p(y_i \mid \eta_i)` (the saturated binary model has
  log-likelihood 0), so :math:`\sum_i d_i^2` is the residual deviance;
* working: :math:`(y_i - \mu_i) / v_i` (the IRLS working residual, without the weight);
* standardised: :math:`d_i / \sqrt{1 - h_i}` and :math:`r_i / \sqrt{1 - h_i}` (the
  dispersion of the binomial family is 1);
* studentised (R's ``rstudent.glm``, the one-step approximation of the deletion residual):
  :math:`\operatorname{sign}(d_i)\sqrt{d_i^2 + h_i r_i^2 / (1 - h_i)}`.

The hat values are :math:`h_i = w_i v_i\, \tilde x_i^T (X^T W X)^{-1} \tilde x_i` with
:math:`\tilde x_i = [x_i, 1]` and :math:`W = \operatorname{diag}(w_i v_i)`: the diagonal of
:math:`W^{1/2} X (X^T W X)^{-1} X^T W^{1/2}`, computed row by row from the inverse information
(in the centred coordinates of :mod:`softlogit.coordinates`), never as an ``n x n`` matrix.
A hat value within ``10 eps`` of 1 is set to 1, as R does; where :math:`h_i = 1` a
standardised or studentised residual is NaN (R: ``Inf`` made ``NaN``).

Every value comes from the linear predictor without rounding through the probability
(:math:`s = 2y - 1`): :math:`y - \mu = s\,\sigma(-s\eta)`, :math:`(y - \mu)/\sqrt v =
s\,e^{-s\eta/2}`, :math:`(y - \mu)/v = s\,(1 + e^{-s\eta})` and :math:`\delta = 2
\log(1 + e^{-s\eta})`; the last two overflow to ``inf`` only where the true value exceeds
the float range.

A multinomial model has per-class residuals for the one-hot response :math:`y_{ik}`: response
:math:`y_{ik} - p_{ik}` (nnet's ``residuals.multinom``) and Pearson
:math:`\sqrt{w_i}\,(y_{ik} - p_{ik}) / \sqrt{p_{ik}(1 - p_{ik})}` (each class's indicator as a
binomial response), shape ``(n, K)`` in ``classes_`` order.

Rows of zero prior weight, which R's influence functions drop, get NaN hat-based values; their
response and working residuals use the observed :math:`y_i` (R's ``binomial()$initialize``
sets :math:`y_i = 0` there, so R's differ on those rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..data.sources import DEFAULT_CHUNK_ROWS
from ..model.families import Bernoulli
from ..model.objective import scaled_design
from ..model.penalties import Firth
from ..numerics import expit, log1pexp
from .results import INFORMATION

__all__ = ["BINARY_KINDS", "MULTINOMIAL_KINDS", "RowModel", "residuals", "row_source"]

#: Residual kinds of a binary model (:func:`residuals`).
BINARY_KINDS = (
    "response",
    "pearson",
    "deviance",
    "working",
    "standardized_deviance",
    "standardized_pearson",
    "studentized",
)
#: Residual kinds of a multinomial model.
MULTINOMIAL_KINDS = ("response", "pearson")
#: Other accepted names: British spellings and R's function names.
ALIASES = {
    "standardised_deviance": "standardized_deviance",
    "standardised_pearson": "standardized_pearson",
    "studentised": "studentized",
    "rstandard": "standardized_deviance",
    "rstudent": "studentized",
}
#: Hat values this close to 1 are 1 (R's ``lm.influence``).
HAT_ONE = 1.0 - 10.0 * np.finfo(float).eps


@dataclass(frozen=True)
class RowModel:
    """What the row-wise computations need from a fitted model.

    Attributes
    ----------
    objective : Objective
        The training objective (its family, layout and centring).
    theta : ndarray
        Fitted parameters in the objective's layout.
    cov : ndarray or None
        The inverse information in centred coordinates, aliased entries 0 (None when not
        needed).
    binary : bool
        Whether the family is the Bernoulli (a LogisticRegression).
    """

    objective: object
    theta: np.ndarray
    cov: np.ndarray | None
    binary: bool

    @classmethod
    def of(cls, model, need_cov=False):
        """The row model of a fitted estimator; ``need_cov``: with the covariance, for
        hat values (an unpenalised or Firth fit only)."""
        results = model._snapshot().results_
        objective = results._objective
        cov = None
        if need_cov:
            penalty = objective.penalty
            if not (penalty.is_zero or isinstance(penalty, Firth)):
                raise ValueError(
                    "hat values and influence measures need an unpenalised (or Firth) fit: "
                    "the inverse information of a penalised fit does not give R's hat matrix"
                )
            V, _ = results._cov_centered(INFORMATION)
            cov = np.nan_to_num(V)
        return cls(objective, results._theta, cov, isinstance(objective.family, Bernoulli))

    @property
    def family(self):
        """The response family of the parameters."""
        return self.objective.family

    def eta(self, chunk):
        """Free logits of a chunk, shape (rows, m), offset included."""
        return self.objective.linear_predictor(self.theta, chunk)

    def design(self, chunk):
        r"""The centred design :math:`[x_i - c, 1]` of a chunk (sparse stays sparse)."""
        ones = np.ones(chunk.n_rows)
        return scaled_design(
            chunk.X, ones, self.objective.fit_intercept, None, self.objective.center
        )

    def quadratic(self, chunk):
        r""":math:`\tilde x_i^T V \tilde x_i` per row and :math:`G = \tilde X V` (rows, q)."""
        X1 = self.design(chunk)
        G = np.asarray(X1 @ self.cov)
        if sp.issparse(X1):
            q = np.asarray(X1.multiply(G).sum(axis=1)).ravel()
        else:
            q = np.einsum("ij,ij->i", X1, G)
        return q, G


def row_source(model, X=None, y=None, sample_weight=None, offset=None):
    """The rows to compute diagnostics on: the training rows (with their weights and
    offset) when ``X`` is None, else ``X`` with labels ``y`` (a formula model reads them
    from the data frame), prior weights and offset, in the training layout.

    Returns
    -------
    source
        A data source (``chunks()`` in row order).
    """
    model = model._snapshot()
    results = model.results_
    if X is None:
        if y is not None or sample_weight is not None or offset is not None:
            raise ValueError("y, sample_weight and offset go with X: pass the rows too")
        return results._objective.source
    from ..model.fitting import make_source

    rows = X
    X, y = model._design(X, y, reset=False, need_y=model.formula is not None)
    offset = model._with_formula_offset(rows, offset, X.shape[0])  # offset(...) terms
    if y is None:
        raise ValueError("residuals need the labels y of the rows X")
    if offset is None and getattr(model, "has_offset_", False):
        raise ValueError(
            "the model was fitted with an offset: pass offset= with the offset of these rows"
        )
    spec = model._spec(X, y, sample_weight, offset, classes=model.classes_)
    return make_source(spec, results._objective.family)


def ordered_chunks(source):
    """The source's chunks in row order."""
    if hasattr(source, "chunks"):
        return source.chunks()
    return source.batches(DEFAULT_CHUNK_ROWS, None)


def canonical_kind(kind, binary):
    """The canonical name of a residual kind, or a ValueError listing the valid ones."""
    name = ALIASES.get(kind, kind)
    valid = BINARY_KINDS if binary else MULTINOMIAL_KINDS
    if name not in valid:
        which = "a binary" if binary else "a multinomial"
        raise ValueError(f"kind={kind!r} is not a residual of {which} model; use one of {valid}")
    return name


def binary_rows(rm, chunk):
    """The per-row quantities of a binary model on one chunk: ``linear_predictor``,
    ``fitted`` (:math:`\\mu`), ``weight`` and the response, Pearson, deviance and working
    residuals (see the module notes)."""
    eta = rm.eta(chunk)[:, 0]
    s = 2.0 * chunk.y - 1.0
    w = np.asarray(chunk.weight, dtype=float)
    root_w = np.sqrt(w)
    with np.errstate(over="ignore", invalid="ignore"):
        pearson = np.where(w > 0, s * root_w * np.exp(-s * eta / 2.0), 0.0)
        working = s * (1.0 + np.exp(-s * eta))
    unit = 2.0 * log1pexp(-s * eta)
    return {
        "linear_predictor": eta,
        "fitted": expit(eta),
        "weight": w,
        "response": s * expit(-s * eta),
        "pearson": pearson,
        "deviance": s * np.sqrt(w * unit),
        "working": working,
    }


def hat_values(rm, chunk, rows):
    r"""Hat values :math:`h_i = w_i v_i \tilde x_i^T V \tilde x_i` of a binary chunk (NaN
    for rows of zero weight) and :math:`G = \tilde X V`; ``rows``: :func:`binary_rows`."""
    q, G = rm.quadratic(chunk)
    eta = rows["linear_predictor"]
    h = rows["weight"] * expit(eta) * expit(-eta) * q
    h = np.where(h > HAT_ONE, 1.0, h)
    return np.where(rows["weight"] > 0, h, np.nan), G


def standardized(rows, h):
    """Standardised deviance and Pearson and studentised residuals from the hat values
    (NaN where ``h == 1`` or the weight is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.sqrt(1.0 - h)
        d, r = rows["deviance"], rows["pearson"]
        out = {
            "standardized_deviance": d / root,
            "standardized_pearson": r / root,
            "studentized": np.sign(d) * np.sqrt(d * d + h * r * r / (1.0 - h)),
        }
    return {k: np.where(np.isfinite(v), v, np.nan) for k, v in out.items()}


def multinomial_rows(rm, chunk):
    """Response and Pearson residuals (rows, K) of a multinomial chunk (see the module
    notes); :math:`1 - p_{ik}` is computed as ``-expm1(log p_ik)``."""
    eta = rm.eta(chunk)
    logp = rm.family.log_probabilities(eta)
    P = np.exp(logp)
    Q = -np.expm1(logp)  # 1 - p, exact when p is near 1
    Y = np.zeros_like(P)
    Y[np.arange(P.shape[0]), chunk.y] = 1.0
    w = np.asarray(chunk.weight, dtype=float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = np.where(Y > 0, np.sqrt(Q / P), -np.sqrt(P / Q)) * np.sqrt(w)
    pearson = np.where(w > 0, pearson, 0.0)
    return {"response": np.where(Y > 0, Q, -P), "pearson": pearson}


def residuals(model, X=None, y=None, kind="deviance", sample_weight=None, offset=None):
    r"""Residuals of a fitted model, as R's ``residuals.glm``, ``rstandard`` and
    ``rstudent`` (binary) or per class (multinomial).

    Parameters
    ----------
    model : fitted LogisticRegression or SoftmaxRegression
    X : array-like, sparse matrix or data frame, optional
        Rows; None: the training rows with their weights and offset.
    y : array-like of shape (n,), optional
        Labels of ``X`` (a formula model reads them from the data frame).
    kind : str
        Binary: ``"response"``, ``"pearson"``, ``"deviance"`` (default, R's default),
        ``"working"``, ``"standardized_deviance"`` (R's ``rstandard``),
        ``"standardized_pearson"`` (``rstandard(type="pearson")``) or ``"studentized"``
        (``rstudent``); British spellings and ``"rstandard"``/``"rstudent"`` are accepted.
        Multinomial: ``"response"`` or ``"pearson"``. The formulas are in
        :mod:`softlogit.stats.residuals`.
    sample_weight : array-like of shape (n,), optional
        Prior weights of the rows of ``X`` (they scale the Pearson and deviance residuals
        by :math:`\sqrt{w_i}`, as R's); the training weights when ``X`` is None.
    offset : array-like of shape (n,) or (n, K), optional
        Offset of the rows of ``X``, needed when the model was fitted with one.

    Returns
    -------
    ndarray of shape (n,) (binary) or (n, K) (multinomial, columns in ``classes_`` order)
    """
    model = model._snapshot()  # one model, even if a fit publishes meanwhile
    rm0 = RowModel.of(model)
    name = canonical_kind(kind, rm0.binary)
    need_hat = name.startswith("standard") or name == "studentized"
    rm = RowModel.of(model, need_cov=True) if need_hat else rm0
    source = row_source(model, X, y, sample_weight, offset)
    parts = []
    for chunk in ordered_chunks(source):
        if not rm.binary:
            parts.append(multinomial_rows(rm, chunk)[name])
            continue
        rows = binary_rows(rm, chunk)
        if need_hat:
            rows.update(standardized(rows, hat_values(rm, chunk, rows)[0]))
        parts.append(rows[name])
    width = () if rm.binary else (model.classes_.size,)
    return np.concatenate(parts) if parts else np.empty((0, *width))
