"""The sandbox's inside: a fork server that runs in a fresh ``python -s -P -S -B`` (see :mod:`.sandbox`).

It is run with ``python -c``, never imported by the harness, and uses the standard library only.
When the harness is root, it already runs as the unprivileged sandbox uid, as init of its own PID
namespace (and, with bubblewrap, in a private file system). Protocol (appendix "Evaluation
harness"), one request at a time:

1. the harness sends a JSON header line (marker, limits, working directory or none, source size)
   and the program source;
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
   namespaces), reaps them, wipes the private ``/tmp`` and ``/dev/shm``, and answers with one
   JSON line.

Forking a warm server saves the interpreter start and the imports of every program (most
HumanEval programs import ``typing``). The server never runs untrusted code itself, is not
dumpable (no ``ptrace`` or ``/proc/<pid>/mem`` by its children, which inherit this), and as init
of its namespace ignores their signals. The guard is best effort (``ctypes`` and ``posix`` bypass
any Python-level patch); the limits, the uid, the namespaces, the mounts and the kills are the
real protection. What a program that attacks the harness on purpose can still do is listed in
appendix A1.
"""
import _posixsubprocess  # builtin: what subprocess forks with (the module itself is slow to import)
import builtins
import json
import os
import resource
import select
import sys
import time

PRELOAD = ("typing", "re", "math", "collections", "itertools", "functools", "heapq", "string",
           "bisect", "hashlib")  # what benchmark programs import most; never ``random`` (shared seed)
PRIVATE_TMP = "/tmp"  # with bubblewrap: a private, size-capped tmpfs, wiped after every run
MSG_CHARS = 300  # length of the exception message kept in the status line
STATUS_FD, MARKER_FD = 1000, 1001  # the child's status pipe and marker pipe (out of the way of the program's fds)
STATUS_BYTES = 4096  # status lines kept per run


def _set_limits(cpu, memory, nproc, fsize, nofile):
    """Resource limits of this process (and of anything it forks)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL a second later
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _inside(path, root, dir_fd=None):
    """Whether ``path`` (relative to ``dir_fd`` if given) resolves to ``root`` or below it (or is
    ``/dev/null``, where programs may redirect their output)."""
    if path == os.devnull:
        return True
    if isinstance(path, int):  # a file descriptor: its target is unknown, so refuse
        return False
    try:
        path = os.fsdecode(os.fspath(path))
        if dir_fd is not None:
            path = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
        real = os.path.realpath(path)
    except (TypeError, ValueError, OSError):
        return False
    return real == root or real.startswith(root + os.sep)


def _denied(name):
    def blocked(*args, **kwargs):
        raise PermissionError(f"{name} is disabled in the evaluation sandbox")
    return blocked


def _confined(func, name, root, nargs=1):
    """Wrap a path function so that it only acts on paths under ``root``."""
    def wrapper(*args, **kwargs):
        dir_fds = (kwargs.get("src_dir_fd", kwargs.get("dir_fd")), kwargs.get("dst_dir_fd"))
        for path, dir_fd in zip(args[:nargs], dir_fds):
            if not _inside(path, root, dir_fd):
                raise PermissionError(f"{name}({path!r}) outside the sandbox directory is disabled")
        return func(*args, **kwargs)
    return wrapper


def _guarded_open(real_open, root):
    def guarded(file, mode="r", *args, **kwargs):
        writes = any(c in mode for c in "wax+")
        if writes and not isinstance(file, int) and not _inside(file, root):
            raise PermissionError(f"writing {file!r} outside the sandbox directory is disabled")
        return real_open(file, mode, *args, **kwargs)
    return guarded


def _guarded_os_open(real_open, root):
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def guarded(path, flags, *args, **kwargs):
        if flags & writing and not _inside(path, root, kwargs.get("dir_fd")):
            raise PermissionError(f"writing {path!r} outside the sandbox directory is disabled")
        return real_open(path, flags, *args, **kwargs)
    return guarded


def _describe(exc):
    """``"Type: message"`` of an exception, robust to a failing ``__str__``."""
    try:
        return f"{type(exc).__name__}: {str(exc)[:MSG_CHARS]}"
    except BaseException:
        return type(exc).__name__


def _install_guard(root):
    """Disable process control and confine destructive file calls to ``root`` (best effort)."""
    me = os.getpid()
    real_kill = os.kill

    def kill(pid, sig):
        if pid != me:
            raise PermissionError("signalling other processes is disabled in the evaluation sandbox")
        return real_kill(pid, sig)

    os.kill = kill
    for name in ("killpg", "system", "popen", "fork", "forkpty", "setsid", "setpgid", "putenv",
                 "unsetenv", "execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp",
                 "execlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp",
                 "chroot", "fchdir", "chdir", "setuid", "setgid", "setresuid", "setresgid"):
        if hasattr(os, name):
            setattr(os, name, _denied(f"os.{name}"))
    for name in ("remove", "unlink", "rmdir", "removedirs", "truncate", "chmod", "chown", "lchown",
                 "mkdir", "makedirs", "utime", "mkfifo"):
        if hasattr(os, name):
            setattr(os, name, _confined(getattr(os, name), f"os.{name}", root))
    for name in ("rename", "renames", "replace", "link", "symlink"):
        setattr(os, name, _confined(getattr(os, name), f"os.{name}", root, nargs=2))
    _posixsubprocess.fork_exec = _denied("subprocess")  # shutil.* goes through the os.* wrappers
    os.open = _guarded_os_open(os.open, root)
    builtins.open = _guarded_open(builtins.open, root)
    sys.modules["io"].open = builtins.open


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


def _exited(pid):
    """Whether the child has exited, without reaping it."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _collect(fd, pid, limit, deadline):
    """Read the child's output until it exits; return (head, total bytes, timed out)."""
    head, total = bytearray(), 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return head, total, True
        if select.select([fd], [], [], min(remaining, 0.05))[0]:
            chunk = os.read(fd, 1 << 16)
            if not chunk:  # EOF: every writer is gone; the exit follows at once
                while not _exited(pid) and time.monotonic() < deadline:
                    time.sleep(0.001)
                return head, total, not _exited(pid)
            total += len(chunk)
            head += chunk[: max(limit - len(head), 0)]
        elif _exited(pid):
            return head, total, False


