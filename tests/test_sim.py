"""Tests of the synthetic federation, the experiment runner, its outputs and the CLI."""
from __future__ import annotations

import numpy as np
import pytest

from knexa_core import cli
from knexa_core.errors import ConfigError
from knexa_core.sim.federation import ETA, FORGET, Dynamics, FederationEnv, make_federation
from knexa_core.sim.linear import make_linear_env
from knexa_core.sim.runner import run_methods
from knexa_core.sim.stats import mean_ci, t_quantile


def two_clients(kappa: float) -> FederationEnv:
    compat = np.array([[1.0, kappa], [kappa, 1.0]])
    competence = np.stack([np.full(12, 0.6), np.full(12, 0.2)])
    return FederationEnv(np.array([0, 1]), np.full((2, 12), 1 / 12), compat, competence,
                         np.random.default_rng(0), Dynamics(noise=0.0))


def test_expected_reward_hand_computed_two_clients():
    env = two_clients(0.5)
    r = env.expected_rewards()
    assert (ETA, FORGET) == (0.3, 0.1)  # the constants the numbers below are computed with
    assert r[0, 1] == pytest.approx(0.3 * (0.5 * 0.4 - 0.1 * 0.5 * 0.2))  # complementary, half compatible
    assert r[1, 0] == pytest.approx(0.3 * (0.0 - 0.1 * 0.5 * 0.6))        # weaker teacher: forgetting only
    assert two_clients(1.0).expected_rewards()[0, 1] == pytest.approx(0.3 * 0.4)


def test_step_applies_dynamics_and_tracks_profile_features():
    env = two_clients(0.5)
    observed = env.step([(0, 1)])
    assert observed == pytest.approx([0.057])
    assert env.competence[1] == pytest.approx(np.full(12, 0.257)) and env.competence[0] == pytest.approx(0.6)
    prof = env.profiles()
    assert prof[1, 8] == pytest.approx(0.257) and prof[1, 9] == pytest.approx(0.057)  # pass1, pass1_delta
    assert prof[0, 18] == 1.0 and prof[1, 19] == 1.0                                 # teach / learn rates
    with pytest.raises(ConfigError):
        env.step([(0, 1), (1, 0)])


def test_federation_copies_are_identical_and_independent():
    a, b = make_federation(12, "high", 3), make_federation(12, "high", 3)
    assert np.array_equal(a.competence, b.competence) and np.array_equal(a.histograms, b.histograms)
    a.step([(0, 1)])
    assert not np.array_equal(a.competence, b.competence)
    low = make_federation(200, "low", 0).histograms.max(axis=1).mean()
    high = make_federation(200, "high", 0).histograms.max(axis=1).mean()
    assert low < 0.2 < 0.6 < high  # concentration 10 gives flat histograms, 0.1 peaked ones
    with pytest.raises(ConfigError):
        make_federation(8, "extreme", 0)


def test_linucb_regret_flattens_in_a_linear_environment_random_grows_linearly():
    specs = [("random", "random", "concat"), ("linucb", "linucb", "concat")]
    rows, _ = run_methods(lambda: make_linear_env(16, 0), specs, rounds=100, seed=0)
    regret = {m: np.array([r["state_regret"] for r in rows if r["method"] == m]) for m, _, _ in specs}
    lin_first, lin_second = regret["linucb"][:50].sum(), regret["linucb"][50:].sum()
    rnd_first, rnd_second = regret["random"][:50].sum(), regret["random"][50:].sum()
    assert lin_second < 0.25 * lin_first
    assert 0.7 < rnd_second / rnd_first < 1.3 and rnd_second > 10 * lin_second


def test_t_quantile_and_confidence_interval():
    assert t_quantile(0.975, 4) == pytest.approx(2.7764451, abs=1e-5)
    assert t_quantile(0.975, 1) == pytest.approx(12.7062047, abs=1e-4)
    mean, sd, low, high = mean_ci([1.0, 2.0, 3.0])
    assert (mean, sd) == (2.0, 1.0) and high - mean == pytest.approx(4.3026527 / np.sqrt(3), abs=1e-5)


