"""Compiled kernels for the library's own hot loops: numba's ``njit`` with an on-disk cache.

numba compiles a kernel on its first call and, with ``cache=True``, stores the machine code
next to the module (or, where that is read-only, in numba's user-wide cache directory), so
the compile pause is paid once per machine, not once per process. Import the modules that
define kernels lazily (inside the functions that call them): importing numba costs about
0.3 s, which a user who never runs those paths should not pay.
"""

from __future__ import annotations

__all__ = ["jit"]


def jit(function):
    """``numba.njit(cache=True, nogil=True)`` applied to ``function`` (IEEE arithmetic: no
    ``fastmath``, so results equal the interpreted loop's up to the order of summation)."""
    import numba

    return numba.njit(cache=True, nogil=True)(function)
