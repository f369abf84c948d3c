"""The grouped-scale statistics of a counts fit in a model file (:mod:`softlogit.stats.grouped`).

A counts fit's ``results.stats`` hold R's grouped scale (``deviance_`` is then not
``-2 loglike_``); ``results.counts_stats`` holds what the summary needs besides:
``null_deviance_`` and the expanded 0/1 rows' ``*_bernoulli_`` statistics. Files of other
fits have no ``counts_stats`` (files written before it stay readable).
"""

from __future__ import annotations

import numpy as np

from ..stats.grouped import BERNOULLI_STATISTICS
from .modelfile_values import _get, _is_real, _need, _value_in, _value_out

__all__ = ["COUNTS_STATS", "counts_stats_in", "counts_stats_out"]

#: Statistics a counts fit stores besides ``results.stats``.
COUNTS_STATS = ("null_deviance_", *(f"{name}_bernoulli_" for name in BERNOULLI_STATISTICS))


def counts_stats_out(model):
    """``{"counts_stats": {...}}`` for a counts fit, else ``{}``."""
    if not getattr(model, "counts_response_", False):
        return {}
    return {"counts_stats": {name: _value_out(getattr(model, name), name) for name in COUNTS_STATS}}


def counts_stats_in(doc, stats, k):
    """The counts statistics of ``doc`` (``results``), checked against ``stats`` and ``k``
    estimated parameters, as attributes (``counts_response_`` included); ``{}`` when the
    file has none. For other fits, checks that the deviance is ``-2 loglike``."""
    raw = _get(doc, "counts_stats", "dict|none", "results") if "counts_stats" in doc else None
    if raw is None:
        dev_ok = np.isclose(stats["deviance_"], -2.0 * stats["loglike_"], rtol=1e-12)
        _need(dev_ok, "bad deviance_")
        return {}
    _need(set(raw) == set(COUNTS_STATS), f"results.counts_stats must hold {list(COUNTS_STATS)}")
    values = {name: _value_in(v, f"results.counts_stats.{name}") for name, v in raw.items()}
    bad = [name for name, v in values.items() if not _is_real(v)]
    _need(not bad, f"results.counts_stats {bad} are not numbers")
    b = {name: values[f"{name}_bernoulli_"] for name in BERNOULLI_STATISTICS}
    _need(np.isclose(b["deviance"], -2.0 * b["loglike"], rtol=1e-12), "bad deviance_bernoulli_")
    _need(np.isclose(b["df_resid"], b["nobs"] - k, rtol=1e-12), "bad df_resid_bernoulli_")
    lr = 2.0 * (stats["loglike_"] - stats["null_loglike_"])
    _need(np.isclose(lr, 2.0 * (b["loglike"] - b["null_loglike"]), rtol=1e-9), "bad counts_stats")
    return {**values, "counts_response_": True}
