"""``knexa simulate``: run the CPM simulation from the command line.

``knexa simulate --clients 16 --rounds 100 --seeds 0 1 2 3 4 --heterogeneity high --out DIR``
writes ``learning_curve.csv`` (``round,method,mean_pass1``) and ``regret_curve.csv``
(``round,method,cumulative_regret``: the policy regret against the oracle's own run, see
:mod:`knexa_core.sim.metrics`), means over seeds, for every method of
:data:`knexa_core.cpm.METHODS` (the non-learning controls ``random_oriented`` and ``family_gap``
included), plus CI, paired-difference, gain-share and per-seed files;
``knexa simulate --grid --out DIR`` runs the Figure 2 grid; ``--environment release`` uses the ground truth
described in the authors' release (:mod:`knexa_core.sim.release_env`). Chapter ``03_cpm_simulation``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from knexa_core.cpm.contexts import CONTEXTS
from knexa_core.errors import ConfigError
from knexa_core.io import write_json
from knexa_core.sim.experiments import learning_dynamics, run_grid, write_grid_outputs, write_learning_outputs
from knexa_core.sim.federation import HETEROGENEITY, make_federation
from knexa_core.sim.release_env import make_release_env

ENVIRONMENTS = {"federation": make_federation, "release": make_release_env}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=16, help="clients N (default: %(default)s, as Suppl. Fig. 1)")
    parser.add_argument("--rounds", type=int, default=100, help="rounds T (default: %(default)s, the paper's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                        help="seeds, one federation each (default: 0 1 2 3 4, the paper's 5 runs)")
    parser.add_argument("--heterogeneity", choices=list(HETEROGENEITY), default="high",
                        help="Dirichlet concentration of the histograms (default: %(default)s)")
    parser.add_argument("--environment", choices=sorted(ENVIRONMENTS), default="federation",
                        help="ground truth: our federation, or the release's described reward (default: %(default)s)")
    parser.add_argument("--context", choices=sorted(CONTEXTS), default="concat",
                        help="LinUCB pair context (default: %(default)s, the paper's)")
    parser.add_argument("--lam", type=float, default=1.0, help="LinUCB ridge λ (default: %(default)s)")
    parser.add_argument("--beta0", type=float, default=1.0, help="LinUCB exploration β₀ (default: %(default)s)")
    parser.add_argument("--grid", action="store_true",
                        help="run the Figure 2 grid (clients x low/medium/high heterogeneity x seeds)")
    parser.add_argument("--grid-clients", type=int, nargs="+", default=[8, 16, 32, 64],
                        help="client counts of the grid (default: 8 16 32 64, the paper's)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")


def run(args: argparse.Namespace) -> int:
    if args.rounds < 1 or args.clients < 2 or min(args.grid_clients) < 2:
        raise ConfigError("need --rounds >= 1 and at least 2 clients (--clients / --grid-clients)")
    if min(args.seeds) < 0 or args.lam <= 0 or args.beta0 < 0:
        raise ConfigError(f"need seeds >= 0, --lam > 0 and --beta0 >= 0; got seeds {args.seeds}, "
                          f"lam {args.lam}, beta0 {args.beta0}")
    common = dict(rounds=args.rounds, seeds=args.seeds, context=args.context, lam=args.lam, beta0=args.beta0,
                  make_env=ENVIRONMENTS[args.environment])
    if args.grid:
        grid, timing = run_grid(ns=args.grid_clients, progress=True, **common)
        write_grid_outputs(args.out, grid, timing)
        written = ["grid.csv", "grid_summary.csv", "grid_gain.csv", "cpm_timing.csv"]
    else:
        df = learning_dynamics(n_clients=args.clients, heterogeneity=args.heterogeneity, progress=True, **common)
        write_learning_outputs(args.out, df)
        written = ["learning_curve.csv", "regret_curve.csv", "pass1_ci.csv", "regret_ci.csv",
                   "difference_to_random_ci.csv", "gain_share_ci.csv", "per_seed.csv"]
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "func"}
    write_json(args.out / "simulate_args.json", params)
    print(f"wrote {', '.join(written)} to {args.out}")
    return 0
