"""Writes never destroy what they replace: only regular files are replaced, links are followed
with care, a missing or read-only folder is refused first, and no temporary file survives a
failed, interrupted or killed write (softlogit.files)."""

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading

import pytest

import softlogit as sl
from softlogit import files
from softlogit.datasets import load_admissions
from softlogit.files import UnsafeWriteError, atomic_path, check_target, write_text_atomic

HAS_ANONYMOUS = files.USE_ANONYMOUS


@pytest.fixture(params=["anonymous", "named"])
def mode(request, monkeypatch):
    """Both ways of writing: an O_TMPFILE anonymous file, and a named temporary file."""
    if request.param == "anonymous" and not HAS_ANONYMOUS:
        pytest.skip("no O_TMPFILE anonymous files here")
    monkeypatch.setattr(files, "USE_ANONYMOUS", request.param == "anonymous")
    return request.param


@pytest.fixture(scope="module")
def model():
    adm = load_admissions()
    return sl.LogisticRegression().fit(adm[["gre", "gpa"]], adm["admit"])


def temporaries(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


@pytest.fixture
def nothing_replaced(monkeypatch):
    """Make any rename or link fail loudly: a refused write must not get that far (and a
    regression cannot replace a real device while the test runs)."""

    def forbidden(*args, **kwargs):
        raise AssertionError(f"a refused write reached the rename: {args}")

    monkeypatch.setattr(files.os, "replace", forbidden)
    monkeypatch.setattr(files.os, "link", forbidden)


# ---------------------------------------------------------------------- special files
def _fifo(path):
    os.mkfifo(path)


def _directory(path):
    os.mkdir(path)


def _socket(path):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    return sock


def _char_device(path):
    try:  # a node like /dev/null's (major 1, minor 3); creating one needs CAP_MKNOD
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError, OSError) as err:
        pytest.skip(f"cannot create a character device here: {err}")


SPECIAL = {
    "fifo": (_fifo, stat.S_ISFIFO, UnsafeWriteError, "FIFO"),
    "directory": (_directory, stat.S_ISDIR, IsADirectoryError, "a directory"),
    "socket": (_socket, stat.S_ISSOCK, UnsafeWriteError, "a socket"),
    "char-device": (_char_device, stat.S_ISCHR, UnsafeWriteError, "a character device"),
}


@pytest.mark.parametrize("kind", list(SPECIAL))
def test_special_files_are_refused_and_stay_what_they_are(tmp_path, mode, model, kind):
    make, is_kind, error, words = SPECIAL[kind]
    path = tmp_path / "target.json"
    keep = make(path)
    try:
        writers = [
            lambda: write_text_atomic(path, "x"),
            lambda: sl.save(model, path),
            lambda: sl.write_report(model, path),
        ]
        for write in writers:
            with pytest.raises(error, match=words) as info:
                write()
            assert str(path) in str(info.value) and "only replaces regular files" in str(info.value)
            assert is_kind(os.lstat(path).st_mode)
        assert os.listdir(tmp_path) == ["target.json"]  # no temporary file either
    finally:
        if keep is not None:
            keep.close()


