"""The isolated verdict: the tests run in a process the candidate never runs in (see :mod:`.sandbox`).

Part of the sandbox server (``_child.py`` is appended to this text and both run with ``python -c``;
the helpers named here are defined there). For a request with ``tests``, the server forks two
processes:

- the *candidate* executes the untrusted module (prefix + completion) under the usual limits and
  guard, then answers calls ``(name, args, kwargs)`` on a pipe, each result encoded as plain data
  (``None``, bool, int, float, complex, str, bytes, builtin types, and lists, tuples, dicts (also
  ``Counter``, ``defaultdict``, ``OrderedDict``, which arrive as dicts), sets, frozensets of them;
  exact types only, so no object with its own ``__eq__`` crosses);
- the *tester* executes the trusted prefix and tests with each called name bound to a proxy that
  sends the call to the candidate and decodes the answer into fresh plain objects. Only the
  tester holds the status pipe and the marker; no candidate code ever runs in it, so nothing the
  candidate does (frames, ``gc``, patched builtins, an object equal to everything) reaches the
  verdict. A candidate that dies or exits during a call makes that call raise. Tests that build
  objects of the candidate's own classes (3 of MBPP's 974 problems) cannot be checked this way.
"""
import collections as _collections
import json as _json

CALL_FD, BACK_FD = 1002, 1003  # tester -> candidate calls, candidate -> tester answers
MAX_MESSAGE = 16 << 20  # bytes per encoded call or answer
MAX_DEPTH = 100  # nesting of an encoded value
_PLAIN = (type(None), bool, int, float, str)
_DICTS = (dict, _collections.Counter, _collections.defaultdict, _collections.OrderedDict)  # cross as dict
_TYPES = {t.__name__: t for t in (int, float, complex, str, bytes, bool, list, tuple, dict, set, frozenset)}


def _enc(value, depth=0):
    """``value`` as JSON-ready tagged data; TypeError for anything but exact plain types."""
    kind = type(value)
    if depth > MAX_DEPTH:
        raise TypeError("a value nested too deep")
    if kind in _PLAIN:
        return value if kind is not str else {"s": value}
    if kind in (list, tuple, set, frozenset):
        items = [_enc(v, depth + 1) for v in value]
        tag = {list: "l", tuple: "t", set: "S", frozenset: "F"}[kind]
        return {tag: sorted(items, key=repr) if kind in (set, frozenset) else items}
    if kind in _DICTS:
        return {"d": [[_enc(k, depth + 1), _enc(v, depth + 1)] for k, v in value.items()]}
    if kind is type and _TYPES.get(value.__name__) is value:
        return {"T": value.__name__}
    if kind is bytes:
        return {"b": value.hex()}
    if kind is complex:
        return {"c": [value.real, value.imag]}
    raise TypeError(f"a {kind.__name__} is not plain data")


def _dec(data, depth=0):
    """Fresh plain objects from :func:`_enc`'s output (run in the tester: builds no foreign type)."""
    if depth > MAX_DEPTH:
        raise TypeError("a value nested too deep")
    if not isinstance(data, dict):
        return data
    (tag, inner), = data.items()
    if tag == "s":
        return inner
    if tag in "ltSF":
        items = [_dec(v, depth + 1) for v in inner]
        return {"l": list, "t": tuple, "S": set, "F": frozenset}[tag](items)
    if tag == "d":
        return {_dec(k, depth + 1): _dec(v, depth + 1) for k, v in inner}
    if tag == "b":
        return bytes.fromhex(inner)
    if tag == "c":
        return complex(*inner)
    if tag == "T":
        return _TYPES[inner]
    raise TypeError(f"unknown tag {tag!r}")


def _send(fd, obj):
    data = _json.dumps(obj).encode()
    if len(data) > MAX_MESSAGE:
        raise OverflowError(f"a message of {len(data)} bytes")
    data = len(data).to_bytes(8, "big") + data
    while data:
        data = data[os.write(fd, data):]


def _recv_exact(fd, n):
    data = bytearray()
    while len(data) < n:
        chunk = os.read(fd, min(n - len(data), 1 << 20))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _recv(fd):
    """One message, or None at end of file (the other side is gone)."""
    head = _recv_exact(fd, 8)
    if head is None:
        return None
    size = int.from_bytes(head, "big")
    if size > MAX_MESSAGE:
        raise OverflowError(f"a message of {size} bytes")
    body = _recv_exact(fd, size)
    return None if body is None else _json.loads(body)


def _isolate(req, out, keep):
    """Common start of both processes: own session, stdio, only the ``keep`` fds, limits."""
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
    except BaseException as exc:  # the candidate raised: the tester raises the same kind
        return {"e": [type(exc).__name__, _describe(exc)]}
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
        _send(BACK_FD, {"ready": 1})
        while (call := _recv(CALL_FD)) is not None:
            _send(BACK_FD, _answer(call, namespace))
    finally:
        os._exit(0)


def _proxy(name):
    """A stand-in for the candidate's ``name``: the call runs in the candidate process."""
    def call(*args, **kwargs):
        _send(CALL_FD, [name, _enc(list(args)), _enc(kwargs)])
        answer = _recv(BACK_FD)
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


def _tester(req, out, status, marker, calls, answers):
    """The tester process: trusted prefix and tests, the candidate's names bound to proxies."""
    try:
        _isolate(req, out, [(status, STATUS_FD), (marker, MARKER_FD), (calls, CALL_FD), (answers, BACK_FD)])
        try:
            first = _recv(BACK_FD)
            if first is None or "load" in first:
                _finish("failed", first["load"] if first else "the candidate exited while loading")
            namespace = _fresh_main()
            exec(compile(req["prefix"], "<prefix>", "exec"), namespace)
            for name in req["names"]:  # a standard module the tests use through the candidate's import
                namespace[name] = __import__(name) if name in sys.stdlib_module_names else _proxy(name)
            exec(compile(req["tests"], "<tests>", "exec"), namespace)
        except BaseException as exc:
            _finish("failed", _describe(exc))
        _finish("passed")
    finally:
        os._exit(70)


def _run_isolated(req, source):
    """Fork the candidate and the tester; the answer has the shape of ``_run_one``'s."""
    own = _own_workdir(req)
    marker = req["marker"].encode()
    (r, w), (sr, sw), mr = _pipes(marker)
    calls, answers = os.pipe(), os.pipe()
    start = time.monotonic()
    cand = os.fork()
    if cand == 0:
        _candidate(req, source, w, calls[0], answers[1])
    test = os.fork()
    if test == 0:
        _tester(req, w, sw, mr, calls[1], answers[0])
    for fd in (w, sw, mr, *calls, *answers):
        os.close(fd)
    head, total, timed_out = _collect(r, test, req["output"], start + req["timeout"])
    os.close(r)
    if os.getpid() != 1:
        try:
            os.killpg(cand, 9)
        except OSError:
            pass
    returncode = _sweep_and_reap(test)
    if os.getpid() != 1:
        os.waitpid(cand, 0)
    return _answer_of(req, own, sr, marker, head, total, timed_out, returncode, start)
