"""The book's scheduler: which chapter waits for which, the order, and a failure stops new work."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from knexa_core.book import build as book
from knexa_core.book import schedule
from knexa_core.errors import BuildError, NotebookError

TOC = """format: jb-book
root: intro
parts:
  - caption: Chapters
    chapters:
      - file: chapters/01_a
      - file: chapters/02_b
      - file: chapters/03_c
"""
# 01_a: a batch (k = 1, 2) plus its page (k = 0); with ``meet``, the page and k = 1 wait for each
# other (so they must run at once); ``hold`` keeps a run busy. 02_b reads 01_a's folder (a profile
# value), 03_c too (its parameter's default). Every notebook logs its start and end.
LOG = '''
import json, os, time
def log(event):
    with open(os.path.join(os.environ["SCHED_DIR"], "log.jsonl"), "a") as f:
        f.write(json.dumps({"who": who, "event": event, "t": time.time()}) + "\\n")
'''
A = ('# %% tags=["parameters"]\nk: int = 0  # batch value\nfail: bool = False  # raise\nhold: int = 0  # seconds\n'
     'meet: bool = False  # rendezvous\nout_dir: str = "o"  # outputs\nartifacts_dir: str = ""  # shared\n\n'
     '# %%\nwho = f"01_a k={k}"' + LOG + 'log("start")\npartner = {0: 1, 1: 0}.get(k) if meet else None\n'
     'if partner is not None:\n    here = lambda j: os.path.join(os.environ["SCHED_DIR"], f"here{j}")\n'
     '    open(here(k), "w").close()\n    deadline = time.time() + 120\n'
     '    while not os.path.exists(here(partner)) and time.time() < deadline:\n        time.sleep(0.1)\n'
     '    assert os.path.exists(here(partner)), "ran alone"\n'
     'assert not fail, "asked to fail"\ntime.sleep(hold)\nos.makedirs(artifacts_dir, exist_ok=True)\n'
     'open(os.path.join(artifacts_dir, f"k{k}"), "w").close(); log("end")\n')
B = ('# %% tags=["parameters"]\nsource_dir: str = ""  # 01_a artifacts\nout_dir: str = "o"  # outputs\n\n'
     '# %%\nwho = "02_b"' + LOG + 'log("start")\nassert sorted(os.listdir(source_dir)) == ["k0", "k1", "k2"], os.listdir(source_dir)\n'
     'log("end")\n')
C = ('# %% tags=["parameters"]\nout_dir: str = "o"  # outputs\nreads: str = "../runs/smoke/01_a"  # a default\n\n'
     '# %%\nwho = "03_c"' + LOG + 'log("start")\nlog("end")\n')


def _project(tmp_path: Path, fail: bool = False) -> Path:
    for d in ("book", "notebooks", "params"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "book" / "_toc.yml").write_text(TOC)
    page, runs = ("{k: 0, fail: true}", "{k: [0, 1, 2], fail: false, hold: 30}") if fail else \
        ("{k: 0, meet: true}", "{k: [0, 1, 2], meet: true}")
    (tmp_path / "params" / "smoke.yaml").write_text(
        f"profile: smoke\nnotebooks:\n  01_a: {page}\n  02_b: {{source_dir: ../runs/smoke/01_a/artifacts}}\n"
        f"  03_c: {{}}\nbatches:\n  01_a: {runs}\n")
    for name, text in (("01_a", A), ("02_b", B), ("03_c", C)):
        (tmp_path / "notebooks" / f"{name}.py").write_text(text)
    return tmp_path


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_reader_waits_for_the_chapter_it_reads_and_its_batch(tmp_path: Path, monkeypatch) -> None:
    root = _project(tmp_path / "p")
    monkeypatch.setenv("SCHED_DIR", str(tmp_path))
    book.execute_chapters("smoke", root)  # 02_b asserts that all three 01_a runs had written their file
    events = _events(tmp_path / "log.jsonl")
    t = {(e["who"], e["event"]): e["t"] for e in events}
    assert len(events) == 10 and {w for w, _ in t} == {"01_a k=0", "01_a k=1", "01_a k=2", "02_b", "03_c"}
    # 02_b started after the page (k=0) and the batch (k=1, k=2) of the chapter it reads; the page
    # and k=1 ran at once (each waited for the other: run one after the other, they would fail)
    ends = max(t[("01_a k=0", "end")], t[("01_a k=1", "end")], t[("01_a k=2", "end")])
    assert t[("02_b", "start")] >= ends and t[("03_c", "start")] >= ends
    assert (root / "book" / "chapters" / "02_b.ipynb").is_file()


def test_a_failing_chapter_stops_the_build_with_its_error(tmp_path: Path, monkeypatch) -> None:
    root = _project(tmp_path / "p", fail=True)
    monkeypatch.setenv("SCHED_DIR", str(tmp_path))
    with pytest.raises(NotebookError, match="01_a.py failed(.|\n)*asked to fail"):
        book.execute_chapters("smoke", root)
    events = _events(tmp_path / "log.jsonl")
    assert ("01_a k=1", "end") in {(e["who"], e["event"]) for e in events}  # the running one finished
    started = {e["who"] for e in events if e["event"] == "start"}
    # the page failed at once, beside the first batch run (busy 30 s): that one finished, nothing else started
    assert started == {"01_a k=0", "01_a k=1"}


def test_readers_and_order() -> None:
    run, cwd = Path("/r/runs/cpu"), Path("/r/notebooks")
    pages = {"02": {"out_dir": "../runs/cpu/02", "artifacts_dir": "../runs/cpu/02/artifacts"},
             "04": {"artifacts_dir": "../runs/cpu/02/artifacts", "out_dir": "../runs/cpu/04", "n": 3},
             "05": {"note": "../runs/cpu/04", "other": "../runs/cpu/0"}}
    assert schedule.readers(pages, run, cwd) == {"02": set(), "04": {"02"}, "05": {"04"}}
    job = lambda c, b=False: schedule.Job(c, Path(f"{c}.py"), Path(f"{c}{b}.ipynb"), {}, cwd, batch=b)  # noqa: E731
    jobs = [job("01"), job("02"), job("02", True), job("02", True), job("03")]
    assert [(j.chapter, j.batch) for j in schedule.ordered(jobs)] == [
        ("02", False), ("02", True), ("02", True), ("01", False), ("03", False)]
    assert job("02", True).key == "02#batch" and job("02").key == "02"


def test_chapters_that_wait_for_each_other_are_refused(tmp_path: Path) -> None:
    jobs = [schedule.Job(c, tmp_path / f"{c}.py", tmp_path / f"{c}.ipynb", {}, tmp_path) for c in ("a", "b")]
    with pytest.raises(BuildError, match=r"can never start: \['a', 'b'\]"):
        schedule.run_jobs(jobs, {"a": {"b"}, "b": {"a"}})
