"""The sandbox's child side: runs inside a fresh ``python -I -S`` started by :mod:`.sandbox`.

It is executed as a script, never imported by the harness, and uses the standard library only.
Protocol (appendix "Evaluation harness"):

1. the parent writes ``<marker>\\n<program source>`` to stdin and closes it; the child reads it all
   and points fd 0 at ``/dev/null``, so the program sees an empty stdin;
2. the child enters its working directory, sets its resource limits, drops root privileges to
   the sandbox uid (when the parent runs as root) and installs the reliability guard;
3. it executes the program and then writes one status line ``<marker> {json}`` to fd 1, *after*
   the tests. An early ``os._exit(0)`` therefore leaves no status line and counts as a failure.

The guard is best effort (``ctypes`` can bypass any Python-level patch); the limits, the dropped
uid, the namespaces and the process-group kill of the parent are the real protection.
"""
import builtins
import json
import os
import resource
import shutil
import signal
import subprocess
import sys

MSG_CHARS = 300  # length of the exception message kept in the status line


def _status(marker, kind, reason=""):
    """Write the status line after flushing the program's buffered output, then exit."""
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # the program may have closed or replaced the stream
            pass
    line = json.dumps({"kind": kind, "reason": reason[:MSG_CHARS]})
    os.write(1, b"\n" + marker + b" " + line.encode() + b"\n")
    os._exit(0)


def _set_limits(cpu, memory, nproc, fsize, nofile):
    """Resource limits of this process (and of anything it forks)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL a second later
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _drop_privileges(uid):
    """Become ``uid`` (real, effective and saved) with no supplementary groups; no way back."""
    if uid >= 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)


def _inside(path, root):
    """Whether ``path`` resolves to ``root`` or below it."""
    if isinstance(path, int):  # a file descriptor: its target is unknown, so refuse
        return False
    try:
        real = os.path.realpath(os.fsdecode(os.fspath(path)))
    except (TypeError, ValueError):
        return False
    return real == root or real.startswith(root + os.sep)


def _denied(name):
    def blocked(*args, **kwargs):
        raise PermissionError(f"{name} is disabled in the evaluation sandbox")
    return blocked


def _confined(func, name, root, nargs=1):
    """Wrap a path function so that it only acts on paths under ``root``."""
    def wrapper(*args, **kwargs):
        for path in args[:nargs]:
            if not _inside(path, root):
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
        if flags & writing and not _inside(path, root):
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
    for name in ("rmtree", "move", "chown", "copyfile", "copy", "copy2", "copytree"):
        setattr(shutil, name, _confined(getattr(shutil, name), f"shutil.{name}", root, nargs=2))
    subprocess.Popen = _denied("subprocess.Popen")
    os.open = _guarded_os_open(os.open, root)
    builtins.open = _guarded_open(builtins.open, root)
    sys.modules["io"].open = builtins.open


def _on_cpu_limit(marker, cpu):
    def handler(signum, frame):
        _status(marker, "timeout", f"CPU-time limit of {cpu} s exceeded")
    return handler


def main():
    cpu, memory, nproc, fsize, nofile, uid = (int(a) for a in sys.argv[1:7])
    data = sys.stdin.buffer.read()
    marker, _, source = data.partition(b"\n")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    root = os.path.realpath(sys.argv[7])
    os.chdir(root)
    _set_limits(cpu, memory, nproc, fsize, nofile)
    _drop_privileges(uid)
    signal.signal(signal.SIGXCPU, _on_cpu_limit(marker, cpu))
    try:
        code = compile(source, "<program>", "exec")
    except BaseException as exc:  # SyntaxError, ValueError (null bytes), MemoryError
        _status(marker, "failed", _describe(exc))
    _install_guard(root)
    del data, source
    try:
        exec(code, {"__name__": "__main__", "__builtins__": builtins})
    except BaseException as exc:  # the tests failed, the code raised, or it called sys.exit
        _status(marker, "failed", _describe(exc))
    _status(marker, "passed")


if __name__ == "__main__":
    main()
