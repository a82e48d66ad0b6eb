"""Clean raw model completions before they are executed (appendix "Evaluation harness").

A language model keeps writing after the function it was asked for: a new top-level ``def`` or
``class``, an ``if __name__ == "__main__":`` block, a top-level ``print(``. We cut the completion
at the first such line. A HumanEval-style completion is the *body* of a function whose signature
is in the prompt, so its lines must be indented under it; :func:`fix_indentation` repairs the
common failure modes (a first line without indentation, tabs, a body at column 0).
"""
from __future__ import annotations

import re
import textwrap

# top-level line starts that end a function body (HumanEval: the completion is a body)
BODY_STOPS = ("def ", "class ", "async def ", "@", "if __name__", "print(")
# top-level line starts that end a whole-program completion (MBPP: the completion defines the
# function itself, and may define helpers): only test or driver code is cut
PROGRAM_STOPS = ("if __name__", "print(", "assert ")
INDENT = "    "  # PEP 8, and the indentation of every HumanEval prompt


def truncate_at_stops(text: str, stops: tuple[str, ...] = BODY_STOPS) -> str:
    """Cut ``text`` at the first line that starts at column 0 with one of ``stops``.

    Parameters
    ----------
    text : a raw completion.
    stops : line prefixes that start code which does not belong to the completion.

    Returns
    -------
    str
        The text before that line (unchanged when no line matches).
    """
    pattern = re.compile(r"^(?:" + "|".join(re.escape(s) for s in stops) + ")", re.MULTILINE)
    match = pattern.search(text)
    return text if match is None else text[: match.start()]


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def fix_indentation(body: str, indent: str = INDENT) -> str:
    """Re-indent a function body so that its outermost lines sit one level (``indent``) deep.

    Leading tabs become four spaces. When only the first line lacks indentation (a frequent
    tokenization artifact) it is aligned with the outermost level of the rest, or one level
    shallower if it opens a block that would otherwise not be deeper than itself. The whole body is
    then dedented and indented by ``indent``.
    """
    detab = re.compile(r"^\t+")
    lines = [detab.sub(lambda m: INDENT * len(m.group()), ln) for ln in body.split("\n")]
    code = [i for i, ln in enumerate(lines) if ln.strip()]
    if not code:
        return ""
    first, rest = code[0], code[1:]
    if rest and _indent_of(lines[first]) == 0:
        depth = min(_indent_of(lines[i]) for i in rest)  # the body's outermost level
        if lines[first].rstrip().endswith(":") and _indent_of(lines[rest[0]]) <= depth:
            depth = max(depth - len(indent), 0)  # its block would not be deeper than itself
        lines[first] = " " * depth + lines[first]
    dedented = textwrap.dedent("\n".join(lines[first:]))
    return textwrap.indent(dedented, indent, lambda ln: bool(ln.strip())).rstrip() + "\n"


def clean_completion(text: str, kind: str = "body") -> str:
    """Truncate at the stop lines of ``kind`` and, for a ``"body"``, fix its indentation.

    Parameters
    ----------
    text : the raw completion.
    kind : ``"body"`` (HumanEval: the function body after the prompt) or ``"program"``
        (MBPP: a whole function definition; only trailing test/driver code is cut).
    """
    if kind == "body":
        return fix_indentation(truncate_at_stops(text, BODY_STOPS))
    if kind == "program":
        return truncate_at_stops(text, PROGRAM_STOPS).rstrip() + "\n"
    raise ValueError(f"kind must be 'body' or 'program', got {kind!r}")


def completion_kind(source: str) -> str:
    """The completion kind of a problem ``source``: HumanEval and synthetic bodies, MBPP programs."""
    return "program" if source == "mbpp" else "body"
