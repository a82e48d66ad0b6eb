"""Shared fixtures: the repository root, MBPP (resolved as everywhere else), and the papermill helper."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from knexa_core.book import notebooks
from knexa_core.book.profiles import notebook_params
from knexa_core.data.loaders import HOW_TO_SUPPLY, resolve_mbpp_path
from knexa_core.data.mbpp_hub import hub_mbpp_path
from knexa_core.errors import DataNotFoundError
from knexa_core.paths import repo_root

ROOT = repo_root()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def mbpp_path() -> Path:
    """The full MBPP (974 problems): ``$KNEXA_MBPP``, else the Hugging Face hub's cached copy.

    Tests that need it are skipped, with the one-line reason, only when neither is available
    (a fresh offline clone); ``.ci/run`` sets ``KNEXA_MBPP``.
    """
    try:
        return resolve_mbpp_path() or hub_mbpp_path(HOW_TO_SUPPLY)
    except DataNotFoundError as exc:
        pytest.skip(str(exc))


def run_notebook(name: str, tmp_path: Path, profile: str = "smoke", **overrides: Any) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>.py`` through papermill with ``profile``'s parameters.

    ``out_dir`` and ``figures_dir`` (when the notebook declares them) are redirected into
    ``tmp_path``; ``overrides`` replace any parameter. Raises NotebookError on a failing cell.
    """
    source = ROOT / "notebooks" / f"{name}.py"
    known = notebooks.notebook_parameters(source)
    params = notebook_params(profile, name)
    redirect = {"out_dir": str(tmp_path / "out"), "figures_dir": str(tmp_path / "figures"), "profile": profile}
    params.update({k: v for k, v in redirect.items() if k in known})
    params.update(overrides)
    return notebooks.execute(source, tmp_path / f"{name}.ipynb", params, cwd=ROOT / "notebooks")


@pytest.fixture
def notebook_runner(tmp_path: Path):
    """``notebook_runner("03_cpm_simulation", num_rounds=3)`` runs a chapter on the smoke profile."""
    return lambda name, **kw: run_notebook(name, tmp_path, **kw)
