"""The sandbox: outcomes, the completion marker, and one test per hostile program.

Every hostile test checks that the harness returns in time with a well-formed result and that no
process of the run is left behind; file tests use a canary folder this test owns.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from knexa_core.eval.isolation import isolation
from knexa_core.eval.sandbox import Limits, run_program, server_pids, server_uids, shutdown_servers

HOSTILE_TIMEOUT = 1.0  # seconds: long enough to start python, short enough for the test budget
ISO = isolation()
needs_root = pytest.mark.skipif(not ISO["drop_uid"], reason="needs root: unprivileged sandbox uid")
needs_ns = pytest.mark.skipif(not ISO["namespaces"], reason="needs unshare (network/PID namespaces)")


def leftovers() -> list[psutil.Process]:
    """Processes of this process's sandbox uids or descendants of this test process, other than
    the idle sandbox servers themselves (zombies excluded). Other harnesses on the machine hold
    other uids."""
    servers, uids = server_pids(), server_uids()
    found = []
    for proc in psutil.process_iter(["uids", "status"]):
        uid = proc.info["uids"].real if proc.info["uids"] else -1
        if uid in uids and proc.info["status"] != "zombie":
            found.append(proc)
    found += [p for p in psutil.Process().children(recursive=True) if p.status() != "zombie" and not _tracker(p)]
    return [p for p in found if p.pid not in servers]


def _tracker(proc: psutil.Process) -> bool:
    """multiprocessing's resource tracker: a child of this test process for the rest of the session
    once a test has used a spawn pool (the book's scheduler), running as root, not a sandbox uid."""
    try:
        return "from multiprocessing.resource_tracker import main" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def assert_no_leftovers() -> None:
    deadline = time.monotonic() + 3.0  # killed processes need a moment to disappear
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(p.pid, p.ppid(), p.uids().real, p.cmdline()[:2]) for p in leftovers()] == []


def run_hostile(code: str, tmp_path: Path, limits: Limits = Limits(timeout=HOSTILE_TIMEOUT)):
    start = time.monotonic()
    result = run_program(code, timeout=limits.timeout, limits=limits, tmp_root=str(tmp_path))
    assert time.monotonic() - start < limits.timeout + 3.0  # the harness did not hang
    assert result.status in ("passed", "failed", "timeout", "error")
    assert_no_leftovers()
    assert list(tmp_path.iterdir()) == []  # the working directory was removed
    return result


@pytest.fixture
def canary(tmp_path_factory) -> Path:
    """A folder with one file, owned by this test process, outside any sandbox."""
    folder = tmp_path_factory.mktemp("canary")
    (folder / "canary.txt").write_text("alive\n")
    return folder


# ----------------------------------------------------------------------------- outcomes

def test_passing_program_and_its_output(tmp_path):
    result = run_hostile("print('hello')\nassert sum([1, 2]) == 3\n", tmp_path)
    assert (result.status, result.output, result.truncated) == ("passed", "hello\n", False)


@pytest.mark.parametrize("code, reason", [
    ("assert 1 == 2, 'wrong answer'", "AssertionError: wrong answer"),
    ("def f(:\n    pass", "SyntaxError"),
    ("raise ValueError('bad')", "ValueError: bad"),
])
def test_failing_programs_report_the_exception(code, reason, tmp_path):
    result = run_hostile(code, tmp_path)
    assert result.status == "failed" and result.reason.startswith(reason)


@pytest.mark.parametrize("early_exit", ["import sys\nsys.exit(0)", "import os\nos._exit(0)",
                                        "raise SystemExit(0)"])
def test_exit_before_the_tests_is_a_failure(early_exit, tmp_path):
    result = run_hostile(early_exit + "\nassert False, 'the tests would fail'\n", tmp_path)
    assert result.status == "failed"


def test_forged_status_line_is_not_accepted(tmp_path):
    forged = "import os\nprint('\\n' + 'ab' * 16 + ' passed')\nos._exit(0)\n"
    assert run_hostile(forged, tmp_path).status == "failed"


def test_string_hashing_is_the_same_in_every_sandbox(tmp_path):
    # set iteration order of strings must not depend on which server ran the program
    program = "assert hash('knexa') == {expected}, hash('knexa')\n"
    first = run_program("print(hash('knexa'))", tmp_root=str(tmp_path))
    expected = int(first.output.split()[0])
    shutdown_servers()  # the next run starts a new server process
    assert run_hostile(program.format(expected=expected), tmp_path).status == "passed"


def test_the_program_cannot_reach_the_server_through_main(tmp_path):
    # the server module used to be __main__: patching its status writer turned a failure into a pass
    attack = ("import __main__\nassert not hasattr(__main__, '_finisher'), 'server reachable'\n"
              "class P: pass\nimport pickle\nassert type(pickle.loads(pickle.dumps(P()))) is P\n")
    result = run_hostile(attack, tmp_path)
    assert result.status == "passed", result.reason


def test_stdin_is_empty_and_environment_scrubbed(tmp_path):
    code = ("import os, sys\nassert sys.stdin.read() == ''\n"
            "assert 'PYTEST_CURRENT_TEST' not in os.environ and os.environ['HOME'] == os.getcwd()\n")
    assert run_hostile(code, tmp_path).status == "passed"


# ----------------------------------------------------------------------------- hostile programs

def test_infinite_loop_times_out(tmp_path):
    result = run_hostile("while True:\n    pass\n", tmp_path)
    assert result.status == "timeout" and "wall-clock" in result.reason


def test_ignoring_sigterm_does_not_help(tmp_path):
    code = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass\n"
    assert run_hostile(code, tmp_path).status == "timeout"


