"""Tests of the federation split: roster, Dirichlet allocation, outputs, CLI and failure modes."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from knexa_core import cli
from knexa_core.data import CATEGORIES, Problem
from knexa_core.data import make_splits as ms
from knexa_core.data.roster import Client, load_roster, parse_roster, scale_roster
from knexa_core.data.splits import (allocate, argmax_dirichlet_assign, check_capacity, js_divergence,
                                    mean_pairwise_js, split_federation)
from knexa_core.errors import ConfigError, DataError

PAPER_COUNTS = [(45, 12), (43, 11), (44, 12), (46, 12), (54, 14), (44, 11)]


def synthetic(per_category: int, prefix: str = "S") -> list[Problem]:
    """``per_category`` problems of each of the 12 categories."""
    return [Problem(f"{prefix}/{k * per_category + i}", "synthetic", "p", "f", "t", "r", category=cat)
            for k, cat in enumerate(CATEGORIES) for i in range(per_category)]


def clients(*counts: tuple[int, int]) -> tuple[Client, ...]:
    return tuple(Client(f"C{i}", "EleutherAI/pythia-410m", tr, va, 100 + i) for i, (tr, va) in enumerate(counts))


@pytest.fixture(scope="module")
def study(mbpp_path, tmp_path_factory) -> tuple[Path, dict]:
    """The CLI's output with the defaults, written once for the module."""
    out = tmp_path_factory.mktemp("study")
    assert cli.main(["splits", "--mbpp", str(mbpp_path), "--out", str(out)]) == 0
    return out / "data" / "splits", json.loads((out / "data" / "splits" / "split_manifest.json").read_text())


def _ids(folder: Path, name: str) -> list[str]:
    return json.loads((folder / f"{name}.json").read_text())


# ----------------------------------------------------------------------------- roster

def test_committed_roster_is_the_papers():
    roster = load_roster()
    assert [(c.train_samples, c.val_samples) for c in roster] == PAPER_COUNTS
    assert [c.seed for c in roster] == list(range(42, 48))
    assert [c.duplicate_of for c in roster] == [None, None, None, None, "C0", "C1"]
    assert roster[4].backbone == roster[0].backbone == "Qwen/Qwen1.5-0.5B"


def test_roster_errors_name_every_problem():
    bad = {"clients": [
        {"id": "C0", "backbone": "Qwen/Qwen1.5-0.5B", "train_samples": 0, "val_samples": 2, "seed": 1},
        {"id": "C1", "backbone": "gpt-9", "train_samples": 3, "val_samples": 2, "seed": 2},
        {"id": "C2", "backbone": "Qwen/Qwen1.5-0.5B", "train_samples": 3, "seed": 3}]}
    with pytest.raises(ConfigError) as err:
        parse_roster(bad, "r.json")
    msg = str(err.value)
    assert "clients[0] (C0): 'train_samples' must be a positive integer, got 0" in msg
    assert "clients[1] (C1): unknown backbone 'gpt-9'" in msg
    assert "clients[2] (C2): missing field 'val_samples'" in msg


def test_roster_cross_checks():
    entry = {"backbone": "Qwen/Qwen1.5-0.5B", "train_samples": 3, "val_samples": 1}
    dup_ids = {"clients": [entry | {"id": "C0", "seed": 1}, entry | {"id": "C0", "seed": 2}]}
    with pytest.raises(ConfigError, match="ids must be unique; repeated: C0"):
        parse_roster(dup_ids)
    dangling = {"clients": [entry | {"id": "C0", "seed": 1}, entry | {"id": "C1", "seed": 2, "duplicate_of": "C9"}]}
    with pytest.raises(ConfigError, match="client C1: duplicate_of 'C9' does not name another client"):
        parse_roster(dangling)
    other = {"clients": [entry | {"id": "C0", "seed": 1},
                         entry | {"id": "C1", "seed": 2, "duplicate_of": "C0", "backbone": "bigscience/bloom-560m"}]}
    with pytest.raises(ConfigError, match="backbone 'bigscience/bloom-560m' differs"):
        parse_roster(other)


def test_scale_roster_keeps_the_total_exact():
    scaled = scale_roster(load_roster(), 97)
    assert sum(c.quota for c in scaled) == 97
    assert [(c.train_samples, c.val_samples) for c in scaled] == [(13, 4), (12, 3), (12, 3), (13, 3), (15, 4), (12, 3)]


# ----------------------------------------------------------------------------- algorithm

