"""Agent profiles of the Central Profiler/Matchmaker (CPM): the ``d_p = 32`` layout.

A profile concatenates three named blocks (supplementary "Agent Profiles"; chapter
``03_cpm_simulation``, section "Profiles"):

* ``family``: one-hot of the backbone family (8 slots; the paper's federation uses four of them),
* ``performance``: 12 dynamic performance features (recent validation Pass@1, CodeBLEU, log
  perplexity, their deltas, ...; see :data:`PERFORMANCE_FEATURES`),
* ``histogram``: the 12-bin histogram of the agent's data categories (sums to 1).

Real agents (federated training) and the synthetic federation (:mod:`knexa_core.sim`) both call
:func:`build_profile`, so the matchmaker sees the same layout in both.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from knexa_core.divergence import js_divergence  # re-exported: the CPM's contexts and matchers use it
from knexa_core.errors import ConfigError

# Backbone families: the four architectures of the paper's roster first, four free slots after.
FAMILIES: tuple[str, ...] = ("qwen", "cerebras-gpt", "bloom", "pythia",
                             "family4", "family5", "family6", "family7")
# Dynamic performance features, in profile order; callers should keep them roughly unit-scale.
PERFORMANCE_FEATURES: tuple[str, ...] = (
    "pass1", "pass1_delta",                    # recent validation Pass@1 (fraction) and its change
    "codebleu", "codebleu_delta",              # recent validation CodeBLEU and its change
    "log_perplexity", "log_perplexity_delta",  # validation log-perplexity and its change
    "train_loss", "train_loss_delta",          # last local training loss and its change
    "reward_as_teacher", "reward_as_student",  # running mean normalized reward in each role
    "teach_rate", "learn_rate",                # fraction of rounds spent as teacher / as student
)
N_CATEGORIES = 12  # bins of the category histogram (the 12 categories of the data chapter)
N_FAMILIES = len(FAMILIES)
D_P = N_FAMILIES + len(PERFORMANCE_FEATURES) + N_CATEGORIES  # = 32, the paper's d_p

PERFORMANCE_SLICE = slice(N_FAMILIES, N_FAMILIES + len(PERFORMANCE_FEATURES))
HISTOGRAM_SLICE = slice(-N_CATEGORIES, None)  # the last 12 entries, whatever the profile size
PASS1_INDEX = N_FAMILIES + PERFORMANCE_FEATURES.index("pass1")


def normalize_histogram(counts: Sequence[float]) -> np.ndarray:
    """Turn non-negative category counts (length 12) into a histogram summing to 1."""
    h = np.asarray(counts, dtype=float)
    if h.shape != (N_CATEGORIES,) or np.any(h < 0) or not np.all(np.isfinite(h)):
        raise ConfigError(f"a category histogram needs {N_CATEGORIES} finite non-negative counts, got {counts!r}")
    total = h.sum()
    if total <= 0:
        raise ConfigError("a category histogram needs at least one positive count (the agent has no data?)")
    return h / total


def build_profile(family: str | int, performance: Mapping[str, float], histogram: Sequence[float]) -> np.ndarray:
    """Build one ``d_p = 32`` profile vector from named fields.

    Parameters
    ----------
    family : name in :data:`FAMILIES` or its index.
    performance : values of :data:`PERFORMANCE_FEATURES`; a feature that is not measured may be
        left out and is then 0 (unknown names are an error, to catch typos).
    histogram : 12 category counts or fractions (normalized here).

    Returns
    -------
    numpy.ndarray of shape ``(32,)``.
    """
    index = FAMILIES.index(family) if isinstance(family, str) and family in FAMILIES else family
    if not isinstance(index, (int, np.integer)) or not 0 <= index < N_FAMILIES:
        raise ConfigError(f"unknown backbone family {family!r}: use one of {FAMILIES} or an index 0..7")
    unknown = sorted(set(performance) - set(PERFORMANCE_FEATURES))
    if unknown:
        raise ConfigError(f"unknown performance feature(s) {unknown}; known: {list(PERFORMANCE_FEATURES)}")
    profile = np.zeros(D_P)
    profile[index] = 1.0
    profile[PERFORMANCE_SLICE] = [float(performance.get(name, 0.0)) for name in PERFORMANCE_FEATURES]
    profile[HISTOGRAM_SLICE] = normalize_histogram(histogram)
    return profile