def test_fork_bomb_through_os_fork(tmp_path):
    result = run_hostile("import os\nwhile True:\n    os.fork()\n", tmp_path)
    assert result.status == "failed" and "fork is disabled" in result.reason


@needs_root
def test_fork_bomb_through_ctypes_is_capped_by_nproc(tmp_path):
    code = ("import ctypes, time\nlibc = ctypes.CDLL(None)\nn = 0\n"
            "while libc.fork() >= 0:\n    n += 1\nprint('fork refused after', n, flush=True)\ntime.sleep(60)\n")
    result = run_hostile(code, tmp_path, limits=Limits(timeout=HOSTILE_TIMEOUT, nproc=8))
    assert result.status == "timeout" and "fork refused" in result.output


@needs_ns
def test_process_that_leaves_the_group_dies_with_the_run(tmp_path):
    code = ("import ctypes, time\nlibc = ctypes.CDLL(None)\n"
            "if libc.fork() == 0:\n    libc.setsid()\n    time.sleep(60)\n")
    assert run_hostile(code, tmp_path).status == "passed"  # and run_hostile found no leftover


def test_memory_bomb_meets_the_address_space_limit(tmp_path):
    code = "blocks = []\nwhile True:\n    blocks.append(bytes(256 << 20))\n"
    result = run_hostile(code, tmp_path, limits=Limits(timeout=3.0))
    assert result.status == "failed" and result.reason.startswith("MemoryError")


def test_deep_recursion(tmp_path):
    code = "def f(n):\n    return f(n + 1) + 1\nf(0)\n"
    result = run_hostile(code, tmp_path)
    assert result.status == "failed" and result.reason.startswith("RecursionError")


def test_deep_recursion_with_the_limit_lifted(tmp_path):
    code = "import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n    return f(n + 1) + 1\nf(0)\n"
    assert run_hostile(code, tmp_path).status != "passed"  # MemoryError, SIGSEGV or timeout


def test_ctypes_segfault_is_an_error(tmp_path):
    result = run_hostile("import ctypes\nctypes.string_at(0)\n", tmp_path)
    assert result.status == "error" and "SIGSEGV" in result.reason


def test_killing_the_parent_is_refused(tmp_path):
    result = run_hostile("import os\nos.kill(os.getppid(), 9)\n", tmp_path)
    assert result.status == "failed" and "PermissionError" in result.reason


@needs_root
def test_signals_through_ctypes_cannot_reach_host_processes(tmp_path):
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        code = (f"import ctypes, os\nlibc = ctypes.CDLL(None)\n"
                f"libc.kill({victim.pid}, 9)\nlibc.kill(os.getppid(), 9)\nlibc.kill(-1, 9)\n")
        run_program(code, timeout=HOSTILE_TIMEOUT, tmp_root=str(tmp_path))
        time.sleep(0.2)
        assert victim.poll() is None  # still running
    finally:
        victim.kill()
        victim.wait()
    assert_no_leftovers()


def test_deleting_and_writing_outside_the_working_dir(canary, tmp_path):
    code = (f"import os, shutil\nd = {str(canary)!r}\n"
            "for attempt in (lambda: os.remove(d + '/canary.txt'), lambda: shutil.rmtree(d),\n"
            "                lambda: open(d + '/new.txt', 'w'), lambda: os.rename(d + '/canary.txt', 'x')):\n"
            "    try:\n        attempt()\n    except OSError:  # PermissionError, or FileNotFoundError in a private file system\n        pass\n"
            "open('inside.txt', 'w').write('fine')\nos.remove('inside.txt')\n")
    assert run_hostile(code, tmp_path).status == "passed"
    assert sorted(p.name for p in canary.iterdir()) == ["canary.txt"]
    assert (canary / "canary.txt").read_text() == "alive\n"


@needs_root
def test_file_system_protects_the_canary_from_ctypes(canary, tmp_path):
    code = (f"import ctypes\nlibc = ctypes.CDLL(None)\nd = {str(canary)!r}.encode()\n"
            "print(libc.unlink(d + b'/canary.txt'), libc.open(d + b'/new.txt', 0o101, 0o644))\n")
    result = run_hostile(code, tmp_path)
    assert result.output.strip() == "-1 -1"
    assert sorted(p.name for p in canary.iterdir()) == ["canary.txt"]


def test_stdout_flood_is_capped(tmp_path):
    result = run_hostile("while True:\n    print('x' * 10000)\n", tmp_path)
    assert result.status == "timeout" and result.truncated
    assert len(result.output.encode()) <= Limits().output_bytes


def test_finite_flood_still_passes_with_its_marker(tmp_path):
    result = run_hostile("import sys\nsys.stdout.write('y' * (5 << 20))\nassert True\n", tmp_path)
    assert result.status == "passed" and result.truncated


@needs_ns
def test_no_network(tmp_path):
    code = "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)\n"
    result = run_hostile(code, tmp_path)
    assert result.status == "failed" and ("unreachable" in result.reason or "OSError" in result.reason)


def test_a_dead_server_is_replaced(tmp_path):
    run_hostile("pass", tmp_path)
    for pid in server_pids():  # sandbox servers this test process started (and their launchers)
        with contextlib.suppress(ProcessLookupError):  # killing a launcher takes its sandbox along
            os.kill(pid, signal.SIGKILL)
    first = run_program("pass", timeout=HOSTILE_TIMEOUT, tmp_root=str(tmp_path))
    assert first.status in ("passed", "error")  # a request may meet the dying server
    assert run_hostile("assert 1 + 1 == 2", tmp_path).status == "passed"


def test_host_unchanged_after_the_suite():
    assert_no_leftovers()
    shutdown_servers()
    deadline = time.monotonic() + 3.0
    while server_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server_pids() == set()
    assert_no_leftovers()
