"""What isolation this machine allows, and the command line that starts a sandbox server.

Probed once per process (appendix "Evaluation harness"): as root, ``unshare`` gives each run its own
network and PID namespaces and ``setpriv`` runs it as an unprivileged per-slot uid; see the
docstring of :mod:`knexa_core.eval.sandbox` for what each protects against.
"""
from __future__ import annotations

import atexit
import functools
import os
import py_compile
import queue
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from knexa_core.errors import EvaluationError

CHILD = Path(__file__).with_name("_child.py")
NAMESPACE_FLAGS = ("--net", "--pid", "--fork", "--kill-child")  # no network; children die with it
SANDBOX_UID_BASE = 61000  # unprivileged uids (no passwd entry needed) used when running as root
SANDBOX_UID_SLOTS = 64  # one uid per concurrent run, so RLIMIT_NPROC counts only that run


def _runs(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _setpriv(uid: int, caps: tuple[str, ...]) -> list[str]:
    cmd = [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
           "--no-new-privs"]
    if caps:
        added = ",".join(f"+{c}" for c in caps)
        cmd += [f"--inh-caps={added}", f"--ambient-caps={added}"]
    return cmd


@functools.lru_cache(maxsize=1)
def isolation() -> dict:
    """Which protections this machine allows (probed once per process).

    Returns
    -------
    dict
        ``namespaces``: new network + PID namespace per run (needs root and ``unshare``);
        ``drop_uid``: the program runs as an unprivileged sandbox uid (needs root and ``setpriv``);
        ``caps``: capabilities that uid keeps; ``dac_read_search`` only when the interpreter lies
        in a folder other users cannot read (e.g. under ``/root``), so that it can import the
        standard library (it can then read, but not write, any file).
    """
    root = os.geteuid() == 0
    namespaces = root and bool(shutil.which("unshare")) and _runs(["unshare", *NAMESPACE_FLAGS, "true"])
    same_stdlib = f"import ctypes, hashlib, os; assert os.__file__ == {os.__file__!r}"  # not a fallback
    probe = [sys.executable, "-I", "-S", "-c", same_stdlib]
    caps: tuple[str, ...] | None = None
    if root and shutil.which("setpriv"):
        for option in ((), ("dac_read_search",)):
            if _runs(_setpriv(SANDBOX_UID_BASE, option) + probe):
                caps = option
                break
    return {"namespaces": namespaces, "drop_uid": caps is not None, "caps": list(caps or ())}


@functools.lru_cache(maxsize=1)
def _child_code() -> str:
    """``_child.py`` compiled once per harness process into a private, read-only ``.pyc``.

    A script given by name is recompiled at every start (about 2.5 ms per program); Python runs a
    ``.pyc`` directly. The folder is ours (others may read, not write) and removed at exit.
    """
    folder = tempfile.mkdtemp(prefix="knexa-sandbox-child-")
    os.chmod(folder, 0o755)  # the sandbox uid must be able to read it
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    pyc = os.path.join(folder, "child.pyc")
    py_compile.compile(str(CHILD), cfile=pyc, doraise=True)
    os.chmod(pyc, 0o644)
    return pyc


_UIDS: queue.Queue[int] = queue.Queue()
for _slot in range(SANDBOX_UID_SLOTS):
    _UIDS.put(SANDBOX_UID_BASE + _slot)


def acquire_uid(wait: float = 60.0) -> int:
    """A sandbox uid no other server of this process is using (waits up to ``wait`` seconds)."""
    try:
        return _UIDS.get(timeout=wait)
    except queue.Empty:
        raise EvaluationError(f"all {SANDBOX_UID_SLOTS} sandbox uids are in use: run at most "
                              f"{SANDBOX_UID_SLOTS} sandboxes at once (workers)") from None


def release_uid(uid: int) -> None:
    _UIDS.put(uid)


def launch_command(child_args: list[str], uid: int) -> list[str]:
    """The argv that starts ``_child.py`` (the sandbox server) under every available protection."""
    iso = isolation()
    # -s -P -S -B: isolated like -I, but the (scrubbed) environment is read, so PYTHONHASHSEED=0
    # makes string hashing, hence set order, the same in every sandbox
    cmd = [sys.executable, "-s", "-P", "-S", "-B", _child_code(), *child_args]
    if iso["drop_uid"]:
        cmd = _setpriv(uid, tuple(iso["caps"])) + cmd
    if iso["namespaces"]:
        cmd = [shutil.which("unshare") or "unshare", *NAMESPACE_FLAGS] + cmd
    return cmd