def test_dev_null_is_refused_before_anything_happens(model, nothing_replaced):
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    before = sorted(os.listdir("/dev"))
    for write in (
        lambda: write_text_atomic("/dev/null", "x"),
        lambda: sl.save(model, "/dev/null"),
        lambda: sl.write_report(model, "/dev/null"),
    ):
        with pytest.raises(UnsafeWriteError, match="'/dev/null': it is a character device"):
            write()
    with pytest.raises(UnsafeWriteError):
        check_target("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert sorted(os.listdir("/dev")) == before


# ---------------------------------------------------------------------- symbolic links
def test_a_link_to_a_regular_file_is_followed_and_stays_a_link(tmp_path, mode):
    (tmp_path / "real.txt").write_text("old")
    os.chmod(tmp_path / "real.txt", 0o640)
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")
    assert check_target(link) == str(tmp_path / "real.txt")
    write_text_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == "real.txt"
    assert (tmp_path / "real.txt").read_text() == "new"
    assert stat.S_IMODE(os.stat(tmp_path / "real.txt").st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["link.txt", "real.txt"]


def test_links_to_special_files_and_dangling_links_are_refused(tmp_path, mode, nothing_replaced):
    os.mkfifo(tmp_path / "fifo")
    cases = {
        "to-fifo": ("fifo", "a symbolic link to a FIFO"),
        "to-null": ("/dev/null", "a symbolic link to a character device"),
        "to-folder": (".", "a symbolic link to a directory"),
        "dangling": ("missing.json", "a symbolic link to .* which does not exist"),
    }
    for name, (points_to, message) in cases.items():
        (tmp_path / name).symlink_to(points_to)
        with pytest.raises(OSError, match=message):
            write_text_atomic(tmp_path / name, "x")
        assert (tmp_path / name).is_symlink() and os.readlink(tmp_path / name) == points_to
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not (tmp_path / "missing.json").exists() and not temporaries(tmp_path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs lchown")
def test_a_link_planted_in_a_shared_folder_by_another_user_is_not_followed(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp: sticky and world-writable
    (tmp_path / "precious").write_text("keep")
    planted = shared / "report.html"
    planted.symlink_to(tmp_path / "precious")
    os.lchown(planted, 54321, 54321)  # the link belongs to someone else
    with pytest.raises(UnsafeWriteError, match="owned by another user"):
        write_text_atomic(planted, "x")
    assert (tmp_path / "precious").read_text() == "keep"
    os.lchown(planted, os.geteuid(), os.getegid())  # our own link there is followed
    write_text_atomic(planted, "ours")
    assert (tmp_path / "precious").read_text() == "ours"


# ---------------------------------------------------------------------- folders
def test_a_missing_folder_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(FileNotFoundError, match="the folder 'nope' does not exist"):
        check_target("nope/m.json")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_text_atomic(tmp_path / "a" / "b" / "m.json", "x")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        write_text_atomic(tmp_path / "file" / "m.json", "x")
    assert os.listdir(tmp_path) == ["file"]


def test_an_unwritable_folder_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    """As root, permission bits do not stop a write, so the check (``os.access``) is tested
    with a folder it reports as read-only, as it does for a read-only file system."""
    real = os.access
    locked = str(tmp_path / "locked")
    os.mkdir(locked)
    monkeypatch.setattr(
        files.os, "access", lambda p, m, **k: False if str(p) == locked else real(p, m, **k)
    )
    with pytest.raises(PermissionError, match="the folder .*locked' is not writable"):
        check_target(os.path.join(locked, "m.json"))
    with pytest.raises(PermissionError, match="not writable"):
        write_text_atomic(os.path.join(locked, "m.json"), "x")
    assert os.listdir(locked) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anyway")
def test_a_read_only_folder_is_refused(tmp_path):  # pragma: no cover - CI runs as root
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="not writable"):
            write_text_atomic(locked / "m.json", "x")
    finally:
        locked.chmod(0o700)


# ---------------------------------------------------------------------- temporary files
def test_failed_writes_leave_the_old_file_and_no_temporary(tmp_path, mode):
    path = tmp_path / "m.json"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("disk on fire")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["m.json"]
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write("new")
    assert path.read_text() == "new" and os.listdir(tmp_path) == ["m.json"]


@pytest.mark.skipif(not HAS_ANONYMOUS, reason="no O_TMPFILE anonymous files here")
def test_an_anonymous_file_has_no_name_while_it_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "USE_ANONYMOUS", True)
    with atomic_path(tmp_path / "m.json") as tmp:
        with open(tmp, "w") as fh:
            fh.write("data")
        assert tmp.startswith("/proc/self/fd/") and os.listdir(tmp_path) == []
    assert (tmp_path / "m.json").read_text() == "data"


@pytest.mark.skipif(not HAS_ANONYMOUS, reason="no O_TMPFILE anonymous files here")
def test_when_linking_is_refused_the_data_are_copied(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "USE_ANONYMOUS", True)

    def no_link(*args, **kwargs):
        raise PermissionError("linkat refused")

    monkeypatch.setattr(files.os, "link", no_link)
    write_text_atomic(tmp_path / "m.json", "copied " * 100_000)
    assert (tmp_path / "m.json").read_text() == "copied " * 100_000
    assert os.listdir(tmp_path) == ["m.json"]


def test_stale_temporaries_of_gone_writers_are_removed(tmp_path, mode):
    host = files._host_tag()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "gone": f".m.json.softlogit-{int(gone.stdout)}-{host}-0000000a.tmp",
            "alive": f".m.json.softlogit-{alive.pid}-{host}-0000000b.tmp",
            # our own pid, but not a file this process writes: an earlier run in a container
            "earlier-run": f".m.json.softlogit-{os.getpid()}-{host}-0000000c.tmp",
            "other-host": f".m.json.softlogit-{int(gone.stdout)}-0123abcd-0000000d.tmp",
            "not-ours": ".m.json.abc123.tmp",
        }
        for name in names.values():
            (tmp_path / name).write_text("partial")
        write_text_atomic(tmp_path / "m.json", "new")
        left = set(os.listdir(tmp_path))
    finally:
        alive.kill()
        alive.wait()
    assert names["gone"] not in left and names["earlier-run"] not in left
    assert {names["alive"], names["other-host"], names["not-ours"], "m.json"} == left


def test_threads_writing_one_file_leave_one_complete_file(tmp_path, mode):
    path = tmp_path / "m.json"
    texts = [json.dumps({"writer": i, "pad": "x" * 50_000}) for i in range(8)]
    errors = []

    def write(text):
        try:
            for _ in range(5):
                write_text_atomic(path, text)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and path.read_text() in texts and os.listdir(tmp_path) == ["m.json"]


# ---------------------------------------------------------------------- killed writers
KILLER = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from softlogit import files
    from softlogit.product.cli import _signals_as_exit

    target, anonymous, trials = sys.argv[1], sys.argv[2] == "anonymous", int(sys.argv[3])
    files.USE_ANONYMOUS = anonymous
    folder = os.path.dirname(target)
    listing = lambda: sorted(n for n in os.listdir(folder) if n != os.path.basename(target))
    for number in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        for trial in range(trials):
            ready, go = os.pipe()
            pid = os.fork()
            if pid == 0:  # the writer: half a new file, then wait to be killed
                code = 0
                try:
                    with _signals_as_exit(), files.atomic_path(target) as tmp:
                        with open(tmp, "w") as fh:
                            fh.write("new half " * (1000 * (trial + 1)))
                            fh.flush()
                            os.write(go, b"r")
                            time.sleep(60)
                except SystemExit as exc:
                    code = exc.code
                except KeyboardInterrupt:
                    code = 130
                finally:
                    os._exit(code)
            os.read(ready, 1)
            os.kill(pid, number)
            status = os.waitpid(pid, 0)[1]
            with open(target) as fh:
                intact = fh.read() == "old model"
            print(json.dumps({"signal": int(number), "status": status, "intact": intact,
                              "left": listing()}), flush=True)
            os.close(ready)
            os.close(go)
    files.write_text_atomic(target, "next model")
    with open(target) as fh:
        print(json.dumps({"final": fh.read(), "left": listing()}), flush=True)
    """
)


@pytest.mark.parametrize("how", ["anonymous", "named"])
def test_killed_writers_leave_the_target_intact_and_no_temporary(tmp_path, how):
    if how == "anonymous" and not HAS_ANONYMOUS:
        pytest.skip("no O_TMPFILE anonymous files here")
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "model.json"
    target.write_text("old model")
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run(
        [sys.executable, str(script), str(target), how, "8"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    trials, final = lines[:-1], lines[-1]
    assert len(trials) == 24 and all(t["intact"] for t in trials)
    for t in trials:
        if t["signal"] == signal.SIGKILL:
            assert os.WIFSIGNALED(t["status"]) and os.WTERMSIG(t["status"]) == signal.SIGKILL
            if how == "anonymous":  # an anonymous file vanishes with its writer
                assert t["left"] == []
            else:  # a named one stays until the next write (which removes it: never two)
                assert len(t["left"]) == 1 and t["left"][0].endswith(".tmp")
        else:  # SIGTERM / SIGINT: an exception, so the writer cleans up itself
            expected = 128 + signal.SIGTERM if t["signal"] == signal.SIGTERM else 130
            assert os.WIFEXITED(t["status"]) and os.WEXITSTATUS(t["status"]) == expected
            assert t["left"] == []
    assert final == {"final": "next model", "left": []}
