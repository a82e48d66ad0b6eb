"""The centralized baselines' shared representation: text ensembling across two toy tokenizers, the vote."""
from __future__ import annotations

import pytest

from knexa_core.errors import ConfigError
from knexa_core.fl.ensemble import (
    consensus, index_mismatch, majority_vote, normalize_code, shared_strings, similarity,
)

# two toy tokenizers with different vocabularies (greedy longest match); ids chosen by hand
VOCAB_A = {" ": 0, "r": 1, "e": 2, "t": 3, "u": 4, "n": 5, "x": 6, "+": 7, "-": 8, "1": 9}
VOCAB_B = {"    ": 0, "return": 1, " x": 2, " +": 3, " -": 4, " 1": 5, " ": 6}


def encode(text: str, vocab: dict[str, int]) -> list[int]:
    ids, i = [], 0
    while i < len(text):
        piece = max((s for s in vocab if text.startswith(s, i)), key=len)
        ids.append(vocab[piece])
        i += len(piece)
    return ids


def decode(ids: list[int], vocab: dict[str, int]) -> str:
    inverse = {i: s for s, i in vocab.items()}
    return "".join(inverse[i] for i in ids)


def test_the_toy_tokenizers_disagree_on_ids_and_index_alignment_mixes_strings() -> None:
    text = "    return x + 1"
    assert encode(text, VOCAB_B) == [0, 1, 2, 3, 5]                     # 5 tokens
    assert encode(text, VOCAB_A)[:6] == [0, 0, 0, 0, 1, 2] and len(encode(text, VOCAB_A)) == 16
    # ids 0..6 exist in both; id 0 is " " vs "    ", id 1 "r" vs "return", ... every one differs
    assert index_mismatch(VOCAB_A, VOCAB_B) == 1.0
    # both models predict the same next text after "    return": A its token "x" (id 6), B its token
    # " x" (id 2). Averaged by index, half of the mass lands on id 2 and half on id 6: for a student
    # with A's vocabulary that is "e" and "x", for one with B's " x" and " " -- unrelated strings mixed
    avg = [(a + b) / 2 for a, b in zip([0, 0, 0, 0, 0, 0, 1], [0, 0, 1, 0, 0, 0, 0])]
    assert [i for i, p in enumerate(avg) if p] == [2, 6]
    assert (decode([2], VOCAB_A), decode([6], VOCAB_A)) == ("e", "x")
    assert (decode([2], VOCAB_B), decode([6], VOCAB_B)) == (" x", " ")
    assert shared_strings(VOCAB_A, VOCAB_B) == pytest.approx(1 / 7)    # only " " is in both


def test_text_consensus_over_clients_with_different_tokenizers_by_hand() -> None:
    # client 0 decodes with A, clients 1 and 2 with B; client 3 abstains (guardrail drop)
    c0 = decode(encode("    return x + 1", VOCAB_A), VOCAB_A)
    c1 = decode([0, 1, 2, 3, 5], VOCAB_B) + "\n"
    c2 = decode([0, 1, 2, 4, 5], VOCAB_B)                               # "    return x - 1"
    # normalized c0 == c1; c0 vs c2: 15 of 16 characters match, ratio 2*15/32 = 0.9375
    assert normalize_code(c1) == c0 and similarity(c0, c2) == pytest.approx(0.9375)
    choice = consensus([c0, c1, c2, None])
    # scores: c0 = 1 + 0.9375, c1 = the same (tie -> lowest index), c2 = 2 * 0.9375
    assert (choice.client, choice.text, choice.voters) == (0, c0, 3)
    assert choice.support == pytest.approx(1.9375 / 2)
    # every student re-encodes the chosen text with its own tokenizer, losslessly
    assert decode(encode(choice.text, VOCAB_A), VOCAB_A) == choice.text == decode(encode(choice.text, VOCAB_B), VOCAB_B)
    assert consensus([None, "", "  # only a comment"]) is None
    assert consensus([None, "    return x"]).support == 1.0


def test_normalization_keeps_indentation_and_drops_noise() -> None:
    assert normalize_code("\treturn a   \n\n    # note\n") == "    return a"
    assert normalize_code("  return a") != normalize_code("    return a")


def test_majority_vote_by_hand() -> None:
    cands = ["  return a", "  return a   \n# note\n", "  return b", "    return a", None]
    # ballots: "  return a" by clients 0, 1; "  return b" by 2; "    return a" by 3 (indentation differs); 4 abstains
    vote = majority_vote(cands, [0.1, 0.1, 0.3, 0.15, 0.9])
    assert (vote.text, vote.client, vote.voters) == ("  return b", 2, 4)
    assert vote.support == pytest.approx(0.3 / 0.65)
    equal = majority_vote(cands, [1.0] * 5)                             # unweighted: two votes beat one
    assert (equal.client, equal.support) == (0, pytest.approx(0.5))
    tie = majority_vote(cands, [0.1, 0.1, 0.2, 0.0, 0.0])               # 0.2 vs 0.2: first proposer wins
    assert tie.client == 0
    # merging indentation would give "return a" 0.35 > 0.3; kept apart, "  return b" wins
    assert majority_vote(cands, [0.1, 0.1, 0.3, 0.15, 0.0]).client == 2
    assert majority_vote([None, ""], [1.0, 1.0]) is None
    zero = majority_vote(["  x", "  y"], [0.0, 0.0])
    assert (zero.client, zero.support) == (0, 0.5)


def test_majority_vote_needs_one_weight_per_candidate() -> None:
    with pytest.raises(ConfigError, match="one non-negative weight per candidate"):
        majority_vote(["a", "b"], [1.0])
    with pytest.raises(ConfigError, match="non-negative"):
        majority_vote(["a"], [-1.0])
