"""Atomic, deterministic file writers shared by every module.

All outputs are written to a temporary file in the destination folder and renamed into place,
so a crash never leaves a partial file. JSON is written with sorted keys and a trailing newline
and CSV with ``\\n`` line endings, so the same data always gives byte-identical files.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from knexa_core.errors import KnexaError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically and return the destination path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def dumps_json(obj: Any) -> str:
    """Serialize deterministically: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as deterministic JSON (see :func:`dumps_json`) atomically."""
    return write_text(path, dumps_json(obj))


def write_csv(
    path: str | os.PathLike,
    rows: Iterable[Mapping[str, Any] | Sequence[Any]],
    header: Sequence[str],
) -> Path:
    """Write rows (dicts keyed by ``header`` or sequences) as CSV atomically.

    Floats are written with ``repr`` (shortest round-trip form), so output is byte-stable.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        values = [row[h] for h in header] if isinstance(row, Mapping) else list(row)
        if len(values) != len(header):
            raise ValueError(f"CSV row has {len(values)} values, header has {len(header)}: {values!r}")
        writer.writerow(values)
    return write_text(path, buf.getvalue())


def read_json(path: str | os.PathLike, error: type[KnexaError] = KnexaError) -> Any:
    """Read a JSON file; a missing file or parse error raises ``error`` naming file, line and column."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{p}: file not found") from None
    except json.JSONDecodeError as exc:
        raise error(f"{p}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (provenance of inputs and artifacts)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_png(fig: Any, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG atomically, without the version-dependent software tag."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return Path(path)
