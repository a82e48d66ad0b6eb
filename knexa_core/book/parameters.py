"""Notebook parameters checked against the annotations of the parameters cell.

Every chapter's first code cell declares its parameters as ``name: type = literal  # why``. The
second cell is the same two lines in every chapter::

    from knexa_core.book.parameters import check_parameters
    check_parameters(globals())

It fails at once, in one line naming the parameter, the expected type and the value given, when
papermill (or JupyterLab) supplies a wrong type or an unknown name, and shows the values papermill
injected as a short table. ``knexa book`` and ``knexa run`` apply the same check to a profile's
values before starting a kernel (:func:`check_values`).
"""
from __future__ import annotations

import ast
import typing
from typing import Any, Mapping

from IPython.display import Markdown

from knexa_core.errors import ConfigError

SAFE_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict, "tuple": tuple}
INJECTED_MARK = "# Parameters"  # first line of the cell papermill inserts after the parameters cell


class ParameterError(ConfigError):
    """A parameter has the wrong type or an unknown name. Shown in a notebook as its one line."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of the traceback
        return [f"{type(self).__name__}: {self}"]


def annotation_types(source: str) -> dict[str, Any]:
    """The declared type of every ``name: type = value`` of a parameters cell's source."""
    types = {}
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            try:
                types[stmt.target.id] = eval(compile(ast.Expression(stmt.annotation), "<annotation>", "eval"),
                                             {"__builtins__": {}}, dict(SAFE_TYPES))
            except Exception:
                raise ConfigError(f"parameter {stmt.target.id!r}: annotation {ast.unparse(stmt.annotation)!r} "
                                  f"is not one of {', '.join(SAFE_TYPES)} (or list[int] etc.)") from None
    return types


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) if typing.get_origin(tp) is None else str(tp)


def _matches(tp: Any, value: Any) -> bool:
    origin, args = typing.get_origin(tp) or tp, typing.get_args(tp)
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if not isinstance(origin, type) or not isinstance(value, origin):
        return False
    if origin in (list, tuple) and len(args) == 1:
        return all(_matches(args[0], v) for v in value)
    return True


def type_problem(name: str, tp: Any, value: Any) -> str:
    """One line describing why ``value`` does not fit ``tp`` (``""`` when it does)."""
    if _matches(tp, value):
        return ""
    line = f"parameter {name!r} expects {_name(tp)}, got {value!r} ({type(value).__name__})"
    if (typing.get_origin(tp) or tp) in (list, tuple, dict) and isinstance(value, str):
        line += f"; papermill passes lists with -y, e.g. -y '{name}: [0, 1]' (knexa run: -p {name} '[0, 1]')"
    return line


def check_values(types: Mapping[str, Any], values: Mapping[str, Any], where: str = "") -> None:
    """Raise :class:`ParameterError` for the first unknown name or wrongly typed value."""
    prefix = f"{where}: " if where else ""
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ParameterError(f"{prefix}unknown parameter(s) {unknown}; known: {sorted(types)}")
    for name, value in values.items():
        problem = type_problem(name, types[name], value)
        if problem:
            raise ParameterError(prefix + problem)


def injected_values(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Names and values set by papermill's injected-parameters cell (``{}`` when there is none)."""
    cells = [c for c in namespace.get("In", []) if isinstance(c, str) and c.startswith(INJECTED_MARK)]
    if not cells:
        return {}
    names = [t.id for stmt in ast.parse(cells[-1]).body if isinstance(stmt, ast.Assign)
             for t in stmt.targets if isinstance(t, ast.Name)]
    return {n: namespace[n] for n in names if n in namespace}


def check_parameters(namespace: Mapping[str, Any]) -> Markdown | None:
    """Check a notebook's parameters in its kernel; return the injected values as a table.

    ``namespace`` is the notebook's ``globals()``: the parameters cell's annotations are in its
    ``__annotations__``, the papermill-injected cell (if any) in its input history ``In``.
    """
    types = dict(namespace.get("__annotations__", {}))
    if not types:
        raise ParameterError("no annotated parameters found: run the parameters cell first")
    injected = injected_values(namespace)
    check_values(types, injected)
    for name, tp in types.items():
        problem = type_problem(name, tp, namespace.get(name))
        if problem:
            raise ParameterError(problem)
    if not injected:
        return None
    rows = "\n".join(f"| `{k}` | `{v!r}` |" for k, v in injected.items())
    return Markdown("Parameters set for this run (the others keep the defaults above):\n\n"
                    f"| parameter | value |\n|---|---|\n{rows}\n")
