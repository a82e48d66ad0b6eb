"""The centralized baselines on the smoke profile: a server round for everyone, artifacts, determinism, the CLI."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from knexa_core import artifacts
from knexa_core.cli import main
from knexa_core.fl.central import transfer_draw
from knexa_core.fl.config import FederationConfig
from knexa_core.fl.driver import run_federation
from knexa_core.fl.methods import METHODS


@pytest.fixture(scope="module")
def central_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("central")
    runs = {m: run_federation(FederationConfig.for_profile("smoke", method=m, seed=3), out)
            for m in ("central_kd", "fedid_central_kd")}
    return runs, out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_both_write_summaries_that_reproduce_reads(central_runs) -> None:
    runs, out = central_runs
    table = artifacts.recompute_table4(out)
    for method, name, stem in (("central_kd", "Central-KD", "seed3_Central_KD_s6"),
                               ("fedid_central_kd", "FedID-CentralKD", "seed3_FedID_CentralKD_s6")):
        summary = out / "baselines" / "summaries" / f"{stem}_summary.json"
        assert runs[method].files["main"] == summary and artifacts.read_summary(summary).method == name
        assert table.chosen[name].path == summary and table.chosen[name].num_clients == 6
        for suffix in ("_parameters.json", "_rounds.csv", "_clients.csv", "_categories.csv"):
            assert (out / "baselines" / "summaries" / f"{stem}{suffix}").is_file()


@pytest.mark.parametrize("method", ["central_kd", "fedid_central_kd"])
def test_every_client_distils_the_same_server_package_each_round(central_runs, method) -> None:
    result = central_runs[0][method]
    rows = pd.DataFrame(result.rows)
    later = rows[rows["round"] > 0]
    assert len(later) == 12 and set(later.role) == {"student"} and set(later.partner) == {"server"}
    for rec in result.records:
        assert not rec.pairs and len({id(p) for p in rec.packages.values()}) == 1 and len(rec.packages) == 6
        package = rec.packages[0]
        prompts = {p.prompt for p in transfer_draw(result.federation, rec.round)}
        assert package.items and {p for p, _ in package.items} <= prompts
    # Eq. 3 of the measured losses, for every client; transfer Pass@1 measured for every student
    expected = later.loss_pre.astype(float) - later.loss_post.astype(float) - 0.001 * later.package_kb.astype(float)
    assert (later.reward.astype(float) - expected).abs().max() < 2e-6
    assert later.transfer_pass1.astype(str).ne("").all() and later.sent_pass1.astype(float).between(0, 1).all()
    assert later.ensemble_support.astype(float).between(0, 1).all()


def test_central_kd_broadcasts_the_consensus_fedid_its_central_model(central_runs) -> None:
    runs, _ = central_runs
    kd = pd.DataFrame(runs["central_kd"].rows).query("round > 0")
    assert (kd.package_pass1.astype(float) == kd.ensemble_pass1.astype(float)).all()
    fedid = runs["fedid_central_kd"]
    assert fedid.records[0].packages[0].teacher == -1
    texts = {t for rec in fedid.records for _, t in rec.packages[0].items}
    assert texts  # the central model decoded something to teach


def test_same_config_same_bytes(central_runs, tmp_path: Path) -> None:
    _, out = central_runs
    for method in ("central_kd", "fedid_central_kd"):  # a fresh call sequence in the same process
        run_federation(FederationConfig.for_profile("smoke", method=method, seed=3), tmp_path)
    assert _files(tmp_path) == _files(out)


def test_all_six_methods_from_the_cli_and_reproduce_exits_0(tmp_path: Path, capsys) -> None:
    assert {"central_kd", "fedid_central_kd"} <= set(METHODS) and len(METHODS) == 6
    for method in METHODS:
        assert main(["train", "--profile", "smoke", "--method", method, "--rounds", "1", "--seed", "1", "--out",
                     str(tmp_path), "--set", "eval_problems=4", "--set", "package_size=4"]) == 0
    capsys.readouterr()
    assert main(["reproduce", "--artifacts", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "Central-KD" in printed and "FedID-CentralKD" in printed


def test_a_client_that_raises_is_left_out_of_its_round_and_the_run_goes_on(monkeypatch, capsys, tmp_path: Path) -> None:
    from knexa_core.fl import worker

    real_predict, real_train = worker.ClientWorker.predict, worker.ClientWorker.train

    def predict(self, t, temperature):  # C2's upload fails in round 2
        if self.index == 2 and t == 2:
            raise RuntimeError("CUDA out of memory\nsecond line")
        return real_predict(self, t, temperature)

    def train(self, package, alpha, t):  # C4 gets the package in round 1 but its training fails
        if self.index == 4 and t == 1:
            raise ValueError("nan loss")
        return real_train(self, package, alpha, t)

    monkeypatch.setattr(worker.ClientWorker, "predict", predict)
    monkeypatch.setattr(worker.ClientWorker, "train", train)
    result = run_federation(FederationConfig.for_profile("smoke", method="central_kd", seed=3), tmp_path)
    rows = pd.DataFrame(result.rows).query("round > 0").set_index(["round", "client"])
    assert rows.failed.to_dict() == {(t, f"C{i}"): int((t, i) in {(1, 4), (2, 2)}) for t in (1, 2) for i in range(6)}
    for key in ((1, "C4"), (2, "C2")):  # not measured, no reward
        assert rows.loc[key, ["val_loss", "pass@1", "reward", "sent_pass1"]].isna().all()
    one, two = result.records
    assert one.failed == {4: "ValueError: nan loss"} and two.failed == {2: "RuntimeError: CUDA out of memory"}
    assert sorted(one.rewards) == [0, 1, 2, 3, 5] and sorted(two.rewards) == [0, 1, 3, 4, 5]
    # round 2's consensus is the five other clients' vote: their guardrail reports, one item per prompt each
    prompts = len(transfer_draw(result.federation, 2))
    assert two.packages[0].report.total == 5 * prompts and 2 not in two.packages
    assert one.packages[0].report.total == 6 * prompts  # C4 voted in round 1 before its training failed
    err = capsys.readouterr().err
    assert err.count("warning: client C4 failed in round 1 (ValueError: nan loss)") == 1
    assert err.count("warning: client C2 failed in round 2 (RuntimeError: CUDA out of memory)") == 1
    assert len(result.final) == 6 and result.files["main"].is_file()
