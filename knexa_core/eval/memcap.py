"""One memory cap over everything a sandboxed program holds: a memory cgroup per sandbox server.

Resource limits bound one process's address space, one file's size and one tmpfs's size, each on
its own; a program can still hold memory past them through ``memfd_create``, files in ``/tmp`` and
``/dev/shm``, or several processes. A memory cgroup charges all of it (anonymous memory, page
cache, shared memory, memfd and tmpfs pages, kernel memory) to the group of the process that
touched it, and the kernel's OOM killer ends the group's processes when the group is full
(appendix A1). Each sandbox server, with everything it forks, runs in a child group of
``knexa-sandbox-<pid>`` (one per harness process) under the harness's own memory cgroup, with no
swap beyond the cap. The groups are removed when their server stops and at exit; groups left by a
killed harness are removed by the next one.

Both cgroup versions are supported: v2 (``memory.max``, ``memory.swap.max``, ``memory.peak``,
``memory.events``) when the harness's group delegates the memory controller, v1 (``memory.limit_in_bytes``,
``memory.memsw.limit_in_bytes``, ``memory.max_usage_in_bytes``, ``memory.oom_control``) otherwise.
Without either (not root, no writable group), :func:`probe` says why and the sandbox keeps its
per-process limits, with a warning in every result.
"""
from __future__ import annotations

import contextlib
import functools
import os
import re
import time
from pathlib import Path

GROUP_PREFIX = "knexa-sandbox-"  # + the harness's pid
REMOVE_WAIT = 0.05  # seconds a stopping server's group may wait for its processes to leave
EXIT_WAIT = 0.5  # seconds in all at exit (Ctrl-C must stop an evaluation within a second)
FILES = {  # version -> (limit, swap limit, peak, OOM-kill counter, current use)
    "v2": ("memory.max", "memory.swap.max", "memory.peak", "memory.events", "memory.current"),
    "v1": ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.max_usage_in_bytes",
           "memory.oom_control", "memory.usage_in_bytes"),
}


def _mounts() -> dict[str, tuple[str, str]]:
    """``{"v1"|"v2": (mount root, mount point)}`` of the memory hierarchies in this mount namespace."""
    found: dict[str, tuple[str, str]] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            sep = fields.index("-")
            fstype, options = fields[sep + 1], fields[sep + 3].split(",")
            if fstype == "cgroup2":
                found.setdefault("v2", (fields[3], fields[4]))
            elif fstype == "cgroup" and "memory" in options:
                found.setdefault("v1", (fields[3], fields[4]))
    return found


