"""What isolation this machine allows, and the command line that starts a sandbox server.

Probed once per process (appendix "Evaluation harness"). Three levels, best first:

- ``bwrap`` (root and the ``bubblewrap`` package): the server sees a private file system made of
  read-only binds of the interpreter, its standard library (``site-packages`` hidden) and the
  shared C libraries; a private size-capped tmpfs on ``/tmp`` and ``/dev/shm``; a fresh ``/proc``
  of its own PID namespace; new network, IPC, UTS, cgroup and PID namespaces; no capabilities,
  an unprivileged per-server uid (:func:`acquire_uid`), ``no_new_privs``, and (from a second,
  unprivileged ``bwrap``) a user namespace in which no further user namespace can be made;
- ``unshare`` (root, no ``bwrap``): network + PID namespaces and ``setpriv`` to a sandbox uid, on
  the host's file system (a warning is recorded in every result);
- ``none`` (not root): only the limits and the process-group kill (a warning as well).

Independently, :mod:`.memcap` says whether each server can get a memory cgroup (root and a
writable memory hierarchy); without one, a warning is recorded as well.
"""
from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from knexa_core.errors import EvaluationError
from knexa_core.eval import memcap

# the sandbox server's source, run as one program in this order (_child.py ends with the main call)
SERVER_PARTS = tuple(Path(__file__).with_name(name) for name in ("_guard.py", "_plain.py", "_reap.py", "_split.py", "_child.py"))
NAMESPACE_FLAGS = ("--net", "--pid", "--fork", "--kill-child")  # no network; children die with it
# unprivileged uids (no passwd entry needed) used as root; 61000-61063 was the range of harnesses
# before the uid locks, which take no lock: keeping clear of it avoids sharing a uid with one
SANDBOX_UID_BASE = 62000
SANDBOX_UID_SLOTS = 1024  # one uid per live server across *all* harness processes of the machine
UID_LOCK_DIR = "/run/lock/knexa-sandbox-uids"  # one flock per uid: held while a server uses it
TMPFS_BYTES = 64 << 20  # size of the sandbox's private /tmp and of its /dev/shm (bwrap mode)
SANDBOX_TMP = "/tmp"  # where the server makes each run's working directory (bwrap mode)
MEMORY_WARNING = ("no memory cgroup ({why}): memory is capped per process (address space, file size, "
                  "tmpfs size), not over a whole run with its memfds and files")
FALLBACK_WARNING = ("bubblewrap unavailable ({why}): the sandbox runs on the host's file system "
                    "(it can read any readable file); install the Debian package bubblewrap as root")


def _runs(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _setpriv(uid: int, caps: tuple[str, ...] = (), bounding: bool = False) -> list[str]:
    cmd = [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}",
           "--clear-groups", "--no-new-privs"]
    if bounding:
        cmd.append("--bounding-set=-all")
    if caps:
        added = ",".join(f"+{c}" for c in caps)
        cmd += [f"--inh-caps={added}", f"--ambient-caps={added}"]
    return cmd


def _python() -> list[str]:
    """The interpreter (real path, not a venv link) in isolated mode, and the server's source.

    ``-s -P -S -B``: isolated like ``-I``, but the (scrubbed) environment is read, so
    ``PYTHONHASHSEED=0`` makes string hashing, hence set order, the same in every sandbox. The
    server's code is passed with ``-c``: no file on disk, nothing to clean up after a kill.
    """
    return [os.path.realpath(sys.executable), "-s", "-P", "-S", "-B", "-c", server_source()]


@functools.lru_cache(maxsize=1)
def server_source() -> str:
    """The sandbox server's program text: the guard, plain-data messages, the end of a run, the
    isolated verdict and the fork server."""
    return "\n\n".join(part.read_text() for part in SERVER_PARTS)


