"""Paired notebooks: the jupytext ``.py`` source, its ``.ipynb`` twin, the papermill parameters cell.

The ``.py`` (``py:percent``) file is the reviewed source; the ``.ipynb`` is committed without
outputs and must hold the same cells. The first code cell is tagged ``parameters`` and holds only
typed literal assignments (``num_rounds: int = 20  # why``), which papermill overrides.
"""
from __future__ import annotations

import ast
import io
import json
import sys
import tokenize
import re
from pathlib import Path
from typing import Any, Mapping

import jupytext
import nbformat

from knexa_core.book.parameters import annotation_types, check_values
from knexa_core.errors import NotebookError
from knexa_core.io import write_text

KERNEL_QUIET = "--IPKernelApp.log_level=ERROR"  # the kernel's own log (its TCP warning); user output is unaffected


def quiet_kernelspec(prefix: str | Path = sys.prefix) -> Path:
    """Add :data:`KERNEL_QUIET` to the environment's ``python3`` kernel, so kernels started by
    JupyterLab or the papermill command line keep the TCP warning out of their output too
    (``make venv`` calls this)."""
    path = Path(prefix) / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    if not path.is_file():
        raise NotebookError(f"{path}: no python3 kernel in this environment; reinstall ipykernel")
    spec = json.loads(path.read_text(encoding="utf-8"))
    if KERNEL_QUIET not in spec["argv"]:
        spec["argv"].append(KERNEL_QUIET)
        write_text(path, json.dumps(spec, indent=1) + "\n")
    return path


def _quiet_arguments(kernel_name: str) -> list[str]:
    """``[KERNEL_QUIET]`` unless the kernelspec already passes it (twice is a kernel start error)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv = KernelSpecManager().get_kernel_spec(kernel_name).argv
    except NoSuchKernel:
        return [KERNEL_QUIET]
    return [] if KERNEL_QUIET in argv else [KERNEL_QUIET]


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes (tracebacks, Sphinx output)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def read_source(py_path: str | Path) -> nbformat.NotebookNode:
    """Read a ``py:percent`` notebook source into a notebook object."""
    path = Path(py_path)
    if not path.is_file():
        raise NotebookError(f"{path}: notebook source not found")
    return jupytext.read(path, fmt="py:percent")


def parameters_cell(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The first code cell, which must be tagged ``parameters``."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code:
        raise NotebookError(f"{name}: has no code cell; add a first cell tagged 'parameters'")
    cell = code[0]
    if "parameters" not in cell.get("metadata", {}).get("tags", []):
        raise NotebookError(f"{name}: the first code cell is not tagged 'parameters' "
                            "(start it with '# %% tags=[\"parameters\"]')")
    return cell


def _check_comments(source: str, name: str) -> None:
    """Papermill silently drops a parameter whose trailing comment contains '='; refuse it."""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and "=" in tok.string:
            raise NotebookError(f"{name}: parameters cell line {tok.start[0]}: the comment contains '=', "
                                "which papermill misreads (the parameter would be dropped); reword it")


def parse_parameters(source: str, name: str = "notebook") -> dict[str, Any]:
    """Parse a parameters cell: only ``name: type = literal`` statements are allowed.

    Returns
    -------
    dict
        Parameter name to its default value.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise NotebookError(f"{name}: parameters cell is not valid Python: {exc}") from None
    _check_comments(source, name)
    params: dict[str, Any] = {}
    for stmt in tree.body:
        where = f"{name}: parameters cell line {stmt.lineno}"
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value):
            raise NotebookError(f"{where}: only typed literal assignments like "
                                "'num_rounds: int = 20  # comment' are allowed; move other code to the next cell")
        try:
            params[stmt.target.id] = ast.literal_eval(stmt.value)
        except ValueError:
            raise NotebookError(f"{where}: the value of {stmt.target.id!r} is not a literal; "
                                "compute derived values in the next cell") from None
    return params


def notebook_parameters(py_path: str | Path) -> dict[str, Any]:
    """Default parameters of a paired notebook (validated)."""
    nb = read_source(py_path)
    return parse_parameters(parameters_cell(nb, str(py_path)).source, str(py_path))


def _cell_signature(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source.strip(), tuple(c.get("metadata", {}).get("tags", [])))
            for c in nb.cells]


def pairing_problems(py_path: str | Path) -> list[str]:
    """Problems with a ``.py``/``.ipynb`` pair: missing twin, committed outputs, cells out of sync."""
    py = Path(py_path)
    ipynb = py.with_suffix(".ipynb")
    if not ipynb.is_file():
        return [f"{ipynb}: missing; run 'jupytext --sync {py}'"]
    problems = []
    paired = nbformat.read(ipynb, as_version=4)
    if any(c.get("outputs") or c.get("execution_count") for c in paired.cells if c.cell_type == "code"):
        problems.append(f"{ipynb}: has outputs; clear them with 'make strip' before committing")
    if _cell_signature(paired) != _cell_signature(read_source(py)):
        problems.append(f"{ipynb}: out of sync with {py.name}; run 'jupytext --sync {py}'")
    return problems


def validate_parameters(nb: nbformat.NotebookNode, parameters: Mapping[str, Any], name: str) -> None:
    """Check names and types of ``parameters`` against ``nb``'s parameters cell (:class:`ParameterError`)."""
    source = parameters_cell(nb, name).source
    parse_parameters(source, name)
    check_values(annotation_types(source), parameters, name)


def execute(
    py_path: str | Path,
    output_path: str | Path,
    parameters: Mapping[str, Any],
    cwd: str | Path | None = None,
    kernel_name: str = "python3",
    timeout: int | None = None,
) -> nbformat.NotebookNode:
    """Execute a notebook source with papermill, injecting ``parameters``.

    Unknown names and values of the wrong type are a :class:`ParameterError` before any kernel
    starts (papermill would only warn). The kernel runs with its own log at ERROR level, so its
    "running over TCP without encryption" warning stays out of the output. On failure raises
    :class:`NotebookError` naming the notebook, the failing cell and the traceback; the executed
    notebook (with the error) is still written to ``output_path`` for inspection.
    """
    import papermill as pm

    py = Path(py_path)
    nb = read_source(py)
    validate_parameters(nb, parameters, py.name)
    nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": "Python 3", "language": "python"}
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    try:
        executed = pm.execute_notebook(nb, str(output_path), parameters=dict(parameters),
                                       cwd=str(cwd or py.parent), kernel_name=kernel_name,
                                       progress_bar=False, execution_timeout=timeout,
                                       extra_arguments=_quiet_arguments(kernel_name))
    except pm.PapermillExecutionError as exc:
        tb = "\n".join(exc.traceback) if exc.traceback else f"{exc.ename}: {exc.evalue}"
        tb = strip_ansi(tb)
        raise NotebookError(f"notebook {py.name} failed in cell {exc.exec_count} "
                            f"(index {exc.cell_index}):\n{exc.source}\n--- traceback ---\n{tb}\n"
                            f"(executed notebook saved to {output_path})") from None
    return hide_injected_cell(executed, output_path)


def hide_injected_cell(nb: nbformat.NotebookNode, path: str | Path) -> nbformat.NotebookNode:
    """Tag papermill's injected-parameters cell ``remove-cell`` (the check cell shows its values as a table)."""
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    write_text(path, nbformat.writes(nb) + "\n")
    return nb
