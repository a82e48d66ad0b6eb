"""Speed of federated training on this machine: one `cpu`-profile run (6 clients, 20 rounds).

Prints training tokens/s and generated tokens/s (summed over the clients' own timers), and the
wall time of the whole run (tiny bases are built first, outside the timed run, when not cached).
Target of issue "Federated LoRA training I": <= 10 minutes here.

    python benchmarks/bench_train.py [--rounds 20] [--method knexa_fl]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from knexa_core.fl.config import FederationConfig
from knexa_core.fl.driver import run_federation
from knexa_core.fl.federation import build_federation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--method", default="knexa_fl")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--executor", default="local", choices=["local", "ray"], help="where the clients run")
    args = parser.parse_args()
    config = FederationConfig.for_profile(args.profile, method=args.method, rounds=args.rounds, seed=0)
    build_federation(config)  # builds and caches the tiny bases, so the timed run measures training
    holder = {}
    with tempfile.TemporaryDirectory() as tmp:
        clock = time.perf_counter()
        result = run_federation(config, Path(tmp), on_round=lambda rec: holder.setdefault("rounds", []).append(rec),
                                executor=args.executor)
        wall = time.perf_counter() - clock
        result.federation.executor.close()
    print(f"profile {args.profile}, method {args.method}, executor {args.executor}, 6 clients, {args.rounds} rounds")
    print(f"wall time of the run: {wall / 60:.2f} min ({wall:.0f} s; build {result.seconds['build']:.0f} s, "
          f"rounds {result.seconds['rounds']:.0f} s, final evaluation {result.seconds['final']:.0f} s)")
    for name, (tokens, seconds) in {"training": ("train_tokens", "train_seconds"),
                                    "generation": ("generated_tokens", "generate_seconds")}.items():
        t = sum(a[tokens] for a in result.agent_stats)
        s = sum(a[seconds] for a in result.agent_stats)
        print(f"{name}: {t / s:,.0f} tokens/s ({t:,} tokens in {s:.0f} s)")
    per_round = [r.seconds["total"] for r in holder["rounds"]]
    print(f"seconds per round: median {sorted(per_round)[len(per_round) // 2]:.1f}, max {max(per_round):.1f}")


if __name__ == "__main__":
    main()