def _sweep_and_reap(pid):
    """Kill everything the program left behind and reap it; return the child's exit code."""
    if os.getpid() == 1:  # init of our PID namespace: every other process in it goes
        os.kill(-1, 9)
    else:
        try:
            os.killpg(pid, 9)
        except OSError:
            pass
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if os.getpid() == 1:
        try:
            while True:
                os.waitpid(-1, 0)  # orphans were re-parented to us
        except ChildProcessError:
            pass
    return code


def _read_status(fd):
    """The last status line in the status pipe (the child has exited: read to EOF, capped)."""
    data = bytearray()
    os.set_blocking(fd, False)  # a stray writer (no namespaces: a detached grandchild) cannot hang us
    while len(data) < STATUS_BYTES:
        try:
            chunk = os.read(fd, STATUS_BYTES)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return bytes(data[-STATUS_BYTES:])


def _wipe(folder):
    """Remove everything in ``folder`` (a private tmpfs), even what the program made unreadable."""
    for entry in os.listdir(folder):
        path = os.path.join(folder, entry)
        for dirpath, dirnames, _ in os.walk(path, onerror=lambda e: None):
            for name in dirnames:
                try:
                    os.chmod(os.path.join(dirpath, name), 0o700)
                except OSError:
                    pass
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass
        _remove(path)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        for entry in os.listdir(path):
            _remove(os.path.join(path, entry))
        os.rmdir(path)
    else:
        os.unlink(path)


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
        for folder in (PRIVATE_TMP, "/dev/shm"):
            _wipe(folder)
    pos = status.rfind(b"\n" + marker + b" ")
    line = status[pos + len(marker) + 2:].decode("utf-8", "replace").strip() if pos >= 0 else None
    return {"status_line": line, "timed_out": timed_out, "returncode": returncode,
            "output": bytes(head).decode("utf-8", "replace"),
            "truncated": total > req["output"], "duration": time.monotonic() - start}


def _run_one(req, source):
    if req.get("tests") is not None:  # the isolated verdict (``_split.py``)
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
    _not_dumpable()
    for name in PRELOAD:
        __import__(name)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = inp.readline()
        if not header:
            return
        req = json.loads(header)
        source = inp.read(req["size"])
        out.write(json.dumps(_run_one(req, source)).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    serve()
