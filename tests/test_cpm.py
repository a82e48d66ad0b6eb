"""Tests of the CPM: profiles, contexts, greedy matching, LinUCB, reward normalization, matchers."""
from __future__ import annotations

import math

import numpy as np
import pytest

from knexa_core.cpm import (D_P, LinUCB, RewardNormalizer, build_profile, context_dim, greedy_disjoint,
                            interaction, js_divergence, make_matcher, pair_contexts)
from knexa_core.cpm import prefilter
from knexa_core.cpm.matchers import family_gap_scores, hetero_scores
from knexa_core.cpm.profiles import HISTOGRAM_SLICE, PASS1_INDEX
from knexa_core.cpm.reference import reference_greedy, reference_select
from knexa_core.errors import ConfigError


def random_profiles(rng, n, d=D_P):
    p = rng.random((n, d))
    p[:, -12:] /= p[:, -12:].sum(axis=1, keepdims=True)
    return p


def trained_bandit(rng, profiles, context="concat", updates=200, beta0=1.0):
    bandit = LinUCB(context_dim(context, profiles.shape[1]), beta0=beta0, context=context)
    for _ in range(updates):
        i, j = rng.choice(len(profiles), 2, replace=False)
        bandit.update(bandit.contexts(profiles, [(i, j)])[0], float(rng.normal()))
    return bandit


# --- profiles and contexts -------------------------------------------------------------------

def test_build_profile_layout():
    p = build_profile("bloom", {"pass1": 0.25, "learn_rate": 0.5}, [2] + [0] * 10 + [2])
    assert p.shape == (32,) and D_P == 32
    assert p[:8].tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    assert p[PASS1_INDEX] == 0.25 and p[19] == 0.5 and p[9:19].sum() == 0
    assert p[HISTOGRAM_SLICE].tolist() == [0.5] + [0.0] * 10 + [0.5]


@pytest.mark.parametrize("kwargs", [dict(family="gpt9"), dict(performance={"pass_1": 1.0}),
                                    dict(histogram=[0] * 12), dict(histogram=[1] * 11)])
def test_build_profile_rejects_bad_fields(kwargs):
    args = dict(family="qwen", performance={}, histogram=[1] * 12) | kwargs
    with pytest.raises(ConfigError):
        build_profile(**args)


def test_js_divergence_extremes_and_symmetry():
    a, b = np.eye(12)[0], np.eye(12)[1]
    assert js_divergence(a, a) == 0.0 and js_divergence(a, b) == pytest.approx(1.0)
    mixed = np.full(12, 1 / 12)
    assert js_divergence(a, mixed) == pytest.approx(js_divergence(mixed, a))


def test_contexts_dimensions_and_values():
    rng = np.random.default_rng(0)
    p = random_profiles(rng, 3)
    c = pair_contexts(p, [(0, 2)], "concat")[0]
    assert c.shape == (64,) and np.array_equal(c, np.concatenate([p[0], p[2]]))
    x = pair_contexts(p, [(0, 2)], "interaction")[0]
    assert x.shape == (129,) == (context_dim("interaction", 32),)
    assert np.allclose(x[64:96], p[0] * p[2]) and np.allclose(x[96:128], np.abs(p[0] - p[2]))
    assert x[128] == pytest.approx(js_divergence(p[0, -12:], p[2, -12:]))
    assert np.allclose(interaction(p[:, None], p[None, :])[0, 2], x)
    with pytest.raises(ConfigError):
        pair_contexts(p, [(0, 1)], "outer")


# --- greedy disjoint matching ----------------------------------------------------------------

def test_greedy_hand_computed_three_agents():
    s = np.array([[0, 5, 1], [2, 0, 7], [3, 4, 0]], dtype=float)
    assert greedy_disjoint(s, 1) == [(1, 2)]
    assert greedy_disjoint(s, 5) == [(1, 2)]  # agent 0 is left without a partner
    s[1, 2] = -np.inf                           # forbidden pair
    assert greedy_disjoint(s, 1) == [(0, 1)]


def test_greedy_ties_ascending_teacher_student():
    assert greedy_disjoint(np.zeros((4, 4)), 2) == [(0, 1), (2, 3)]
    s = np.zeros((3, 3))
    s[2, 0] = s[1, 0] = 1.0
    assert greedy_disjoint(s, 1) == [(1, 0)]


