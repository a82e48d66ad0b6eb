"""A whole federated run on the smoke profile: artifacts, real rewards, determinism, the CLI."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from knexa_core import artifacts
from knexa_core.cli import main
from knexa_core.fl.config import FederationConfig
from knexa_core.fl.driver import run_federation


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    config = FederationConfig.for_profile("smoke", method="knexa_fl", seed=3)
    return run_federation(config, out), out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_run_writes_the_paper_layout_and_reproduce_reads_it(smoke_run) -> None:
    result, out = smoke_run
    log = out / "knexa_fl" / "logs" / "seed3_KNEXA_FL_s6.log"
    assert result.files["main"] == log and "FINAL_PASS_AT_K completed (clients_evaluated=6, num_rounds=2" in log.read_text()
    for suffix in ("_parameters.json", "_rounds.csv", "_clients.csv", "_categories.csv"):
        assert log.with_name("seed3_KNEXA_FL_s6" + suffix).is_file()
    table = artifacts.recompute_table4(out)
    assert "KNEXA-FL" in table.chosen and table.chosen["KNEXA-FL"].num_clients == 6
    assert (out / "data" / "splits" / "transfer_set.json").is_file()


def test_rewards_are_eq3_of_the_measured_losses(smoke_run) -> None:
    result, _ = smoke_run
    rows = pd.DataFrame(result.rows)
    students = rows[rows.role == "student"]
    assert len(students) == 2 * 3  # 3 pairs in each of 2 rounds
    expected = (students.loss_pre.astype(float) - students.loss_post.astype(float)
                - 0.001 * students.package_kb.astype(float))
    assert (students.reward.astype(float) - expected).abs().max() < 2e-6
    # the CPM saw the z-scores of exactly these rewards, in order, and its profiles carry them
    z = students.reward_z.astype(float).tolist()
    assert z[0] == pytest.approx(0.0) and len(set(z)) > 1
    profiles = result.records[1].profiles
    assert profiles.shape == (6, 32) and (profiles[:, 8:20] != 0).any(axis=0).sum() >= 8


def test_every_round_measures_every_client(smoke_run) -> None:
    result, _ = smoke_run
    rows = pd.DataFrame(result.rows)
    assert sorted(rows["round"].unique()) == [0, 1, 2] and (rows.groupby("round").size() == 6).all()
    later = rows[rows["round"] > 0]
    assert later.val_loss.astype(float).gt(0).all() and later.local_loss.astype(float).gt(0).all()
    assert set(later.role) <= {"teacher", "student", "local"}


def test_same_config_same_bytes(smoke_run, tmp_path: Path) -> None:
    _, out = smoke_run
    run_federation(FederationConfig.for_profile("smoke", method="knexa_fl", seed=3), tmp_path)
    assert _files(tmp_path) == _files(out)


def test_local_only_pairs_nobody_and_writes_a_summary(tmp_path: Path) -> None:
    result = run_federation(FederationConfig.for_profile("smoke", method="local_only", seed=1, rounds=1), tmp_path)
    assert all(not r.pairs for r in result.records)
    summary = tmp_path / "baselines" / "summaries" / "seed1_LocalOnly_s6_summary.json"
    assert artifacts.read_summary(summary).method == "LocalOnly"


@pytest.mark.parametrize("argv, message", [
    (["--set", "lr_rate=1"], "unknown training parameter"),
    (["--set", "rounds"], "write KEY=VALUE"),
    (["--rounds", "0"], "out of range"),
])
def test_train_cli_bad_input_is_one_line(argv, message, tmp_path: Path, capsys) -> None:
    code = main(["train", "--profile", "smoke", "--out", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err
    assert code == 1 and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_the_cpm_chose_from_the_profiles_and_rewards_it_was_given(smoke_run) -> None:
    """Replaying the recorded profiles and raw Eq. 3 rewards through a fresh LinUCB gives the same
    pairs every round: the CPM saw exactly these measured profiles and rewards, and nothing else."""
    from knexa_core.fl.methods import pairing_policy

    result, _ = smoke_run
    c = result.config
    replay = pairing_policy("knexa_fl", c.seed, c.bandit_context, c.bandit_lam, c.bandit_beta0, c.bandit_beta_schedule)
    for rec in result.records:
        assert [tuple(map(int, p)) for p in replay.select(rec.profiles, c.k_pairs, rec.round)] == rec.pairs
        replay.observe(rec.profiles, rec.pairs, [rec.rewards[s][2] for _, s in rec.pairs])
    assert replay.normalizer.count == sum(len(r.pairs) for r in result.records)