def test_cli_simulate_is_byte_identical_and_has_the_paper_columns(tmp_path):
    args = ["simulate", "--clients", "6", "--rounds", "6", "--seeds", "0", "1", "--heterogeneity", "medium"]
    for name in ("a", "b"):
        assert cli.main([*args, "--out", str(tmp_path / name)]) == 0
    for f in ("learning_curve.csv", "regret_curve.csv", "pass1_ci.csv", "regret_ci.csv", "per_seed.csv",
              "difference_to_random_ci.csv", "gain_share_ci.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    lines = (tmp_path / "a" / "learning_curve.csv").read_text().splitlines()
    assert lines[0] == "round,method,mean_pass1" and len(lines) == 1 + 6 * 6
    assert {ln.split(",")[1] for ln in lines[1:]} == {"random", "random_oriented", "family_gap", "hetero_greedy",
                                                      "linucb", "oracle"}  # the controls are in the CSVs
    regret = (tmp_path / "a" / "regret_curve.csv").read_text().splitlines()
    assert regret[0] == "round,method,cumulative_regret"
    assert all(float(ln.split(",")[2]) == 0.0 for ln in regret[1:] if ",oracle," in ln)  # policy regret


def test_cli_grid_is_byte_identical(tmp_path):
    args = ["simulate", "--grid", "--grid-clients", "4", "6", "--rounds", "4", "--seeds", "0", "1"]
    for name in ("a", "b"):
        assert cli.main([*args, "--out", str(tmp_path / name)]) == 0
    for f in ("grid.csv", "grid_summary.csv", "grid_gain.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    gain = (tmp_path / "a" / "grid_gain.csv").read_text().splitlines()
    assert gain[0] == "n_clients,heterogeneity,baseline,gain_pct,sd,ci95_low,ci95_high,n_seeds"
    assert len(gain) == 1 + 2 * 3 * 2 and {ln.split(",")[2] for ln in gain[1:]} == {"random", "random_oriented"}


def test_cli_rejects_bad_arguments(capsys):
    assert cli.main(["simulate", "--clients", "1", "--out", "unused"]) == 1
    assert "at least 2 clients" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["--seeds", "-1"], ["--lam", "0"], ["--beta0", "-1"]])
def test_cli_rejects_bad_seeds_and_bandit_settings(extra, capsys):
    assert cli.main(["simulate", "--out", "unused", *extra]) == 1
    assert "need seeds >= 0, --lam > 0 and --beta0 >= 0" in capsys.readouterr().err


# --- policy regret ---------------------------------------------------------------------------

def test_policy_regret_hand_computed_against_the_oracles_own_run():
    import pandas as pd
    from knexa_core.sim.metrics import add_policy_regret, final_ranking, orders_agree
    # one federation, start 0.1; the oracle reaches 0.3, 0.5; method a 0.2, 0.2; method b 0.3, 0.4
    rows = [{"seed": 0, "round": t, "method": m, "mean_pass1": v, "start_pass1": 0.1}
            for m, vals in {"oracle": [0.3, 0.5], "a": [0.2, 0.2], "b": [0.3, 0.4]}.items()
            for t, v in zip((1, 2), vals)]
    df = add_policy_regret(pd.DataFrame(rows)).set_index(["method", "round"])
    assert df.loc[("a", 1), "regret"] == pytest.approx(0.1) and df.loc[("a", 2), "cumulative_regret"] == pytest.approx(0.4)
    assert df.loc[("b", 2), "cumulative_regret"] == pytest.approx(0.1) and df.loc[("oracle", 2), "cumulative_regret"] == 0
    assert df.loc[("a", 2), "gain_share"] == pytest.approx(0.1 / 0.4) and df.loc[("b", 1), "gain_share"] == pytest.approx(1.0)
    ranking = final_ranking(df.reset_index())
    assert list(ranking.index) == ["oracle", "b", "a"] and orders_agree(ranking)
    with pytest.raises(ConfigError):
        add_policy_regret(pd.DataFrame(rows[2:4]))  # no oracle run