def test_greedy_matches_reference_scan_on_random_and_separable_matrices():
    rng = np.random.default_rng(1)
    for trial in range(30):
        n = int(rng.integers(2, 40))
        s = rng.normal(size=(n, n)) if trial % 2 else rng.normal(size=(n, 1)) + rng.normal(size=(1, n))
        s = np.round(s, 1) if trial % 3 == 0 else s   # rounding creates many ties
        k = int(rng.integers(1, n // 2 + 2))
        ref = reference_greedy({(i, j): s[i, j] for i in range(n) for j in range(n) if i != j}, k)
        assert greedy_disjoint(s, k) == ref


# --- LinUCB ----------------------------------------------------------------------------------

def test_linucb_hand_computed_two_clients():
    p = np.array([[1.0, 0.0], [0.0, 1.0]])  # d_p = 2, concat contexts of dimension 4
    bandit = LinUCB(4, lam=1.0, beta0=1.0)
    assert bandit.select_pairs(p, 1, 1) == [(0, 1)]  # both orders score sqrt(2): tie -> (0, 1)
    bandit.update(np.array([1.0, 0, 0, 1]), 1.0)     # x = [p0, p1], r = 1: θ = x / 3
    s = bandit.score_matrix(p, 1)
    assert s[0, 1] == pytest.approx(2 / 3 + math.sqrt(2 / 3))
    assert s[1, 0] == pytest.approx(math.sqrt(2))
    assert bandit.select_pairs(p, 1, 4) == [(0, 1)]  # β = 0.5: 2/3 + 0.5·sqrt(2/3) > 0.5·sqrt(2)
    bandit.beta0 = 10.0                               # large exploration prefers the unexplored order
    assert bandit.select_pairs(p, 1, 1) == [(1, 0)]
    assert bandit.beta(0) == bandit.beta(1) == 10.0 and bandit.beta(100) == 1.0


@pytest.mark.parametrize("context", ["concat", "interaction"])
def test_linucb_matches_straightforward_loop(context):
    rng = np.random.default_rng(2)
    for _ in range(6):
        n = int(rng.integers(2, 14))
        p = random_profiles(rng, n)
        bandit = trained_bandit(rng, p, context, updates=int(rng.integers(0, 120)), beta0=float(rng.uniform(0, 2)))
        k, t = int(rng.integers(1, n // 2 + 2)), int(rng.integers(0, 30))
        assert bandit.select_pairs(p, k, t) == reference_select(bandit.A, bandit.b, p, k, t, bandit.beta0, context)


def test_sherman_morrison_tracks_fresh_inverse():
    rng = np.random.default_rng(3)
    bandit = LinUCB(64, lam=0.5, refresh_every=10_000)
    xs, rs = rng.normal(size=(400, 64)), rng.normal(size=400)
    for x, r in zip(xs, rs):
        bandit.update(x, float(r))
    assert np.allclose(bandit.A, 0.5 * np.eye(64) + xs.T @ xs) and np.allclose(bandit.b, xs.T @ rs)
    assert np.allclose(bandit.A_inv, np.linalg.inv(bandit.A), atol=1e-9)
    refreshed = LinUCB(8, refresh_every=5)
    for _ in range(5):
        refreshed.update(rng.normal(size=8), 1.0)
    assert np.array_equal(refreshed.A_inv, 0.5 * (np.linalg.inv(refreshed.A) + np.linalg.inv(refreshed.A).T))


def test_linucb_rejects_bad_inputs():
    bandit = LinUCB(64)
    with pytest.raises(ConfigError):
        bandit.update(np.ones(63), 1.0)
    with pytest.raises(ConfigError):
        bandit.update(np.ones(64), float("nan"))
    with pytest.raises(ConfigError):
        bandit.select_pairs(np.ones((4, 31)), 2, 1)
    with pytest.raises(ConfigError):
        LinUCB(64, lam=0.0)


# --- reward normalization --------------------------------------------------------------------

def test_reward_normalizer_welford_z_score():
    norm = RewardNormalizer()
    assert norm(1.0) == 0.0
    assert norm(2.0) == pytest.approx(0.5 / (0.5 + 1e-6))
    assert norm(3.0) == pytest.approx(1.0 / (math.sqrt(2 / 3) + 1e-6))
    data = np.random.default_rng(4).normal(5.0, 2.0, size=500)
    for r in data:
        norm.update(float(r))
    full = np.concatenate([[1.0, 2.0, 3.0], data])
    assert norm.mean == pytest.approx(full.mean()) and norm.std == pytest.approx(full.std())
    with pytest.raises(ConfigError):
        norm.update(float("inf"))


# --- matchers --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["random", "random_oriented", "family_gap", "hetero_greedy", "linucb", "oracle"])
@pytest.mark.parametrize("n,k", [(2, 1), (7, 3), (10, 2), (9, 10)])
def test_matchers_return_disjoint_valid_pairs(name, n, k):
    rng = np.random.default_rng(n)
    p = random_profiles(rng, n)
    expected = rng.normal(size=(n, n))
    matcher = make_matcher(name, seed=0, expected=lambda: expected)
    pairs = matcher.select(p, k, 1)
    flat = [a for pair in pairs for a in pair]
    assert len(pairs) == min(k, n // 2) and len(set(flat)) == len(flat)
    assert all(0 <= a < n for a in flat) and all(t != s for t, s in pairs)
    matcher.observe(p, pairs, [0.1] * len(pairs))


def test_hetero_greedy_picks_max_divergence_and_better_teacher():
    hists = [np.eye(12)[0], np.eye(12)[0] * 0.5 + np.eye(12)[1] * 0.5, np.eye(12)[5]]
    p = np.stack([build_profile("qwen", {"pass1": v}, h) for v, h in zip([0.2, 0.9, 0.5], hists)])
    scores = hetero_scores(p)
    assert scores[0, 1] == -np.inf and scores[1, 0] == pytest.approx(0.5 * (math.log2(4 / 3) + 0.5 * math.log2(2 / 3) + 0.5))
    # JS(0,2) = JS(1,2) = 1; teachers: 1 (0.9) over 2, 2 (0.5) over 0; tie broken by (1, 2) < (2, 0)
    assert make_matcher("hetero_greedy", 0).select(p, 1, 1) == [(1, 2)]


def test_random_matcher_is_seeded():
    p = random_profiles(np.random.default_rng(0), 10)
    assert make_matcher("random", 7).select(p, 5, 1) == make_matcher("random", 7).select(p, 5, 1)
    with pytest.raises(ConfigError):
        make_matcher("oracle", 0)


# --- large federations -----------------------------------------------------------------------

def test_exact_select_with_short_lists_equals_full_matrix():
    rng = np.random.default_rng(5)
    p = random_profiles(rng, 60)
    bandit = trained_bandit(rng, p)
    assert prefilter.exact_select(bandit, p, 30, 3, m=4) == bandit.select_pairs(p, 30, 3)


def test_exact_select_is_exact_when_duplicate_profiles_tie():
    rng = np.random.default_rng(7)
    base = random_profiles(rng, 6)
    p = base[np.arange(24) % 6]  # every profile four times: many equal scores at the cut-off
    bandit = trained_bandit(rng, base)
    for m in (2, 3, 5):
        assert prefilter.exact_select(bandit, p, 12, 2, m=m) == bandit.select_pairs(p, 12, 2)


def test_interaction_context_reads_the_histogram_at_the_end_of_any_profile():
    short = np.zeros((2, 16))  # the release's 16-d profiles end with the histogram too
    short[0, -12] = short[1, -1] = 1.0  # disjoint histograms: JS = 1
    x = pair_contexts(short, [(0, 1)], "interaction")
    assert x[0, -1] == pytest.approx(1.0)


def test_prefilter_gives_valid_near_exact_selection(monkeypatch):
    monkeypatch.setattr(prefilter, "EXACT_BELOW", 8)
    rng = np.random.default_rng(6)
    p = random_profiles(rng, 200)
    bandit = trained_bandit(rng, p, updates=300)
    pairs = prefilter.prefilter_select(bandit, p, 100, 5, top_k=16, probe=4)
    flat = [a for pair in pairs for a in pair]
    assert len(pairs) == 100 and len(set(flat)) == 200
    s = bandit.score_matrix(p, 5)
    exact = sum(s[t, u] for t, u in bandit.select_pairs(p, 100, 5))
    assert sum(s[t, u] for t, u in pairs) >= 0.9 * exact


# --- controls --------------------------------------------------------------------------------

def test_random_oriented_keeps_random_partners_and_the_better_agent_teaches():
    p = np.stack([build_profile("qwen", {"pass1": v}, [1] * 12) for v in (0.1, 0.9, 0.5, 0.5, 0.3, 0.7)])
    plain, oriented = make_matcher("random", 3).select(p, 3, 1), make_matcher("random_oriented", 3).select(p, 3, 1)
    assert [set(x) for x in plain] == [set(x) for x in oriented]  # same partners as Random, same seed
    for t, s in oriented:
        assert p[t, 8] > p[s, 8] or (p[t, 8] == p[s, 8] and t < s)  # pass1 is profile entry 8
    tie = np.stack([build_profile("qwen", {"pass1": 0.5}, [1] * 12)] * 2)
    assert make_matcher("random_oriented", 0).select(tie, 1, 1) == [(0, 1)]  # equal Pass@1: lower index teaches


def test_family_gap_same_family_first_then_largest_gap():
    # agents: 0 qwen 0.1, 1 bloom 0.9, 2 qwen 0.5, 3 bloom 0.2, 4 pythia 0.95, 5 qwen 0.45
    spec = [("qwen", 0.1), ("bloom", 0.9), ("qwen", 0.5), ("bloom", 0.2), ("pythia", 0.95), ("qwen", 0.45)]
    p = np.stack([build_profile(f, {"pass1": v}, [1] * 12) for f, v in spec])
    # same-family pairs: bloom 1->3 (gap 0.7), qwen 2->0 (0.4), 5->0 (0.35), 2->5 (0.05); the
    # cross-family 4->0 (0.85) comes after them; then 4 with the remaining qwen 5 (0.5)
    assert make_matcher("family_gap", 0).select(p, 3, 1) == [(1, 3), (2, 0), (4, 5)]
    scores = family_gap_scores(p)
    assert scores[1, 3] == pytest.approx(0.7 + 1.85) and scores[3, 1] == -np.inf and scores[4, 0] == pytest.approx(0.85)


def test_beta_schedule_decaying_or_constant():
    assert LinUCB(4, beta0=2.0).beta(4) == 1.0 and LinUCB(4, beta0=2.0, beta_schedule="constant").beta(4) == 2.0
    with pytest.raises(ConfigError):
        LinUCB(4, beta_schedule="linear")
