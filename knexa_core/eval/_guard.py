"""The sandbox's reliability guard: Python-level patches a program meets first (see :mod:`.sandbox`).

Part of the sandbox server's text (``isolation.server_source`` runs ``_guard.py``, ``_split.py``
and ``_child.py`` as one ``python -c`` program). :func:`_install_guard` runs in each forked
program process, just before the untrusted code: it disables process control (``kill`` of another
process, ``fork``, ``exec*``, ``system``, ``subprocess``, ``setuid``, ...) and confines the file
calls that write, delete or rename to the run's working directory. It is best effort (``ctypes``
and ``posix`` bypass any Python-level patch); the limits, the uid, the namespaces, the mounts, the
memory cgroup and the kills are the real protection (appendix A1).
"""
import _posixsubprocess  # builtin: what subprocess forks with (the module itself is slow to import)
import builtins
import os
import sys


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
