"""Per-round checkpoints of a federated run, written atomically, and ``--resume`` from the latest.

After round ``t`` the driver writes ``<out>/checkpoints/seed<S>_<method>/round<t>/`` as one set
(a staging folder renamed into place, :func:`knexa_core.io.staged_dir`), so a crash at any moment
leaves only complete checkpoints:

- ``client<i>.pt`` per client (``torch.save``): the adapter's trainable weights, the optimizer
  and GradScaler states, ``steps_done`` (the learning-rate schedule is a function of it), the
  agent's stats, its shuffling generator and its process's torch/numpy/python RNG states;
- ``driver.pkl``: every :class:`~knexa_core.fl.akd.ProfileState`, the matcher as a whole (LinUCB
  ``A``, ``A⁻¹``, ``b`` and its reward normalizer; a random matcher's generator), the driver's
  :class:`~knexa_core.cpm.RewardNormalizer`, the per-round rows and records so far, the round-0
  scores, the driver's RNG states and a centralized baseline's server state (FedID-CentralKD's
  central adapter; :meth:`knexa_core.fl.central.CentralServer.state`);
- ``checkpoint.json``: the round and the resolved parameters (a resume with other parameters is
  refused).
The two newest checkpoints are kept; a run that wrote its artifacts deletes its checkpoints.
These files are internal (pickles of this version of the code); what users read stays CSV/JSON.
"""
from __future__ import annotations

import pickle
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from knexa_core.errors import ConfigError
from knexa_core.io import read_json, staged_dir, write_json

KEEP = 2  # newest checkpoints kept: the last complete one survives a crash while the next is written


def run_dir(out: str | Path, seed: int, method: str) -> Path:
    """Where the checkpoints of run (``seed``, ``method``) go under the artifact folder ``out``."""
    return Path(out) / "checkpoints" / f"seed{seed}_{method}"


def rounds_saved(root: Path) -> list[int]:
    """Rounds with a complete checkpoint under ``root``, oldest first."""
    found = [re.fullmatch(r"round(\d+)", p.name) for p in root.glob("round*") if (p / "checkpoint.json").is_file()]
    return sorted(int(m.group(1)) for m in found if m)


def rng_states() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


def save(root: Path, t: int, config: dict[str, Any], driver: dict[str, Any], clients: dict[int, Any]) -> Path:
    """Write the checkpoint of round ``t`` as one set, then drop all but the :data:`KEEP` newest."""
    dest = root / f"round{t}"
    with staged_dir(dest, foreign_ok=True) as stage:
        for i, state in sorted(clients.items()):
            torch.save(state, stage / f"client{i}.pt")
        with open(stage / "driver.pkl", "wb") as f:
            pickle.dump(driver | {"rng": rng_states()}, f, protocol=pickle.HIGHEST_PROTOCOL)
        write_json(stage / "checkpoint.json", {"round": t, "clients": len(clients), "parameters": config})
    for old in rounds_saved(root)[:-KEEP]:
        shutil.rmtree(root / f"round{old}", ignore_errors=True)
    return dest


def latest(root: Path, config: dict[str, Any]) -> int:
    """The newest complete checkpoint's round; a one-line error if there is none or it is another run's."""
    saved = rounds_saved(root)
    if not saved:
        raise ConfigError(f"nothing to resume: no checkpoint under {root}; run without --resume to start over")
    stored = read_json(root / f"round{saved[-1]}" / "checkpoint.json", ConfigError)["parameters"]
    changed = sorted(k for k in set(stored) | set(config) if stored.get(k) != config.get(k))
    if changed:
        raise ConfigError(f"cannot resume {root}: parameters {changed} differ from the checkpoint's; "
                          "use the same ones, or run without --resume")
    return saved[-1]


def load(root: Path, t: int) -> tuple[dict[str, Any], dict[int, Any]]:
    """(driver state, client states) of the checkpoint of round ``t``; restores the driver's RNGs."""
    with open(root / f"round{t}" / "driver.pkl", "rb") as f:
        driver = pickle.load(f)
    set_rng_states(driver["rng"])
    return driver, load_clients(root, t)


def load_clients(root: Path, t: int) -> dict[int, Any]:
    """Client index -> state, from the checkpoint of round ``t``."""
    return {int(p.stem[6:]): torch.load(p, weights_only=False) for p in (root / f"round{t}").glob("client*.pt")}


def clear(root: Path) -> None:
    """Remove the run's checkpoints (its artifacts are written)."""
    shutil.rmtree(root, ignore_errors=True)
    try:
        root.parent.rmdir()  # only when no other run's checkpoints are left in it
    except OSError:
        pass
