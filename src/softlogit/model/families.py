r"""Exponential-family response distributions with their canonical links.

Both families are written in terms of the *free* logits :math:`\eta \in \mathbb{R}^{n \times m}`
that the linear model produces. The binary family is the Categorical family with :math:`K = 2`
and class 0 as the reference, computed with the cheaper sigmoid forms.

Each family offers the pieces every solver needs, per row:

* ``probabilities(eta)``: the inverse link (mean function), shape ``(n, K)``;
* ``log_partition(eta)``: :math:`A(\eta)`, the cumulant function;
* ``loglike(eta, y)``: :math:`\log p(y \mid \eta) = \eta_y - A(\eta)`;
* ``loss_gradient(eta, y)``: the negative log-likelihood and its gradient in :math:`\eta`;
* ``working_weights(eta)``: the Hessian of :math:`A` (the IRLS working weights), returned as
  ``(D, P)`` with Hessian ``diag(D) - P P^T`` per row (``P`` is ``None`` for the Bernoulli).
"""

from __future__ import annotations

import numpy as np

from ..numerics import (
    binary_cross_entropy,
    expit,
    log1pexp,
    log_expit,
    log_softmax,
    logsumexp,
    softmax,
    softmax_cross_entropy,
)

__all__ = ["Bernoulli", "Categorical"]


class Bernoulli:
    r"""Bernoulli response, :math:`y \in \{0, 1\}`, with the logit (canonical) link.

    Exponential-family form: :math:`p(y) = \exp\{y\eta - A(\eta)\}` with natural parameter
    :math:`\eta = \log\frac{\phi}{1-\phi}` (the log-odds), log-partition
    :math:`A(\eta) = \log(1 + e^{\eta})`, mean :math:`A'(\eta) = \sigma(\eta) = \phi` (the
    sigmoid, the canonical inverse link) and variance
    :math:`A''(\eta) = \phi(1-\phi)`, which is the IRLS working weight.
    """

    n_classes = 2
    n_outputs = 1
    reference = 0

    def full_logits(self, eta):
        """Both logits ``[0, eta]`` (class 0 is the reference), shape (n, 2)."""
        eta = _column(eta)
        return np.column_stack([np.zeros_like(eta), eta])

    def probabilities(self, eta):
        """Class probabilities ``[1 - phi, phi]`` with ``phi = sigmoid(eta)``, shape (n, 2)."""
        eta = _column(eta)
        return np.column_stack([expit(-eta), expit(eta)])

    def log_probabilities(self, eta):
        """Log class probabilities ``[log_sigmoid(-eta), log_sigmoid(eta)]``, shape (n, 2)."""
        eta = _column(eta)
        return np.column_stack([log_expit(-eta), log_expit(eta)])

    def log_partition(self, eta):
        r""":math:`A(\eta) = \log(1 + e^{\eta})`, shape (n,)."""
        return log1pexp(_column(eta))

    def loglike(self, eta, y):
        r"""Per-row log-likelihood :math:`y\eta - \log(1 + e^{\eta})`."""
        return -binary_cross_entropy(_column(eta), y)[0]

    def loss_gradient(self, eta, y, with_weights=False):
        """Per-row NLL, shape (n,), its gradient in eta, shape (n, 1), and with
        ``with_weights`` also :meth:`working_weights`."""
        if with_weights:
            loss, grad, weight = binary_cross_entropy(_column(eta), y, with_weights=True)
            return loss, grad[:, None], (weight[:, None], None)
        loss, grad = binary_cross_entropy(_column(eta), y)
        return loss, grad[:, None]

    def working_weights(self, eta):
        r"""``(D, None)`` with :math:`D = \sigma(\eta)\sigma(-\eta) = \phi(1 - \phi)`."""
        eta = _column(eta)
        return (expit(eta) * expit(-eta))[:, None], None

    def offset_to_free(self, offset):
        """Map an offset given per row (n,) or per class (n, 2) to the logit scale (n, 1)."""
        offset = np.asarray(offset, dtype=float)
        if offset.ndim == 1:
            return offset[:, None]
        return (offset[:, 1] - offset[:, 0])[:, None]


