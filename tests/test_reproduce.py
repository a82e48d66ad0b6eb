"""``knexa reproduce`` (exit codes, output layout, CSV) and the chapter's smoke runs."""
from __future__ import annotations

import json
from pathlib import Path

from test_artifacts import write_paper_set

from knexa_core.cli import main

HEADER = "Method  Pass@1  Pass@5  Pass@10  CodeBLEU"
ORDER = ["LocalOnly", "FedID-CentralKD", "Central-KD", "Heuristic-P2P", "Random-P2P", "KNEXA-FL"]


def test_complete_set_exits_0_with_header_and_six_rows(tmp_path: Path, capsys) -> None:
    code = main(["reproduce", "--artifacts", str(write_paper_set(tmp_path / "art")),
                 "--csv", str(tmp_path / "t4.csv")])
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert code == 0 and out.err == ""
    assert lines[0] == HEADER and [line.split()[0] for line in lines[1:7]] == ORDER
    assert lines[5].split() == ["Random-P2P", "8.89", "22.40", "27.80", "0.239"]
    assert "Relative Pass@1 gain of KNEXA-FL over Random-P2P: 49.98%" in out.out
    assert (tmp_path / "t4.csv").read_text().splitlines()[0].startswith("Method,Pass@1 reported,")


def test_incomplete_set_exits_1_and_lists_what_is_missing(tmp_path: Path, capsys) -> None:
    art = write_paper_set(tmp_path)
    (art / "knexa_fl/logs/aaai2026_knexa_fl_run.log").write_text("INFO - started\n")
    code = main(["reproduce", "--artifacts", str(art)])
    out = capsys.readouterr()
    assert code == 1
    assert out.out.splitlines()[6] == "KNEXA-FL  -  -  -  -"
    assert "incomplete: 1 of 6 methods missing" in out.err
    assert "- KNEXA-FL: expected knexa_fl/logs/*.log with a line 'FINAL_PASS_AT_K completed" in out.err
    assert "knexa train --method knexa_fl" in out.err


def test_min_clients_option(tmp_path: Path, capsys) -> None:
    art = write_paper_set(tmp_path, knexa_clients=4)
    assert main(["reproduce", "--artifacts", str(art)]) == 1
    assert "4 clients evaluated, fewer than the 6 required" in capsys.readouterr().err
    assert main(["reproduce", "--artifacts", str(art), "--min-clients", "4"]) == 0


def test_missing_directory_exits_1(tmp_path: Path, capsys) -> None:
    assert main(["reproduce", "--artifacts", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts += [str(v) for k, v in output.get("data", {}).items() if k.startswith("text/")]
    return "\n".join(parts)


def test_chapter_on_an_empty_directory_shows_the_report(notebook_runner, tmp_path: Path) -> None:
    nb = notebook_runner("04_recompute_artifacts", artifacts_dir=str(tmp_path / "nothing"))
    text = _outputs_text(nb)
    assert "knexa train --method knexa_fl" in text and "does not exist" in text
    assert json.loads((tmp_path / "out" / "comparison.json").read_text()) == []
    assert not (tmp_path / "figures").exists()


def test_chapter_on_a_complete_set_recomputes_and_compares(notebook_runner, tmp_path: Path) -> None:
    nb = notebook_runner("04_recompute_artifacts", artifacts_dir=str(write_paper_set(tmp_path / "art")))
    rows = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert len(rows) == 7 and rows[-1]["obtained"] == "50.0%"
    assert (tmp_path / "figures" / "04_table4_reported_vs_recomputed.png").stat().st_size > 10_000
    text = _outputs_text(nb)
    assert "All six methods were found" in text
    # the prose with computed numbers is a Markdown output, so JupyterLab shows it too (not only the book)
    assert "found usable runs for 6 of the\n6 methods" in text and "From the artifacts at hand the gain is 50.0%." in text
    assert (tmp_path / "out" / "table4_side_by_side.csv").is_file()


def test_complete_table_still_reports_a_set_aside_file(tmp_path, capsys):
    write_paper_set(tmp_path)
    (tmp_path / "baselines/summaries/zz_Random_P2P_s6_summary.json").write_text("{bad")
    assert main(["reproduce", "--artifacts", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "complete, but files were set aside" in err and "Random-P2P (set aside)" in err
    assert "zz_Random_P2P_s6_summary.json: malformed JSON" in err


def test_chapter_pools_seed_tagged_runs_with_a_paired_interval(notebook_runner, tmp_path: Path) -> None:
    """Three seeds of KNEXA-FL and Random-P2P (hand-made per-client files): the chapter's table over
    seeds and the paired difference, computed by hand (per-seed differences 0.20, 0.00, 0.10 points
    of mean Pass@1: mean 0.10, t(0.975, 2) = 4.3027, half width 0.2484)."""
    import pandas as pd

    from knexa_core.io import write_json

    art = tmp_path / "art"
    for method, folder, name, values in (("knexa_fl", "knexa_fl/logs", "KNEXA_FL", (0.30, 0.20, 0.25)),
                                         ("random_p2p", "baselines/summaries", "Random_P2P", (0.10, 0.20, 0.15))):
        for seed, value in enumerate(values):
            stem = art / folder / f"seed{seed}_{name}_s6"
            write_json(stem.with_name(stem.name + "_parameters.json"), {"method": method, "seed": seed, "rounds": 6})
            pd.DataFrame({"client": ["C0", "C1"], "pass@1": [value - 0.05, value + 0.05], "pass@5": [value] * 2,
                          "pass@10": [value] * 2, "codebleu": [0.5] * 2, "greedy_pass1": [value] * 2,
                          "base_pass1": [0.0] * 2, "peak_transfer_pass1": [value] * 2}
                         ).to_csv(stem.with_name(stem.name + "_clients.csv"), index=False)
    text = _outputs_text(notebook_runner("04_recompute_artifacts", artifacts_dir=str(art)))
    assert "25.00 [12.58, 37.42]" in text  # KNEXA-FL's mean Pass@1 % over the three seeds with its interval
    assert "KNEXA-FL − Random-P2P in mean Pass@1 is\n+10.00 points" in text or "is +10.00 points" in text
    assert "+34.84" in text and "ahead in 2 seeds, behind in 0" in text
