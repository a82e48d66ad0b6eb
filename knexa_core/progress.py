"""The one progress-bar factory of the core (text bars, so they work in a terminal and in Jupyter
without ipywidgets). ``KNEXA_PROGRESS=0`` turns them off: ``knexa book`` sets it for the notebook
kernels, whose outputs become book pages, and shows its own bar over the notebooks instead.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Iterable, Iterator

from tqdm.std import tqdm

ENV = "KNEXA_PROGRESS"


def progress(iterable: Iterable | None = None, **kwargs: Any) -> tqdm:
    """``tqdm(iterable, **kwargs)``, disabled when ``KNEXA_PROGRESS=0``."""
    if os.environ.get(ENV, "1") == "0":
        kwargs["disable"] = True
    return tqdm(iterable, **kwargs)


@contextlib.contextmanager
def quiet_progress() -> Iterator[None]:
    """Within the block (and in processes started from it) progress bars are off."""
    old = os.environ.get(ENV)
    os.environ[ENV] = "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = old
