"""R as an independent reference: run an R script, read back the numbers it prints.

Tests that need R call :func:`run_r`; where ``Rscript`` (or a package the script loads) is
absent they skip, unless ``SOFTLOGIT_REQUIRE_R=1`` (set by ``.ci/run``, which installs R and
its packages from Debian) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

__all__ = ["have_r", "run_r", "write_csv_for_r"]


def have_r():
    """Whether ``Rscript`` is on the PATH."""
    return shutil.which("Rscript") is not None


def _missing(reason):
    if os.environ.get("SOFTLOGIT_REQUIRE_R") == "1":
        pytest.fail(f"R is required here (SOFTLOGIT_REQUIRE_R=1): {reason}")
    pytest.skip(reason)


def run_r(script, packages=(), timeout=300):
    """Run ``script`` with ``Rscript`` and return the numbers it prints (whitespace-separated,
    e.g. ``cat(format(x, digits=17), "\\n")``) as a float array.

    ``packages`` are loaded first; a missing one skips the test (or fails it under
    ``SOFTLOGIT_REQUIRE_R=1``)."""
    if not have_r():
        _missing("Rscript is not installed")
    loads = "".join(
        f"if (!requireNamespace('{p}', quietly=TRUE)) quit(status=3)\n"
        f"suppressPackageStartupMessages(library({p}))\n"
        for p in packages
    )
    proc = subprocess.run(
        ["Rscript", "--vanilla", "-e", loads + script],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode == 3:
        _missing(f"an R package among {list(packages)} is not installed")
    if proc.returncode != 0:
        raise RuntimeError(f"Rscript failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return np.array(proc.stdout.split(), dtype=float)


def write_csv_for_r(path, X, y=None, weight=None):
    """Write features ``x0 .. x{p-1}`` (and ``y``, ``w``) as CSV with full precision."""
    X = np.asarray(X, dtype=float)
    cols = {f"x{j}": X[:, j] for j in range(X.shape[1])}
    if y is not None:
        cols["y"] = np.asarray(y)
    if weight is not None:
        cols["w"] = np.asarray(weight, dtype=float)
    header = ",".join(cols)
    rows = np.column_stack(list(cols.values())).astype(float)
    np.savetxt(path, rows, delimiter=",", header=header, comments="", fmt="%.17g")
    return path
