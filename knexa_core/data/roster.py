"""The federation roster: which clients exist, their backbones, data quotas and seeds.

The file ``<artifacts>/roster/client_roster.json`` uses the field names of the paper's release
(``id``, ``backbone``, ``train_samples``, ``val_samples``, ``seed``, ``duplicate_of``; other keys
such as ``lora_rank`` are kept but not interpreted here). It is validated on load and every
problem is reported at once (chapter "Data splits").
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knexa_core.errors import ConfigError
from knexa_core.io import read_json
from knexa_core.paths import repo_root

# The paper's four backbones (DESIGN.md, "Roster") and their Transformers architecture families.
BACKBONE_FAMILIES: dict[str, str] = {
    "Qwen/Qwen1.5-0.5B": "qwen2",
    "cerebras/Cerebras-GPT-590M": "gpt2",
    "bigscience/bloom-560m": "bloom",
    "EleutherAI/pythia-410m": "gpt_neox",
}
DEFAULT_ROSTER = Path("artifacts") / "roster" / "client_roster.json"  # relative to the checkout
REQUIRED = ("id", "backbone", "train_samples", "val_samples", "seed")


@dataclass(frozen=True)
class Client:
    """One federation client (an endpoint with its own seed, adapter and data)."""

    id: str
    backbone: str
    train_samples: int
    val_samples: int
    seed: int
    duplicate_of: str | None = None

    @property
    def quota(self) -> int:
        """Problems the client holds in total (train + val)."""
        return self.train_samples + self.val_samples


def default_roster_path() -> Path:
    """The roster committed with the project: ``artifacts/roster/client_roster.json``."""
    return repo_root() / DEFAULT_ROSTER


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _client_problems(i: int, entry: Any) -> list[str]:
    """Problems of one roster entry taken alone (fields, types, backbone)."""
    if not isinstance(entry, dict):
        return [f"clients[{i}] must be an object with fields {list(REQUIRED)}"]
    where = f"clients[{i}] ({entry.get('id', '?')})"
    errors = [f"{where}: missing field '{f}'" for f in REQUIRED if f not in entry]
    if "id" in entry and not (isinstance(entry["id"], str) and entry["id"]):
        errors.append(f"{where}: 'id' must be a non-empty string")
    for f in ("train_samples", "val_samples"):
        if f in entry and not _is_count(entry[f]):
            errors.append(f"{where}: '{f}' must be a positive integer, got {entry[f]!r}")
    if "seed" in entry and not (isinstance(entry["seed"], int) and not isinstance(entry["seed"], bool)
                                and entry["seed"] >= 0):
        errors.append(f"{where}: 'seed' must be a non-negative integer, got {entry['seed']!r}")
    if "backbone" in entry and entry["backbone"] not in BACKBONE_FAMILIES:
        errors.append(f"{where}: unknown backbone {entry['backbone']!r}; known: {sorted(BACKBONE_FAMILIES)}")
    return errors


def _cross_problems(entries: list[dict[str, Any]]) -> list[str]:
    """Problems between entries: unique ids and seeds, valid ``duplicate_of`` links."""
    errors: list[str] = []
    ids = [e.get("id") for e in entries]
    for value, name in ((ids, "id"), ([e.get("seed") for e in entries], "seed")):
        dups = sorted({str(v) for v in value if value.count(v) > 1})
        if dups:
            errors.append(f"{name}s must be unique; repeated: {', '.join(dups)}")
    by_id = {e.get("id"): e for e in entries}
    for e in entries:
        target = e.get("duplicate_of")
        if target is None:
            continue
        if target == e.get("id") or target not in by_id:
            errors.append(f"client {e.get('id')}: duplicate_of {target!r} does not name another client")
        elif by_id[target].get("backbone") != e.get("backbone"):
            errors.append(f"client {e.get('id')}: duplicate_of {target} but its backbone "
                          f"{e.get('backbone')!r} differs from {by_id[target].get('backbone')!r}")
    return errors


def parse_roster(data: Any, source: str = "roster") -> tuple[Client, ...]:
    """Validate roster data and return its clients in file order.

    Raises
    ------
    ConfigError
        Listing every problem found (one per line), each naming the client and field.
    """
    if not isinstance(data, dict) or not isinstance(data.get("clients"), list) or not data["clients"]:
        raise ConfigError(f"{source}: must be an object with a non-empty 'clients' list")
    entries = data["clients"]
    errors = [msg for i, e in enumerate(entries) for msg in _client_problems(i, e)]
    if not errors:
        errors = _cross_problems(entries)
    if "num_clients" in data and data["num_clients"] != len(entries):
        errors.append(f"num_clients is {data['num_clients']!r} but {len(entries)} clients are listed")
    if errors:
        raise ConfigError(f"{source}: invalid roster:\n  - " + "\n  - ".join(errors))
    return tuple(Client(id=e["id"], backbone=e["backbone"], train_samples=e["train_samples"],
                        val_samples=e["val_samples"], seed=e["seed"], duplicate_of=e.get("duplicate_of"))
                 for e in entries)


def load_roster(path: str | Path | None = None) -> tuple[Client, ...]:
    """Load and validate a roster file (default: :func:`default_roster_path`)."""
    p = Path(path) if path is not None else default_roster_path()
    return parse_roster(read_json(p, ConfigError), str(p))


def roster_to_json(clients: tuple[Client, ...], notes: str = "") -> dict[str, Any]:
    """The roster file's content for ``clients`` (field names as in the paper's release)."""
    rows = []
    for c in clients:
        row = {"id": c.id, "backbone": c.backbone, "train_samples": c.train_samples,
               "val_samples": c.val_samples, "seed": c.seed}
        rows.append(row | ({"duplicate_of": c.duplicate_of} if c.duplicate_of else {}))
    return {"num_clients": len(clients), "clients": rows} | ({"notes": notes} if notes else {})


def scale_roster(clients: tuple[Client, ...], total: int) -> tuple[Client, ...]:
    """The roster with train/val counts scaled proportionally so that they sum to ``total``.

    Largest-remainder rounding keeps the sum exact; every count stays at least 1. Used when only
    HumanEval is available (chapter "Data splits", fallback section).
    """
    counts = [n for c in clients for n in (c.train_samples, c.val_samples)]
    if total < len(counts):
        raise ConfigError(f"cannot scale the roster to {total} problems: it needs at least {len(counts)}")
    exact = [n * total / sum(counts) for n in counts]
    scaled = [max(1, int(x)) for x in exact]  # floors lose < 1 each, so at most len-1 are missing
    by_remainder = sorted(range(len(counts)), key=lambda k: (scaled[k] - exact[k], k))
    for k in by_remainder[: max(0, total - sum(scaled))]:
        scaled[k] += 1
    while sum(scaled) > total:  # only when the minimum of 1 pushed the sum over
        scaled[max(range(len(counts)), key=lambda k: (scaled[k], -k))] -= 1
    return tuple(Client(c.id, c.backbone, scaled[2 * i], scaled[2 * i + 1], c.seed, c.duplicate_of)
                 for i, c in enumerate(clients))
