"""Readers of the paper's artifact layout: baseline summary JSON files and the KNEXA-FL run log.

Each reader returns a :class:`RunRecord` (Pass@k as fractions, CodeBLEU, clients, rounds, the
file's sha256 and the run's recorded parameters when a ``*_parameters.json`` lies beside it) or
raises :class:`~knexa_core.errors.ArtifactError` naming the file and what is wrong.
:func:`scan_artifacts` reads every candidate of a directory and keeps the failures as
:class:`ArtifactIssue` rows instead of stopping at the first one. Chapter ``04_recompute_artifacts``.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knexa_core.artifacts import layout
from knexa_core.errors import ArtifactError
from knexa_core.io import read_json, sha256_file

PASS_KEYS = ("pass@1", "pass@5", "pass@10")
FINAL_MARKER = "FINAL_PASS_AT_K completed"  # the log line that carries KNEXA-FL's final numbers
_CLIENTS_RE = re.compile(r"clients_evaluated=(\d+)")
_ROUNDS_RE = re.compile(r"num_rounds=(\d+)")
_AVERAGE_RE = re.compile(r"average_pass_at_k=(\{[^{}]*\})")


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
    if not side.is_file():
        return None
    params = read_json(side, ArtifactError)
    if not isinstance(params, dict):
        raise ArtifactError(f"{side}: resolved parameters must be a JSON object")
    return params


def read_summary(path: str | Path) -> RunRecord:
    """Read a baseline ``*_summary.json`` file.

    Returns
    -------
    RunRecord
        The method named in the file's ``method`` field with its final Pass@k and CodeBLEU.
    """
    p = Path(path)
    data = read_json(p, ArtifactError)
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
        path=p, sha256=sha256_file(p), parameters=read_parameters(p))


def parse_final_line(line: str, path: str | Path = "<log>") -> tuple[int, dict[str, float], int | None]:
    """Parse a ``FINAL_PASS_AT_K completed`` line: (clients_evaluated, averages, num_rounds or None).

    The averages are a Python dict literal, read with :func:`ast.literal_eval` (never ``eval``).
    """
    clients, average = _CLIENTS_RE.search(line), _AVERAGE_RE.search(line)
    if clients is None or average is None:
        raise ArtifactError(f"{path}: the {FINAL_MARKER!r} line lacks "
                            f"{'clients_evaluated=<n>' if clients is None else 'average_pass_at_k={...}'}")
    try:
        values = ast.literal_eval(average.group(1))
    except (ValueError, SyntaxError) as exc:
        raise ArtifactError(f"{path}: average_pass_at_k is not a Python dict literal: {exc}") from None
    if not isinstance(values, dict):
        raise ArtifactError(f"{path}: average_pass_at_k must be a dict, got {type(values).__name__}")
    absent = [k for k in (*PASS_KEYS, "codebleu") if k not in values]
    if absent:
        raise ArtifactError(f"{path}: average_pass_at_k lacks {absent}; "
                            "it needs pass@1, pass@5, pass@10 and codebleu")
    metrics = {k: fraction(values[k], k, Path(str(path))) for k in (*PASS_KEYS, "codebleu")}
    rounds = _ROUNDS_RE.search(line)
    return int(clients.group(1)), metrics, int(rounds.group(1)) if rounds else None


def read_knexa_log(path: str | Path) -> RunRecord:
    """Read a KNEXA-FL ``*.log``: the last line containing ``FINAL_PASS_AT_K completed`` counts."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{p}: cannot read the log: {exc}") from None
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
                     path=p, sha256=sha256_file(p), parameters=params)


def _attempt(reader, path: Path, method_hint: str | None, runs: list, issues: list) -> None:
    try:
        runs.append(reader(path))
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
    for path in sorted(layout.summaries_dir(artifacts_dir).glob(f"*{layout.SUMMARY_SUFFIX}")):
        _attempt(read_summary, path, layout.method_from_filename(path), runs, issues)
    for path in sorted(layout.logs_dir(artifacts_dir).glob(f"*{layout.LOG_SUFFIX}")):
        _attempt(read_knexa_log, path, layout.KNEXA_FL, runs, issues)
    return runs, issues
