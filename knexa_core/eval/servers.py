"""The pool of sandbox fork servers of this harness process (see :mod:`.sandbox`).

A server (``_child.py`` under the protections of :func:`~knexa_core.eval.isolation.launch_command`)
is used by one thread at a time, kept idle between runs and replaced when it dies. Each holds a
sandbox uid no other harness process uses at the same time and, where memory cgroups are
available (:mod:`.memcap`), its own memory cgroup: the server and everything it forks are held
to the run's ``Limits.memory_bytes`` together. :func:`stop_all_servers` stops them all at once
(Ctrl-C), and they stop at interpreter exit; a forked harness (multiprocessing, Ray) starts its
own.
"""
from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import queue
import select
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import psutil

from knexa_core.eval import memcap
from knexa_core.eval.isolation import acquire_uid, isolation, launch_command, release_uid

SCRUBBED_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}


SERVER_GRACE = 5.0  # seconds the server may need beyond the program's deadline to answer


def _new_spawner() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="knexa-sandbox-spawner")


# bubblewrap's --die-with-parent (PR_SET_PDEATHSIG) ties a server's life to the *thread* that
# started it, so every server is started by this one thread, which lives as long as the harness
_SPAWNER = _new_spawner()


_SERIAL = itertools.count()  # names of memory cgroups


class _Server:
    """One sandbox fork server (``_child.py``) with its uid and memory cgroup; used by one thread
    at a time."""

    def __init__(self, memory_bytes: int) -> None:
        self.uid, self.lock = acquire_uid() if isolation()["drop_uid"] else (-1, -1)
        self.groups, self.group, self.memory, self.oom_seen = memcap.probe()[0], None, memory_bytes, 0
        prefix: list[str] = []
        if self.groups is not None:
            self.group = self.groups.create(f"server-{next(_SERIAL)}", memory_bytes)
            prefix = memcap.join_command(self.group)
        self.proc = _SPAWNER.submit(subprocess.Popen, prefix + launch_command(self.uid), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/",
                                    env=dict(SCRUBBED_ENV), start_new_session=True, close_fds=True).result()
        os.set_blocking(self.proc.stdin.fileno(), False)  # writes wait in :meth:`_write`, with a deadline

    def cap(self, memory_bytes: int) -> None:
        """Hold the server's group to ``memory_bytes`` (for the next run)."""
        if self.group is not None and memory_bytes != self.memory:
            self.groups.set_limit(self.group, memory_bytes)
            self.memory = memory_bytes

    def memory_killed(self) -> bool:
        """Whether the OOM killer ended a process of this server's group since the last call."""
        if self.group is None:
            return False
        kills = self.groups.oom_kills(self.group)
        killed, self.oom_seen = kills > self.oom_seen, kills
        return killed

    def memory_use(self) -> tuple[int | None, int | None]:
        """Memory the server's group holds now and the most it held so far (bytes; None without a group)."""
        return self.groups.usage(self.group) if self.group is not None else (None, None)

    def request(self, header: dict, source: bytes, deadline: float, trusted: bytes = b"") -> dict | None:
        """Send one program (and the trusted tests of the isolated verdict); return the server's
        answer, or None if it died or hung."""
        head = json.dumps(header | {"size": len(source), "trusted": len(trusted)}).encode()
        if not self._write(len(head).to_bytes(8, "big") + head + source + trusted, deadline):
            return None
        fd, answer = self.proc.stdout.fileno(), bytearray()
        while not answer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            answer += chunk
        return json.loads(answer)

    def _write(self, data: bytes, deadline: float) -> bool:
        """Write ``data`` to the server by the deadline (it reads the tests only after forking)."""
        fd = self.proc.stdin.fileno()
        while data:
            try:
                data = data[os.write(fd, data):]
                continue
            except BlockingIOError:  # the pipe is full: wait until the server reads
                pass
            except OSError:  # BrokenPipeError: the server died
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                return False
        return True

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
        if self.group is not None:
            self.groups.remove(self.group)
            self.group = None


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


def take_server(memory_bytes: int) -> _Server:
    """An idle live server (dead ones found on the way are dropped), or a new one; capped at
    ``memory_bytes``."""
    for server in _idle_servers():
        if server.proc.poll() is None:
            server.cap(memory_bytes)
            return server
        drop_server(server)
    server = _Server(memory_bytes)
    with _LOCK:
        _ALL.append(server)
    return server


def drop_server(server: _Server) -> None:
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
        drop_server(server)


def stop_all_servers() -> None:
    """Stop every server, busy or idle (at interpreter exit, or on Ctrl-C: a busy run returns an
    ``error`` at once); a later run starts new ones."""
    with _LOCK:
        servers = list(_ALL)
    for server in servers:
        server.kill()  # a busy one: its thread sees the server die, returns an error and drops it
    for server in _idle_servers():
        drop_server(server)


def release_server(server: _Server) -> None:
    """Put a server back in the pool after a run."""
    _IDLE.put(server)


def server_memory() -> list[tuple[int, int]]:
    """``(now, peak)`` memory in bytes of each live server's memory cgroup (empty without cgroups)."""
    with _LOCK:
        uses = [server.memory_use() for server in _ALL]
    return [(now, peak) for now, peak in uses if now is not None and peak is not None]


@atexit.register
def _close_all() -> None:
    """At interpreter exit, stop every server, busy or idle (each would also exit on EOF), and
    remove this process's memory cgroups."""
    with _LOCK:
        servers = list(_ALL)
    for server in servers:
        drop_server(server)
    groups = memcap.probe()[0] if memcap.probe.cache_info().currsize else None
    if groups is not None:
        groups.remove_all()
