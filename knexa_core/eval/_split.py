"""The isolated verdict: the tests run where the candidate never runs (see :mod:`.sandbox`).

Part of the sandbox server's text (``isolation.server_source``: ``_guard.py``, ``_plain.py``,
``_reap.py``, this file and ``_child.py`` run as one ``python -c`` program; the helpers named here
are defined there). For a request with a trusted part (prefix, tests, called names):

- the server forks the *candidate*, which executes the untrusted module (prefix + completion)
  under the usual limits and guard, then answers calls ``(name, args, kwargs)`` on a pipe, each
  result encoded as plain data (``_plain.py``);
- the server itself is the *tester*: it executes the trusted prefix and tests in a fresh namespace
  with each called name bound to a proxy that sends the call to the candidate and decodes the
  answer into fresh plain objects, while it keeps reading the candidate's output, all under the
  run's wall-clock deadline (``select`` while waiting, an alarm while the tests compute). No
  candidate code ever runs in the server, which is not dumpable and, as init of its PID
  namespace, ignores the candidate's signals (but for ``SIGALRM`` while the tests run, which
  only ends that run as a timeout); so nothing the candidate does (frames, ``gc``, patched
  builtins, descriptors, ``/proc/self/mem``, an object equal to everything) reaches the verdict.

The trusted part is read from the server's stdin only after the candidate is forked, and the
tests' namespace is cleared after the verdict, so the candidate finds no tests through the Python
objects it inherits (frames, ``gc``); remnants of earlier requests in freed memory remain
readable with ``ctypes`` (appendix A1). A candidate that dies or exits during a call makes that
call raise. Tests that build objects of the candidate's own classes (3 of MBPP's 974 problems)
cannot be checked this way. Running the tests in the server instead of in a second forked
process saves a process per program (its fork, its copy-on-write faults, its exit) and two
wake-ups: the isolated verdict costs about what a whole program in one process costs.
"""
import builtins
import io as _io
import os
import select
import signal as _signal
import sys
import time

CALL_FD, BACK_FD = 1002, 1003  # in the candidate: server -> candidate calls, candidate -> server answers


class _Deadline(BaseException):
    """The run's wall-clock deadline passed while the tests ran (raised in the server)."""


def _isolate(req, out, keep):
    """Start of the candidate process: own session, stdio, only the ``keep`` fds, limits."""
    os.setsid()
    os.dup2(out, 1)
    os.dup2(out, 2)
    for fd, target in keep:
        os.dup2(fd, target)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    targets = sorted(t for _, t in keep)
    os.closerange(3, targets[0])
    for low, high in zip(targets, targets[1:] + [4096]):
        os.closerange(low + 1, high)
    root = os.path.realpath(req["workdir"])
    os.chdir(root)
    os.environ.update(HOME=root, TMPDIR=root)
    _set_limits(req["cpu"], req["memory"], req["nproc"], req["fsize"], req["nofile"])
    return root


def _answer(call, namespace):
    name, args, kwargs = call
    try:
        result = namespace[name](*_dec(args), **_dec(kwargs))
    except BaseException as exc:  # the candidate raised: the tests see the same kind
        return {"e": [type(exc).__name__, _describe(exc).partition(": ")[2]]}
    try:
        return {"r": _enc(result)}
    except (TypeError, RecursionError) as exc:
        return {"e": ["TypeError", f"{name} returned data that cannot be compared safely: {exc}"]}


def _candidate(req, source, out, calls, answers):
    """The candidate process: run the untrusted module, then answer calls until end of file."""
    try:
        root = _isolate(req, out, [(calls, CALL_FD), (answers, BACK_FD)])
        try:
            namespace = _fresh_main()
            code = compile(source, "<program>", "exec")
            _install_guard(root)
            del source
            exec(code, namespace)
        except BaseException as exc:
            _send(BACK_FD, {"load": _describe(exc)})
            os._exit(0)
        _flush()
        _send(BACK_FD, {"ready": 1})
        while (call := _recv(CALL_FD)) is not None:
            answer = _answer(call, namespace)
            _flush()  # what the candidate printed reaches the output before it can be killed
            _send(BACK_FD, answer)
    finally:
        os._exit(0)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # the candidate may have closed or replaced the stream
            pass


