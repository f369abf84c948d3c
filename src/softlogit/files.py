"""Safe file writes: a user's file is replaced whole or not at all.

Everything softlogit writes (model files, reports, predictions) goes to a temporary file in
the same folder, is flushed to disk, and is renamed over the target (``os.replace`` is atomic
on POSIX and Windows). An interrupted or failed write leaves the old file as it was and no
temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager, suppress

__all__ = ["atomic_path", "write_text_atomic"]


def _new_file_mode(path):
    """The permission bits of an existing ``path``, else ``0o666`` less the umask
    (``mkstemp`` alone would leave a private ``0o600`` file)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_folder(folder):
    """Make a rename durable (POSIX); a no-op where folders cannot be opened."""
    with suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def atomic_path(path):
    """A temporary path next to ``path`` to write to; synced and renamed over ``path`` when
    the block succeeds, removed when it fails.

    Examples
    --------
    >>> with atomic_path("out.csv") as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    path = os.fspath(path)
    mode = _new_file_mode(path)
    folder, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_folder(folder)


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
