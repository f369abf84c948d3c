r"""Inference for estimates whose covariance is not the inverse information at the estimate:
Firth's fit with a corrected intercept (FLIC, FLAC; :mod:`softlogit.model.firth_corrections`).

The model-based (``cov_type=None``) covariance is the one the correction defines, fixed
at fit time; the sandwich types are those of :class:`~softlogit.stats.results.FitResults` over
the unpenalised likelihood at the corrected estimate, :math:`A^{-1} B A^{-1}` with :math:`A`
the Fisher information and :math:`B` the summed score products (as for Firth's fit itself,
whose sandwich also uses the unpenalised scores).
"""

from __future__ import annotations

import numpy as np

from .results import FitResults

__all__ = ["CorrectedFitResults"]


class CorrectedFitResults(FitResults):
    """:class:`~softlogit.stats.results.FitResults` with a given model-based covariance.

    Parameters
    ----------
    objective, theta, free, names, row_labels, null_loglike
        As for :class:`~softlogit.stats.results.FitResults` (``objective`` unpenalised).
    covariance : ndarray of shape (n_params, n_params)
        The ``"nonrobust"`` covariance in the objective's raw parameter layout (NaN where a
        parameter is fixed).
    """

    def __init__(self, objective, theta, free, names, row_labels, null_loglike, covariance):
        super().__init__(objective, theta, free, names, row_labels, null_loglike)
        self._covariance = np.array(covariance, dtype=float)

    def _cov_centered(self, cov_type=None, groups=None):
        """The fixed covariance in raw coordinates (reference point None) for
        ``"nonrobust"``, else the sandwich of :class:`FitResults`."""
        if self.resolve_cov_type(cov_type) == "nonrobust" and groups is None:
            return self._covariance.copy(), None
        return super()._cov_centered(cov_type, groups)

    def _cov_theta(self, cov_type=None, groups=None):
        """Covariance in the objective's (raw) parameter layout."""
        if self.resolve_cov_type(cov_type) == "nonrobust" and groups is None:
            return self._covariance.copy()
        return super()._cov_theta(cov_type, groups)