def _own_group() -> tuple[str, Path] | tuple[None, str]:
    """``(version, folder)`` of this process's memory cgroup, or ``(None, why not)``."""
    mounts, paths = _mounts(), {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            hierarchy, controllers, path = line.split(":", 2)
            if hierarchy == "0" and not controllers:
                paths["v2"] = path
            elif "memory" in controllers.split(","):
                paths["v1"] = path
    for version in ("v1", "v2"):  # a v1 memory hierarchy owns the controller when there is one
        if version in paths and version in mounts and paths[version].startswith(mounts[version][0]):
            root, point = mounts[version]
            folder = (Path(point) / os.path.relpath(paths[version], root)).resolve()
            if version == "v1" or "memory" in _read(folder / "cgroup.controllers").split():
                return version, folder
    return None, "no memory cgroup mounted for this process"


def _read(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text()
    return ""


class MemoryGroups:
    """The memory cgroups of this harness process's sandbox servers (one group per server)."""

    def __init__(self, version: str, own: Path) -> None:
        self.version, self.own = version, own
        self.limit_file, self.swap_file, self.peak_file, self.events_file, self.usage_file = FILES[version]
        self.pending: list[Path] = []  # groups of stopped servers whose processes had not all gone yet

    def parent(self) -> Path:
        """This process's folder of groups (made on first use; its pid names it)."""
        folder = self.own / f"{GROUP_PREFIX}{os.getpid()}"
        if not folder.is_dir():
            if self.version == "v2" and "memory" not in _read(self.own / "cgroup.subtree_control").split():
                (self.own / "cgroup.subtree_control").write_text("+memory")  # EBUSY if it holds processes
            folder.mkdir(exist_ok=True)
            if self.version == "v2":
                (folder / "cgroup.subtree_control").write_text("+memory")
        return folder

    def create(self, name: str, limit: int) -> Path:
        """A new group ``name`` capped at ``limit`` bytes of memory, with no swap beyond it."""
        self.remove_pending()
        self.remove_stale()
        group = self.parent() / name
        group.mkdir()
        self.set_limit(group, limit)
        return group

    def set_limit(self, group: Path, limit: int) -> None:
        if self.version == "v1":  # v1 wants memory <= memory+swap at every step: raise both in order
            swap = group / self.swap_file
            old = int((group / self.limit_file).read_text())
            order = [self.limit_file, self.swap_file] if limit < old else [self.swap_file, self.limit_file]
            for file in order:
                if file != self.swap_file or swap.exists():
                    (group / file).write_text(str(limit))
        else:
            (group / self.limit_file).write_text(str(limit))
            with contextlib.suppress(OSError):  # no swap accounting on this kernel: nothing to cap
                (group / self.swap_file).write_text("0")

    def usage(self, group: Path) -> tuple[int | None, int | None]:
        """Memory the group holds now and the most it ever held, in bytes (None where the kernel
        does not say)."""
        values: list[int | None] = []
        for file in (self.usage_file, self.peak_file):
            try:
                values.append(int((group / file).read_text()))
            except (OSError, ValueError):
                values.append(None)
        return values[0], values[1]

    def oom_kills(self, group: Path) -> int:
        """How many processes of the group the OOM killer ended so far."""
        with contextlib.suppress(OSError):
            text = (group / self.events_file).read_text()
            match = re.search(r"^oom_kill (\d+)$", text, re.MULTILINE)
            return int(match.group(1)) if match else 0
        return 0

    def remove(self, group: Path, wait: float = REMOVE_WAIT) -> bool:
        """Remove a group once its processes are gone (they die with their server), waiting at
        most ``wait`` seconds; a group still busy then is kept for :meth:`remove_pending`."""
        deadline = time.monotonic() + wait
        while True:
            try:
                group.rmdir()
                return True
            except FileNotFoundError:
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    if group not in self.pending:
                        self.pending.append(group)
                    return False
                time.sleep(0.005)

    def remove_pending(self, wait: float = 0.0) -> None:
        """Remove the groups that were still busy when their server stopped (``wait``: seconds in all)."""
        deadline = time.monotonic() + wait
        for group in list(self.pending):
            if self.remove(group, max(deadline - time.monotonic(), 0.0)):
                self.pending.remove(group)

    def remove_all(self, wait: float = EXIT_WAIT) -> None:
        """Remove this process's groups and its folder (at exit; ``wait``: seconds in all)."""
        folder = self.own / f"{GROUP_PREFIX}{os.getpid()}"
        if folder.is_dir():
            self.pending = [p for p in folder.iterdir() if p.is_dir()]
            self.remove_pending(wait)
            with contextlib.suppress(OSError):
                folder.rmdir()

    def remove_stale(self) -> None:
        """Remove the folders of harness processes that no longer run (a killed harness)."""
        for folder in self.own.glob(f"{GROUP_PREFIX}*"):
            pid = folder.name[len(GROUP_PREFIX):]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                for group in [p for p in folder.iterdir() if p.is_dir()]:
                    with contextlib.suppress(OSError):
                        group.rmdir()
                with contextlib.suppress(OSError):
                    folder.rmdir()


def join_command(group: Path) -> list[str]:
    """An argv prefix that moves itself into ``group`` and then runs the rest of the argv (so the
    server and everything it starts are charged to the group from their first page)."""
    return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(group / "cgroup.procs")]


@functools.lru_cache(maxsize=1)
def probe() -> tuple[MemoryGroups | None, str]:
    """``(groups, "")`` when this process can cap its sandbox servers with memory cgroups, else
    ``(None, why not)`` (probed once per process: a group is made, capped and removed)."""
    if os.geteuid() != 0:
        return None, "not root"
    version, own = _own_group()
    if version is None:
        return None, str(own)
    groups = MemoryGroups(version, own)
    try:
        group = groups.create("probe", 64 << 20)
        ok = int((group / groups.limit_file).read_text()) == 64 << 20
        groups.remove(group)
    except (OSError, ValueError) as exc:
        return None, f"cannot make a capped cgroup under {own}: {getattr(exc, 'strerror', None) or exc}"
    return (groups, "") if ok else (None, f"the memory limit of {own} did not hold")
