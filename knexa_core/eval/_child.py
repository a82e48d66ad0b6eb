"""The sandbox's inside: a fork server that runs in a fresh ``python -s -P -S -B`` (see :mod:`.sandbox`).

It is run with ``python -c``, never imported by the harness, and uses the standard library only.
When the harness is root, it already runs as the unprivileged sandbox uid, as init of its own PID
namespace (and, with bubblewrap, in a private file system). Protocol (appendix "Evaluation
harness"), one request at a time:

1. the harness sends an 8-byte length, a JSON header (marker, limits, working directory or none,
   sizes) and the program source;
2. the server forks a child, which starts a new session, points stdin at ``/dev/null`` and
   stdout/stderr at the output pipe, enters the working directory (its own one under ``/tmp`` if
   none was given), sets its resource limits, installs the reliability guard and executes the
   program. *After* the tests it reads the marker from a pipe (``MARKER_FD``; the marker is in no
   Python object while the program runs: no frame, closure, handler or ``gc`` search finds it)
   and writes ``<marker> <kind> <reason>`` to a status pipe (``STATUS_FD``), apart from stdout:
   closing or redirecting stdout cannot lose it, printing cannot forge it, and an early
   ``os._exit(0)`` leaves no status and counts as a failure;
3. the server reads the output (capped) until the child exits or the wall-clock deadline, kills
   every other process of its namespace (``kill(-1)`` as init; the child's process group without
   namespaces), reaps them, wipes the private ``/tmp`` and ``/dev/shm`` (``_reap.py``), and
   answers with one JSON line.

A request with ``tests`` takes the isolated verdict instead (``_split.py``): the child runs only
the candidate's module and the server runs the trusted tests against it.

Forking a warm server saves the interpreter start and the imports of every program (most
HumanEval programs import ``typing``). The server never runs untrusted code itself, is not
dumpable (no ``ptrace`` or ``/proc/<pid>/mem`` by its children, which inherit this), and as init
of its namespace ignores their signals. It learns that a program ended from a pidfd (no polling),
and makes every program process the first one the kernel's OOM killer picks when the memory
cgroup of the server is full (``oom_score_adj`` 1000), so the server survives a program that
fills it. The guard (``_guard.py``) is best effort; what a program that attacks the harness on
purpose can still do is listed in appendix A1.
"""
import builtins
import json
import os
import resource
import signal
import sys
import time

PRELOAD = ("typing", "re", "math", "collections", "itertools", "functools", "heapq", "string",
           "bisect", "hashlib")  # what benchmark programs import most; never ``random`` (shared seed)
MSG_CHARS = 300  # length of the exception message kept in the status line
STATUS_FD, MARKER_FD = 1000, 1001  # the child's status pipe and marker pipe (out of the way of the program's fds)


