"""Writers of the paper's artifact layout, for the federated-training loop.

A finished run of a baseline is written with :func:`write_method_summary` to
``baselines/summaries/<name>_summary.json``; a finished KNEXA-FL run with :func:`write_knexa_log`
to ``knexa_fl/logs/<name>.log`` (the layout's mapping: KNEXA-FL goes to the log, the five
baselines to summaries; ``<name>`` is :func:`~knexa_core.artifacts.layout.run_name`, e.g.
``Random_P2P_s6``). Both produce exactly the fields the readers (and the paper's release) use, and
write the richer files beside them under the same name:

- ``<name>_parameters.json``: the run's resolved parameters (JSON object);
- ``<name>_rounds.csv``: one row per round (any columns, the same in every row);
- ``<name>_clients.csv``: one row per client with its final values.

A run's files are written as a set: a richer file not given this time is removed, so a rerun
never leaves a stale table from an earlier run beside a new summary. All writes are atomic and
deterministic (:mod:`knexa_core.io`). Chapter ``04_recompute_artifacts``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from knexa_core.artifacts import layout
from knexa_core.artifacts.readers import FINAL_MARKER, PASS_KEYS, fraction
from knexa_core.errors import ArtifactError
from knexa_core.io import write_csv, write_json, write_text

Rows = Sequence[Mapping[str, Any]]


def _metrics(pass_at_k: Mapping[str, Any], codebleu: Any) -> dict[str, float]:
    if set(pass_at_k) != set(PASS_KEYS):
        raise ArtifactError(f"pass_at_k must have exactly the keys {list(PASS_KEYS)}, got {sorted(pass_at_k)}")
    values = {k: fraction(pass_at_k[k], k, "pass_at_k") for k in PASS_KEYS}
    values["codebleu"] = fraction(codebleu, "codebleu", "final metrics")
    return values


def _check_counts(num_clients: int, num_rounds: int) -> None:
    for name, value in (("num_clients", num_clients), ("num_rounds", num_rounds)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ArtifactError(f"{name} must be a positive integer, got {value!r}")


def _header(rows: Rows, what: str) -> list[str]:
    header = list(rows[0])
    for i, row in enumerate(rows):
        if list(row) != header:
            raise ArtifactError(f"{what} row {i} has columns {list(row)}, row 0 has {header}; "
                                "give every row the same columns in the same order")
    return header


def _write_with_sidecars(main: Path, write_main, parameters: Mapping[str, Any] | None,
                         per_round: Rows | None, per_client: Rows | None) -> None:
    """Write the richer files beside ``main`` (removing those not given), then ``main`` itself.

    Everything is checked before anything is written, and the main file, which the readers
    use, comes last: an error or a crash never leaves a main file without its richer files.
    """
    tables = {layout.ROUNDS_SUFFIX: per_round, layout.CLIENTS_SUFFIX: per_client}
    headers = {suffix: _header(rows, layout.sidecar(main, suffix).name) for suffix, rows in tables.items() if rows}
    params_path = layout.sidecar(main, layout.PARAMETERS_SUFFIX)
    if parameters:
        write_json(params_path, dict(parameters))
    else:
        params_path.unlink(missing_ok=True)
    for suffix, rows in tables.items():
        if rows:
            write_csv(layout.sidecar(main, suffix), rows, headers[suffix])
        else:
            layout.sidecar(main, suffix).unlink(missing_ok=True)
    write_main(main)


def write_method_summary(
    artifacts_dir: str | Path, method: str, num_clients: int, num_rounds: int,
    pass_at_k: Mapping[str, float], codebleu: float, parameters: Mapping[str, Any] | None = None,
    per_round: Rows | None = None, per_client: Rows | None = None, tag: str = "",
) -> Path:
    """Write a baseline run's ``baselines/summaries/<name>_summary.json`` and its richer files.

    Parameters
    ----------
    artifacts_dir : root of the artifact layout.
    method : one of the five baselines (``"Random-P2P"``, ...); KNEXA-FL uses :func:`write_knexa_log`.
    num_clients, num_rounds : size of the federation and rounds run.
    pass_at_k : ``{"pass@1": f, "pass@5": f, "pass@10": f}``, fractions of the final evaluation.
    codebleu : final CodeBLEU in [0, 1].
    parameters, per_round, per_client : the richer files (see the module docstring).
        A ``per_round`` column named ``pass@1``/``pass@5``/``pass@10`` also fills that metric's
        ``history`` list in the summary (:func:`history`).
    tag : optional prefix of the run name (e.g. ``"seed42"``) to keep several runs side by side.

    Returns
    -------
    Path
        The summary file.
    """
    canonical = layout.canonical_method(method)
    if canonical not in layout.BASELINES:
        raise ArtifactError(f"write_method_summary writes the baselines {', '.join(layout.BASELINES)}; "
                            f"got {method!r} (KNEXA-FL: use write_knexa_log)")
    _check_counts(num_clients, num_rounds)
    values = _metrics(pass_at_k, codebleu)
    rounds = list(per_round or [])
    summary = {
        "method": canonical, "num_clients": num_clients, "num_rounds": num_rounds,
        "pass_at_k_metrics": {k: {"final": values[k], "history": history(rounds, k)} for k in PASS_KEYS},
        "final_metrics": {"codebleu": values["codebleu"]},
    }
    path = layout.run_file(artifacts_dir, canonical, num_clients, tag)
    _write_with_sidecars(path, lambda p: write_json(p, summary), parameters, rounds, per_client)
    return path


def history(rows: Rows, key: str) -> list[float]:
    """The ``key`` column of per-round rows as a list, skipping blanks (rounds not evaluated); with a
    ``round`` column (one row per round and client), the mean over the rows of each round, in order.
    """
    values: dict[Any, list[float]] = {}
    for i, row in enumerate(rows):
        if row.get(key, "") not in ("", None):
            values.setdefault(row.get("round", i), []).append(float(row[key]))
    return [round(sum(v) / len(v), 6) for v in values.values()]


def final_line(num_clients: int, num_rounds: int, pass_at_k: Mapping[str, float], codebleu: float) -> str:
    """The log line the readers look for, e.g.
    ``KNEXA-FL - INFO - FINAL_PASS_AT_K completed (clients_evaluated=6, num_rounds=20,
    average_pass_at_k={'pass@1': 0.1333, 'pass@5': 0.3125, 'pass@10': 0.4444, 'codebleu': 0.344})``.
    No timestamp, so the same run gives the same bytes.
    """
    _check_counts(num_clients, num_rounds)
    values = _metrics(pass_at_k, codebleu)
    return (f"KNEXA-FL - INFO - {FINAL_MARKER} (clients_evaluated={num_clients}, "
            f"num_rounds={num_rounds}, average_pass_at_k={values!r})")


def write_knexa_log(
    artifacts_dir: str | Path, num_clients: int, num_rounds: int,
    pass_at_k: Mapping[str, float], codebleu: float, parameters: Mapping[str, Any] | None = None,
    per_round: Rows | None = None, per_client: Rows | None = None, tag: str = "",
    lines: Sequence[str] = (),
) -> Path:
    """Write a KNEXA-FL run's ``knexa_fl/logs/<name>.log`` and its richer files.

    Parameters are those of :func:`write_method_summary` (without ``method``); ``lines`` are
    earlier log lines (e.g. one per round) written before the final line of :func:`final_line`.

    Returns
    -------
    Path
        The log file.
    """
    if any(FINAL_MARKER in line or "\n" in line for line in lines):
        raise ArtifactError(f"log lines must be single lines without {FINAL_MARKER!r} "
                            "(write_knexa_log adds the final line itself)")
    text = "".join(f"{line}\n" for line in (*lines, final_line(num_clients, num_rounds, pass_at_k, codebleu)))
    path = layout.run_file(artifacts_dir, layout.KNEXA_FL, num_clients, tag)
    _write_with_sidecars(path, lambda p: write_text(p, text), parameters, list(per_round or []), per_client)
    return path