class Categorical:
    r"""Categorical (one multinomial trial) response over :math:`K` classes, softmax link.

    Exponential-family form with the reference class :math:`r`: natural parameters
    :math:`\eta_k = \log(\phi_k / \phi_r)` for :math:`k \ne r` (log relative risks, the
    canonical link), log-partition :math:`A(\eta) = \log(1 + \sum_{k \ne r} e^{\eta_k})`, mean
    :math:`\phi = \operatorname{softmax}([\eta, 0])` and covariance
    :math:`\operatorname{diag}(\phi) - \phi\phi^T` (the working weights). With
    ``reference=None`` all :math:`K` logits are free (the symmetric, over-parameterised
    softmax layer of a neural network): :math:`A(\eta) = \log\sum_k e^{\eta_k}`.

    Parameters
    ----------
    n_classes : int
        Number of classes ``K >= 2``.
    reference : int or None
        Code of the reference class whose logit is fixed at 0, or None for symmetric.
    """

    def __init__(self, n_classes, reference=0):
        self.n_classes = int(n_classes)
        self.reference = reference
        self.n_outputs = self.n_classes - (reference is not None)
        free = np.ones(self.n_classes, dtype=bool)
        if reference is not None:
            free[reference] = False
        self._free = free

    def full_logits(self, eta):
        """All K logits: the free ones with a zero column inserted for the reference."""
        eta = np.asarray(eta, dtype=float).reshape(-1, self.n_outputs)
        if self.reference is None:
            return eta
        full = np.zeros((eta.shape[0], self.n_classes))
        full[:, self._free] = eta
        return full

    def probabilities(self, eta):
        """Softmax of the full logits, shape (n, K)."""
        return softmax(self.full_logits(eta))

    def log_probabilities(self, eta):
        """Log-softmax of the full logits, shape (n, K)."""
        return log_softmax(self.full_logits(eta))

    def log_partition(self, eta):
        r""":math:`A(\eta) = \log\sum_k e^{\eta_k}` over the full logits, shape (n,)."""
        return logsumexp(self.full_logits(eta), axis=1)

    def loglike(self, eta, y):
        r"""Per-row log-likelihood :math:`\eta_y - A(\eta)`."""
        return -softmax_cross_entropy(self.full_logits(eta), y)[0]

    def loss_gradient(self, eta, y, with_weights=False):
        """Per-row NLL, shape (n,), its gradient in the free logits, shape (n, m), and with
        ``with_weights`` also :meth:`working_weights` (from the same exponentials)."""
        full = self.full_logits(eta)
        if not with_weights:
            loss, grad = softmax_cross_entropy(full, y)
            return loss, grad[:, self._free]
        loss, grad, proba = softmax_cross_entropy(full, y, return_proba=True)
        p = proba[:, self._free]
        return loss, grad[:, self._free], (p, p)

    def working_weights(self, eta):
        r"""``(P, P)``: the Hessian of :math:`A` in the free logits is
        :math:`\operatorname{diag}(P) - PP^T` with :math:`P` the free-class probabilities."""
        p = self.probabilities(eta)[:, self._free]
        return p, p

    def offset_to_free(self, offset):
        """Map an offset to the free logits, shape (n, m).

        A per-class offset (n, K) is shifted so the reference column is 0 (softmax is
        invariant to a common shift). A per-row offset (n,) is added to every class but the
        reference (in the symmetric parameterisation: every class but the first).
        """
        offset = np.asarray(offset, dtype=float)
        if offset.ndim == 1:
            full = np.repeat(offset[:, None], self.n_classes, axis=1)
            full[:, 0 if self.reference is None else self.reference] = 0.0
        else:
            full = offset
        if self.reference is None:
            return full
        return full[:, self._free] - full[:, [self.reference]]


def _column(eta):
    eta = np.asarray(eta, dtype=float)
    return eta.reshape(-1) if eta.ndim == 2 else eta


def make_family(n_classes, reference, binary_fast=True):
    """Bernoulli when K = 2 with class 0 as reference, else Categorical."""
    if binary_fast and n_classes == 2 and reference == 0:
        return Bernoulli()
    return Categorical(n_classes, reference)
