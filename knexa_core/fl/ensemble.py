"""A representation shared by clients with different tokenizers: decoded code, ensembled per prompt.

The centralized baselines need one teacher signal from six models whose vocabularies differ (tiny
BPE vocabularies of 2,048–3,500 tokens here; 50k–250k for the paper's backbones). Averaging logits
position by position requires a common vocabulary; truncating every vocabulary to the smallest and
averaging by index adds up probabilities of *unrelated* strings
for separately trained tokenizers such as the paper's (:func:`index_mismatch` measures how many;
the tiny tokenizers here are nested, so their ids agree, but they still cut the same text into
different tokens, so positions do not line up). We ensemble at the sequence level instead, on the text
every client can decode and every student can re-encode with its own tokenizer (what AKD, Eq. 2,
distils anyway):

* :func:`normalize_code`: a canonical form of decoded code that keeps indentation (it is syntax in
  Python): tabs expanded, trailing spaces, blank lines and whole-line comments removed.
* :func:`consensus`: Central-KD's ensemble teacher (FedMD, Li & Wang 2019, averages the clients'
  predictions with equal weight). Per prompt, the candidate with the highest summed similarity to
  the others (a minimum-Bayes-risk choice, the text analogue of an average); identical candidates
  reinforce each other, so an exact majority wins.
* :func:`majority_vote`: FedID-CentralKD's pseudo-label (Ma et al., EMNLP 2023, distil a central
  model from the clients' aggregated predictions): the normalized program with the largest total
  client confidence.
Chapter ``02_federated_training``, section "The centralized baselines" (measured on the run's tokenizers).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Mapping, Sequence

from knexa_core.errors import ConfigError

_COMMENT = re.compile(r"^\s*#")


def normalize_code(text: str) -> str:
    """``text`` with tabs expanded (4 columns), trailing spaces, blank and comment-only lines removed.

    Indentation is kept: ``"  return x"`` and ``"return x"`` stay different programs.
    """
    lines = [line.expandtabs(4).rstrip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line and not _COMMENT.match(line))


def similarity(a: str, b: str) -> float:
    """Similarity of two normalized programs in [0, 1] (``difflib`` ratio over characters)."""
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass(frozen=True)
class Choice:
    """The ensemble's text for one prompt, who proposed it and how much support it had."""

    text: str          # the chosen candidate, as that client decoded it (None-free)
    client: int        # index of the first client that proposed it
    support: float     # consensus: mean similarity to the other candidates; vote: winning weight share
    voters: int        # non-empty candidates that took part


def consensus(candidates: Sequence[str | None]) -> Choice | None:
    """Central-KD's choice among one prompt's candidates (one per client; None or empty: abstains).

    Each candidate scores the sum of its similarities to the other non-empty candidates; the highest
    score wins, ties going to the lowest client index. None when every client abstained.
    """
    keyed = [(i, normalize_code(c)) for i, c in enumerate(candidates) if c is not None]
    keyed = [(i, k) for i, k in keyed if k]
    if not keyed:
        return None
    if len(keyed) == 1:
        return Choice(candidates[keyed[0][0]], keyed[0][0], 1.0, 1)
    scores = [sum(similarity(k, other) for j, other in keyed if j != i) for i, k in keyed]
    best = max(range(len(keyed)), key=lambda n: (scores[n], -keyed[n][0]))
    client = keyed[best][0]
    return Choice(candidates[client], client, scores[best] / (len(keyed) - 1), len(keyed))


def majority_vote(candidates: Sequence[str | None], weights: Sequence[float]) -> Choice | None:
    """FedID-CentralKD's choice: the normalized program with the largest summed client weight.

    Candidates with the same :func:`normalize_code` form are one ballot; ties go to the ballot
    whose first proposer has the lowest index; None and empty programs abstain. ``support`` is the
    winner's share of the weight cast.
    """
    if len(candidates) != len(weights) or any(not w >= 0 for w in weights):
        raise ConfigError(f"majority_vote needs one non-negative weight per candidate; got {len(candidates)} "
                          f"candidates and weights {list(weights)}")
    ballots: dict[str, list[int]] = {}
    for i, text in enumerate(candidates):
        key = normalize_code(text) if text is not None else ""
        if key:
            ballots.setdefault(key, []).append(i)
    if not ballots:
        return None
    tally = {k: sum(weights[i] for i in who) for k, who in ballots.items()}
    winner = max(ballots, key=lambda k: (tally[k], -ballots[k][0]))
    cast = sum(tally.values())
    share = tally[winner] / cast if cast > 0 else 1.0 / len(ballots)
    return Choice(candidates[ballots[winner][0]], ballots[winner][0], share, sum(map(len, ballots.values())))


def index_mismatch(vocab_a: Mapping[str, int], vocab_b: Mapping[str, int]) -> float:
    """Share of the ids both vocabularies have (0 .. min size − 1) that denote different strings.

    This is what index-aligned logit averaging mixes: at such an id, one model's probability of
    one string is added to the other's probability of another string.
    """
    size = min(len(vocab_a), len(vocab_b))
    if size == 0:
        return 0.0
    a, b = ({i: s for s, i in v.items()} for v in (vocab_a, vocab_b))
    return sum(a.get(i) != b.get(i) for i in range(size)) / size


def shared_strings(vocab_a: Mapping[str, int], vocab_b: Mapping[str, int]) -> float:
    """Share of the smaller vocabulary whose token strings the other vocabulary also has."""
    small, large = sorted((vocab_a, vocab_b), key=len)
    return len(set(small) & set(large)) / len(small) if small else 0.0
