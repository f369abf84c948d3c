"""Data sources: where the rows live, seen through two verbs.

``reduce(fn)`` maps every chunk of rows to a small summary (a tuple of numbers and arrays)
and adds the summaries up; ``batches(size, rng)`` yields shuffled mini-batches. Solvers see
the data only through these verbs, so the same code runs on any source that offers them.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from ..coordinates import reference_point

__all__ = [
    "Chunk",
    "InMemorySource",
    "add_summaries",
    "chunk_rows_for",
    "in_pieces",
    "scratch",
    "single_threaded_blas",
]

DEFAULT_CHUNK_ROWS = 50_000
N_CPUS = os.cpu_count() or 1
_POOL = None
_BLAS = None
_SCRATCH = threading.local()


def chunk_rows_for(n_columns, n_outputs=1):
    """Rows per chunk so that the widest per-chunk temporary (rows x outputs x columns
    doubles) stays near 4 MiB: large enough that the per-chunk Python work is small next
    to the arithmetic, small enough for the last-level cache (measured best on 200k x 50
    and 10^6 x 100 passes)."""
    rows = 2**22 // (8 * max(1, n_outputs) * max(1, n_columns))
    return int(min(max(rows, 2048), 16384))


def _pool():
    """The shared chunk thread pool and BLAS controller, made on first use."""
    global _POOL, _BLAS
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=N_CPUS)
        _BLAS = ThreadpoolController()
    return _POOL, _BLAS


def single_threaded_blas():
    """A context in which BLAS runs on one thread: chunks run in parallel on the pool
    instead, and the small dense algebra between passes (parameter-sized solves) does not
    wake BLAS worker threads, which after a pass can take milliseconds to respond."""
    return _pool()[1].limit(limits=1, user_api="blas")


@dataclass(frozen=True)
class Chunk:
    """A block of rows: design ``X`` (dense or CSR), class codes ``y``, prior weights
    ``weight``, ``offset`` on the free-logit scale, shape (rows, m), or None, and cluster
    ``groups`` codes or None."""

    X: object
    y: np.ndarray
    weight: np.ndarray
    offset: np.ndarray | None
    groups: np.ndarray | None = None

    @property
    def n_rows(self):
        """Number of rows in the chunk."""
        return self.X.shape[0]

    def rows(self, index):
        """The chunk's rows at ``index`` (a slice gives views for dense ``X``)."""
        off = None if self.offset is None else self.offset[index]
        grp = None if self.groups is None else self.groups[index]
        return Chunk(self.X[index], self.y[index], self.weight[index], off, grp)


def in_pieces(fn, rows):
    """``fn`` applied to a chunk in consecutive pieces of at most ``rows`` rows, the
    summaries added: a large block (a Dask block, a Parquet batch) is then worked through in
    cache-sized pieces, and its temporaries never exceed one piece. The pieces share the
    thread's :func:`scratch` arrays, released when the chunk is done."""
    return _Piecewise(fn, rows)


class _Piecewise:
    """See :func:`in_pieces` (a class, so that Dask ships it by reference)."""

    def __init__(self, fn, rows):
        self.fn, self.rows = fn, rows

    def __call__(self, chunk):
        try:
            if chunk.n_rows <= self.rows:
                return self.fn(chunk)
            total = None
            for start in range(0, chunk.n_rows, self.rows):
                piece = chunk.rows(slice(start, start + self.rows))
                total = add_summaries(total, self.fn(piece))
            return total
        finally:
            _SCRATCH.__dict__.pop("arrays", None)


def scratch(rows, cols):
    """An uninitialised float64 ``(rows, cols)`` work array owned by the calling thread and
    shared by the pieces of one chunk (see :func:`in_pieces`). Reuse matters where large
    temporaries go back to the operating system at every ``free``
    (``MALLOC_TRIM_THRESHOLD_``, which Dask's workers set): a fresh array there costs a
    page fault per page, doubling a Hessian pass over a block."""
    store = _SCRATCH.__dict__.setdefault("arrays", {})
    buf = store.get(cols)
    if buf is None or buf.shape[0] < rows:
        buf = store[cols] = np.empty((rows, cols))
    return buf[:rows]


