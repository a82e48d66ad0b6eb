"""MBPP's resolution order: explicit path, KNEXA_MBPP, the hub's cached copy, else one fast error line."""
from __future__ import annotations

import json
import time
from pathlib import Path

import datasets
import pytest

from knexa_core.data import load_mbpp
from knexa_core.data.mbpp_hub import cache_path, hub_mbpp_path, hub_offline_reason, hub_records, write_cache
from knexa_core.errors import DataNotFoundError


def record(task_id: int, name: str = "f") -> dict:
    return {"task_id": task_id, "text": f"Write {name}.", "code": f"def {name}(x):\r\n    return x",
            "test_list": [f"assert {name}(1) == 1"], "test_setup_code": "", "challenge_test_list": []}


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No KNEXA_MBPP, an empty project cache, and a hub endpoint that refuses connections."""
    monkeypatch.delenv("KNEXA_MBPP", raising=False)
    monkeypatch.setenv("KNEXA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_offline_without_any_source_fails_fast_in_one_line(isolated: Path) -> None:
    start = time.monotonic()
    with pytest.raises(DataNotFoundError) as err:
        load_mbpp()
    assert time.monotonic() - start < 5
    msg = str(err.value)
    assert "\n" not in msg and "127.0.0.1 unreachable" in msg and "KNEXA_MBPP" in msg and "--mbpp" in msg


def test_hugging_face_offline_switch_is_respected(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_offline_reason() == "HF_HUB_OFFLINE is set"
    with pytest.raises(DataNotFoundError, match="HF_HUB_OFFLINE is set"):
        hub_mbpp_path("supply it")


def test_cached_copy_is_used_without_network(isolated: Path) -> None:
    write_cache([record(12, "g"), record(11)], cache_path())
    problems = load_mbpp()
    assert [p.task_id for p in problems] == ["MBPP/11", "MBPP/12"]
    assert problems[1].entry_point == "g" and "\r" not in problems[1].reference


def test_explicit_path_then_environment_win_over_the_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_cache([record(11)], cache_path())
    env_file, given = isolated / "env.jsonl", isolated / "given.jsonl"
    write_cache([record(21)], env_file)
    write_cache([record(31)], given)
    monkeypatch.setenv("KNEXA_MBPP", str(env_file))
    assert [p.task_id for p in load_mbpp()] == ["MBPP/21"]
    assert [p.task_id for p in load_mbpp(given)] == ["MBPP/31"]
    monkeypatch.setenv("KNEXA_MBPP", str(isolated / "missing.jsonl"))
    with pytest.raises(DataNotFoundError, match="missing.jsonl \\(KNEXA_MBPP\\)"):
        load_mbpp()  # a wrong variable is an error, never a silent fall-through to the cache


def test_hub_splits_become_one_sorted_jsonl(tmp_path: Path) -> None:
    splits = datasets.DatasetDict({"test": datasets.Dataset.from_list([record(13), record(11)]),
                                   "train": datasets.Dataset.from_list([record(12)])})
    path = write_cache(hub_records(splits), tmp_path / "mbpp.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["task_id"] for line in lines] == [11, 12, 13]
    assert json.loads(lines[0]) == record(11)
    assert [p.task_id for p in load_mbpp(path)] == ["MBPP/11", "MBPP/12", "MBPP/13"]


def test_book_build_says_in_one_line_when_mbpp_is_missing(isolated: Path, capsys) -> None:
    from knexa_core.book.build import warn_without_mbpp
    from knexa_core.paths import repo_root

    sources = [repo_root() / "notebooks" / f"{n}.py" for n in ("01_splits", "03_cpm_simulation")]
    line = warn_without_mbpp({"notebooks": {}}, sources)
    assert line.startswith("warning: MBPP not found") and line.endswith("01_splits will run on HumanEval alone")
    assert capsys.readouterr().err == line + "\n"
    write_cache([record(11)], cache_path())
    assert warn_without_mbpp({"notebooks": {}}, sources) == ""
