"""MBPP from the Hugging Face hub, cached as one JSONL file (the third route of chapter "Data splits").

The resolution order of MBPP everywhere (chapters, ``knexa`` commands, tests) is: an explicit path,
then ``$KNEXA_MBPP``, then this module: a JSONL file cached by an earlier download (no network
needed), else a download through Hugging Face ``datasets`` when the hub answers. Offline, the
route fails at once with one line saying how to supply the file, instead of ``datasets``' own
retries (about 25 s here).
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from knexa_core.errors import DataNotFoundError
from knexa_core.io import write_text

HF_MBPP = ("google-research-datasets/mbpp", "full")  # the hub dataset and config holding all 974 problems
CACHE_ENV = "KNEXA_CACHE"  # folder of the project's download cache; default ~/.cache/knexa
CACHE_NAME = "mbpp-full.jsonl"
OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")  # Hugging Face's own "do not connect" switches
CONNECT_TIMEOUT = 3.0  # seconds to wait for the hub before calling it unreachable


def cache_path() -> Path:
    """Where the downloaded MBPP is kept: ``$KNEXA_CACHE``, else ``$XDG_CACHE_HOME/knexa``, else ``~/.cache/knexa``."""
    base = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "knexa"
    return Path(base) / CACHE_NAME


def hub_offline_reason(timeout: float = CONNECT_TIMEOUT) -> str:
    """Why the hub cannot be used now (``""`` when a TCP connection to it succeeds within ``timeout``)."""
    for var in OFFLINE_VARS:
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{var} is set"
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = endpoint.hostname or "", endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return f"{host} unreachable ({exc.strerror or type(exc).__name__})"
    return ""


def hub_records(splits: Mapping[str, Iterable[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The records of every split of a ``datasets.DatasetDict`` as plain dicts, sorted by task id."""
    return sorted((dict(r) for split in splits.values() for r in split), key=lambda r: int(r["task_id"]))


def write_cache(records: Iterable[Mapping[str, Any]], path: Path) -> Path:
    """Write ``records`` as JSONL (one record per line, the original file's layout), atomically."""
    return write_text(path, "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in records))


def hub_mbpp_path(how_to_supply: str) -> Path:
    """The cached hub copy of MBPP, downloading it first if needed.

    Raises
    ------
    DataNotFoundError
        In one line, when there is no cached copy and the hub is unreachable or the download fails;
        ``how_to_supply`` is appended.
    """
    path = cache_path()
    if path.is_file():
        return path
    reason = hub_offline_reason()
    if reason:
        raise DataNotFoundError(f"MBPP not found: no path given, $KNEXA_MBPP unset, no cached copy at "
                                f"{path}, and the Hugging Face hub cannot be used ({reason}); {how_to_supply}")
    import datasets  # a default dependency; imported only on this route (it takes a second)

    try:
        splits = datasets.load_dataset(*HF_MBPP)
    except Exception as exc:  # hub errors have many types (HTTP, connection, renamed dataset)
        raise DataNotFoundError(f"MBPP could not be downloaded from the Hugging Face hub "
                                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                                f"{how_to_supply}") from None
    return write_cache(hub_records(splits), path)