def _dirs_for(paths: list[str]) -> list[str]:
    """``--perms 0755 --dir D`` for every ancestor of ``paths`` (bwrap would copy ``/root``'s 0700)."""
    seen: list[str] = []
    for path in paths:
        for parent in reversed(Path(path).parents):
            if str(parent) != "/" and str(parent) not in seen:
                seen.append(str(parent))
    return [arg for d in seen for arg in ("--perms", "0755", "--dir", d)]


def _system_binds() -> list[str]:
    """Read-only binds of the shared C libraries (and the ``/lib`` links the loader path uses)."""
    arch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    binds = [f for f in (f"/usr/lib/{arch}", "/usr/lib64", f"/lib/{arch}", "/lib64")
             if os.path.isdir(f) and not os.path.islink(f) and not os.path.islink(os.path.dirname(f))]
    args = _dirs_for(binds)
    for folder in binds:
        args += ["--ro-bind", folder, folder]
    for link in ("/lib", "/lib64"):
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
    return args


def _interpreter_binds() -> list[str]:
    """Read-only binds of the interpreter, ``libpython`` and the standard library, without
    ``site-packages`` (the project, the benchmark's answer key and every installed package)."""
    exe = os.path.realpath(sys.executable)
    stdlib = sysconfig.get_paths()["stdlib"]
    paths = [exe, stdlib]
    libdir, ldlib = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")
    if libdir and ldlib and os.path.exists(os.path.join(libdir, ldlib)):
        paths.append(os.path.join(libdir, ldlib))
    tools = [t for t in (shutil.which("setpriv"), shutil.which("bwrap")) if t]
    args = _dirs_for(paths + tools)
    for path in paths + tools:
        args += ["--ro-bind", path, path]
    if os.path.isdir(os.path.join(stdlib, "site-packages")):
        args += ["--tmpfs", os.path.join(stdlib, "site-packages")]
    return args


def bwrap_command(uid: int, tmpfs_bytes: int = TMPFS_BYTES) -> list[str]:
    """The argv prefix that runs a command in the bubblewrap sandbox as ``uid``.

    An outer ``bwrap`` (root) builds the private mount tree and the PID, network, IPC, UTS and
    cgroup namespaces; ``setpriv`` drops to ``uid`` with no capabilities (bounding set emptied)
    and ``no_new_privs``; an inner, unprivileged ``bwrap`` adds a user namespace that forbids new
    ones (``--disable-userns``) and a PID namespace whose init is the server (``--as-pid-1``).
    Both die with their parent, so a killed harness leaves nothing behind.
    """
    bwrap = shutil.which("bwrap") or "bwrap"
    outer = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
             "--unshare-cgroup-try", "--die-with-parent", "--new-session",
             *_system_binds(), *_interpreter_binds(), "--bind", "/proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(tmpfs_bytes), "--tmpfs", SANDBOX_TMP,
             "--perms", "1777", "--size", str(tmpfs_bytes), "--tmpfs", "/dev/shm", "--chdir", "/"]
    inner = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--uid", str(uid),
             "--gid", str(uid), "--as-pid-1", "--die-with-parent", "--bind", "/", "/",
             "--proc", "/proc", "--dev-bind", "/dev", "/dev", "--chdir", "/"]
    return outer + ["--"] + _setpriv(uid, bounding=True) + inner + ["--"]


@functools.lru_cache(maxsize=1)
def isolation() -> dict:
    """Which protections this machine allows (probed once per process; a warning is printed once).

    Returns
    -------
    dict
        ``sandbox``: ``"bwrap"``, ``"unshare"`` or ``"none"`` (see the module docstring);
        ``namespaces``: own network + PID namespace per server; ``drop_uid``: programs run as an
        unprivileged sandbox uid; ``caps``: capabilities that uid keeps (``dac_read_search`` only
        in ``unshare`` mode when the interpreter lies in a folder other users cannot read: it can
        then read any file); ``mount``: a private file system (``bwrap`` only); ``memory_cap``:
        ``"cgroup v1"`` / ``"cgroup v2"`` (one cap over each server's whole tree, :mod:`.memcap`)
        or ``"rlimits"`` (per process only); ``warning``: why the sandbox is weaker than ``bwrap``
        with a memory cgroup (empty then), recorded in every result.
    """
    iso = _file_isolation()
    groups, why = memcap.probe()
    iso["memory_cap"] = f"cgroup {groups.version}" if groups is not None else "rlimits"
    warnings = [iso["warning"]] + ([MEMORY_WARNING.format(why=why)] if groups is None else [])
    iso["warning"] = "; ".join(w for w in warnings if w)
    if iso["warning"]:
        print(f"warning: {iso['warning']}", file=sys.stderr)
    return iso


