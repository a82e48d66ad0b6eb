"""Readers of the paper's artifact layout: baseline summary JSON files and the KNEXA-FL run log.

Each reader returns a :class:`RunRecord` (Pass@k as fractions, CodeBLEU, clients, rounds, the
file's sha256 and the run's recorded parameters when a ``*_parameters.json`` lies beside it) or
raises :class:`~knexa_core.errors.ArtifactError` naming the file and what is wrong.
:func:`scan_artifacts` reads every candidate of a directory and keeps the failures as
:class:`ArtifactIssue` rows instead of stopping at the first one. Chapter ``04_recompute_artifacts``.

Artifact files may come from anywhere, so reading is bounded (:func:`read_artifact_bytes`): at
most ``MAX_ARTIFACT_BYTES`` (10 MB) per file, regular files only (no FIFO, device or directory),
no symbolic link leading out of the artifact directory, JSON nested at most ``MAX_JSON_DEPTH``
deep with integers of at most ``MAX_INT_DIGITS`` digits, and the log's dict literal read by a
small parser of its own (never ``ast.literal_eval`` or ``eval``). Each refused file is an issue
in the missing report.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knexa_core.artifacts import layout
from knexa_core.errors import ArtifactError
from knexa_core.io import sha256_file  # noqa: F401  (re-exported by knexa_core.artifacts)

PASS_KEYS = ("pass@1", "pass@5", "pass@10")
MAX_ARTIFACT_BYTES = 10 << 20  # a summary is ~1 KB and a real run log a few MB
MAX_JSON_DEPTH = 32  # a summary nests 3 levels deep
MAX_INT_DIGITS = 30  # no count or metric needs more
MAX_AVERAGE_CHARS = 2000  # the average_pass_at_k literal is ~100 characters
FINAL_MARKER = "FINAL_PASS_AT_K completed"  # the log line that carries KNEXA-FL's final numbers
_CLIENTS_RE = re.compile(r"clients_evaluated=(\d+)")
_ROUNDS_RE = re.compile(r"num_rounds=(\d+)")
_AVERAGE_RE = re.compile(r"average_pass_at_k=(\{[^{}]*\})")
_ITEM_RE = re.compile(r"""\s*(['"])([A-Za-z0-9@_.]+)\1\s*:\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*""")


def read_artifact_bytes(path: str | Path, root: str | Path | None = None) -> bytes:
    """The bytes of one artifact file, refusing what could hang or exhaust the reader.

    Raises :class:`ArtifactError` for a file larger than ``MAX_ARTIFACT_BYTES``, anything but a
    regular file, a symbolic link loop, or a link that leads out of ``root``.
    """
    p = Path(path)
    try:
        real = p.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # missing, a link loop
        raise ArtifactError(f"{p}: cannot be opened ({getattr(exc, 'strerror', None) or exc})") from None
    if root is not None and not real.is_relative_to(Path(root).resolve()):
        raise ArtifactError(f"{p}: a symbolic link leading out of the artifact directory (to {real}); "
                            "copy the file into the directory instead")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block
    except OSError as exc:
        raise ArtifactError(f"{p}: cannot be opened ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ArtifactError(f"{p}: not a regular file; an artifact must be a plain file")
        chunks, size = [], 0
        while size <= MAX_ARTIFACT_BYTES and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > MAX_ARTIFACT_BYTES:
        raise ArtifactError(f"{p}: larger than {MAX_ARTIFACT_BYTES >> 20} MB; not an artifact of this layout")
    return data


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def _json_depth(text: str) -> int:
    """Deepest bracket nesting of a JSON text (brackets inside strings are counted too: an upper bound)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def read_artifact_json(path: str | Path, root: str | Path | None = None) -> tuple[Any, str]:
    """A bounded JSON artifact: (value, sha256 of the bytes read)."""
    data = read_artifact_bytes(path, root)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 JSON") from None
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise ArtifactError(f"{path}: JSON nested deeper than {MAX_JSON_DEPTH} levels; not a summary of this layout")
    try:
        return json.loads(text, parse_int=_bounded_int), hashlib.sha256(data).hexdigest()
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise ArtifactError(f"{path}: unreadable JSON ({exc}); integers have at most {MAX_INT_DIGITS} digits") from None


def parse_average(literal: str, path: str | Path = "<log>") -> dict[str, float]:
    """The ``{'pass@1': 0.13, ...}`` literal of a final log line: quoted names and plain numbers only."""
    if len(literal) > MAX_AVERAGE_CHARS:
        raise ArtifactError(f"{path}: average_pass_at_k is {len(literal)} characters long; expected a short dict")
    body = literal.strip()[1:-1].strip()
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in body.split(","))):
        match = _ITEM_RE.fullmatch(item)
        if match is None:
            raise ArtifactError(f"{path}: average_pass_at_k is not a dict of quoted names and numbers: {item[:60]!r}")
        values[match.group(2)] = float(match.group(3))
    return values


@dataclass(frozen=True)
class RunRecord:
    """The final numbers of one run, as read from one artifact file."""

    method: str
    pass_at_k: dict[str, float]  # "pass@1"/"pass@5"/"pass@10" -> fraction in [0, 1]
    codebleu: float
    num_clients: int
    num_rounds: int | None  # None when the file does not record it
    path: Path
    sha256: str
    parameters: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ArtifactIssue:
    """Why a method has no usable value, or why one of its files was set aside."""

    method: str  # "" when the file could not be attributed to a Table-4 method
    path: str    # "" when no file was found at all
    problem: str


def fraction(value: Any, what: str, where: str | Path) -> float:
    """``value`` as a float in [0, 1]; anything else (bool, str, NaN, 8.89 for 8.89%) is an error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ArtifactError(f"{where}: {what} must be a fraction in [0, 1] (0.0889 for 8.89%), got {value!r}")
    return float(value)


def _count(value: Any, what: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ArtifactError(f"{path}: {what} must be a non-negative integer, got {value!r}")
    return value


def _get(data: Any, keys: tuple[str, ...], path: Path) -> Any:
    node = data
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            where = "".join(f"[{k!r}]" for k in keys[: depth + 1])
            raise ArtifactError(f"{path}: missing field {where}; a summary needs method, num_clients, "
                                "num_rounds, pass_at_k_metrics[pass@k][final] and final_metrics[codebleu]")
        node = node[key]
    return node


def read_parameters(path: str | Path) -> dict[str, Any] | None:
    """The resolved parameters recorded beside a summary or log (None when there are none)."""
    side = layout.sidecar(path, layout.PARAMETERS_SUFFIX)
    if not side.exists() and not side.is_symlink():
        return None
    params, _ = read_artifact_json(side, Path(path).parent)
    if not isinstance(params, dict):
        raise ArtifactError(f"{side}: resolved parameters must be a JSON object")
    return params


def read_summary(path: str | Path, root: str | Path | None = None) -> RunRecord:
    """Read a baseline ``*_summary.json`` file (links may not lead out of ``root``, if given).

    Returns
    -------
    RunRecord
        The method named in the file's ``method`` field with its final Pass@k and CodeBLEU.
    """
    p = Path(path)
    data, digest = read_artifact_json(p, root)
    name = _get(data, ("method",), p)
    method = layout.canonical_method(name) if isinstance(name, str) else None
    if method is None:
        raise ArtifactError(f"{p}: method {name!r} is not a Table-4 method ({', '.join(layout.METHODS)})")
    if method == layout.KNEXA_FL:
        raise ArtifactError(f"{p}: KNEXA-FL is read from its run log (knexa_fl/logs/*.log), not from a summary")
    pass_at_k = {k: fraction(_get(data, ("pass_at_k_metrics", k, "final"), p), f"{k} final", p)
                 for k in PASS_KEYS}
    return RunRecord(
        method=method, pass_at_k=pass_at_k,
        codebleu=fraction(_get(data, ("final_metrics", "codebleu"), p), "codebleu", p),
        num_clients=_count(_get(data, ("num_clients",), p), "num_clients", p),
        num_rounds=_count(_get(data, ("num_rounds",), p), "num_rounds", p),
        path=p, sha256=digest, parameters=read_parameters(p))


def parse_final_line(line: str, path: str | Path = "<log>") -> tuple[int, dict[str, float], int | None]:
    """Parse a ``FINAL_PASS_AT_K completed`` line: (clients_evaluated, averages, num_rounds or None).

    The averages are a Python dict literal of quoted names and numbers, read by :func:`parse_average`
    (never ``eval``). Each field must appear once: a line with two is ambiguous (a spoof).
    """
    for name in ("clients_evaluated=", "average_pass_at_k=", "num_rounds="):
        if line.count(name) > 1:
            raise ArtifactError(f"{path}: the {FINAL_MARKER!r} line holds {name} {line.count(name)} times; "
                                "ambiguous, fix the log")
    clients, average = _CLIENTS_RE.search(line), _AVERAGE_RE.search(line)
    if clients is None or average is None:
        raise ArtifactError(f"{path}: the {FINAL_MARKER!r} line lacks "
                            f"{'clients_evaluated=<n>' if clients is None else 'average_pass_at_k={...}'}")
    if len(clients.group(1)) > MAX_INT_DIGITS:
        raise ArtifactError(f"{path}: clients_evaluated has {len(clients.group(1))} digits")
    values = parse_average(average.group(1), path)
    absent = [k for k in (*PASS_KEYS, "codebleu") if k not in values]
    if absent:
        raise ArtifactError(f"{path}: average_pass_at_k lacks {absent}; "
                            "it needs pass@1, pass@5, pass@10 and codebleu")
    metrics = {k: fraction(values[k], k, Path(str(path))) for k in (*PASS_KEYS, "codebleu")}
    rounds = _ROUNDS_RE.search(line)
    if rounds and len(rounds.group(1)) > MAX_INT_DIGITS:
        raise ArtifactError(f"{path}: num_rounds has {len(rounds.group(1))} digits")
    return int(clients.group(1)), metrics, int(rounds.group(1)) if rounds else None


def read_knexa_log(path: str | Path, root: str | Path | None = None) -> RunRecord:
    """Read a KNEXA-FL ``*.log``: the last line containing ``FINAL_PASS_AT_K completed`` counts."""
    p = Path(path)
    data = read_artifact_bytes(p, root)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{p}: cannot read the log: not UTF-8 (byte {exc.start})") from None
    finals = [line for line in text.splitlines() if FINAL_MARKER in line]
    if not finals:
        raise ArtifactError(f"{p}: no line containing {FINAL_MARKER!r}; the run did not finish "
                            "its final evaluation, or this is not a KNEXA-FL log")
    clients, metrics, rounds = parse_final_line(finals[-1], p)
    params = read_parameters(p)
    if rounds is None and params and isinstance(params.get("num_rounds"), int):
        rounds = params["num_rounds"]
    return RunRecord(method=layout.KNEXA_FL, pass_at_k={k: metrics[k] for k in PASS_KEYS},
                     codebleu=metrics["codebleu"], num_clients=clients, num_rounds=rounds,
                     path=p, sha256=hashlib.sha256(data).hexdigest(), parameters=params)


def _attempt(reader, path: Path, root: Path, method_hint: str | None, runs: list, issues: list) -> None:
    try:
        runs.append(reader(path, root))
    except ArtifactError as exc:
        issues.append(ArtifactIssue(method_hint or "", str(path), str(exc)))


def scan_artifacts(artifacts_dir: str | Path) -> tuple[list[RunRecord], list[ArtifactIssue]]:
    """Read every summary and log of ``artifacts_dir`` (sorted by path, so the order is stable).

    Returns
    -------
    (runs, issues)
        The files that parsed, and one issue per file that did not (attributed by file name).
    """
    runs: list[RunRecord] = []
    issues: list[ArtifactIssue] = []
    root = Path(artifacts_dir)
    for path in sorted(layout.summaries_dir(artifacts_dir).glob(f"*{layout.SUMMARY_SUFFIX}")):
        _attempt(read_summary, path, root, layout.method_from_filename(path), runs, issues)
    for path in sorted(layout.logs_dir(artifacts_dir).glob(f"*{layout.LOG_SUFFIX}")):
        _attempt(read_knexa_log, path, root, layout.KNEXA_FL, runs, issues)
    return runs, issues
