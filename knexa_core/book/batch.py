"""Batches: a chapter executed once per combination of parameters, besides its own page.

A profile may list, under ``batches:``, a grid of parameter values for a chapter::

    batches:
      02_federated_training: {method: [knexa_fl, random_p2p, heuristic_p2p, local_only, central_kd,
                                       fedid_central_kd], seed: [0, 1, 2], controlled_epochs: 0}

``knexa book`` then executes the chapter's notebook once per combination of the lists (except the
one the chapter's own page runs), with the scalar values fixed, on the book's two workers
(:mod:`knexa_core.book.schedule`), beside the chapter's page. The shared artifact folder
is emptied first, so a build never mixes in older runs. All executions share one artifact folder
(the notebook's ``artifacts_dir``), which a page that reads it (chapter 02's *The methods
compared*) reads once every run has finished.
Each executed notebook is kept under ``book/batch/<chapter>/`` with its ``run_info.json``, and the
page *Training runs* links them. Chapter ``02_federated_training``.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any, Mapping

from knexa_core.book import notebooks
from knexa_core.book.runinfo import resolve_parameters, run_seed, save_run_info
from knexa_core.book.schedule import Job
from knexa_core.errors import BuildError


def grid(profile: Mapping[str, Any], name: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The combinations of the profile's batch grid for chapter ``name`` and its fixed values.

    A list value is a grid axis; a scalar is the same for every batch execution (e.g.
    ``controlled_epochs: 0``: narration-only work the chapter's own page already does). No batch:
    ``([], {})``.
    """
    spec = (profile.get("batches") or {}).get(name)
    if spec is None:
        return [], {}
    axes = {k: v for k, v in spec.items() if isinstance(v, list)} if isinstance(spec, dict) else {}
    if not axes or not all(axes.values()):
        raise BuildError(f"batches.{name} in params/{profile['profile']}.yaml must map parameter names to "
                         "non-empty lists (and may fix others to one value), e.g. "
                         "{method: [knexa_fl, local_only], seed: [0, 1, 2], controlled_epochs: 0}")
    fixed = {k: v for k, v in spec.items() if k not in axes}
    keys = list(axes)
    return [dict(zip(keys, values)) for values in itertools.product(*(axes[k] for k in keys))], fixed


def label(combo: Mapping[str, Any]) -> str:
    """File-name label of a combination: ``method-knexa_fl_seed-1``."""
    return "_".join(f"{k}-{v}" for k, v in combo.items())


def plan(name: str, combos: list[dict[str, Any]], base: Mapping[str, Any], source: Path, run_dir: Path,
         executed_dir: Path, cwd: Path) -> tuple[list[Job], list[dict[str, Any]]]:
    """One :class:`~knexa_core.book.schedule.Job` per combination (``base`` parameters updated by
    it), its ``run_info.json`` written, and the records the page lists; nothing is executed here."""
    known = notebooks.notebook_parameters(source)
    unknown = sorted(({k for c in combos for k in c} | set(base)) - set(known))
    if unknown:
        raise BuildError(f"batches.{name} names parameters the notebook does not have: {unknown}")
    jobs, records = [], []
    for combo in combos:
        out = run_dir / name / "batch" / label(combo)
        params = {**base, **combo, "out_dir": os.path.relpath(out, cwd)}
        out.mkdir(parents=True, exist_ok=True)
        resolved = resolve_parameters(known, params)
        save_run_info(out / "run_info.json", resolved, seed=run_seed(resolved), overrides=sorted(params))
        output = executed_dir / f"{label(combo)}.ipynb"
        jobs.append(Job(name, source, output, params, cwd, batch=True))
        records.append({"combination": combo, "notebook": output, "run_dir": out})
    return jobs, records


def page(name: str, records: list[dict[str, Any]], book_dir: Path) -> str:
    """The Markdown page that lists a chapter's batch executions with download links."""
    lines = ["# Training runs", ""]
    if not records:
        return "\n".join(lines + ["This build's profile runs no batch: the chapter's page is its only run."]) + "\n"
    lines += [f"The book executed `{name}` once per combination below (besides the run its page shows); "
              "each executed notebook is kept, with every output, and can be downloaded here.", "",
              "| run | notebook |", "|---|---|"]
    for r in records:
        rel = os.path.relpath(r["notebook"], book_dir / "_generated")
        what = ", ".join(f"{k} = {v}" for k, v in r["combination"].items())
        lines.append(f"| {what} | {{download}}`{Path(r['notebook']).name} <{rel}>` |")
    return "\n".join(lines) + "\n"
