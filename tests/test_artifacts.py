"""Artifact layout: readers, writers (round trip), and the Table-4 recomputation on fixture sets."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from knexa_core import artifacts
from knexa_core.artifacts import layout
from knexa_core.errors import ArtifactError, ConfigError

# The values stored in the paper's release (fractions), by method: pass@1, pass@5, pass@10, codebleu.
PAPER = {
    "LocalOnly": (0.0222, 0.0542, 0.0555, 0.260),
    "FedID-CentralKD": (0.0111, 0.0556, 0.0556, 0.181),
    "Central-KD": (0.0200, 0.0780, 0.1000, 0.268),
    "Heuristic-P2P": (0.0667, 0.1667, 0.2778, 0.392),
    "Random-P2P": (0.0889, 0.2240, 0.2780, 0.239),
    "KNEXA-FL": (0.13333333333333333, 0.3125, 0.4444, 0.344),
}
RELEASE_LINE = ("2026-01-15 10:10:10,000 - KNEXA-FL - INFO - FINAL_PASS_AT_K completed in 950.00s "
                "(clients_evaluated={n}, average_pass_at_k={{'pass@1': 0.13333333333333333, "
                "'pass@5': 0.3125, 'pass@10': 0.4444, 'codebleu': 0.344}})\n")


def summary_text(method: str, clients: int = 6, rounds: int = 20) -> str:
    p1, p5, p10, cb = PAPER[method]
    return json.dumps({"experiment_time": 200000.0, "num_rounds": rounds, "num_clients": clients,
                       "method": method, "final_metrics": {"codebleu": cb, "fairness_gini": 0.0},
                       "pass_at_k_metrics": {"pass@1": {"final": p1, "history": []},
                                             "pass@5": {"final": p5}, "pass@10": {"final": p10}}}, indent=2)


def write_paper_set(root: Path, knexa_clients: int = 6) -> Path:
    """A complete artifact set written by hand in the release's naming and format."""
    for method in layout.BASELINES:
        path = layout.summaries_dir(root) / f"2026AAAI_{method.replace('-', '_')}_s6_summary.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(summary_text(method))
    log = layout.logs_dir(root) / "aaai2026_knexa_fl_run.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(RELEASE_LINE.format(n=knexa_clients))
    return root


def write_ours(root: Path, method: str, rounds: int = 20, tag: str = "", clients: int = 6, **kw) -> Path:
    p1, p5, p10, cb = PAPER[method]
    metrics = dict(pass_at_k={"pass@1": p1, "pass@5": p5, "pass@10": p10}, codebleu=cb)
    if method == layout.KNEXA_FL:
        return artifacts.write_knexa_log(root, clients, rounds, tag=tag, **metrics, **kw)
    return artifacts.write_method_summary(root, method, clients, rounds, tag=tag, **metrics, **kw)


# --- layout ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, method", [("random_p2p", "Random-P2P"), ("KNEXA FL", "KNEXA-FL"),
                                          ("central-kd", "Central-KD"), ("FedAvg", None)])
def test_canonical_method_ignores_case_and_separators(name, method) -> None:
    assert layout.canonical_method(name) == method


@pytest.mark.parametrize("name, method", [
    ("2026AAAI_FedID_CentralKD_s6_summary.json", "FedID-CentralKD"),  # contains "CentralKD" too
    ("2026AAAI_Central_KD_s6_summary.json", "Central-KD"),
    ("notes.json", None)])
def test_method_from_filename_takes_the_longest_match(name, method) -> None:
    assert layout.method_from_filename(name) == method


def test_paths_of_the_layout() -> None:
    root = Path("A")
    assert layout.run_file(root, "Random-P2P", 6) == root / "baselines/summaries/Random_P2P_s6_summary.json"
    assert layout.run_file(root, "KNEXA-FL", 6, tag="seed42") == root / "knexa_fl/logs/seed42_KNEXA_FL_s6.log"
    assert layout.client_split_path(root, 3, "val") == root / "data/splits/client_C3_val.json"
    assert layout.roster_path(root) == root / "roster/client_roster.json"
    assert layout.transfer_set_path(root).name == "transfer_set.json"
    assert layout.sidecar(root / "x/R_s6_summary.json", "_rounds.csv") == root / "x/R_s6_rounds.csv"
    with pytest.raises(ValueError, match="unknown method"):
        layout.run_name("FedAvg", 6)


# --- readers --------------------------------------------------------------------------------

