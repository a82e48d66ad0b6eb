"""``knexa train``: one federated run (a method, a seed) into an artifact folder.

Example::

    knexa train --profile cpu --method knexa_fl --seed 0 --out runs/train
    knexa train --profile cpu --method knexa_fl --seed 0 --out runs/train --executor ray --resume

``--out`` receives the paper's artifact layout (``knexa reproduce --artifacts DIR`` reads it);
several runs (methods, seeds) may share one folder, each writing its own files. ``--set k=v``
overrides any parameter of :class:`knexa_core.fl.config.FederationConfig` (e.g. ``--set
eval_every=2``). ``--executor ray`` runs one Ray actor per client (``pip install -e .[ray]``;
``--address`` joins an existing cluster); ``--resume`` continues a crashed run from its newest
checkpoint (``DIR/checkpoints/``), with the results of an uninterrupted run.
Chapter ``02_federated_training``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from knexa_core.errors import ConfigError
from knexa_core.fl.config import PROFILES, FederationConfig
from knexa_core.fl.executor import EXECUTORS
from knexa_core.fl.methods import METHODS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``knexa train``."""
    parser.add_argument("--profile", default="cpu", choices=list(PROFILES), help="named parameter set (default cpu)")
    parser.add_argument("--method", default="knexa_fl", choices=list(METHODS), help="pairing policy (default knexa_fl)")
    parser.add_argument("--rounds", type=int, help="collaboration rounds (default: the profile's: cpu 6, paper 20)")
    parser.add_argument("--seed", type=int, default=42, help="run seed (default 42)")
    parser.add_argument("--out", required=True, help="artifact folder (created; shared by several runs)")
    parser.add_argument("--executor", default="local", choices=list(EXECUTORS),
                        help="where the clients run: this process (default) or one Ray actor each")
    parser.add_argument("--address", help="--executor ray: address of a running Ray cluster (default: start a local one)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint under --out (same parameters)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a training parameter; VALUE is JSON (e.g. eval_every=2, lr=1e-3)")


def parse_overrides(items: list[str]) -> dict:
    """``["lr=1e-3", "data=synthetic"]`` -> ``{"lr": 0.001, "data": "synthetic"}`` (bare words are strings)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: write KEY=VALUE, e.g. --set eval_every=2")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def config_from_args(args: argparse.Namespace) -> FederationConfig:
    overrides = parse_overrides(args.set)
    for name in ("method", "seed", "rounds"):
        if name in overrides:
            raise ConfigError(f"--set {name}=... : use --{name} instead")
    overrides |= {"method": args.method, "seed": args.seed}
    if args.rounds is not None:
        overrides["rounds"] = args.rounds
    return FederationConfig.for_profile(args.profile, **overrides)


def run(args: argparse.Namespace) -> int:
    """Run ``knexa train`` and print the run's averages."""
    from knexa_core.fl.driver import run_federation

    config = config_from_args(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder (it is created if missing)")
    if args.address and args.executor != "ray":
        raise ConfigError("--address is the Ray cluster's: add --executor ray")
    if args.executor == "ray":
        from knexa_core.fl.ray_executor import require_ray

        require_ray()
    result = run_federation(config, out, executor=args.executor, resume=args.resume, address=args.address)
    result.federation.executor.close()
    avg = result.averages()
    print(f"{config.method} seed {config.seed}: Pass@1 {avg['pass@1']:.3f}, Pass@5 {avg['pass@5']:.3f}, "
          f"Pass@10 {avg['pass@10']:.3f}, CodeBLEU {avg['codebleu']:.3f} ({result.seconds['total']:.0f} s); "
          f"wrote {result.files['main']}")
    return 0
