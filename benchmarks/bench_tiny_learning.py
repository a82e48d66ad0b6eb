"""Sensitivity of the `cpu` profile's chosen constants: how well does one tiny client learn?

For each setting (pretraining steps and lr of the tiny base, model width), pretrain the base of one
family (cached like every tiny base), put a fresh LoRA adapter on it and train it locally on that
client's roster data, then print greedy Pass@1 on the global test problems of the categories the
client holds ("held") and of those it lacks ("lacking"), and on 24 of its own training problems.
This is where the `cpu` profile's pretraining constants come from (config.py). The split is drawn
with ``--split-seed`` (default 7), not the book's 42, so choosing constants here never looks at
the test problems the book reports.

    python benchmarks/bench_tiny_learning.py [--family pythia] [--epochs 12 24] \
        [--settings 150:1e-3 600:3e-3 1200:3e-3] [--hidden 128 --ffn 512]

Each new setting pretrains a base (about 6 minutes for 1,200 steps at hidden 128 here).
"""
from __future__ import annotations

import argparse
import time

from knexa_core.fl.agent import Agent
from knexa_core.fl.config import FederationConfig
from knexa_core.fl.evaluate import score
from knexa_core.fl.federation import draw_federation_split
from knexa_core.fl.models import load_lora_model
from knexa_core.fl.pretrain import PretrainSpec, tiny_base

FAMILY_CLIENT = {"qwen": 0, "cerebras-gpt": 1, "bloom": 2, "pythia": 3}  # the roster's first client of each family


def held_and_lacking(agent: Agent, test, held: set[str]) -> tuple[float, float]:
    s = score(agent, test, 48, codebleu=False)
    h = [v for c, v in s.by_category.items() if c in held]
    lk = [v for c, v in s.by_category.items() if c not in held]
    return sum(h) / len(h), sum(lk) / len(lk)


def one_setting(family: str, steps: int, lr: float, hidden: int, ffn: int, epochs: list[int], split_seed: int) -> None:
    import torch

    torch.set_num_threads(1)
    config = FederationConfig.for_profile("cpu", method="local_only", seed=0, rounds=max(epochs), local_epochs=1,
                                          tiny_hidden=hidden, tiny_ffn=ffn, pretrain_steps=steps, pretrain_lr=lr,
                                          split_seed=split_seed)
    choice = config.backbone_choice()
    clock = time.perf_counter()
    base = tiny_base(family, choice.size, PretrainSpec(steps=steps, lr=lr))
    built = time.perf_counter() - clock
    _, split, _ = draw_federation_split(config)
    part = split.clients[FAMILY_CLIENT[family]]
    model, tok = load_lora_model(str(base), family, choice.tiny_rank, 123, choice.train_final_norm)
    agent = Agent("probe", family, model, tok, part.train, part.val, config.train_config(), 123)
    held = {p.category for p in part.train}
    for epoch in range(1, max(epochs) + 1):
        loss = agent.train_round()
        if epoch in epochs:
            h, lk = held_and_lacking(agent, split.global_test, held)
            train = score(agent, part.train[:24], 48, codebleu=False).pass_at_k["pass@1"]
            print(f"{family:12s} hidden {hidden:3d} pretrain {steps:5d} steps lr {lr:g} (base {built:4.0f} s) | "
                  f"epoch {epoch:3d} loss {loss:.3f} train {train:.2f} held {h:.3f} lacking {lk:.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="pythia", choices=sorted(FAMILY_CLIENT))
    parser.add_argument("--epochs", type=int, nargs="+", default=[12, 24])
    parser.add_argument("--settings", nargs="+", default=["150:1e-3", "600:3e-3", "1200:3e-3"],
                        help="pretraining steps:lr pairs")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--ffn", type=int, default=512)
    parser.add_argument("--split-seed", type=int, default=7, help="seed of the split (the book's is 42)")
    args = parser.parse_args()
    for setting in args.settings:
        steps, lr = setting.split(":")
        one_setting(args.family, int(steps), float(lr), args.hidden, args.ffn, sorted(args.epochs), args.split_seed)


if __name__ == "__main__":
    main()
