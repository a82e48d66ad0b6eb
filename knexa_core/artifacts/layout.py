"""Where things live in an artifact directory, and which file belongs to which Table-4 method.

The layout is the paper's release layout, shared by our runs and the authors' artifacts::

    <artifacts>/roster/client_roster.json
    <artifacts>/data/splits/client_C<i>_train.json, client_C<i>_val.json,
                            global_test.json, transfer_set.json
    <artifacts>/baselines/summaries/<name>_summary.json   one per baseline method
    <artifacts>/knexa_fl/logs/<name>.log                  the KNEXA-FL run log

The five baselines are stored as summary JSON files, KNEXA-FL as a run log. Our writers name a
run ``<Method>_s<num_clients>`` with the method's hyphens turned into underscores (see
:data:`FILE_STEMS`), e.g. ``Random_P2P_s6_summary.json`` and ``KNEXA_FL_s6.log``; an optional
tag goes in front (the authors' release uses ``2026AAAI_Random_P2P_s6_summary.json``). Readers do
not rely on file names: a summary is attributed to the method named in its ``method`` field, and
only a file that cannot be parsed is attributed by its name. Chapter ``04_recompute_artifacts``.
"""
from __future__ import annotations

import re
from pathlib import Path

# Table 4's rows, in the paper's order; the first five are baselines, the last one the method.
METHODS: tuple[str, ...] = (
    "LocalOnly", "FedID-CentralKD", "Central-KD", "Heuristic-P2P", "Random-P2P", "KNEXA-FL",
)
KNEXA_FL = "KNEXA-FL"
BASELINES: tuple[str, ...] = tuple(m for m in METHODS if m != KNEXA_FL)
# method -> file-name stem (hyphens are awkward in file names; underscores match the release)
FILE_STEMS: dict[str, str] = {m: m.replace("-", "_") for m in METHODS}

SUMMARY_SUFFIX = "_summary.json"
LOG_SUFFIX = ".log"
PARAMETERS_SUFFIX = "_parameters.json"  # resolved parameters of the run, beside its summary/log
ROUNDS_SUFFIX = "_rounds.csv"           # one row per round
CLIENTS_SUFFIX = "_clients.csv"         # one row per client (final values)


def roster_path(artifacts_dir: str | Path) -> Path:
    """``roster/client_roster.json`` (written by the data chapter)."""
    return Path(artifacts_dir) / "roster" / "client_roster.json"


def splits_dir(artifacts_dir: str | Path) -> Path:
    """``data/splits/``: per-client train/val files, the global test set and the transfer set."""
    return Path(artifacts_dir) / "data" / "splits"


def client_split_path(artifacts_dir: str | Path, client: int | str, part: str) -> Path:
    """``data/splits/client_C<i>_<part>.json`` with ``part`` ``"train"`` or ``"val"``."""
    if part not in ("train", "val"):
        raise ValueError(f"split part must be 'train' or 'val', not {part!r}")
    name = str(client) if str(client).startswith("C") else f"C{client}"
    return splits_dir(artifacts_dir) / f"client_{name}_{part}.json"


def global_test_path(artifacts_dir: str | Path) -> Path:
    """``data/splits/global_test.json``."""
    return splits_dir(artifacts_dir) / "global_test.json"


def transfer_set_path(artifacts_dir: str | Path) -> Path:
    """``data/splits/transfer_set.json`` (the unlabelled knowledge-transfer set X_u)."""
    return splits_dir(artifacts_dir) / "transfer_set.json"


def summaries_dir(artifacts_dir: str | Path) -> Path:
    """``baselines/summaries/``: one ``<name>_summary.json`` per baseline run."""
    return Path(artifacts_dir) / "baselines" / "summaries"


def logs_dir(artifacts_dir: str | Path) -> Path:
    """``knexa_fl/logs/``: the KNEXA-FL run logs."""
    return Path(artifacts_dir) / "knexa_fl" / "logs"


def canonical_method(name: str) -> str | None:
    """The Table-4 method ``name`` denotes, ignoring case, hyphens, underscores and spaces.

    ``"random_p2p"`` and ``"Random P2P"`` give ``"Random-P2P"``; an unknown name gives None.
    """
    key = _key(name)
    return next((m for m in METHODS if _key(m) == key), None)


def method_from_filename(path: str | Path) -> str | None:
    """The method whose name appears in a file name (the longest match wins), or None.

    Longest match, because ``FedID_CentralKD`` also contains ``CentralKD``.
    """
    key = _key(Path(path).name)
    found = [m for m in METHODS if _key(m) in key]
    return max(found, key=lambda m: len(_key(m)), default=None)


def run_name(method: str, num_clients: int, tag: str = "") -> str:
    """File-name stem of a run, e.g. ``Random_P2P_s6`` or, with ``tag="seed42"``, ``seed42_Random_P2P_s6``."""
    canonical = canonical_method(method)
    if canonical is None:
        raise ValueError(f"unknown method {method!r}: Table 4 has {', '.join(METHODS)}")
    if tag and not re.fullmatch(r"[A-Za-z0-9.-]+", tag):
        raise ValueError(f"run tag {tag!r} may hold only letters, digits, '.' and '-'")
    stem = f"{FILE_STEMS[canonical]}_s{num_clients}"
    return f"{tag}_{stem}" if tag else stem


def run_file(artifacts_dir: str | Path, method: str, num_clients: int, tag: str = "") -> Path:
    """Where our writers put a run: the summary of a baseline, the log of KNEXA-FL."""
    name = run_name(method, num_clients, tag)
    if canonical_method(method) == KNEXA_FL:
        return logs_dir(artifacts_dir) / (name + LOG_SUFFIX)
    return summaries_dir(artifacts_dir) / (name + SUMMARY_SUFFIX)


def sidecar(path: str | Path, suffix: str) -> Path:
    """The richer file beside a summary or log: ``X_summary.json``/``X.log`` -> ``X<suffix>``."""
    p = Path(path)
    name = p.name
    for end in (SUMMARY_SUFFIX, LOG_SUFFIX):
        if name.endswith(end):
            return p.with_name(name[: -len(end)] + suffix)
    raise ValueError(f"{p}: not a summary ('*{SUMMARY_SUFFIX}') or log ('*{LOG_SUFFIX}') file")


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())
