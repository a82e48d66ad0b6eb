"""The book's executions on two workers at once: every chapter page and every batch run.

``knexa book`` turns the TOC into :class:`Job` s (one per chapter page, one per batch combination,
:mod:`knexa_core.book.batch`) and runs them with :func:`run_jobs` on :data:`WORKERS` processes, so
that both cores stay busy: a chapter starts as soon as the chapters it reads have finished, not
when the one before it in the TOC has. A chapter reads another when one of its parameters is a path
into that chapter's run folder (chapter 04's ``artifacts_dir`` is chapter 02's artifact folder);
:func:`readers` finds those dependencies, and a reader waits for the chapter's page and its batch
(chapter 02's page *The methods compared* reads the batch's runs). Jobs start in the order given
when ready, and :func:`ordered` puts the longest work first: the pages of chapters with a batch
(chapter 02's page runs the controlled test besides its own training run), their batch runs, then the
other chapters in TOC order, which fill the last gaps. The first execution that fails stops the
build: nothing new starts, the running one finishes (its outputs stay for inspection) and the
error is raised.
"""
from __future__ import annotations

import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Iterable, Mapping

from tqdm.std import tqdm

from knexa_core.errors import BuildError, KnexaError

WORKERS = 2  # this machine's cores; each training run uses one torch thread (cpu profile)


@dataclass(frozen=True)
class Job:
    """One papermill execution of ``source`` into ``output`` (``chapter``: the TOC entry it belongs to)."""

    chapter: str
    source: Path
    output: Path
    params: Mapping[str, Any] = field(hash=False)
    cwd: Path
    batch: bool = False  # a batch combination rather than the chapter's own page

    @property
    def key(self) -> str:
        """What other jobs wait for: the chapter's page (``name``) or its batch (``name#batch``)."""
        return f"{self.chapter}#batch" if self.batch else self.chapter


def readers(params: Mapping[str, Mapping[str, Any]], run_dir: Path, cwd: Path) -> dict[str, set[str]]:
    """Chapter -> the chapters whose run folder (``run_dir/<name>``) one of its parameters points into.

    ``params[name]`` are the chapter's page parameters; relative paths are taken from ``cwd`` (the
    notebooks' folder, where the kernels run). Its own ``out_dir`` does not count.
    """
    folders = {name: (run_dir / name).resolve() for name in params}
    out: dict[str, set[str]] = {}
    for name, values in params.items():
        paths = [(cwd / v).resolve() for k, v in values.items() if isinstance(v, str) and v and k != "out_dir"]
        out[name] = {other for other, folder in folders.items() if other != name
                     and any(p == folder or folder in p.parents for p in paths)}
    return out


def ordered(jobs: Iterable[Job]) -> list[Job]:
    """The longest work first: the pages of chapters with a batch, their batch runs, then the other
    chapters in TOC order."""
    jobs = list(jobs)
    batched = {j.chapter for j in jobs if j.batch}
    return ([j for j in jobs if j.chapter in batched and not j.batch] + [j for j in jobs if j.batch]
            + [j for j in jobs if j.chapter not in batched])


def _execute(job: Job) -> str:
    from knexa_core.book import notebooks

    notebooks.execute(job.source, job.output, dict(job.params), cwd=job.cwd)
    return str(job.output)


def run_jobs(jobs: list[Job], after: Mapping[str, set[str]], workers: int = WORKERS) -> None:
    """Execute ``jobs`` (in this order, when ready) on ``workers`` processes; a job waits until every
    job whose :attr:`Job.key` is in ``after[job.key]`` is done. Raises the first failure."""
    left = {k: sum(j.key == k for j in jobs) for k in {j.key for j in jobs}}
    waiting, running, error = list(jobs), {}, None
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool, \
            tqdm(total=len(jobs), desc="notebooks", unit="nb") as bar:
        while (waiting and error is None) or running:
            ready = [j for j in waiting if not any(left.get(k) for k in after.get(j.key, ()))]
            for job in ready[: workers - len(running)] if error is None else []:
                waiting.remove(job)
                running[pool.submit(_execute, job)] = job
            if not running:
                raise BuildError("chapters that read each other's run folders can never start: "
                                 f"{sorted({j.key for j in waiting})}; point their parameters elsewhere")
            bar.set_postfix_str(", ".join(_name(j) for j in running.values()))
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:  # after a failure nothing new starts; the running executions finish
                job = running.pop(future)
                left[job.key] -= 1
                bar.update()
                if future.exception() is not None:
                    failed = _named(job, future.exception())
                    if error is not None:  # a second failure while the first one's neighbour finished
                        print(f"error: {str(failed).splitlines()[0]}", file=sys.stderr)
                    error = error or failed
    if error is not None:
        raise error


def _named(job: Job, exc: BaseException) -> BaseException:
    """``exc`` if it already names the notebook (a :class:`KnexaError`), else a BuildError that does
    (a worker killed for memory, a kernel that died)."""
    if isinstance(exc, KnexaError):
        return exc
    return BuildError(f"{job.source.name} ({_name(job)}) failed: {type(exc).__name__}: {exc}; "
                      f"see {job.output} if it was written")


def _name(job: Job) -> str:
    return job.output.stem if job.batch else job.chapter
