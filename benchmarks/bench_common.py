"""What every benchmark script shares: the machine description and the reference loss."""

from __future__ import annotations

import os
import platform

import numpy as np
from scipy.special import logsumexp


def machine_info(packages):
    """Lines describing the machine: Python, the versions of ``packages`` (import names;
    missing ones say so), softlogit, CPU count, memory when psutil is there, and the BLAS
    thread pools (threadpoolctl)."""
    versions = []
    for mod in ("numpy", "scipy", *packages, "softlogit"):
        try:
            versions.append(f"{mod} {getattr(__import__(mod), '__version__', '?')}")
        except ImportError:
            versions.append(f"{mod} missing")
    lines = [
        f"python {platform.python_version()} ({platform.platform()})",
        ", ".join(versions),
        f"os.cpu_count() = {os.cpu_count()}",
    ]
    try:
        import psutil

        lines[-1] += f", memory {psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return lines + ["threadpoolctl not installed"]
    for pool in threadpool_info():
        lines.append(
            f"threadpool: {pool.get('internal_api')} {pool.get('version', '')} "
            f"num_threads={pool.get('num_threads')} ({pool.get('prefix')})"
        )
    return lines


def mean_nll(X, y, coef, intercept):
    """Mean negative log-likelihood, reference (first) class parameterisation.

    ``coef`` has shape (K-1, p), ``intercept`` (K-1,); the first class has logit 0.
    """
    eta = X @ coef.T + intercept
    if coef.shape[0] == 1:
        e = eta[:, 0]
        return float(np.mean(np.logaddexp(0.0, e) - (y == 1) * e))
    full = np.column_stack([np.zeros(X.shape[0]), eta])
    return float(np.mean(logsumexp(full, axis=1) - full[np.arange(X.shape[0]), y]))
