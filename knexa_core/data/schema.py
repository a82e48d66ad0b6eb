"""The problem schema shared by the data loaders, the splits and the evaluation harness.

A program is executed as ``prefix + completion + "\\n" + test``: for HumanEval the prefix is the
prompt (signature + docstring) and the completion the body; for MBPP the prefix is empty and the
completion a whole function. ``reference`` is a completion in the same sense, so
``problem.solution(problem.reference)`` is a complete reference program (used by CodeBLEU).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One code-generation problem.

    Attributes
    ----------
    task_id : ``"HumanEval/0"``, ``"MBPP/11"``, ...
    source : ``"humaneval"``, ``"mbpp"`` or ``"synthetic"``.
    prompt : what the model sees (never contains the reference solution).
    entry_point : name of the function the tests call.
    test : executable test code; raises (e.g. ``AssertionError``) when the solution is wrong.
    reference : the reference completion (see module docstring).
    category : one of the 12 categories of :mod:`knexa_core.data.categories` ("" if unclassified).
    prefix : code placed before the completion when executing (HumanEval: the prompt).
    """

    task_id: str
    source: str
    prompt: str
    entry_point: str
    test: str
    reference: str
    category: str = ""
    prefix: str = ""

    def solution(self, completion: str) -> str:
        """The complete program text of ``completion`` (prefix + completion), without tests."""
        return self.prefix + completion

    def program(self, completion: str) -> str:
        """``completion`` with its prefix and the tests appended: what the sandbox runs."""
        return self.solution(completion) + "\n\n" + self.test + "\n"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
