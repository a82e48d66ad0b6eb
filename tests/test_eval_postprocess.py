"""Completion post-processing: stop sequences and indentation repair."""
from __future__ import annotations

import pytest

from knexa_core.eval.postprocess import clean_completion, fix_indentation, truncate_at_stops


@pytest.mark.parametrize("tail", ["def helper():\n    pass\n", "class A:\n    pass\n",
                                  "if __name__ == '__main__':\n    main()\n", "print(f(3))\n"])
def test_body_is_cut_at_top_level_stop(tail):
    body = "    x = 1\n    return x\n\n"
    assert truncate_at_stops(body + tail) == body


def test_indented_def_and_print_inside_the_body_are_kept():
    body = "    def inner(y):\n        print(y)\n        return y\n    return inner(1)\n"
    assert truncate_at_stops(body) == body


def test_program_kind_keeps_helper_functions_and_cuts_driver_code():
    code = "def helper(x):\n    return x\n\ndef f(x):\n    return helper(x)\n"
    assert clean_completion(code + "\nprint(f(2))\nassert f(1) == 1\n", kind="program") == code


@pytest.mark.parametrize("raw, fixed", [
    ("return 1", "    return 1\n"),  # body at column 0
    ("\treturn 1\n", "    return 1\n"),  # tab
    ("x = 1\n    return x\n", "    x = 1\n    return x\n"),  # first line lost its indentation
    ("for v in xs:\n        s += v\n    return s\n", "    for v in xs:\n        s += v\n    return s\n"),
    ("if a:\n        return 1\n", "    if a:\n        return 1\n"),  # block opener, body deeper
    ("        return 1\n", "    return 1\n"),  # over-indented
    ("", ""),
])
def test_fix_indentation(raw, fixed):
    assert fix_indentation(raw) == fixed


def test_cleaned_body_runs_after_its_prompt():
    prompt = "def f(xs):\n    \"\"\"Sum.\"\"\"\n"
    body = clean_completion("s = 0\n    for v in xs:\n        s += v\n    return s\n\ndef g():\n    pass")
    namespace: dict = {}
    exec(prompt + body, namespace)  # our own trusted test code, not a model's
    assert namespace["f"]([1, 2, 3]) == 6
    with pytest.raises(ValueError):
        clean_completion("x", kind="other")
