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
(``EvaluationResult.isolation["warning"]``). As root, each server and everything it forks is held
to ``Limits.memory_bytes`` together by a memory cgroup of its own (:mod:`.memcap`): memory,
memfds and files in the private ``/tmp`` and ``/dev/shm`` alike; without cgroups only the
per-process limits hold, and the warning says so.

With :func:`run_isolated` (the default of :func:`~knexa_core.eval.harness.evaluate_samples`) the
tests run in the server, which never runs candidate code, and call the candidate's functions in
its own process with plain data (``_split.py``): no candidate can reach the verdict (appendix A1).
With :func:`run_program` the whole program, tests included, runs in one process, and it passes
only if its status, tagged with a random per-run marker, arrives on the status pipe after the
program finished (see ``_child.py``). This stops early exits (``sys.exit(0)`` before the tests),
printed fake status lines and programs that close or redirect stdout, but a program written
against this harness can call the status writer. A server that dies or stops answering is
replaced, and that run is an ``error``. Ctrl-C during
:func:`run_programs <knexa_core.eval.harness.run_programs>` stops every server at once
(:func:`~knexa_core.eval.servers.stop_all_servers`). The pool of servers is :mod:`.servers`,
the limits and the classification of outcomes :mod:`.outcome`.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import replace

from knexa_core.eval.isolation import isolation
from knexa_core.eval.outcome import ExecResult, Limits, check_timeout, memory_reason, result_of
from knexa_core.eval.servers import (SERVER_GRACE, drop_server, release_server, server_memory, server_pids,
                                     server_uids, shutdown_servers, stop_all_servers, take_server)

__all__ = ["ExecResult", "Limits", "check_timeout", "run_isolated", "run_program", "server_memory",
           "server_pids", "server_uids", "shutdown_servers", "stop_all_servers"]


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
    return _request(code, timeout, limits, tmp_root)


def run_isolated(candidate: str, prefix: str, tests: str, names: list[str], timeout: float = 3.0,
                 limits: Limits | None = None) -> ExecResult:
    """Like :func:`run_program`, with the verdict out of the candidate's reach (``_split.py``).

    ``candidate`` (untrusted: prefix + completion) runs in its own process; ``prefix`` and
    ``tests`` (trusted) run in the sandbox server, where each of ``names`` calls into the
    candidate's process with plain data. ``passed`` only if the tests ran to their end there
    (``returncode`` is then 0: the verdict is the server's, not an exit status).
    """
    trusted = json.dumps({"prefix": prefix, "tests": tests, "names": list(names)}).encode()
    return _request(candidate, timeout, limits, None, trusted)


def _request(code: str, timeout: float, limits: Limits | None, tmp_root: str | None,
             trusted: bytes = b"") -> ExecResult:
    limits = replace(limits or Limits(), timeout=float(timeout))
    check_timeout(limits.timeout)
    server = take_server(limits.memory_bytes)
    # with bubblewrap the server makes the working directory in its private /tmp (nothing on the host)
    workdir = None if isolation()["mount"] else tempfile.mkdtemp(prefix="knexa-sbx-", dir=tmp_root)
    header = {"marker": secrets.token_hex(16), "timeout": limits.timeout, "cpu": limits.cpu_limit(),
              "workdir": workdir, "memory": limits.memory_bytes, "nproc": limits.nproc,
              "fsize": limits.file_bytes, "nofile": limits.open_files, "output": limits.output_bytes}
    try:
        if workdir and server.uid >= 0:
            os.chown(workdir, server.uid, server.uid)
        answer = server.request(header, code.encode("utf-8", errors="surrogateescape"),
                                time.monotonic() + limits.timeout + SERVER_GRACE, trusted)
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    if answer is None:
        killed = server.memory_killed()
        drop_server(server)
        if killed:  # the OOM killer chose the server itself: the run failed by its memory
            return ExecResult("failed", memory_reason(limits) + "; the sandbox server was replaced")
        return ExecResult("error", "the sandbox server died or stopped answering; it was replaced")
    release_server(server)
    result = result_of(answer, limits)
    if not result.passed and server.memory_killed():
        return result_of(answer, limits, memory_killed=True)
    return result
