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
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from knexa_core.errors import KnexaError, OutputError

SET_MARKER = ".knexa-set"  # file in every folder published by staged_dir: it may be replaced


def output_error(path: str | os.PathLike, exc: OSError) -> OutputError:
    """One line naming the output that cannot be written, why, and what to do."""
    why = exc.strerror or type(exc).__name__
    return OutputError(f"cannot write {path}: {why}; choose a writable location (a new or existing "
                       "folder you may write to, not a file or a read-only place)")


def check_writable(path: str | os.PathLike) -> None:
    """Fail early (before a long computation) if the file ``path`` cannot be written."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"cannot write {p}: it is a directory; move it away or choose another name")
    parent = next((a for a in p.parents if a.exists() or a.is_symlink()), Path("."))
    if not parent.is_dir():
        raise OutputError(f"cannot write {p}: {parent} is a file, not a folder; choose another location")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {p}: {parent} is not writable; choose a writable location")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    dest = Path(path)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    except OSError as exc:
        raise output_error(dest, exc) from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual file mode
        try:
            os.replace(tmp, dest)
        except OSError as exc:  # e.g. a directory in the way
            raise output_error(dest, exc) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically and return the destination path."""
    with atomic_path(path) as tmp:
        try:
            tmp.write_text(text, encoding="utf-8")
        except OSError as exc:  # disk full, quota
            raise output_error(path, exc) from None
    return Path(path)


@contextlib.contextmanager
def staged_files(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Write several files that belong together (one run's outputs in a *shared* folder).

    Yields one temporary path per destination (beside it, same file system). If the block
    succeeds, the files are renamed into place in the order given, so put the file readers look
    for (a summary, a log) *last*: once it is visible, the rest of its run is already in place.
    If the block raises (Ctrl-C included), every temporary file is removed and no destination
    changes. Unlike :func:`staged_dir` this is not one atomic step for the set, but it never
    replaces files of other runs in the same folder (e.g. several methods or seeds of ``train``).
    """
    with contextlib.ExitStack() as stack:
        # entered last-to-first: exits (renames) run first-to-last, so the last path appears last
        temps = [stack.enter_context(atomic_path(p)) for p in reversed(paths)]
        yield temps[::-1]


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _clear_leftovers(dest: Path) -> None:
    """Staging and retired folders of ``dest`` left by a killed earlier publish."""
    for old in dest.parent.glob(f".{dest.name}.staging-*"):
        shutil.rmtree(old, ignore_errors=True)


def check_set_destination(dest: str | os.PathLike, foreign_ok: bool = False) -> None:
    """Fail early (before a long computation) if :func:`staged_dir` could not publish ``dest``."""
    dest = Path(dest)
    check_writable(dest / SET_MARKER)
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"cannot write the folder {dest}: a file is in the way; remove it or choose another folder")
    if dest.is_dir() and not foreign_ok and any(dest.iterdir()) and not (dest / SET_MARKER).exists():
        raise OutputError(f"{dest} already holds files that knexa did not write; choose a new or empty folder "
                          "(a published folder is replaced as a whole)")


@contextlib.contextmanager
def staged_dir(dest: str | os.PathLike, foreign_ok: bool = False) -> Iterator[Path]:
    """Write a *set* of files into a staging folder, then publish it as ``dest`` in one rename.

    Contract (used by ``splits``, ``simulate``; meant for ``train`` as well):

    - yields an empty folder ``.<name>.staging-XXXX`` beside ``dest`` (same file system); the block
      writes the complete new set there (nothing is visible at ``dest`` yet);
    - if the block succeeds, the staging folder becomes ``dest`` in one atomic step (an exchange
      with the old folder when there is one, then the old set is deleted): a reader sees the old
      set or the new one, never a mix; the new folder holds a ``.knexa-set`` marker;
    - if the block raises (Ctrl-C included), the staging folder is deleted and ``dest`` is untouched;
    - the old set is *replaced*, not merged: a command that adds to a folder must copy what it
      keeps, or publish its own subfolder (one per run); a non-empty ``dest`` without the marker
      is refused (``foreign_ok`` allows it, for a folder whose path is knexa's own layout);
    - after ``kill -9`` a ``.<name>.staging-*`` folder may remain; the next publish removes it.
    Unwritable places raise :class:`~knexa_core.errors.OutputError` (one line).
    """
    dest = Path(dest)
    check_set_destination(dest, foreign_ok)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _clear_leftovers(dest)
        stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.staging-", dir=dest.parent))
    except OSError as exc:
        raise output_error(dest, exc) from None
    try:
        yield stage
        (stage / SET_MARKER).write_text("published by knexa; replaced as a whole by the next run\n")
        os.chmod(stage, 0o777 & ~_umask())
        if dest.exists() and _exchange(stage, dest):
            shutil.rmtree(stage)  # now the old set
        else:
            if dest.exists():
                os.rename(dest, stage.with_name(stage.name + "-old"))
            os.rename(stage, dest)
            shutil.rmtree(stage.with_name(stage.name + "-old"), ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise output_error(dest, exc) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


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
    """Read a JSON file; a missing, unreadable or malformed file raises ``error`` naming the file
    (and, for a parse error, the line and column)."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{p}: file not found") from None
    except json.JSONDecodeError as exc:
        raise error(f"{p}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 JSON") from None
    except (ValueError, RecursionError) as exc:  # a huge integer, nesting too deep
        raise error(f"{p}: unreadable JSON ({type(exc).__name__}); fix the file") from None
    except OSError as exc:  # a directory, no permission
        raise error(f"{p}: cannot be read ({exc.strerror or exc}); pass a readable JSON file") from None


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (provenance of inputs and artifacts)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_png(fig: Any, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG atomically, without the version-dependent software tag."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return Path(path)