def _set_limits(cpu, memory, nproc, fsize, nofile):
    """Resource limits of this process (and of anything it forks); first in line for the OOM killer."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the server ignores it between isolated runs
    try:
        with open("/proc/self/oom_score_adj", "w") as adj:  # raising one's own score needs no privilege
            adj.write("1000")
    except OSError:
        pass
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL a second later
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _describe(exc):
    """``"Type: message"`` of an exception, robust to a failing ``__str__``."""
    try:
        return f"{type(exc).__name__}: {str(exc)[:MSG_CHARS]}"
    except BaseException:
        return type(exc).__name__


def _finish(kind, reason=""):
    """Write the status line (the marker is read from its pipe only now) and exit."""
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # the program may have closed or replaced the stream
            pass
    reason = " ".join(reason[:MSG_CHARS].split())  # one line, no json import needed
    try:
        marker = os.read(MARKER_FD, 64)
        os.write(STATUS_FD, b"\n" + marker + b" " + f"{kind} {reason}".encode("utf-8", "replace") + b"\n")
    except BaseException:  # the program closed the pipes: no status, a failure
        pass
    os._exit(0)


def _fresh_main():
    """A new ``__main__`` module for the program (so it cannot reach the server's globals through
    ``import __main__``, and pickling its own classes works as in a script)."""
    main = type(sys)("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    return main.__dict__


def _child(req, source, out, status, marker):
    """In the forked child: isolate the process, run the program, write the status line."""
    try:
        os.setsid()
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.dup2(status, STATUS_FD)
        os.dup2(marker, MARKER_FD)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.closerange(3, STATUS_FD)  # the pipes to the harness and anything else inherited
        os.closerange(MARKER_FD + 1, 4096)
        root = os.path.realpath(req["workdir"])
        os.chdir(root)
        os.environ.update(HOME=root, TMPDIR=root)
        _set_limits(req["cpu"], req["memory"], req["nproc"], req["fsize"], req["nofile"])
        try:
            code = compile(source, "<program>", "exec")
        except BaseException as exc:  # SyntaxError, ValueError (null bytes), MemoryError
            _finish("failed", _describe(exc))
        _install_guard(root)
        req.clear()
        del source
        try:
            exec(code, _fresh_main())
        except BaseException as exc:  # the tests failed, the code raised, or it called sys.exit
            _finish("failed", _describe(exc))
        _finish("passed")
    finally:
        os._exit(70)


def _pipes(marker):
    """Output pipe, status pipe and a marker pipe already holding the marker (closed for writing)."""
    out, status = os.pipe(), os.pipe()
    mr, mw = os.pipe()
    os.write(mw, marker)
    os.close(mw)
    return out, status, mr


def _own_workdir(req):
    """Bubblewrap: make the run's working directory in the private /tmp; whether we made it."""
    if req["workdir"] is not None:
        return False
    req["workdir"] = os.path.join(PRIVATE_TMP, "run")
    os.mkdir(req["workdir"], 0o700)
    return True


def _answer_of(req, own, sr, marker, head, total, timed_out, returncode, start):
    """The server's answer: the last marked status line, the output and the timings."""
    status = _read_status(sr)
    os.close(sr)
    if own:
        _wipe_private()
    pos = status.rfind(b"\n" + marker + b" ")
    line = status[pos + len(marker) + 2:].decode("utf-8", "replace").strip() if pos >= 0 else None
    return {"status_line": line, "timed_out": timed_out, "returncode": returncode,
            "output": bytes(head).decode("utf-8", "replace"),
            "truncated": total > req["output"], "duration": time.monotonic() - start}


def _run_one(req, source):
    if req.get("trusted"):  # the isolated verdict (``_split.py``)
        return _run_isolated(req, source)
    own = _own_workdir(req)
    marker = req["marker"].encode()
    (r, w), (sr, sw), mr = _pipes(marker)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(req, source, w, sw, mr)
    for fd in (w, sw, mr):
        os.close(fd)
    head, total, timed_out = _collect(r, pid, req["output"], start + req["timeout"])
    os.close(r)
    returncode = _sweep_and_reap(pid)
    return _answer_of(req, own, sr, marker, head, total, timed_out, returncode, start)


def _not_dumpable():
    """Forbid ptrace and /proc/<pid>/mem access to this server by its (same-uid) children."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4


def serve():
    """Answer requests until end of file: an 8-byte length, the JSON header, the source (and, for
    the isolated verdict, the trusted tests, read only once the candidate is forked)."""
    _not_dumpable()
    signal.signal(signal.SIGALRM, signal.SIG_IGN)  # armed only while the isolated verdict's tests run
    for name in PRELOAD:
        __import__(name)
    out = sys.stdout.buffer
    while True:  # unbuffered reads: nothing past the source is in this process before the fork
        head = _recv_exact(0, 8)
        req = json.loads(_recv_exact(0, int.from_bytes(head, "big")) or b"null") if head else None
        source = _recv_exact(0, req["size"]) if req else None
        if source is None:
            return
        out.write(json.dumps(_run_one(req, source)).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    serve()
