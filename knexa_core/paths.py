"""Where the project checkout is (shared by the data loaders and the book pipeline)."""
from __future__ import annotations

from pathlib import Path


def repo_root() -> Path:
    """The project checkout that holds ``params/``, ``notebooks/``, ``artifacts/`` and ``book/``."""
    return Path(__file__).resolve().parent.parent
