"""Pair contexts: the feature vector the bandit sees for an ordered pair (teacher, student).

* ``concat``: the paper's ``x_ij = [p_i, p_j]`` (``2 d_p = 64``-d). A linear model on it is
  additively separable, ``θ₁ᵀp_i + θ₂ᵀp_j``: it can learn who teaches well and who learns well,
  not which *pairs* work well together.
* ``interaction``: concat plus ``p_i ⊙ p_j``, ``|p_i − p_j|`` and the Jensen-Shannon divergence of
  the two category histograms (``4 d_p + 1 = 129``-d), so pair synergy becomes linear.

Chapter ``03_cpm_simulation``, sections "Pair contexts" and "Separability".
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from knexa_core.cpm.profiles import HISTOGRAM_SLICE, N_CATEGORIES, js_divergence
from knexa_core.errors import ConfigError

ContextFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def concat(teacher: np.ndarray, student: np.ndarray) -> np.ndarray:
    """``[p_t, p_s]`` along the last axis (broadcasts over leading axes)."""
    teacher, student = np.broadcast_arrays(np.asarray(teacher, float), np.asarray(student, float))
    return np.concatenate([teacher, student], axis=-1)


def interaction(teacher: np.ndarray, student: np.ndarray) -> np.ndarray:
    """``[p_t, p_s, p_t ⊙ p_s, |p_t − p_s|, JS(h_t, h_s)]`` (needs the 12-bin histogram at the end)."""
    teacher, student = np.broadcast_arrays(np.asarray(teacher, float), np.asarray(student, float))
    if teacher.shape[-1] < N_CATEGORIES:
        raise ConfigError(f"the interaction context needs profiles ending with the {N_CATEGORIES}-bin "
                          f"category histogram; got profiles of size {teacher.shape[-1]}")
    js = js_divergence(teacher[..., HISTOGRAM_SLICE], student[..., HISTOGRAM_SLICE])[..., None]
    return np.concatenate([teacher, student, teacher * student, np.abs(teacher - student), js], axis=-1)


CONTEXTS: dict[str, ContextFn] = {"concat": concat, "interaction": interaction}


def get_context(name: str) -> ContextFn:
    """The context map called ``name`` (``concat`` or ``interaction``)."""
    try:
        return CONTEXTS[name]
    except KeyError:
        raise ConfigError(f"unknown pair context {name!r}: choose one of {sorted(CONTEXTS)}") from None


def context_dim(name: str, d_p: int) -> int:
    """Dimension of context ``name`` for profiles of size ``d_p`` (64 / 129 for ``d_p = 32``)."""
    return {"concat": 2 * d_p, "interaction": 4 * d_p + 1}[get_context(name).__name__]


def pair_contexts(profiles: np.ndarray, pairs: Sequence[tuple[int, int]], name: str = "concat") -> np.ndarray:
    """Contexts of the given ordered pairs, shape ``(len(pairs), context_dim)``."""
    profiles = np.asarray(profiles, dtype=float)
    idx = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return get_context(name)(profiles[idx[:, 0]], profiles[idx[:, 1]])
