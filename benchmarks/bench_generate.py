"""Speed of `Agent.generate` on the four tiny families, before and after its two savings.

The savings are the shared prefill of a prompt's samples (`Agent._prefill`) and, on CPU, the
merged LoRA weights (`knexa_core.fl.models.merged_lora`); "before" switches both off, which is the
plain path (every sample prefilled, LoRA applied as three matmuls). For each family of the `cpu`
profile (clients C0-C3) it times greedy decoding of the 116 test problems and 10 samples at T = 0.8
(the final evaluation's call), and says whether the completions equal those of "before".

    python benchmarks/bench_generate.py [--threads 1] [--tokens 48] [--ablation]
"""
from __future__ import annotations

import argparse
import contextlib
import time

import torch

from knexa_core.fl import agent as agent_module
from knexa_core.fl.config import FederationConfig
from knexa_core.fl.federation import build_federation
from knexa_core.fl.models import merged_lora

MODES = {"before": (False, False), "prefill only": (True, False), "merge only": (False, True), "after": (True, True)}


@contextlib.contextmanager
def savings(prefill: bool, merge: bool):
    """Switch the two savings on or off for the body (the plain path when both are off)."""
    saved = agent_module.Agent._prefill, agent_module.merged_lora
    if not prefill:
        agent_module.Agent._prefill = lambda self, ids, mask, repeats: None
    if not merge:
        agent_module.merged_lora = lambda model, enabled=True: contextlib.nullcontext()
    try:
        yield
    finally:
        agent_module.Agent._prefill, agent_module.merged_lora = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the cpu profile uses 1)")
    parser.add_argument("--tokens", type=int, default=48, help="max new tokens (the cpu profile's evaluation)")
    parser.add_argument("--ablation", action="store_true", help="also time each saving alone")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    fed = build_federation(FederationConfig.for_profile("cpu", seed=0))
    modes = MODES if args.ablation else {k: MODES[k] for k in ("before", "after")}
    print(f"generate seconds, {args.threads} thread(s), {args.tokens} new tokens; 'same' = completions equal to 'before'")
    for worker in fed.executor.workers[:4]:
        agent, test = worker.agent, worker.sets["test"]
        for label, (temperature, samples) in {"greedy": (0.0, 1), "10 x T=0.8": (0.8, 10)}.items():
            seconds, reference, row = {}, None, []
            for mode, switches in modes.items():
                with savings(*switches):
                    clock = time.perf_counter()
                    out = agent.generate(test, args.tokens, temperature, samples, 1)
                    seconds[mode] = time.perf_counter() - clock
                reference = reference or out
                same = sum(a == b for x, y in zip(out, reference) for a, b in zip(x, y)) / (len(test) * samples)
                row.append(f"{mode} {seconds[mode]:5.2f} s" + ("" if mode == "before" else f" ({same:.1%} same)"))
            print(f"{agent.family:13s} {label:10s} {len(test)} problems: " + "; ".join(row)
                  + f"; speed-up x{seconds['before'] / seconds['after']:.2f}", flush=True)


if __name__ == "__main__":
    main()
