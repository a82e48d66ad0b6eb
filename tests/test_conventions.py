"""Repository conventions a newcomer relies on: the README's layout table matches the tree, the
license and citation files agree with pyproject, benchmarks run as documented, and nothing but
.ci/run assumes a folder beside the checkout."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def tracked_files() -> list[str]:
    proc = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip("not a git checkout: the tracked files are unknown")
    return proc.stdout.splitlines()


def layout_paths() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    firsts = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {p.rstrip("/") for cell in firsts for p in re.findall(r"`([^`]+)`", cell)}


def test_readme_layout_lists_exactly_what_exists() -> None:
    listed = layout_paths()
    files = [f for f in tracked_files() if not f.startswith(".")]
    top = {f.split("/")[0] for f in files if "/" in f and not f.startswith("knexa_core/")}
    top |= {f for f in files if "/" not in f and f not in ("README.md",)}
    core = {"/".join(f.split("/")[:2]) for f in files
            if f.startswith("knexa_core/") and f != "knexa_core/__init__.py"}
    missing = sorted((top | core) - listed)
    assert not missing, f"README.md's layout table lacks: {missing}"
    stale = sorted(p for p in listed if not (ROOT / p).exists())
    assert not stale, f"README.md's layout table lists paths that do not exist: {stale}"


def test_license_and_citation_agree_with_pyproject() -> None:
    assert PYPROJECT["license"] == "MIT" and "MIT License" in (ROOT / "LICENSE").read_text()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["license"] == "MIT" and cff["version"] == PYPROJECT["version"]
    assert cff["references"][0]["doi"].startswith("10.1609/aaai")


def test_only_ci_names_the_folder_beside_the_checkout() -> None:
    needle = ".." + "/shared"
    users = [f for f in tracked_files() if (ROOT / f).is_file() and f != ".ci/run"
             and needle in (ROOT / f).read_text(errors="ignore")]
    assert users == [], f"these files assume {needle} beside the checkout: {users}"


@pytest.mark.parametrize("script", sorted((ROOT / "benchmarks").glob("bench_*.py")), ids=lambda p: p.name)
def test_benchmarks_start_as_documented_from_any_folder(script: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(script), "--help"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f".venv/bin/python benchmarks/{script.name}" in (ROOT / "README.md").read_text()


FORBIDDEN_IMPORTS = {  # DESIGN.md: imports point one way; data and cpm know nothing of each other or the book
    "data": ("knexa_core.cpm", "knexa_core.sim", "knexa_core.fl", "knexa_core.book"),
    "cpm": ("knexa_core.data", "knexa_core.sim", "knexa_core.fl", "knexa_core.book", "knexa_core.eval"),
    "fl": ("knexa_core.sim", "knexa_core.book"),  # fl -> cpm, eval, data, artifacts
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN_IMPORTS))
def test_science_packages_do_not_import_the_book_or_each_other(package: str) -> None:
    import ast

    bad = []
    for path in sorted((ROOT / "knexa_core" / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            bad += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN_IMPORTS[package])]
    assert bad == []
