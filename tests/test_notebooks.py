"""Paired notebooks: sync, parameters cell, and the papermill helper (on real and crafted notebooks)."""
from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

from knexa_core.book import notebooks
from knexa_core.book.build import toc_chapters
from knexa_core.book.parameters import ParameterError
from knexa_core.errors import NotebookError

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks").glob("*.py"))

GOOD = '''# %% [markdown]
# # Demo

# %% tags=["parameters"]
n: int = 3  # how many
label: str = "x"  # a name

# %%
value = n * 2
print(label, value)
'''


def write_pair(tmp_path: Path, text: str, name: str = "demo") -> Path:
    py = tmp_path / f"{name}.py"
    py.write_text(text)
    jupytext.write(jupytext.read(py), py.with_suffix(".ipynb"), fmt="ipynb")
    return py


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_committed_notebook_is_paired_and_parameterized(py: Path) -> None:
    assert notebooks.pairing_problems(py) == []
    params = notebooks.notebook_parameters(py)
    assert "out_dir" in params


def test_every_notebook_is_a_toc_chapter_and_back() -> None:
    chapters = set(toc_chapters(ROOT / "book"))
    assert chapters == {p.stem for p in SOURCES}


def test_in_sync_pair_has_no_problems(tmp_path: Path) -> None:
    assert notebooks.pairing_problems(write_pair(tmp_path, GOOD)) == []


def test_edited_py_is_out_of_sync(tmp_path: Path) -> None:
    py = write_pair(tmp_path, GOOD)
    py.write_text(GOOD.replace("n * 2", "n * 3"))
    assert any("out of sync" in p for p in notebooks.pairing_problems(py))


def test_missing_twin_and_outputs_are_reported(tmp_path: Path) -> None:
    py = write_pair(tmp_path, GOOD)
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text="6\n")]
    nbformat.write(nb, py.with_suffix(".ipynb"))
    assert any("has outputs" in p for p in notebooks.pairing_problems(py))
    py.with_suffix(".ipynb").unlink()
    assert any("missing" in p for p in notebooks.pairing_problems(py))


def test_untagged_first_code_cell_is_rejected(tmp_path: Path) -> None:
    py = write_pair(tmp_path, GOOD.replace(' tags=["parameters"]', ""))
    with pytest.raises(NotebookError, match="not tagged 'parameters'"):
        notebooks.notebook_parameters(py)


@pytest.mark.parametrize("line", ["n = 3  # untyped", "n: int = 1 + 2  # derived",
                                  "import os", "print('hi')", "n: int = len('ab')",
                                  "n: int = 3  # paper: k=3"])
def test_parameters_cell_accepts_only_typed_literals(line: str) -> None:
    with pytest.raises(NotebookError, match="parameters cell line 1"):
        notebooks.parse_parameters(line + "\n")


def test_parameters_are_parsed_with_defaults() -> None:
    src = 'a: int = 1  # x\nb: list[int] = [0, 1]  # y\nc: str = "z"  # z\n'
    assert notebooks.parse_parameters(src) == {"a": 1, "b": [0, 1], "c": "z"}


def test_execute_injects_parameters(tmp_path: Path) -> None:
    py = write_pair(tmp_path, GOOD)
    nb = notebooks.execute(py, tmp_path / "out.ipynb", {"n": 21})
    assert nb.cells[-1].outputs[0]["text"] == "x 42\n"
    assert (tmp_path / "out.ipynb").is_file()


def test_execute_rejects_unknown_parameter(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) \['m'\]"):
        notebooks.execute(write_pair(tmp_path, GOOD), tmp_path / "o.ipynb", {"m": 1})


def test_execute_rejects_wrong_type_before_starting_a_kernel(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"^demo.py: parameter 'n' expects int, got 'ten' \(str\)$"):
        notebooks.execute(write_pair(tmp_path, GOOD), tmp_path / "o.ipynb", {"n": "ten"})
    assert not (tmp_path / "o.ipynb").exists()


def test_kernel_tcp_warning_is_silenced(tmp_path: Path, capfd) -> None:
    notebooks.execute(write_pair(tmp_path, GOOD), tmp_path / "o.ipynb", {})
    assert "without encryption" not in capfd.readouterr().err


def test_failing_cell_names_notebook_cell_and_traceback(tmp_path: Path) -> None:
    py = write_pair(tmp_path, GOOD.replace("value = n * 2", "value = n / 0"), name="broken")
    with pytest.raises(NotebookError) as err:
        notebooks.execute(py, tmp_path / "o.ipynb", {})
    msg = str(err.value)
    assert "broken.py" in msg and "value = n / 0" in msg and "ZeroDivisionError" in msg
    assert "\x1b[" not in msg


def test_kernel_flag_is_passed_once_whatever_the_kernelspec(tmp_path: Path, monkeypatch, capfd) -> None:
    spec = tmp_path / "kernels" / "loud" / "kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text('{"argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"], '
                    '"display_name": "loud", "language": "python"}')
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    assert notebooks._quiet_arguments("loud") == [notebooks.KERNEL_QUIET]
    nb = notebooks.execute(write_pair(tmp_path, GOOD), tmp_path / "o.ipynb", {"n": 1}, kernel_name="loud")
    assert nb.cells[-1].outputs[0]["text"] == "x 2\n"
    assert "without encryption" not in capfd.readouterr().err
    prefix_spec = tmp_path / "prefix" / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    prefix_spec.parent.mkdir(parents=True)
    prefix_spec.write_text(spec.read_text())
    notebooks.quiet_kernelspec(tmp_path / "prefix")
    notebooks.quiet_kernelspec(tmp_path / "prefix")  # idempotent: the flag is added once
    assert prefix_spec.read_text().count(notebooks.KERNEL_QUIET) == 1
