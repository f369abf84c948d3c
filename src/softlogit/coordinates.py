r"""Centred coordinates: the intercept reparameterised at a reference point of the features.

A feature with a large mean and a small spread (Unix timestamps: :math:`1.7\cdot 10^9 + 60 z`)
is almost collinear with the intercept column, so sums such as :math:`\sum_i w_i x_i^2` lose
every digit that tells them apart. Per class row, the centred parameters

.. math:: \psi_\beta = \theta_\beta, \qquad \psi_b = \theta_b + c^T \theta_\beta

give the same linear predictor :math:`\eta = \theta_\beta^T x + \theta_b = \psi_\beta^T (x - c)
+ \psi_b`, and the Hessian in :math:`\psi` is a sum over the centred design :math:`[x - c, 1]`,
exact to rounding whatever the location of the columns. Any reference point ``c`` within a few
standard deviations of the column means serves, so no pass over the data is needed:
:func:`reference_point` takes the mean of a few hundred rows spread over the data, for the
columns that lie more than ``CENTRE_RATIO`` standard deviations from 0 (0 for the others,
whose sums lose at most ``CENTRE_RATIO**2`` ulps uncentred: most data need no centring, and
their passes cost nothing more).

With :math:`\psi = M\theta`, :math:`M = I + e_b c^T` per class: gradients map as
:math:`g_\psi = M^{-T} g_\theta`, Hessians as :math:`H_\theta = M^T H_\psi M`, covariances as
:math:`V_\theta = M^{-1} V_\psi M^{-T}`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["Centering", "reference_point"]

#: Rows averaged for the reference point.
REFERENCE_ROWS = 256
#: Columns whose mean lies more than this many standard deviations from 0 are centred.
CENTRE_RATIO = 100.0


def reference_point(X):
    """The reference point of dense ``X`` from at most ``REFERENCE_ROWS`` rows spread evenly
    over it: their column means where those lie more than ``CENTRE_RATIO`` standard
    deviations from 0, else 0; None when no column needs centring, for sparse data
    (centring would fill them in) or for no rows."""
    if sp.issparse(X) or X.shape[0] == 0 or X.shape[1] == 0:
        return None
    step = max(1, X.shape[0] // REFERENCE_ROWS)
    rows = np.asarray(X[::step][:REFERENCE_ROWS], dtype=float)
    mean = rows.mean(axis=0)
    spread = np.sqrt(np.mean((rows - mean) ** 2, axis=0))
    far = np.abs(mean) > CENTRE_RATIO * spread
    return np.where(far, mean, 0.0) if far.any() else None


class Centering:
    """The maps between raw parameters :math:`\\theta` and centred ones :math:`\\psi`.

    Parameters
    ----------
    center : ndarray of shape (p,) or None
        The reference point ``c``; None (or no intercept) is the identity map.
    m : int
        Parameter rows (free logits).
    fit_intercept : bool
        Whether the last parameter column is the intercept.
    """

    def __init__(self, center, m, fit_intercept):
        use = fit_intercept and center is not None and np.any(center != 0)
        self.center = np.asarray(center, dtype=float) if use else None
        self.m = int(m)
        self.p = None if self.center is None else self.center.size

    @property
    def identity(self):
        """Whether the maps do nothing (no intercept, no reference point or ``c = 0``)."""
        return self.center is None

    def subset(self, cols):
        """The centring of the parameters of sorted design columns ``cols`` (``p`` is the
        intercept; without it the map is the identity)."""
        if self.identity or self.p not in cols:
            return Centering(None, self.m, False)
        return Centering(self.center[cols[cols < self.p]], self.m, True)

    def _rows(self, v):
        return np.array(v, dtype=float).reshape(self.m, self.p + 1)

    def to_psi(self, theta):
        """Centred parameters of raw ones (``psi_b = theta_b + c^T theta_beta``)."""
        if self.identity:
            return np.array(theta, dtype=float)
        T = self._rows(theta)
        T[:, -1] += T[:, :-1] @ self.center
        return T.ravel()

    def to_theta(self, psi):
        """Raw parameters of centred ones; also maps a step ``d_psi`` to ``d_theta``."""
        if self.identity:
            return np.array(psi, dtype=float)
        T = self._rows(psi)
        T[:, -1] -= T[:, :-1] @ self.center
        return T.ravel()

    def grad_to_psi(self, g):
        """:math:`M^{-T} g`: a raw gradient in centred coordinates."""
        if self.identity:
            return np.array(g, dtype=float)
        G = self._rows(g)
        G[:, :-1] -= np.outer(G[:, -1], self.center)
        return G.ravel()

    def grad_to_theta(self, g):
        """:math:`M^T g`: a centred gradient in raw coordinates."""
        if self.identity:
            return np.array(g, dtype=float)
        G = self._rows(g)
        G[:, :-1] += np.outer(G[:, -1], self.center)
        return G.ravel()

    def hess_to_theta(self, H):
        """:math:`M^T H M`: a centred Hessian in raw coordinates."""
        return H if self.identity else self._congruence(H, self.center)

    def hess_to_psi(self, H):
        """:math:`M^{-T} H M^{-1}`: a raw Hessian in centred coordinates (with the
        cancellation the centred sums avoid: for data that cannot be centred, sparse)."""
        return H if self.identity else self._congruence(H, -self.center)

    def _congruence(self, H, c):
        """:math:`N^T H N` with :math:`N = I + e_b c^T` per class (``c`` is the reference
        point for :math:`M`, minus it for :math:`M^{-1}`)."""
        m, q = self.m, self.p + 1
        H4 = np.array(H, dtype=float).reshape(m, q, m, q)
        H4[:, :-1] += c[None, :, None, None] * H4[:, -1:]
        H4[..., :-1] += c * H4[..., -1:]
        return H4.reshape(m * q, m * q)

    def cov_to_theta(self, V):
        """:math:`M^{-1} V M^{-T}`: a centred covariance in raw coordinates (entries that are
        NaN, the fixed parameters, count as 0 in the map and stay NaN)."""
        if self.identity:
            return V
        m, q = self.m, self.p + 1
        missing = np.isnan(V)
        V4 = np.nan_to_num(V).reshape(m, q, m, q)
        c = self.center
        V4[:, -1] -= np.einsum("j,ajbr->abr", c, V4[:, :-1])
        V4[..., -1] -= np.einsum("abrj,j->abr", V4[..., :-1], c)
        out = V4.reshape(m * q, m * q)
        out[missing] = np.nan
        return out
