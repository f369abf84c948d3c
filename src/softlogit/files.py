"""Safe file writes: a user's file is replaced whole or not at all, and only a file is replaced.

Everything softlogit writes (model files, reports, predictions) goes to a temporary file in
the folder of the target, is flushed to disk, and is renamed over the target (``os.replace``
is atomic on POSIX and Windows). An interrupted or failed write leaves the old file as it was.

- Only a regular file is replaced. A target that is a directory, a device (``/dev/null``), a
  FIFO or a socket is refused before anything is written (:func:`check_target`), and checked
  again just before the rename.
- A symbolic link is followed: the file it points to is replaced and the link stays a link.
  A link to anything but a regular file, a dangling link, and a link in a shared sticky
  folder (``/tmp``) owned by another user (the kernel's ``protected_symlinks`` rule) are
  refused.
- The folder must exist and be writable; that too is checked first, so a caller can check a
  path before long work (:func:`check_target`) and not only when it writes.
- No temporary file is left behind. On Linux the data go to an anonymous file
  (``O_TMPFILE``), which gets a name only for the instant between linking it into the folder
  and renaming it over the target, so even a writer killed by ``SIGKILL`` leaves nothing.
  Elsewhere (and where the file system has no anonymous files) the temporary is named
  ``.<name>.softlogit-<pid>-<host>-<random>.tmp``; a failed write removes its own, and every
  write removes those of writers on this host that are no longer running. ``SIGTERM`` is
  cleaned up like any exception once it is turned into one (the command line turns it into
  ``SystemExit``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
import threading
from contextlib import contextmanager, suppress

__all__ = [
    "UnsafeWriteError",
    "atomic_path",
    "check_target",
    "file_kind",
    "remove_stale_temporaries",
    "write_text_atomic",
]

#: Write through an anonymous file where the platform offers one (tests switch it off).
USE_ANONYMOUS = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")
_TEMPORARY = re.compile(r"^\..*\.softlogit-(\d+)-([0-9a-f]{8})-[0-9a-f]{8}\.tmp$")
_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)
_IN_USE = set()  # this process's temporary names being written (threads write too)
_IN_USE_LOCK = threading.Lock()


class UnsafeWriteError(OSError):
    """A write refused because it would replace something that is not a regular file."""


def file_kind(mode):
    """What a file of ``st_mode`` ``mode`` that is not a regular file is, in words ("a FIFO
    (named pipe)", "a directory", ...)."""
    return next((text for test, text in _KINDS if test(mode)), "a special file")


def _refuse(shown, what):
    """The error for a target that is ``what`` (a directory: IsADirectoryError)."""
    text = f"cannot write {shown!r}: it is {what}; softlogit only replaces regular files"
    return IsADirectoryError(text) if what == "a directory" else UnsafeWriteError(text)


def _check_link(shown, path):
    """Refuse to follow a link in a sticky, world-writable folder that belongs neither to
    the folder's owner nor to us (someone else may have planted it)."""
    link, folder = os.lstat(path), os.stat(os.path.dirname(path))
    shared = folder.st_mode & stat.S_ISVTX and folder.st_mode & stat.S_IWOTH
    if shared and link.st_uid not in (folder.st_uid, os.geteuid()):
        raise UnsafeWriteError(
            f"cannot write {shown!r}: it is a symbolic link owned by another user in the "
            "shared folder; softlogit does not follow it"
        )


def _follow(shown, path):
    """The regular file a symbolic link points to (refusals as documented)."""
    _check_link(shown, path)
    real = os.path.realpath(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UnsafeWriteError(
            f"cannot write {shown!r}: it is a symbolic link to {real!r}, which does not exist"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(shown, f"a symbolic link to {file_kind(info.st_mode)} ({real!r})")
    if not os.path.samestat(info, os.stat(real)):  # pragma: no cover - a racing rename
        raise UnsafeWriteError(f"cannot write {shown!r}: its link changed while it was read")
    return real


def _check_folder(shown, folder, display=None):
    """Refuse a folder that is missing, not a folder or not writable (named as ``display``,
    by default as the user wrote it)."""
    if display is None:
        display = os.path.dirname(shown) or "."
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"cannot write {shown!r}: the folder {display!r} does not exist"
        ) from None
    except NotADirectoryError:
        info = None
    if info is None or not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(f"cannot write {shown!r}: {display!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {shown!r}: the folder {display!r} is not writable")


def check_target(path):
    """Check that ``path`` can be written safely, before anything is written.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    str
        The absolute path that a write replaces: ``path`` itself, or the regular file a
        symbolic link at ``path`` points to.

    Raises
    ------
    UnsafeWriteError
        When ``path`` is a device, a FIFO, a socket, a link to one of these, a dangling
        link, or a link planted in a shared folder by another user.
    IsADirectoryError
        When ``path`` is a directory.
    FileNotFoundError, NotADirectoryError, PermissionError
        When the folder of ``path`` does not exist, is not a folder, or is not writable.
    """
    shown = os.fspath(path)
    target = os.path.abspath(shown)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    except NotADirectoryError:
        _check_folder(shown, os.path.dirname(target))
        raise
    display = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        target = _follow(shown, target)
        info, display = os.lstat(target), os.path.dirname(target)
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise _refuse(shown, file_kind(info.st_mode))
    _check_folder(shown, os.path.dirname(target), display)
    return target


def _new_file_mode(path):
    """The permission bits of an existing ``path``, else ``0o666`` less the umask
    (a temporary file alone would leave a private ``0o600`` file)."""
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


# ------------------------------------------------------------------ temporary files
def _host_tag():
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _temporary_name(name):
    """A fresh temporary file name for target ``name``, telling who writes it; marked as in
    use by this process until :func:`_release`."""
    stem = name[:100]  # file names are at most 255 bytes
    fresh = f".{stem}.softlogit-{os.getpid()}-{_host_tag()}-{secrets.token_hex(4)}.tmp"
    with _IN_USE_LOCK:
        _IN_USE.add(fresh)
    return fresh


def _release(path):
    with _IN_USE_LOCK:
        _IN_USE.discard(os.path.basename(path))


def _is_stale(name, pid):
    """Whether the writer of temporary ``name`` (process ``pid`` on this host) is gone. Our
    own pid counts too when the name is not one we are writing: in a container every run
    may get the same pid."""
    if pid == os.getpid():
        with _IN_USE_LOCK:
            return name not in _IN_USE
    return not _is_running(pid)


def _is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or no permission to ask: assume it runs
        return True
    return True


def remove_stale_temporaries(folder):
    """Remove the temporary files in ``folder`` of softlogit writers on this host that no
    longer run (a writer killed by ``SIGKILL`` or a power cut cannot clean up itself).

    Returns
    -------
    list of str
        The names removed.
    """
    if os.name != "posix":  # os.kill(pid, 0) does not ask whether a process runs there
        return []
    removed, host = [], _host_tag()
    with suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            match = _TEMPORARY.match(entry.name)
            if match is None or match.group(2) != host:
                continue
            if not _is_stale(entry.name, int(match.group(1))):
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            with suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def _create_named(folder, name):
    """A new named temporary file in ``folder``: ``(fd, path)``."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        path = os.path.join(folder, _temporary_name(name))
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:
            _release(path)
        except BaseException:
            _release(path)
            raise
    raise FileExistsError(errno.EEXIST, "no free temporary name", folder)  # pragma: no cover


class _Temporary:
    """The file a write goes to: anonymous (``path`` is ``/proc/self/fd/N``) or named."""

    def __init__(self, folder, name):
        self.folder, self.name, self.named = folder, name, None
        self.fd = None
        if USE_ANONYMOUS:
            with suppress(OSError):  # no anonymous files on this file system: a named one
                self.fd = os.open(folder, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
        if self.fd is None:
            self.fd, self.named = _create_named(folder, name)
            self.path = self.named
        else:
            self.path = f"/proc/self/fd/{self.fd}"

    def _give_name(self):
        """Link the anonymous file into the folder under a temporary name."""
        name = _temporary_name(self.name)
        folder_fd = os.open(self.folder, os.O_RDONLY)
        try:  # linkat(AT_SYMLINK_FOLLOW) on the /proc link: the file itself, not the link
            os.link(self.path, name, dst_dir_fd=folder_fd, follow_symlinks=True)
            self.named = os.path.join(self.folder, name)
        except OSError:  # linking not allowed here: copy the data to a named file
            _release(name)
            fd, self.named = _create_named(self.folder, self.name)
            with open(fd, "wb") as dst, open(self.path, "rb") as src:
                shutil.copyfileobj(src, dst)
                dst.flush()
                os.fsync(dst.fileno())
        finally:
            os.close(folder_fd)

    def commit(self, target, mode, shown):
        """Flush, set ``mode`` and rename over ``target`` (checked again just before)."""
        os.fsync(self.fd)
        if hasattr(os, "fchmod"):
            os.fchmod(self.fd, mode)
        else:  # pragma: no cover - Windows
            os.chmod(self.path, mode)
        if self.named is None:
            self._give_name()
        with suppress(FileNotFoundError):
            info = os.lstat(target)
            if not stat.S_ISREG(info.st_mode):  # replaced by a device, FIFO... meanwhile
                raise _refuse(shown, file_kind(info.st_mode))
        os.replace(self.named, target)
        _release(self.named)
        self.named = None

    def discard(self):
        """Remove the named file (if any); close the descriptor."""
        if self.named is not None:
            with suppress(OSError):
                os.unlink(self.named)
            _release(self.named)
        self.close()

    def close(self):
        if self.fd is not None:
            with suppress(OSError):
                os.close(self.fd)
            self.fd = None


@contextmanager
def atomic_path(path):
    """A temporary path to write to; synced and renamed over ``path`` when the block
    succeeds, removed when it fails.

    ``path`` is checked first (:func:`check_target`): a device, FIFO, socket or directory is
    never replaced, a symbolic link's regular file is replaced in its place, and a missing or
    read-only folder is an error before anything is written. An existing file keeps its
    permission bits; a new one gets ``0o666`` less the umask.

    Parameters
    ----------
    path : str or os.PathLike

    Yields
    ------
    str
        A path to open and write (on Linux ``/proc/self/fd/N``, an anonymous file).

    Examples
    --------
    >>> with atomic_path("out.csv") as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    shown = os.fspath(path)
    target = check_target(shown)
    folder, name = os.path.split(target)
    mode = _new_file_mode(target)
    remove_stale_temporaries(folder)
    temporary = _Temporary(folder, name)
    try:
        yield temporary.path
        temporary.commit(target, mode, shown)
    except BaseException:
        temporary.discard()
        raise
    temporary.close()
    _sync_folder(folder)


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
