"""The sandbox's inside: a fork server that runs in a fresh ``python -s -P -S -B`` (see :mod:`.sandbox`).

It is run as a script, never imported by the harness, and uses the standard library only. When the
harness is root, it already runs as the unprivileged sandbox uid, as init of its own network and
PID namespaces. Protocol (appendix "Evaluation harness"), one request at a time:

1. the harness sends a JSON header line (marker, limits, working directory, source size) and the
   program source;
2. the server forks a child, which starts a new session, points stdin at ``/dev/null`` and
   stdout/stderr at a pipe, enters the working directory, sets its resource limits, installs the
   reliability guard and executes the program; then it writes one status line
   ``<marker> <kind> <reason>``, *after* the tests: an early ``os._exit(0)`` leaves no status line
   and counts as a failure;
3. the server reads the output (capped) until the child exits or the wall-clock deadline, kills
   every other process of its namespace (``kill(-1)`` as init; the child's process group without
   namespaces), reaps them, and answers with one JSON line.

Forking a warm server saves the interpreter start and the imports of every program (most
HumanEval programs import ``typing``). The server never runs untrusted code itself, is not
dumpable (no ``ptrace`` by its children), and as init of its namespace ignores their signals.
The guard is best effort (``ctypes`` bypasses any Python-level patch); the limits, the uid, the
namespaces and the kills are the real protection.
"""
import _posixsubprocess  # builtin: what subprocess forks with (the module itself is slow to import)
import _signal  # builtin: the signal module would import enum
import builtins
import json
import os
import resource
import select
import sys
import time

PRELOAD = ("typing", "re", "math", "collections", "itertools", "functools", "heapq", "string",
           "bisect", "hashlib")  # what benchmark programs import most; never ``random`` (shared seed)
TAIL_BYTES = 4096  # the status line is looked for in the last bytes of output, past the cap
MSG_CHARS = 300  # length of the exception message kept in the status line


def _set_limits(cpu, memory, nproc, fsize, nofile):
    """Resource limits of this process (and of anything it forks)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL a second later
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _inside(path, root, dir_fd=None):
    """Whether ``path`` (relative to ``dir_fd`` if given) resolves to ``root`` or below it."""
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


def _on_cpu_limit(finish, cpu):
    def handler(signum, frame):
        finish("timeout", f"CPU-time limit of {cpu} s exceeded")
    return handler


def _finisher(marker):
    """``finish(kind, reason)``: write the status line; the marker lives only in this closure."""
    write, exit_, flush_streams = os.write, os._exit, (sys.__stdout__, sys.__stderr__)

    def finish(kind, reason=""):
        for stream in flush_streams:
            try:
                stream.flush()
            except Exception:  # the program may have closed or replaced the stream
                pass
        reason = " ".join(reason[:MSG_CHARS].split())  # one line, no json import needed
        write(1, b"\n" + marker + b" " + f"{kind} {reason}".encode("utf-8", "replace") + b"\n")
        exit_(0)
    return finish


def _fresh_main():
    """A new ``__main__`` module for the program (so it cannot reach the server's globals through
    ``import __main__``, and pickling its own classes works as in a script)."""
    main = type(sys)("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    return main.__dict__


def _child(req, source, r, w):
    """In the forked child: isolate the process, run the program, write the status line."""
    try:
        os.setsid()
        os.dup2(w, 1)
        os.dup2(w, 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.closerange(3, 4096)  # the pipes to the harness and anything else inherited
        root = os.path.realpath(req["workdir"])
        os.chdir(root)
        os.environ.update(HOME=root, TMPDIR=root)
        _set_limits(req["cpu"], req["memory"], req["nproc"], req["fsize"], req["nofile"])
        finish = _finisher(req["marker"].encode())
        _signal.signal(_signal.SIGXCPU, _on_cpu_limit(finish, req["cpu"]))
        try:
            code = compile(source, "<program>", "exec")
        except BaseException as exc:  # SyntaxError, ValueError (null bytes), MemoryError
            finish("failed", _describe(exc))
        _install_guard(root)
        req.clear()
        del source
        try:
            exec(code, _fresh_main())
        except BaseException as exc:  # the tests failed, the code raised, or it called sys.exit
            finish("failed", _describe(exc))
        finish("passed")
    finally:
        os._exit(70)


def _exited(pid):
    """Whether the child has exited, without reaping it."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _collect(fd, pid, limit, deadline):
    """Read the child's output until it exits; return (head, tail, total bytes, timed out)."""
    head, tail, total = bytearray(), bytearray(), 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return head, tail, total, True
        if select.select([fd], [], [], min(remaining, 0.05))[0]:
            chunk = os.read(fd, 1 << 16)
            if not chunk:  # EOF: every writer is gone; the exit follows at once
                while not _exited(pid) and time.monotonic() < deadline:
                    time.sleep(0.001)
                return head, tail, total, not _exited(pid)
            total += len(chunk)
            head += chunk[: max(limit - len(head), 0)]
            tail = (tail + chunk)[-TAIL_BYTES:]
        elif _exited(pid):
            return head, tail, total, False


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


def _run_one(req, source):
    r, w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(req, source, r, w)
    os.close(w)
    head, tail, total, timed_out = _collect(r, pid, req["output"], start + req["timeout"])
    os.close(r)
    returncode = _sweep_and_reap(pid)
    marker = b"\n" + req["marker"].encode() + b" "
    cut = head.rfind(marker)
    pos = tail.rfind(marker)
    status = tail[pos + len(marker):].decode("utf-8", "replace").strip() if pos >= 0 else None
    return {"status_line": status, "timed_out": timed_out, "returncode": returncode,
            "output": bytes(head[:cut] if cut >= 0 else head).decode("utf-8", "replace"),
            "truncated": total > req["output"], "duration": time.monotonic() - start}


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
