"""Tests of knexa_core.data.loaders: HumanEval and MBPP as Problems, MBPP resolution, bad input."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from knexa_core.data import CATEGORIES, Problem, load_humaneval, load_mbpp
from knexa_core.data.loaders import MBPP_ENV, mbpp_entry_point, read_jsonl
from knexa_core.errors import DataError

MBPP_RECORD = {"text": "Write a function to add two numbers.", "code": "def add(a, b):\r\n    return a + b",
               "task_id": 7, "test_setup_code": "", "test_list": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
               "challenge_test_list": []}


@pytest.fixture(scope="module")
def humaneval() -> list[Problem]:
    return load_humaneval()


@pytest.fixture(scope="module")
def mbpp(mbpp_path) -> list[Problem]:
    return load_mbpp(mbpp_path)


def _runs(program: str) -> bool:
    return subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=30).returncode == 0


def test_humaneval_fields(humaneval):
    # Execute: the bundled file. Assert: 164 problems shaped as the evaluation harness expects.
    assert len(humaneval) == 164
    first = humaneval[0]
    assert first.task_id == "HumanEval/0" and first.source == "humaneval"
    assert first.entry_point == "has_close_elements"
    assert first.prefix == first.prompt and first.prompt.rstrip().endswith('"""')
    assert "def check(candidate)" in first.test
    assert first.test.rstrip().endswith("check(has_close_elements)")
    assert all(p.category in CATEGORIES for p in humaneval)


def test_humaneval_prompts_hold_no_solution_body(humaneval):
    for p in humaneval:
        assert p.reference.strip() not in p.prompt, p.task_id


def test_mbpp_fields(mbpp):
    assert len(mbpp) == 974
    assert [p.task_id for p in mbpp[:2]] == ["MBPP/1", "MBPP/2"]
    p = mbpp[10]  # task 11: remove first and last occurrence of a character
    assert p.task_id == "MBPP/11" and p.source == "mbpp" and p.prefix == ""
    assert p.entry_point == "remove_Occ"
    assert p.prompt.startswith("Write a python function to remove first and last occurrence")
    assert 'assert remove_Occ("hello","l") == "heo"' in p.prompt
    assert p.test.count("assert remove_Occ") == 3 and "\r" not in p.reference


def test_mbpp_prompts_hold_no_gold_code(mbpp):
    for p in mbpp:
        assert p.reference.strip() not in p.prompt, p.task_id
        defs = [ln.strip() for ln in p.reference.splitlines() if ln.strip().startswith(("def ", "class "))]
        assert not any(d in p.prompt for d in defs), p.task_id


def test_mbpp_setup_code_precedes_asserts(mbpp):
    p = next(q for q in mbpp if q.task_id == "MBPP/927")
    assert p.test.index("root = Node(1)") < p.test.index("assert (max_height(root)) == 3")
    assert p.entry_point == "max_height"


def test_reference_programs_pass_their_tests(humaneval, mbpp):
    # A few of each source, including MBPP setup code and an entry point called inside int(...).
    chosen = humaneval[:2] + [p for p in mbpp if p.task_id in ("MBPP/11", "MBPP/367", "MBPP/912")]
    for p in chosen:
        assert _runs(p.program(p.reference)), p.task_id
    wrong = chosen[0].program("    return None\n")
    assert not _runs(wrong)


def test_entry_point_is_the_called_function_the_code_defines():
    code = "def binomial_coeff(n, k):\n    return 1\ndef lobb_num(n, m):\n    return 2\n"
    assert mbpp_entry_point(code, "assert int(lobb_num(5, 3)) == 35") == "lobb_num"
    assert mbpp_entry_point("", "assert (Diff([1], [2])) == [1]") == "Diff"


def test_mbpp_explicit_path_beats_env(tmp_path, monkeypatch):
    mine = tmp_path / "mine.jsonl"
    mine.write_text(json.dumps(MBPP_RECORD) + "\n", encoding="utf-8")
    monkeypatch.setenv(MBPP_ENV, str(tmp_path / "missing.jsonl"))
    problems = load_mbpp(mine)
    assert [p.task_id for p in problems] == ["MBPP/7"] and problems[0].entry_point == "add"
    assert problems[0].reference == "def add(a, b):\n    return a + b"


def test_mbpp_from_env(tmp_path, monkeypatch):
    env_file = tmp_path / "env.jsonl"
    env_file.write_text(json.dumps(MBPP_RECORD) + "\n", encoding="utf-8")
    monkeypatch.setenv(MBPP_ENV, str(env_file))
    assert [p.task_id for p in load_mbpp()] == ["MBPP/7"]


def test_mbpp_env_pointing_nowhere_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv(MBPP_ENV, str(tmp_path / "missing.jsonl"))
    with pytest.raises(DataError, match="missing.jsonl"):
        load_mbpp()


def test_mbpp_unavailable_says_how_to_supply(monkeypatch):
    monkeypatch.delenv(MBPP_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(DataError, match=r"--mbpp PATH.*KNEXA_MBPP"):
        load_mbpp()


def test_malformed_line_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(MBPP_RECORD) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl, line 2: malformed JSON"):
        load_mbpp(bad)


def test_missing_field_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    record = {k: v for k, v in MBPP_RECORD.items() if k != "code"}
    bad.write_text("\n" + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 2: record lacks field\(s\) \['code'\]"):
        load_mbpp(bad)


def test_humaneval_from_explicit_gz(tmp_path):
    record = {"task_id": "HumanEval/0", "prompt": "def f(x):\n    \"\"\"Double x.\"\"\"\n",
              "canonical_solution": "    return 2 * x\n", "entry_point": "f",
              "test": "def check(candidate):\n    assert candidate(2) == 4\n"}
    path = tmp_path / "he.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    (p,) = load_humaneval(path)
    assert p.test.rstrip().endswith("check(f)") and _runs(p.program(p.reference))


def test_read_jsonl_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        list(read_jsonl(Path(tmp_path / "nope.jsonl")))


def test_stored_category_is_what_classify_gives(humaneval, mbpp):
    from knexa_core.data import classify

    assert [p.task_id for p in humaneval + mbpp if classify(p) != p.category] == []
