"""``make strip`` / the pre-commit hook: outputs saved by JupyterLab are cleared, cells kept."""
from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import yaml

from knexa_core.book import notebooks
from knexa_core.book.strip import clear_outputs, main

ROOT = Path(__file__).resolve().parent.parent
SOURCE = '# %% tags=["parameters"]\nn: int = 3  # how many\n\n# %%\nprint(n)\n'


def test_outputs_are_cleared_and_the_pair_passes_the_pairing_check(tmp_path: Path) -> None:
    py = tmp_path / "demo.py"
    py.write_text(SOURCE)
    ipynb = py.with_suffix(".ipynb")
    jupytext.write(jupytext.read(py), ipynb, fmt="ipynb")
    nb = nbformat.read(ipynb, as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text="3\n")]
    nb.cells[-1].execution_count = 1
    nb.cells[-1].metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    nbformat.write(nb, ipynb)
    assert any("make strip" in p for p in notebooks.pairing_problems(py))
    assert main([str(ipynb)]) == 1
    assert notebooks.pairing_problems(py) == []
    assert clear_outputs(ipynb) is False  # idempotent: nothing left to clear


def test_pre_commit_hooks_call_the_project_commands() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    entries = {h["id"]: h["entry"] for h in hooks}
    assert entries == {"jupytext-sync": ".venv/bin/jupytext --sync --quiet",
                       "strip-outputs": ".venv/bin/python -m knexa_core.book.strip"}
    makefile = (ROOT / "Makefile").read_text()
    assert "-m knexa_core.book.strip notebooks/*.ipynb" in makefile and "jupytext --sync" in makefile
