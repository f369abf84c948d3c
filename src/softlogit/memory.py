"""Guards against dense (number of parameters)^2 matrices that cannot fit in memory.

A softmax layer of K = 50 classes over p = 2000 features has 98,049 free parameters: its
Hessian or covariance would take 77 GB. Such a matrix is formed only when it is asked for
(Newton's solver, standard errors) and when it fits; otherwise the request is refused with
an error naming the size, before anything is allocated.
"""

from __future__ import annotations

import os

__all__ = ["DenseSquareTooLarge", "check_dense_square", "physical_memory"]

#: Share of the machine's memory that dense parameter-sized matrices may take together.
MEMORY_SHARE = 0.5


class DenseSquareTooLarge(MemoryError):
    """A dense (number of parameters)^2 matrix that would not fit in memory."""


def physical_memory():
    """Bytes of physical memory, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_dense_square(n, what, copies=3, budget=None, hint=""):
    """Raise :class:`DenseSquareTooLarge` when ``copies`` dense ``n x n`` float64 matrices
    (``what`` needs them) exceed ``budget`` bytes (default: ``MEMORY_SHARE`` of the
    machine's memory).

    Parameters
    ----------
    n : int
        Number of parameters.
    what : str
        What needs the matrices, for the message ("the covariance", "Newton's Hessian").
    copies : int
        How many such matrices exist at once.
    budget : int, optional
        Bytes allowed.
    hint : str
        What to do instead, appended to the message.
    """
    where = ""
    if budget is None:
        total = physical_memory()
        if total is None:
            return
        budget, where = MEMORY_SHARE * total, " (half of this machine's memory)"
    need = copies * 8.0 * n * n
    if need > budget:
        raise DenseSquareTooLarge(
            f"{what} of {n:,} parameters needs {copies} dense {n:,} x {n:,} matrices, "
            f"{need / 2**30:,.1f} GiB, more than the {budget / 2**30:,.1f} GiB available for "
            f"them{where}{hint}"
        )