def add_summaries(a, b):
    """Add two summaries element by element (tuples of floats, arrays or None)."""
    if a is None:
        return b
    return tuple(None if x is None else x + y for x, y in zip(a, b, strict=True))


class InMemorySource:
    """Rows held in memory, visited in chunks of at most ``chunk_rows`` rows.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n, p)
    y : ndarray of shape (n,)
        Integer class codes.
    weight : ndarray of shape (n,)
        Prior (sample) weights.
    offset : ndarray of shape (n, m) or None
        Offset on the free-logit scale.
    chunk_rows : int
        Rows per chunk; bounds every temporary at ``chunk_rows`` times a few ``p``.
    """

    def __init__(self, X, y, weight, offset=None, chunk_rows=DEFAULT_CHUNK_ROWS, groups=None):
        self.X = X.tocsr() if sp.issparse(X) else X
        self.y = y
        self.weight = weight
        self.offset = offset
        self.chunk_rows = max(1, int(chunk_rows))
        self.groups = groups

    @property
    def total_weight(self):
        """Sum of the prior weights (no pass needed)."""
        return float(np.sum(self.weight))

    def with_groups(self, groups):
        """The same rows with cluster codes attached to every chunk."""
        return InMemorySource(self.X, self.y, self.weight, self.offset, self.chunk_rows, groups)

    def subsample(self, n_rows, seed=0):
        """A source over ``n_rows`` rows drawn at random without replacement (copied, in
        their original order), or None when there are not more rows than that."""
        if n_rows >= self.n_rows:
            return None
        cache = self.__dict__.setdefault("_subsamples", {})
        if (n_rows, seed) not in cache:  # the rank check and Newton share one subsample
            rng = np.random.default_rng(seed)
            rows = np.sort(rng.choice(self.n_rows, n_rows, replace=False))
            off = None if self.offset is None else self.offset[rows]
            cache.clear()
            cache[n_rows, seed] = InMemorySource(
                self.X[rows], self.y[rows], self.weight[rows], off, self.chunk_rows
            )
        return cache[n_rows, seed]

    @property
    def n_rows(self):
        """Number of rows."""
        return self.X.shape[0]

    def reference_point(self):
        """The reference point of the centred coordinates (:mod:`softlogit.coordinates`),
        from a few hundred rows (no pass); None when no column needs centring."""
        return reference_point(self.X)

    @property
    def n_features(self):
        """Number of columns of X."""
        return self.X.shape[1]

    def _take(self, rows):
        return Chunk(self.X, self.y, self.weight, self.offset, self.groups).rows(rows)

    def chunks(self):
        """Yield consecutive chunks of rows (views for dense X)."""
        for start in range(0, self.n_rows, self.chunk_rows):
            yield self._take(slice(start, start + self.chunk_rows))

    def reduce(self, fn):
        """Sum ``fn(chunk)`` over all chunks.

        Chunks are mapped on a thread pool (one BLAS thread each, so the cores are busy with
        chunks rather than oversubscribed) and the summaries are added in chunk order, so the
        result does not depend on the scheduling.
        """
        if self.n_rows <= self.chunk_rows or N_CPUS == 1:  # serial
            total = None
            for chunk in self.chunks():
                total = add_summaries(total, fn(chunk))
            return total
        pool, _ = _pool()
        total = None
        with single_threaded_blas():
            for summary in pool.map(fn, self.chunks()):  # added as they arrive, in order:
                total = add_summaries(total, summary)  # never all summaries at once
        return total

    def batches(self, batch_size, rng=None):
        """Yield mini-batches of ``batch_size`` rows, shuffled by ``rng`` when given."""
        order = np.arange(self.n_rows) if rng is None else rng.permutation(self.n_rows)
        for start in range(0, self.n_rows, batch_size):
            yield self._take(np.sort(order[start : start + batch_size]))
