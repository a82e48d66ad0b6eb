"""Wall time of ``make book`` from a fresh clone, installs excluded (the target: about 45 minutes
for the ``cpu`` profile on a 2-core machine without GPU).

Clones this checkout's last commit into a temporary folder, runs ``make venv`` there (timed and
reported, not counted), then ``make book``. By default the tiny bases are built from nothing, as on
a machine that never built them (``KNEXA_CACHE`` points at an empty folder); ``--warm`` uses your
cache instead. Prints the wall times, the pretraining of the tiny bases (from their cache folders'
times) and each executed notebook's papermill duration. The machine should be otherwise idle.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[int, float]:
    """Return code and wall seconds of ``cmd``, its output in ``log``."""
    start = time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    return code, time.perf_counter() - start


def durations(clone: Path) -> list[tuple[str, float]]:
    """(notebook, seconds) of every executed chapter page and batch run of the build."""
    out = []
    for path in sorted((clone / "book" / "chapters").glob("*.ipynb")) + sorted((clone / "book" / "batch").glob("*/*.ipynb")):
        seconds = json.loads(path.read_text()).get("metadata", {}).get("papermill", {}).get("duration")
        if seconds is not None:
            out.append((str(path.relative_to(clone / "book")), float(seconds)))
    return out


def pretraining(cache: Path) -> float | None:
    """Seconds from the first lock file of a tiny base to the last finished base (None: none built)."""
    locks = [p.stat().st_mtime for p in cache.glob("tiny-*.lock")]
    bases = [p.stat().st_mtime for p in cache.glob("tiny-*") if p.is_dir()]
    return max(bases) - min(locks) if locks and bases else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu", help="book profile (default: cpu)")
    parser.add_argument("--warm", action="store_true", help="use the tiny bases of your cache instead of building them")
    parser.add_argument("--keep", action="store_true", help="keep the clone and its logs (the path is printed)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="knexa-bench-book-"))
    clone, cache = work / "clone", work / "cache"
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = dict(os.environ)
    if not args.warm:
        cache.mkdir()
        env["KNEXA_CACHE"] = str(cache)
    code, venv_seconds = run(["make", "venv"], clone, env, work / "venv.log")
    if code:
        print(f"error: make venv failed (exit {code}); see {work / 'venv.log'}", file=sys.stderr)
        return 1
    code, book_seconds = run(["make", "book", f"PROFILE={args.profile}"], clone, env, work / "book.log")
    print(f"commit {commit}, profile {args.profile}, tiny bases {'cached' if args.warm else 'built from nothing'}")
    print(f"make venv (installs, not counted): {venv_seconds / 60:.1f} min")
    print(f"make book: {book_seconds / 60:.1f} min ({book_seconds:.0f} s), exit {code}")
    if not args.warm and (seconds := pretraining(cache)) is not None:
        print(f"  pretraining the tiny bases (two at once): {seconds / 60:.1f} min")
    for name, seconds in durations(clone):
        print(f"  {name}: {seconds:.0f} s")
    if args.keep or code:
        print(f"clone and logs kept in {work}")
    else:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return 1 if code else 0


if __name__ == "__main__":
    sys.exit(main())