class _Channel:
    """The server's side of an isolated run: calls out, answers and the candidate's output in,
    nothing waiting past the deadline."""

    def __init__(self, calls, answers, out, limit, deadline):
        self.calls, self.answers, self.out, self.open_out = calls, answers, out, True
        self.limit, self.deadline = limit, deadline
        self.head, self.total, self.inbox = bytearray(), 0, bytearray()
        for fd in (calls, answers, out):
            os.set_blocking(fd, False)

    def _wait(self, write):
        """Block until the calls pipe takes data (``write``) or an answer arrives; read output meanwhile."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline()
        reads = [self.answers] + ([self.out] if self.open_out else [])
        ready, writable, _ = select.select(reads, [self.calls] if write else [], [], remaining)
        if self.out in ready:
            self.read_output()
        return self.answers in ready or self.calls in writable

    def read_output(self):
        try:
            chunk = os.read(self.out, 1 << 16)
        except BlockingIOError:
            return
        self.open_out = bool(chunk)
        self.total += len(chunk)
        self.head += chunk[: max(self.limit - len(self.head), 0)]

    def send(self, obj):
        data = _frame(obj)
        while data:
            if self._wait(write=True):
                try:
                    data = data[os.write(self.calls, data):]
                except BlockingIOError:
                    pass
                except BrokenPipeError:
                    return  # the candidate is gone: recv reports it

    def recv(self):
        """One answer, or None if the candidate is gone."""
        while True:
            if len(self.inbox) >= 8:
                size = int.from_bytes(self.inbox[:8], "big")
                if size > MAX_MESSAGE:
                    raise OverflowError(f"an answer of {size} bytes")
                if len(self.inbox) >= 8 + size:
                    body, self.inbox = bytes(self.inbox[8:8 + size]), self.inbox[8 + size:]
                    return _json.loads(body)
            if self._wait(write=False):
                try:
                    chunk = os.read(self.answers, 1 << 20)
                except BlockingIOError:
                    continue
                if not chunk:
                    return None
                self.inbox += chunk


def _proxy(channel, name):
    """A stand-in for the candidate's ``name``: the call runs in the candidate process."""
    def call(*args, **kwargs):
        channel.send([name, _enc(list(args)), _enc(kwargs)])
        answer = channel.recv()
        if answer is None:
            raise RuntimeError(f"the candidate exited during a call of {name}")
        if "e" in answer:
            kind, message = answer["e"]
            error = getattr(builtins, kind, None)
            if isinstance(error, type) and issubclass(error, Exception):
                raise error(message)
            raise RuntimeError(message)
        return _dec(answer["r"])
    call.__name__ = call.__qualname__ = name
    return call


def _on_alarm(signum, frame):
    raise _Deadline()


def _test(req, channel, namespace):
    """Run the trusted prefix and tests in ``namespace`` against the candidate; ``(kind, reason)``."""
    first = channel.recv()
    if first is None or "load" in first:
        return "failed", first["load"] if first else "the candidate exited while loading"
    namespace.update(__name__="__main__", __builtins__=builtins)
    exec(compile(req["prefix"], "<prefix>", "exec"), namespace)
    for name in req["names"]:  # a standard module the tests use through the candidate's import
        namespace[name] = __import__(name) if name in sys.stdlib_module_names else _proxy(channel, name)
    exec(compile(req["tests"], "<tests>", "exec"), namespace)
    return "passed", ""


def _verdict(req, channel):
    """:func:`_test` under the deadline (an alarm stops the tests' own computing), with the
    tests' prints kept apart from the server's answer pipe; ``(kind, reason)``."""
    streams, namespace = (sys.stdin, sys.stdout, sys.stderr), {}
    sys.stdin, sys.stdout, sys.stderr = _io.StringIO(), _io.StringIO(), _io.StringIO()
    _signal.signal(_signal.SIGALRM, _on_alarm)
    _signal.setitimer(_signal.ITIMER_REAL, max(channel.deadline - time.monotonic(), 1e-3))
    try:
        try:
            return _test(req, channel, namespace)
        finally:
            _signal.setitimer(_signal.ITIMER_REAL, 0)
    except _Deadline:
        return "timeout", ""
    except BaseException as exc:  # a test failed, or the candidate raised, exited or sent no plain data
        return "failed", _describe(exc)
    finally:
        _signal.signal(_signal.SIGALRM, _signal.SIG_IGN)  # an alarm already on its way is dropped
        sys.stdin, sys.stdout, sys.stderr = streams
        namespace.clear()  # the tests' functions and it form cycles: no later candidate finds them with gc


def _run_isolated(req, source):
    """Fork the candidate and test it here; the answer has the shape of ``_run_one``'s."""
    own = _own_workdir(req)
    (r, w), calls, answers = os.pipe(), os.pipe(), os.pipe()
    start = time.monotonic()
    cand = os.fork()
    if cand == 0:
        _candidate(req, source, w, calls[0], answers[1])
    for fd in (w, calls[0], answers[1]):
        os.close(fd)
    trusted = _recv_exact(0, req["trusted"])  # only now: the candidate's memory never held the tests
    if trusted is None:  # the harness is gone
        _sweep_and_reap(cand)
        sys.exit(0)
    req.update(_json.loads(trusted))
    channel = _Channel(calls[1], answers[0], r, req["output"], start + req["timeout"])
    try:
        kind, reason = _verdict(req, channel)
    except _Deadline:  # the alarm came just as the verdict was being returned
        kind, reason = "timeout", ""
    for fd in (calls[1], answers[0]):
        os.close(fd)
    _sweep_and_reap(cand)
    channel.total += _drain(r, channel.head, req["output"])
    os.close(r)
    if own:
        _wipe_private()
    line = f"{kind} {' '.join(reason[:MSG_CHARS].split())}".strip()
    return {"status_line": line, "timed_out": kind == "timeout",
            "returncode": 0, "output": bytes(channel.head).decode("utf-8", "replace"),
            "truncated": channel.total > req["output"], "duration": time.monotonic() - start}
