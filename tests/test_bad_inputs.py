"""Every bad input of the hostile-tester audit gives exit status 1, one ``error:`` line naming
what is wrong, and no output file (issue 13). Inputs are built here; commands run in-process."""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Callable

import pytest
from test_artifacts import write_paper_set

from knexa_core.cli import main

GOOD_MBPP = {"task_id": 11, "text": "Return one.", "code": "def one():\n    return 1\n",
             "test_list": ["assert one() == 1"]}


HE_RECORD = {"task_id": "HumanEval/0", "prompt": "def f():\n", "canonical_solution": "    return 1\n",
             "test": "def check(c):\n    assert c() == 1\n", "entry_point": "f"}
_BLOB = gzip.compress("".join(json.dumps(HE_RECORD | {"task_id": f"HumanEval/{i}"}) + "\n"
                              for i in range(2000)).encode())
TRUNCATED = _BLOB[: len(_BLOB) // 2]  # a download cut in the middle


def jsonl(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def samples(tmp: Path, completion: object = "    return 1\n", name: str = "s.jsonl") -> Path:
    return jsonl(tmp / name, {"task_id": "HumanEval/0", "completion": completion})


def evaluate(tmp: Path, path: Path, *extra: str) -> list[str]:
    return ["evaluate", "--samples", str(path), "--benchmark", "humaneval", "--no-codebleu", "--k", "1", *extra]


def mbpp(tmp: Path, *records: dict) -> list[str]:
    return ["evaluate", "--samples", str(jsonl(tmp / "m.jsonl", {"task_id": "MBPP/11", "completion": "x"})),
            "--benchmark", "mbpp", "--mbpp", str(jsonl(tmp / "mbpp.jsonl", *records)), "--k", "1"]


def raw(tmp: Path, name: str, data: bytes) -> Path:
    (tmp / name).write_bytes(data)
    return tmp / name


def directory(tmp: Path, name: str) -> Path:
    (tmp / name).mkdir()
    return tmp / name


def splits(tmp: Path, *extra: str) -> list[str]:
    return ["splits", "--out", str(tmp / "out"), *extra]


def simulate(tmp: Path, *extra: str) -> list[str]:
    return ["simulate", "--clients", "4", "--rounds", "2", "--seeds", "0", "--out", str(tmp / "sim"), *extra]


def reproduce(tmp: Path, csv: Path) -> list[str]:
    return ["reproduce", "--artifacts", str(write_paper_set(tmp / "art")), "--csv", str(csv)]


CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "samples not UTF-8": (lambda t: evaluate(t, raw(t, "s.jsonl", b'{"task_id": "HumanEval/0", "completion": "\xff"}\n')),
                          "not UTF-8"),
    "completion with a lone surrogate": (lambda t: evaluate(t, samples(t, "\ud800")), "lone surrogate"),
    "completion null": (lambda t: evaluate(t, samples(t, None)), "'completion' must be a string"),
    "completion an integer": (lambda t: evaluate(t, samples(t, 5)), "'completion' must be a string"),
    "completion a list": (lambda t: evaluate(t, samples(t, ["x"])), "'completion' must be a string"),
    "timeout nan": (lambda t: evaluate(t, samples(t), "--timeout", "nan"), "timeout must be"),
    "timeout inf": (lambda t: evaluate(t, samples(t), "--timeout", "inf"), "timeout must be"),
    "timeout 1e308": (lambda t: evaluate(t, samples(t), "--timeout", "1e308"), "timeout must be"),
    "results path is a directory": (lambda t: [directory(t, "s_results.jsonl"), evaluate(t, samples(t))][1],
                                    "is a directory"),
    "summary path is a directory": (lambda t: [directory(t, "s_summary.json"), evaluate(t, samples(t))][1],
                                    "is a directory"),
    "MBPP task_id not an integer": (lambda t: mbpp(t, GOOD_MBPP | {"task_id": "eleven"}), "must be an integer"),
    "MBPP code null": (lambda t: mbpp(t, GOOD_MBPP | {"code": None}), "'code' must be a string"),
    "MBPP text not a string": (lambda t: mbpp(t, GOOD_MBPP | {"text": 5}), "'text' must be a string"),
    "MBPP duplicate task ids": (lambda t: mbpp(t, GOOD_MBPP, GOOD_MBPP), "appears more than once"),
    "HumanEval gzip corrupt": (lambda t: splits(t, "--humaneval", str(raw(t, "he.jsonl.gz", b"\x1f\x8bnot gzip"))),
                               "cannot be read"),
    "HumanEval gzip truncated": (lambda t: splits(t, "--humaneval", str(raw(t, "he.jsonl.gz", TRUNCATED))),
                                 "cannot be read"),
    "roster not UTF-8": (lambda t: splits(t, "--roster", str(raw(t, "r.json", b'{"clients": "\xff"}'))), "not UTF-8"),
    "roster is a directory": (lambda t: splits(t, "--roster", str(directory(t, "r.json"))), "cannot be read"),
    "splits --out is a file": (lambda t: ["splits", "--out", str(raw(t, "out", b"x"))], "not a folder"),
    "simulate --out is a file": (lambda t: ["simulate", "--out", str(raw(t, "sim", b"x"))], "not a folder"),
    "simulate --out under a file": (lambda t: ["simulate", "--out", str(raw(t, "f", b"x") / "sim")], "not a folder"),
    "simulate --lam inf": (lambda t: simulate(t, "--lam", "inf"), "--lam > 0"),
    "simulate --beta0 inf": (lambda t: simulate(t, "--beta0", "inf"), "--beta0 >= 0"),
    "simulate --seeds 0 0": (lambda t: simulate(t, "--seeds", "0", "0"), "repeats a value"),
    "reproduce --csv is a directory": (lambda t: reproduce(t, directory(t, "t4.csv")), "cannot write"),
    "reproduce --csv under a file": (lambda t: reproduce(t, raw(t, "f", b"x") / "t4.csv"), "cannot write"),
}


def files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_error_line_and_writes_nothing(case, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KNEXA_MBPP", raising=False)  # splits falls back to HumanEval alone: fast
    build, expected = CASES[case]
    argv = build(tmp_path)
    before = files(tmp_path)
    code = main(argv)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], err
    assert files(tmp_path) == before  # nothing written, not even a temporary file
