"""Named parameter profiles: ``params/<profile>.yaml``.

A profile (``smoke``: seconds, used by tests; ``cpu``: the book's default, minutes on a laptop;
``paper``: the paper's setting, needs GPUs and network) maps each notebook of the book to the
papermill parameters it runs with. The file layout is::

    profile: cpu
    description: one line
    notebooks:
      03_cpm_simulation: {num_clients: 16, num_rounds: 100}

See the README section "Profiles" and the book's reproducibility page.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from knexa_core.errors import ConfigError
from knexa_core.paths import repo_root

PROFILES = ("smoke", "cpu", "cpu-full", "paper")
DEFAULT_PROFILE = "cpu"


def params_path(profile: str, root: Path | None = None) -> Path:
    """Path of the YAML file of ``profile``; unknown names are a :class:`ConfigError`."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    return (root or repo_root()) / "params" / f"{profile}.yaml"


def load_profile(profile: str, root: Path | None = None) -> dict[str, Any]:
    """Load and validate a profile file.

    Returns
    -------
    dict
        ``{"profile": str, "description": str, "notebooks": {name: {param: value}}}``.
    """
    path = params_path(profile, root)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: profile file not found; create it with a 'notebooks:' mapping") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {exc}") from None
    if not isinstance(data, dict) or data.get("profile") != profile:
        raise ConfigError(f"{path}: must be a mapping with 'profile: {profile}'")
    notebooks = data.get("notebooks") or {}
    if not isinstance(notebooks, dict) or not all(isinstance(v, dict) for v in notebooks.values()):
        raise ConfigError(f"{path}: 'notebooks' must map notebook names to parameter mappings")
    data["notebooks"] = notebooks
    return data


def notebook_params(profile: str, notebook: str, root: Path | None = None) -> dict[str, Any]:
    """The parameters ``profile`` gives ``notebook`` (empty if it lists none)."""
    return dict(load_profile(profile, root)["notebooks"].get(notebook, {}))