def test_read_summary_of_the_release_format(tmp_path: Path) -> None:
    summaries = write_paper_set(tmp_path) / "baselines/summaries"
    run = artifacts.read_summary(summaries / "2026AAAI_Random_P2P_s6_summary.json")
    assert (run.method, run.num_clients, run.num_rounds, run.codebleu) == ("Random-P2P", 6, 20, 0.239)
    assert run.pass_at_k == {"pass@1": 0.0889, "pass@5": 0.224, "pass@10": 0.278}
    assert len(run.sha256) == 64 and run.parameters is None


def test_final_line_of_the_release_parses() -> None:
    clients, metrics, rounds = artifacts.parse_final_line(RELEASE_LINE.format(n=6))
    assert (clients, rounds, metrics["pass@5"], metrics["codebleu"]) == (6, None, 0.3125, 0.344)


def test_final_line_is_never_evaluated() -> None:
    line = ("FINAL_PASS_AT_K completed (clients_evaluated=6, "
            "average_pass_at_k={'pass@1': __import__('os').getpid()})")
    with pytest.raises(ArtifactError, match="not a Python dict literal"):
        artifacts.parse_final_line(line)


def test_log_without_the_final_line_is_an_error(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("INFO - round 1 done\nINFO - round 2 done\n")
    with pytest.raises(ArtifactError, match="no line containing 'FINAL_PASS_AT_K completed'"):
        artifacts.read_knexa_log(log)


def test_the_last_final_line_counts(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(RELEASE_LINE.format(n=3) + RELEASE_LINE.format(n=6))
    assert artifacts.read_knexa_log(log).num_clients == 6


def test_summary_with_percent_instead_of_fraction_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x_summary.json"
    path.write_text(summary_text("LocalOnly").replace('"final": 0.0222', '"final": 2.22'))
    with pytest.raises(ArtifactError, match=r"pass@1 final must be a fraction .* got 2.22"):
        artifacts.read_summary(path)


# --- writers: round trip and determinism ----------------------------------------------------

def test_summary_round_trip_with_richer_files(tmp_path: Path) -> None:
    per_round = [{"round": 1, "pass@1": 0.05}, {"round": 2, "pass@1": 0.0889}]
    per_client = [{"client": "C0", "pass@1": 0.1}, {"client": "C1", "pass@1": 0.0778}]
    path = write_ours(tmp_path, "Random-P2P", rounds=2, parameters={"seed": 42, "lr": 3e-5},
                      per_round=per_round, per_client=per_client)
    run = artifacts.read_summary(path)
    assert path == tmp_path / "baselines/summaries/Random_P2P_s6_summary.json"
    assert (run.method, run.num_clients, run.num_rounds) == ("Random-P2P", 6, 2)
    assert (run.pass_at_k["pass@1"], run.pass_at_k["pass@10"], run.codebleu) == (0.0889, 0.278, 0.239)
    assert run.parameters == {"seed": 42, "lr": 3e-5}
    assert json.loads(path.read_text())["pass_at_k_metrics"]["pass@1"]["history"] == [0.05, 0.0889]
    assert (path.parent / "Random_P2P_s6_rounds.csv").read_text() == "round,pass@1\n1,0.05\n2,0.0889\n"
    assert (path.parent / "Random_P2P_s6_clients.csv").read_text().splitlines()[2] == "C1,0.0778"


def test_log_round_trip(tmp_path: Path) -> None:
    path = write_ours(tmp_path, "KNEXA-FL", rounds=20, lines=["round 1 done"], parameters={"seed": 42})
    run = artifacts.read_knexa_log(path)
    assert (run.method, run.num_clients, run.num_rounds, run.codebleu) == ("KNEXA-FL", 6, 20, 0.344)
    assert run.pass_at_k == {"pass@1": 0.13333333333333333, "pass@5": 0.3125, "pass@10": 0.4444}
    assert path.read_text().splitlines()[0] == "round 1 done"


def test_writes_are_byte_identical_and_reruns_drop_stale_files(tmp_path: Path) -> None:
    first = write_ours(tmp_path / "a", "LocalOnly", per_round=[{"round": 1, "loss": 2.5}]).read_bytes()
    second = write_ours(tmp_path / "b", "LocalOnly", per_round=[{"round": 1, "loss": 2.5}])
    assert second.read_bytes() == first
    write_ours(tmp_path / "b", "LocalOnly")
    assert not (second.parent / "LocalOnly_s6_rounds.csv").exists()


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="KNEXA-FL"), "use write_knexa_log"),
    (dict(pass_at_k={"pass@1": 8.89, "pass@5": 0.2, "pass@10": 0.3}), "pass@1 must be a fraction"),
    (dict(pass_at_k={"pass@1": 0.1}), "exactly the keys"),
    (dict(num_clients=0), "num_clients must be a positive integer"),
    (dict(per_round=[{"round": 1}, {"step": 2}]), "give every row the same columns"),
    (dict(per_client=[{"client": "C0"}, {"id": "C1"}]), "give every row the same columns"),
    (dict(codebleu="0.5"), "codebleu must be a fraction"),
    (dict(codebleu=True), "codebleu must be a fraction"),
    (dict(codebleu=None), "codebleu must be a fraction"),
])
def test_writer_rejects_bad_input_and_writes_nothing(tmp_path: Path, kwargs, match) -> None:
    args = dict(method="Random-P2P", num_clients=6, num_rounds=20, codebleu=0.2,
                pass_at_k={"pass@1": 0.1, "pass@5": 0.2, "pass@10": 0.3}) | kwargs
    with pytest.raises(ArtifactError, match=match):
        artifacts.write_method_summary(tmp_path, **args)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