def test_paired_difference_to_random():
    import pandas as pd
    from knexa_core.sim.metrics import paired_difference
    rows = [{"seed": s, "round": 1, "method": m, "mean_pass1": v}
            for s, vals in ((0, (0.2, 0.5)), (1, (0.4, 0.5))) for m, v in zip(("random", "linucb"), vals)]
    diff = paired_difference(pd.DataFrame(rows))
    assert diff["difference"].iloc[0] == pytest.approx(0.2) and diff["sd"].iloc[0] == pytest.approx(np.sqrt(0.02))


# --- the release's environment ---------------------------------------------------------------

def test_release_reward_formula_hand_computed():
    from knexa_core.sim.release_env import DELTA, GAMMA, RATE, ReleaseEnv
    hist = np.stack([np.eye(12)[0], np.eye(12)[1]])  # disjoint histograms: JS = 1
    env = ReleaseEnv(np.array([0, 1]), hist, np.eye(4), np.stack([np.full(12, 0.5), np.full(12, 0.2)]),
                     np.random.default_rng(0), Dynamics(noise=0.0), trust=np.array([0.9, 0.6]),
                     efficiency=np.array([0.8, 1.0]), package_kb=np.array([1000.0, 500.0]))
    base_01 = 0.5 * 1.0 + 0.2 * 0.3 + 0.2 * 0.6 + 0.1 * 0.8
    base_10 = 0.5 * 1.0 + 0.0 + 0.2 * 0.6 + 0.1 * 0.8
    expected = env.expected_rewards()
    assert (GAMMA, DELTA) == (10.0, 1e-5)
    assert expected[0, 1] == pytest.approx(GAMMA * RATE * base_01 * 0.8 - DELTA * 1000)
    assert expected[1, 0] == pytest.approx(GAMMA * RATE * base_10 * 0.5 - DELTA * 500)
    assert env.step([(0, 1)]) == pytest.approx([expected[0, 1]])
    assert env.pass1()[1] == pytest.approx(0.2 + RATE * base_01 * 0.8) and env.pass1()[0] == 0.5


def test_release_env_is_seeded_and_runs_every_method():
    from knexa_core.sim import experiments as ex
    from knexa_core.sim.release_env import make_release_env
    a = ex.learning_dynamics(6, 5, [0], "high", make_env=make_release_env)
    b = ex.learning_dynamics(6, 5, [0], "high", make_env=make_release_env)
    assert a.equals(b) and set(a["method"]) == set(ex.METHOD_LABELS)
    with pytest.raises(ConfigError):
        make_release_env(1, "high", 0)


def test_order_by_policy_regret_is_the_order_by_final_pass1_in_the_chapters_setting():
    """The acceptance claim, computed in the chapter's learning-dynamics setting (cpu profile)."""
    from knexa_core.sim import experiments as ex
    from knexa_core.sim.metrics import final_ranking, orders_agree
    ranking = final_ranking(ex.learning_dynamics(16, 100, range(5), "high"))
    assert list(ranking.index)[0] == "oracle" and ranking.loc["oracle", "cumulative_regret"] == 0.0
    assert orders_agree(ranking), ranking


def test_sensitivity_rows_and_settings_are_distinct():
    from knexa_core.sim.sensitivity import SETTINGS, sensitivity
    assert len({label for _, label, _, _ in SETTINGS}) == len(SETTINGS)
    sens = sensitivity(6, 4, [0, 1], "high", settings=SETTINGS[:2] + SETTINGS[-2:])
    assert set(sens["baseline"]) == {"random", "random_oriented"} and sens["order"].nunique() == 4
    assert (sens["n_seeds"] == 2).all()


def test_cli_simulate_the_release_environment(tmp_path):
    args = ["simulate", "--clients", "6", "--rounds", "3", "--seeds", "0", "--environment", "release"]
    assert cli.main([*args, "--out", str(tmp_path / "r")]) == 0
    assert cli.main(["simulate", "--clients", "6", "--rounds", "3", "--seeds", "0", "--out", str(tmp_path / "f")]) == 0
    release = (tmp_path / "r" / "learning_curve.csv").read_text()
    assert release.count("\n") == 1 + 3 * 6 and release != (tmp_path / "f" / "learning_curve.csv").read_text()