def _file_isolation() -> dict:
    """The file system, namespace and uid part of :func:`isolation` (its warning not printed)."""
    root = os.geteuid() == 0
    probe = ["-c", f"import ctypes, hashlib, os; assert os.__file__ == {os.__file__!r}"]
    exe = [os.path.realpath(sys.executable), "-I", "-S"]
    if root and shutil.which("bwrap") and shutil.which("setpriv") \
            and _runs(bwrap_command(SANDBOX_UID_BASE + SANDBOX_UID_SLOTS) + exe + probe):
        return {"sandbox": "bwrap", "namespaces": True, "drop_uid": True, "caps": [], "mount": True,
                "warning": ""}
    why = "not root" if not root else "no bwrap or setpriv" if not shutil.which("bwrap") else "bwrap failed"
    namespaces = root and bool(shutil.which("unshare")) and _runs(["unshare", *NAMESPACE_FLAGS, "true"])
    caps: tuple[str, ...] | None = None
    if root and shutil.which("setpriv"):
        for option in ((), ("dac_read_search",)):
            if _runs(_setpriv(SANDBOX_UID_BASE + SANDBOX_UID_SLOTS, option) + exe + probe):
                caps = option
                break
    warning = FALLBACK_WARNING.format(why=why)
    return {"sandbox": "unshare" if caps is not None else "none", "namespaces": namespaces,
            "drop_uid": caps is not None, "caps": list(caps or ()), "mount": False, "warning": warning}


def _lock_dir() -> str:
    os.makedirs(UID_LOCK_DIR, mode=0o700, exist_ok=True)
    return UID_LOCK_DIR


def _uids_in_use() -> set[int]:
    """Real uids of the running processes (a harness of an older version takes no lock)."""
    uids = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                uids.add(entry.stat().st_uid)
            except OSError:
                pass
    return uids


def acquire_uid(wait: float = 60.0) -> tuple[int, int]:
    """A sandbox uid no other server *of any process on this machine* is using, and the fd of
    its lock (an ``flock``, released by :func:`release_uid` or when the process dies)."""
    folder, deadline = _lock_dir(), time.monotonic() + wait
    while True:
        busy = _uids_in_use()
        for slot in range(SANDBOX_UID_SLOTS):
            if SANDBOX_UID_BASE + slot in busy:
                continue
            fd = os.open(os.path.join(folder, f"{slot}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return SANDBOX_UID_BASE + slot, fd
            except BlockingIOError:
                os.close(fd)
        if time.monotonic() > deadline:
            raise EvaluationError(f"all {SANDBOX_UID_SLOTS} sandbox uids are in use: run fewer "
                                  "sandboxes at once (workers, concurrent evaluations)")
        time.sleep(0.1)


def release_uid(lock_fd: int) -> None:
    os.close(lock_fd)  # drops the flock


def launch_command(uid: int) -> list[str]:
    """The argv that starts ``_child.py`` (the sandbox server) under every available protection."""
    iso = isolation()
    if iso["sandbox"] == "bwrap":
        return bwrap_command(uid) + _python()
    cmd = _python()
    if iso["drop_uid"]:
        cmd = _setpriv(uid, tuple(iso["caps"])) + cmd
    if iso["namespaces"]:
        cmd = [shutil.which("unshare") or "unshare", *NAMESPACE_FLAGS] + cmd
    return cmd
