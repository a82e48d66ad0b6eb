"""Plain data across the sandbox's pipes: the encoding of the isolated verdict (see ``_split.py``).

Part of the sandbox server's text (``isolation.server_source``). A value crosses from the
candidate's process to the tests only as plain data: ``None``, bool, int, float, complex, str,
bytes, builtin types, and lists, tuples, dicts (also ``Counter``, ``defaultdict``,
``OrderedDict``, which arrive as dicts), sets and frozensets of them; exact types only, so no
object with its own ``__eq__`` crosses. Messages are JSON with an 8-byte length, at most
``MAX_MESSAGE`` bytes.
"""
import collections as _collections
import json as _json
import os

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
    """Write one message to a blocking pipe."""
    data = _frame(obj)
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
    """One message from a blocking pipe, or None at end of file (the other side is gone)."""
    head = _recv_exact(fd, 8)
    if head is None:
        return None
    size = int.from_bytes(head, "big")
    if size > MAX_MESSAGE:
        raise OverflowError(f"a message of {size} bytes")
    body = _recv_exact(fd, size)
    return None if body is None else _json.loads(body)


def _frame(obj):
    """``obj`` as one message: 8-byte length, then JSON."""
    data = _json.dumps(obj).encode()
    if len(data) > MAX_MESSAGE:
        raise OverflowError(f"a message of {len(data)} bytes")
    return len(data).to_bytes(8, "big") + data
