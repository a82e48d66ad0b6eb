"""The Central Profiler/Matchmaker (CPM): profiles, pair contexts, LinUCB, matching, rewards.

Chapter ``03_cpm_simulation`` explains every part; federated training drives the same objects
from live agent profiles and rewards.
"""
from knexa_core.cpm.contexts import CONTEXTS, concat, context_dim, get_context, interaction, pair_contexts
from knexa_core.cpm.greedy import greedy_disjoint
from knexa_core.cpm.linucb import LinUCB
from knexa_core.cpm.matchers import (METHODS, FamilyGapMatcher, HeteroGreedyMatcher, LinUCBMatcher, Matcher,
                                     OracleMatcher, RandomMatcher, RandomOrientedMatcher, make_matcher)
from knexa_core.cpm.profiles import D_P, FAMILIES, N_CATEGORIES, PERFORMANCE_FEATURES, build_profile, js_divergence
from knexa_core.cpm.reward import RewardNormalizer

__all__ = ["CONTEXTS", "D_P", "FAMILIES", "METHODS", "N_CATEGORIES", "PERFORMANCE_FEATURES",
           "FamilyGapMatcher", "HeteroGreedyMatcher", "LinUCB", "LinUCBMatcher", "Matcher", "OracleMatcher",
           "RandomMatcher", "RandomOrientedMatcher",
           "RewardNormalizer", "build_profile", "concat", "context_dim", "get_context", "greedy_disjoint",
           "interaction", "js_divergence", "make_matcher", "pair_contexts"]
