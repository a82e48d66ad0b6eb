"""The sandbox server's side of a run's end: output, exit, sweep, status and wipe (see ``_child.py``).

Part of the sandbox server's text (``isolation.server_source``). The server reads a program's
output until the program exits (seen at once through a pidfd), kills every other process of the
run and reaps them, reads the status pipe without blocking, and empties the private ``/tmp`` and
``/dev/shm`` (bubblewrap) so that the next program finds them empty.
"""
import os
import select
import time

PRIVATE_TMP = "/tmp"  # with bubblewrap: a private, size-capped tmpfs, wiped after every run
STATUS_BYTES = 4096  # status lines kept per run


def _exited(pid):
    """Whether the child has exited, without reaping it."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _exit_watch(pid):
    """A pidfd that becomes readable when ``pid`` exits (Linux 5.3+), or None (then we poll)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _collect(fd, pid, limit, deadline):
    """Read the output until ``pid`` exits; return (head, total bytes, timed out).

    The exit is seen at once through a pidfd (no sleep between output EOF and the exit), and
    output that other processes of the run keep writing after it does not hold the answer up.
    """
    head, total, watch = bytearray(), 0, _exit_watch(pid)
    inputs = [fd] + ([watch] if watch is not None else [])
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return head, total, True
            ready = select.select(inputs, [], [], remaining if watch is not None else min(remaining, 0.005))[0]
            if watch in ready or (watch is None and _exited(pid)):
                total += _drain(fd, head, limit)
                return head, total, False
            if fd in ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:  # EOF: every writer is gone; the exit follows
                    inputs.remove(fd)
                total += len(chunk)
                head += chunk[: max(limit - len(head), 0)]
    finally:
        if watch is not None:
            os.close(watch)


def _drain(fd, head, limit):
    """Read what the output pipe holds now (bounded; writers may still be alive); bytes read."""
    os.set_blocking(fd, False)
    total = 0
    for _ in range(64):
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            break
        total += len(chunk)
        head += chunk[: max(limit - len(head), 0)]
    return total


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


def _wipe_private():
    """Empty the private ``/tmp`` and ``/dev/shm`` (bubblewrap) after a run."""
    for folder in (PRIVATE_TMP, "/dev/shm"):
        _wipe(folder)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        for entry in os.listdir(path):
            _remove(os.path.join(path, entry))
        os.rmdir(path)
    else:
        os.unlink(path)