# --- Table 4 --------------------------------------------------------------------------------

def test_complete_set_gives_the_table(tmp_path: Path) -> None:
    table = artifacts.recompute_table4(write_paper_set(tmp_path))
    lines = artifacts.format_table(table).splitlines()
    assert table.complete and table.issues == () and table.choices == ()
    assert lines[0] == "Method  Pass@1  Pass@5  Pass@10  CodeBLEU"
    assert lines[5] == "Random-P2P  8.89  22.40  27.80  0.239"
    assert lines[6] == "KNEXA-FL  13.33  31.25  44.44  0.344"
    assert table.relative_gain == pytest.approx(0.13333333333333333 / 0.0889 - 1)  # 49.98 %
    assert artifacts.reported_gain() == pytest.approx(13.33 / 8.89 - 1)


def test_side_by_side_has_differences_and_provenance(tmp_path: Path) -> None:
    write_paper_set(tmp_path)
    write_ours(tmp_path, "LocalOnly", rounds=30, parameters={"seed": 7})  # 0.0222 -> chosen (more rounds)
    rows = {r["Method"]: r for r in artifacts.side_by_side(artifacts.recompute_table4(tmp_path))}
    assert rows["Central-KD"]["Pass@10 recomputed"] == "10.00" and rows["Central-KD"]["Pass@10 diff"] == "+0.00"
    assert rows["LocalOnly"]["File"] == "baselines/summaries/LocalOnly_s6_summary.json"
    assert rows["LocalOnly"]["Parameters"] == '{"seed": 7}' and rows["KNEXA-FL"]["Parameters"] == "not recorded"
    log = tmp_path / "knexa_fl/logs/aaai2026_knexa_fl_run.log"
    assert rows["KNEXA-FL"]["sha256"] == artifacts.sha256_file(log)


def test_one_method_missing_is_named_with_its_fix(tmp_path: Path) -> None:
    write_paper_set(tmp_path)
    (tmp_path / "baselines/summaries/2026AAAI_Heuristic_P2P_s6_summary.json").unlink()
    table = artifacts.recompute_table4(tmp_path)
    [row] = artifacts.missing_report(table)
    assert table.missing == ["Heuristic-P2P"] and not table.complete
    assert '"method": "Heuristic-P2P"' in row["Expected"] and row["Found"] == "no file for this method"
    assert "knexa train --method heuristic_p2p" in row["How to produce"]
    assert "Heuristic-P2P  -  -  -  -" in artifacts.format_table(table)


def test_malformed_json_names_the_file_and_the_error(tmp_path: Path) -> None:
    write_paper_set(tmp_path)
    (tmp_path / "baselines/summaries/2026AAAI_Random_P2P_s6_summary.json").write_text('{"method": "Random-P2P",')
    table = artifacts.recompute_table4(tmp_path)
    [row] = artifacts.missing_report(table)
    assert table.missing == ["Random-P2P"] and table.relative_gain is None
    assert row["Found"].startswith(
        "baselines/summaries/2026AAAI_Random_P2P_s6_summary.json: malformed JSON at line 1")


