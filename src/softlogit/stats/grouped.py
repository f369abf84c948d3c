r"""Fit statistics of a counts response on the grouped scale, as R reports them.

A counts fit (:mod:`softlogit.data.counts`) is the fit of its expanded 0/1 rows, whose
(Bernoulli-scale) log-likelihood :math:`\ell_B` the :class:`~softlogit.stats.results.FitResults`
holds. R's ``glm(cbind(s, f) ~ x, binomial)`` and ``VGAM::vglm(..., multinomial)`` report the
grouped scale instead; with :math:`C = \sum_i w_i \log(N_i!/\prod_k c_{ik}!)`, the saturated
:math:`\ell_S`, :math:`G` grouped rows of positive weight and :math:`k` estimated parameters:

.. math::

    \ell = \ell_B + C, \quad \ell_0 = \ell_{B,0} + C, \quad
    D = 2(\ell_S - \ell_B), \quad D_0 = 2(\ell_S - \ell_{B,0}),

    \mathrm{AIC} = -2\ell + 2k, \quad \mathrm{BIC} = -2\ell + k \log G, \quad
    \text{df}_\text{resid} = G (K - 1) - k, \quad \text{nobs} = G,

as R's ``glm`` (:math:`K = 2`: :math:`G - k`) and ``VGAM::vglm`` (``n M - rank``) report
them.

The likelihood-ratio statistic is the same on both scales; McFadden's pseudo-R2 is reported
on the Bernoulli scale (the expanded 0/1 data's).
"""

from __future__ import annotations

import numpy as np

__all__ = ["BERNOULLI_STATISTICS", "grouped_statistics"]

#: Statistics published twice for a counts fit: ``name_`` on the grouped scale and
#: ``name_bernoulli_`` on the expanded 0/1 data's.
BERNOULLI_STATISTICS = ("loglike", "null_loglike", "deviance", "aic", "bic", "df_resid", "nobs")


def grouped_statistics(results, scale):
    """The grouped-scale statistics of ``results`` (a counts fit) and the Bernoulli-scale
    ones they replace, as a dict of estimator attribute names (``name_``).

    Parameters
    ----------
    results : FitResults
        The fit of the expanded rows.
    scale : GroupedScale
        The grouped rows' sums (:class:`softlogit.data.counts.GroupedScale`).
    """
    ll_b, null_b, k = results.loglike, results.null_loglike, results.k_params
    loglike, null = ll_b + scale.log_coef, null_b + scale.log_coef
    out = {f"{name}_bernoulli_": getattr(results, name) for name in BERNOULLI_STATISTICS}
    out.update(
        {
            "loglike_": loglike,
            "null_loglike_": null,
            "deviance_": 2.0 * (scale.saturated - ll_b),
            "null_deviance_": 2.0 * (scale.saturated - null_b),
            "aic_": -2.0 * loglike + 2.0 * k,
            "bic_": -2.0 * loglike + k * np.log(scale.n_rows),
            "df_resid_": scale.n_rows * results._objective.m - k,
            "nobs_": scale.n_rows,
            "counts_response_": True,
        }
    )
    return out
