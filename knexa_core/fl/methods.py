"""The federated methods of this chapter: one driver, and they differ only in the pairing policy.

====================  ====================================================  =========================
method                pairs each round                                      source
====================  ====================================================  =========================
``knexa_fl``          LinUCB over the agents' profiles, Eq. 3 rewards back  the paper, Algorithm 1
``random_p2p``        uniformly random disjoint pairs and roles             the paper's Random-P2P
``heuristic_p2p``     max. JS divergence of histograms, better one teaches  supplementary Algorithm 3
``local_only``        none: every client only trains locally                the paper's LocalOnly
``central_kd``        none: a server ensembles all texts, everyone distils  FedMD (:mod:`.central`)
``fedid_central_kd``  none: a central model learns the vote and teaches     FedID (:mod:`.central`)
====================  ====================================================  =========================

Unpaired clients still train locally in every method. The matchers are those of
:mod:`knexa_core.cpm` (chapter ``03_cpm_simulation``); the two centralized baselines pair nobody
and run the server round of :mod:`knexa_core.fl.central` instead.
"""
from __future__ import annotations

from knexa_core.cpm import make_matcher
from knexa_core.cpm.matchers import Matcher
from knexa_core.errors import ConfigError

# method -> (matcher name or None, Table-4 name)
METHODS: dict[str, tuple[str | None, str]] = {
    "knexa_fl": ("linucb", "KNEXA-FL"),
    "random_p2p": ("random", "Random-P2P"),
    "heuristic_p2p": ("hetero_greedy", "Heuristic-P2P"),
    "local_only": (None, "LocalOnly"),
    "central_kd": (None, "Central-KD"),
    "fedid_central_kd": (None, "FedID-CentralKD"),
}


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    return method


def table_name(method: str) -> str:
    """The method's name in the paper's Table 4 (``"knexa_fl"`` -> ``"KNEXA-FL"``)."""
    return METHODS[check_method(method)][1]


def pairing_policy(method: str, seed: int, context: str = "concat", lam: float = 1.0,
                   beta0: float = 1.0, beta_schedule: str = "decay") -> Matcher | None:
    """The matcher of ``method`` (None for LocalOnly), seeded by the run."""
    name = METHODS[check_method(method)][0]
    return None if name is None else make_matcher(name, seed, context=context, lam=lam, beta0=beta0,
                                                  beta_schedule=beta_schedule)