def test_log_without_the_line_makes_knexa_missing(tmp_path: Path) -> None:
    write_paper_set(tmp_path)
    (tmp_path / "knexa_fl/logs/aaai2026_knexa_fl_run.log").write_text("INFO - started\n")
    [row] = artifacts.missing_report(artifacts.recompute_table4(tmp_path))
    assert row["Method"] == "KNEXA-FL" and "no line containing 'FINAL_PASS_AT_K completed'" in row["Found"]


def test_too_few_clients_is_set_aside_unless_the_minimum_allows_it(tmp_path: Path) -> None:
    write_paper_set(tmp_path, knexa_clients=4)
    [row] = artifacts.missing_report(artifacts.recompute_table4(tmp_path))
    assert "4 clients evaluated, fewer than the 6 required" in row["Found"]
    assert artifacts.recompute_table4(tmp_path, min_clients=4).complete


def test_two_runs_fewest_clients_then_most_rounds_then_last_path(tmp_path: Path) -> None:
    write_paper_set(tmp_path)  # Random-P2P, 6 clients, 20 rounds, 2026AAAI_Random_P2P_s6_summary.json
    write_ours(tmp_path, "Random-P2P", rounds=100, clients=32)  # a larger federation: set aside
    write_ours(tmp_path, "Random-P2P", rounds=5)  # fewer rounds: set aside
    table = artifacts.recompute_table4(tmp_path)
    assert table.chosen["Random-P2P"].path.name == "2026AAAI_Random_P2P_s6_summary.json"
    assert ("chose baselines/summaries/2026AAAI_Random_P2P_s6_summary.json (6 clients, 20 rounds)"
            in table.choices[0])
    for path in tmp_path.rglob("Random_P2P_s32*"):
        path.unlink()
    write_ours(tmp_path, "Random-P2P", rounds=20, tag="z")  # same rounds, later path: chosen
    table = artifacts.recompute_table4(tmp_path)
    assert table.chosen["Random-P2P"].path.name == "z_Random_P2P_s6_summary.json"
    assert table.choices[0].startswith("Random-P2P: 3 usable runs; chose")


def test_unattributable_file_is_reported(tmp_path: Path) -> None:
    write_paper_set(tmp_path)
    (tmp_path / "baselines/summaries/notes_summary.json").write_text("not json")
    table = artifacts.recompute_table4(tmp_path)
    rows = artifacts.missing_report(table)
    assert table.complete and [r["Method"] for r in rows] == ["(unattributed file)"]


def test_comparisons_only_for_recomputed_values(tmp_path: Path) -> None:
    assert artifacts.comparison_rows(artifacts.recompute_table4(tmp_path / "none")) == []
    rows = artifacts.comparison_rows(artifacts.recompute_table4(write_paper_set(tmp_path)))
    assert len(rows) == 7 and rows[-1]["obtained"] == "50.0%"
    assert rows[4]["reported"] == rows[4]["obtained"] == "8.89 / 22.40 / 27.80 / 0.239"


def test_table_csv_is_deterministic(tmp_path: Path) -> None:
    table = artifacts.recompute_table4(write_paper_set(tmp_path / "art"))
    a = artifacts.write_table_csv(table, tmp_path / "a.csv").read_bytes()
    assert artifacts.write_table_csv(table, tmp_path / "b.csv").read_bytes() == a
    assert a.decode().splitlines()[5].startswith("Random-P2P,8.89,8.89,+0.00,22.40")


def test_min_clients_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="min_clients must be a positive integer"):
        artifacts.recompute_table4(tmp_path, min_clients=0)


def test_compact_rows_and_provenance(tmp_path: Path) -> None:
    write_paper_set(tmp_path)
    (tmp_path / "knexa_fl/logs/aaai2026_knexa_fl_run.log").unlink()
    write_ours(tmp_path, "LocalOnly", rounds=30, parameters={"seed": 7})  # Pass@1 0.0222 -> 2.22
    table = artifacts.recompute_table4(tmp_path)
    rows = {r["Method"]: r for r in artifacts.compact_rows(table)}
    assert rows["Random-P2P"]["Pass@1"] == "8.89 → 8.89 (+0.00)"
    assert rows["KNEXA-FL"]["CodeBLEU"] == "0.344 → -"
    text = artifacts.provenance_markdown(table)
    assert '- **LocalOnly**: `baselines/summaries/LocalOnly_s6_summary.json`' in text and '`{"seed": 7}`' in text
    assert "KNEXA-FL" not in text and len(text.splitlines()) == 5
