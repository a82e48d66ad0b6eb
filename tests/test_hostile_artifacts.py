"""Hostile artifact files: each is refused with a reason in the missing report, and reading the
whole directory stays under 500 MB of memory and 10 s (issue 13)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_artifacts import RELEASE_LINE, summary_text, write_paper_set

from knexa_core import artifacts
from knexa_core.artifacts import layout
from knexa_core.artifacts.readers import MAX_ARTIFACT_BYTES
from knexa_core.errors import ArtifactError

SUMMARY = "2026AAAI_{}_s6_summary.json"


def summary_path(root: Path, name: str) -> Path:
    path = layout.summaries_dir(root) / SUMMARY.format(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def hostile_set(root: Path) -> dict[str, str]:
    """A complete paper set plus one hostile file per case; returns file name -> expected reason."""
    write_paper_set(root)
    expect = {}

    def add(name: str, reason: str, make) -> None:
        path = summary_path(root, name)
        make(path)
        expect[path.name] = reason

    add("deep", "nested deeper", lambda p: p.write_text("[" * 100_000 + "]" * 100_000))
    add("digits", "digits", lambda p: p.write_text('{"method": "LocalOnly", "num_clients": 1' + "0" * 5000 + "}"))
    add("latin1", "not UTF-8", lambda p: p.write_bytes(b'{"method": "LocalOnly\xe9"}'))
    add("dir", "not a regular file", lambda p: p.mkdir())
    add("fifo", "not a regular file", lambda p: os.mkfifo(p))
    add("zero", "out of the artifact directory", lambda p: p.symlink_to("/dev/zero"))
    add("loop", "cannot be opened", lambda p: p.symlink_to(p))
    add("huge", "larger than", lambda p: p.write_text(" " * (MAX_ARTIFACT_BYTES + 1)))
    side = layout.sidecar(summary_path(root, "Random_P2P"), layout.PARAMETERS_SUFFIX)
    side.write_bytes(b'{"seed": "\xff"}')  # a non-UTF-8 sidecar of a good summary
    expect[summary_path(root, "Random_P2P").name] = "not UTF-8"
    return expect


def test_every_hostile_file_is_set_aside_with_its_reason(tmp_path):
    expect = hostile_set(tmp_path)
    table = artifacts.recompute_table4(tmp_path)
    found = {Path(i.path).name: i.problem for i in table.issues}
    for name, reason in expect.items():
        assert name in found and reason in found[name], (name, found.get(name))
    reported = "\n".join(row["Found"] for row in artifacts.missing_report(table))
    assert "not a regular file" in reported and "larger than" in reported


def test_reading_a_hostile_directory_is_bounded_in_time_and_memory(tmp_path):
    hostile_set(tmp_path)
    long_line = RELEASE_LINE.format(n=6).replace("FINAL", "x" * (9 << 20) + " FINAL")  # a 9 MB log line
    (layout.logs_dir(tmp_path) / "long.log").write_text(long_line)
    # the command reports its own peak memory (VmHWM of its own address space): ru_maxrss would also
    # count earlier tests' children and, across fork + exec, this test process's own memory
    code = ("import sys\nfrom knexa_core.cli import main\n"
            f"rc = main(['reproduce', '--artifacts', {str(tmp_path)!r}])\n"
            "hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0]\n"
            "print('MAXRSS', hwm, file=sys.stderr)\nsys.exit(rc)")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    peak_kib = int(proc.stderr.rsplit("MAXRSS", 1)[1])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr  # set-aside files make it incomplete
    assert elapsed < 10.0
    assert peak_kib < 500 * 1024  # KiB


@pytest.mark.parametrize("line, reason", [
    ("FINAL_PASS_AT_K completed average_pass_at_k={'pass@1': 0.99} clients_evaluated=6, "
     "average_pass_at_k={'pass@1': 0.1, 'pass@5': 0.2, 'pass@10': 0.3, 'codebleu': 0.3}", "ambiguous"),
    ("FINAL_PASS_AT_K completed clients_evaluated=6, average_pass_at_k={" + "'a': 1, " * 400 + "}",
     "characters long"),
    ("FINAL_PASS_AT_K completed clients_evaluated=6, average_pass_at_k={'pass@1': [[[[[[0.1]]]]]]}",
     "quoted names and numbers"),
])
def test_log_lines_are_parsed_without_eval_and_spoofs_are_refused(line, reason):
    with pytest.raises(ArtifactError, match=reason):
        artifacts.parse_final_line(line)


def test_good_summary_text_still_reads(tmp_path):
    path = summary_path(tmp_path, "LocalOnly")
    path.write_text(summary_text("LocalOnly"))
    assert artifacts.read_summary(path).method == "LocalOnly"