def test_js_divergence_hand_computed():
    assert js_divergence(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)
    assert js_divergence(np.array([0.3, 0.7]), np.array([0.3, 0.7])) == pytest.approx(0.0)
    # m = (0.75, 0.25): KL(p||m) = 0.5 log2(2/3) + 0.5 log2(2) = 0.20752, KL(q||m) = log2(4/3) = 0.41504
    assert js_divergence(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == pytest.approx(0.31128, abs=1e-5)


def test_check_capacity_names_each_part():
    # pool 10, transfer pool 3: test needs 4 (10 available), train 5 (6 left), val 3 (1 left), transfer 4 (3)
    with pytest.raises(DataError) as err:
        check_capacity(10, 3, clients((5, 3)), n_test=4, n_transfer=4)
    msg = str(err.value)
    assert "transfer: required 4, available 3" in msg and "val: required 3, available 1" in msg
    assert "train:" not in msg and "test:" not in msg
    check_capacity(12, 4, clients((5, 3)), n_test=4, n_transfer=4)  # exactly enough: no error


def test_exact_counts_and_disjoint_parts_on_synthetic_data():
    roster = clients((7, 2), (5, 3), (9, 1))
    split = split_federation(synthetic(5), roster, n_test=10, n_transfer=6, alpha=0.1, seed=3)
    assert [(len(c.train), len(c.val)) for c in split.clients] == [(7, 2), (5, 3), (9, 1)]
    assert len(split.global_test) == 10 and len(split.transfer) == 6
    parts = list(split.parts().values()) + [split.unassigned]
    ids = [p.task_id for part in parts for p in part]
    assert len(ids) == len(set(ids)) == 60  # every problem exactly once


def test_tiny_alpha_gives_one_category_per_client():
    split = split_federation(synthetic(40), clients((8, 2), (8, 2), (8, 2)), n_test=0, n_transfer=0,
                             alpha=0.001, seed=0)
    hists = split.client_histograms()
    assert np.all(hists.max(axis=1) == 1.0)


def test_iid_draws_problems_uniformly():
    # pool: 40 of each category + 720 more "math" = 1200, math share 760 / 1200 = 0.633; 6 clients x 50.
    pool = synthetic(40) + [Problem(f"M/{i}", "synthetic", "p", "f", "t", "r", category="math") for i in range(720)]
    split = split_federation(pool, clients(*[(40, 10)] * 6), n_test=0, n_transfer=0, alpha=math.inf, seed=1)
    share = split.client_histograms()[:, CATEGORIES.index("math")]
    assert np.all(np.abs(share - 760 / 1200) < 0.25)  # 4 standard deviations of a 50-draw share
    assert abs(share.mean() - 760 / 1200) < 0.1


def test_allocation_is_deterministic_and_seed_dependent():
    pool, roster = synthetic(6), clients((10, 2), (10, 2))
    a, _ = allocate(pool, roster, alpha=0.5, seed=1)
    b, _ = allocate(pool, roster, alpha=0.5, seed=1)
    c, _ = allocate(pool, roster, alpha=0.5, seed=2)
    assert a == b and a != c


def test_alpha_must_be_positive():
    with pytest.raises(DataError, match="alpha must be > 0"):
        allocate(synthetic(2), clients((2, 1)), alpha=0.0, seed=1)


def test_uncategorized_problems_are_rejected():
    pool = [Problem(f"U/{i}", "synthetic", "p", "f", "t", "r") for i in range(5)]
    with pytest.raises(DataError, match="without a known category"):
        split_federation(pool, clients((2, 1)), n_test=1, n_transfer=1, alpha=1.0, seed=0)


def test_release_style_assignment_is_iid():
    pool = synthetic(30)
    groups = argmax_dirichlet_assign(pool, clients(*[(1, 1)] * 6), alpha=0.1, seed=0)
    assert sum(len(g) for g in groups) == len(pool)
    hists = np.array([np.bincount([CATEGORIES.index(p.category) for p in g], minlength=12) for g in groups])
    assert mean_pairwise_js(hists) < 0.2


# ----------------------------------------------------------------------------- the study split

def test_study_counts_equal_the_roster(study):
    folder, manifest = study
    for cid, (tr, va) in zip(["C0", "C1", "C2", "C3", "C4", "C5"], PAPER_COUNTS):
        assert len(_ids(folder, f"client_{cid}_train")) == tr
        assert len(_ids(folder, f"client_{cid}_val")) == va
    assert len(_ids(folder, "global_test")) == 116 and len(_ids(folder, "transfer_set")) == 128
    counts = manifest["counts"]
    assert counts["train"] + counts["val"] == 348 and counts["unassigned"] == 0


def test_study_parts_pairwise_disjoint_and_transfer_outside_pool(study):
    folder, _ = study
    names = [p.stem for p in folder.glob("*.json") if p.stem != "split_manifest"]
    assert len(names) == 14
    sets = {n: set(_ids(folder, n)) for n in names}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not sets[a] & sets[b], (a, b)
    transfer = [int(t.split("/")[1]) for t in sets["transfer_set"]]
    assert all(601 <= n <= 974 for n in transfer)
    study_ids = set().union(*(s for n, s in sets.items() if n != "transfer_set"))
    assert sum(t.startswith("HumanEval/") for t in study_ids) == 164 and len(study_ids) == 464


def test_study_alpha_01_far_more_heterogeneous_than_iid(study, mbpp_path, tmp_path):
    _, manifest = study
    assert cli.main(["splits", "--mbpp", str(mbpp_path), "--alpha", "inf", "--out", str(tmp_path)]) == 0
    iid = json.loads((tmp_path / "data" / "splits" / "split_manifest.json").read_text())
    assert iid["parameters"]["alpha"] == "iid"
    assert manifest["js_divergence"]["mean_pairwise"] > 3 * iid["js_divergence"]["mean_pairwise"]


def test_determinism_identical_files(study, mbpp_path, tmp_path):
    folder, _ = study
    assert cli.main(["splits", "--mbpp", str(mbpp_path), "--out", str(tmp_path)]) == 0
    again = tmp_path / "data" / "splits"
    for f in folder.glob("*.json"):
        assert (again / f.name).read_bytes() == f.read_bytes(), f.name


def test_committed_artifacts_are_current(study, root):
    folder, _ = study
    committed = root / "artifacts" / "data" / "splits"
    for f in folder.glob("*.json"):
        assert (committed / f.name).read_bytes() == f.read_bytes(), f"{f.name}: rerun knexa splits --out artifacts"


def test_manifest_pins_inputs_and_parameters(study, mbpp_path):
    _, manifest = study
    assert manifest["inputs"]["mbpp"]["sha256"] == ms.sha256_file(mbpp_path)
    assert manifest["inputs"]["humaneval"]["problems"] == 164
    assert manifest["parameters"]["seed"] == 42 and manifest["parameters"]["alpha"] == 0.1
    assert manifest["categories"] == list(CATEGORIES)
    assert all(sum(h) == pytest.approx(1.0, abs=1e-5) for h in manifest["category_histograms"].values())


def test_insufficient_pool_writes_nothing(tmp_path, mbpp_path, capsys):
    small = tmp_path / "small.jsonl"
    small.write_text("".join(mbpp_path.read_text().splitlines(keepends=True)[10:40]))  # task ids 11-40
    out = tmp_path / "out"
    assert cli.main(["splits", "--mbpp", str(small), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "insufficient pool" in err and "transfer: required 128, available 0" in err
    assert "train: required 276, available 78" in err and "val: required 72, available 0" in err
    assert not out.exists()


def test_malformed_mbpp_is_a_cli_error(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": 1}\n{oops\n')
    assert cli.main(["splits", "--mbpp", str(bad), "--out", str(tmp_path / "out")]) == 1
    assert "bad.jsonl, line 1: record lacks field(s)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_humaneval_only_fallback_sizes():
    from knexa_core.data import load_humaneval

    he = load_humaneval()
    scaled, n_test, n_transfer = ms.humaneval_only(he, load_roster())
    assert (n_test, n_transfer, sum(c.quota for c in scaled)) == (32, 35, 97)
    split = split_federation(he, scaled, n_test=n_test, n_transfer=n_transfer, alpha=0.1, seed=42)
    assert sum(len(c.train) + len(c.val) for c in split.clients) == 97 and not split.unassigned


def test_fallback_is_only_for_a_missing_mbpp_never_a_malformed_one(tmp_path, monkeypatch):
    monkeypatch.delenv("KNEXA_MBPP", raising=False)
    roster = load_roster()
    missing = ms.setup_study(roster, tmp_path / "absent.jsonl", allow_fallback=True)
    assert missing.fallback and "absent.jsonl" in missing.fallback
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    with pytest.raises(DataError, match="bad.jsonl, line 1: malformed JSON"):
        ms.setup_study(roster, bad, allow_fallback=True)


@pytest.mark.parametrize("extra", [["--seed", "-1"], ["--alpha", "0"]])
def test_cli_rejects_negative_seed_and_non_positive_alpha(tmp_path, capsys, extra):
    assert cli.main(["splits", "--out", str(tmp_path / "out"), *extra]) == 1
    assert "need --seed >= 0 and --alpha > 0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_drawn_mix_is_the_one_allocate_uses_and_tv_is_hand_computed():
    from knexa_core.data.splits import drawn_mixes, total_variation
    roster = clients((8, 2), (8, 2))
    q = drawn_mixes(roster, 0.001, seed=0)
    assert q.shape == (2, 12) and np.allclose(q.sum(axis=1), 1.0)
    # with plenty of problems per category and a tiny alpha, each client takes its drawn category only
    split = split_federation(synthetic(40), roster, n_test=0, n_transfer=0, alpha=0.001, seed=0)
    assert np.array_equal(split.client_histograms().argmax(axis=1), q.argmax(axis=1))
    assert total_variation([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]) == pytest.approx(0.5)
    assert total_variation(np.eye(3), np.eye(3)).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(DataError):
        drawn_mixes(roster, math.inf, seed=0)
