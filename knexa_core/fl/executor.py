"""Executors: where the clients' work runs. The driver keeps the CPM and sees profiles and rewards.

* :class:`LocalExecutor` (``--executor local``): one :class:`~knexa_core.fl.worker.ClientWorker`
  per client in the driver's process, run one after the other.
* :class:`~knexa_core.fl.ray_executor.RayExecutor` (``--executor ray``): one Ray actor per client
  (a GPU each when there are GPUs), all clients working at once; a knowledge package goes from
  the teacher's actor to the student's by object reference, and the driver gets only its summary.

Both offer the same calls: :meth:`Executor.run` runs a worker operation on several clients and
returns, per client, its value or a :class:`Failure` (the exception, or a dead actor, as one
line); :meth:`Executor.packages` makes packages and returns handles plus summaries;
:meth:`Executor.share` turns a value that every client receives (the centralized baselines'
broadcast package) into an argument sent once (under Ray, one object in the store);
``agents`` are the clients' agents (under Ray, thin proxies with the same methods), for the
chapter's probes after a run. Every method's rounds, the centralized baselines' included, go
through :meth:`Executor.run` and :meth:`Executor.packages` only.
README, "On a Ray cluster"; chapter ``02_federated_training``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from knexa_core.errors import ConfigError

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class Failure:
    """A client's operation that raised (or whose actor died): the one-line reason."""

    client: int
    error: str

    @classmethod
    def of(cls, client: int, exc: BaseException) -> "Failure":
        text = str(exc).strip().splitlines()
        return cls(client, f"{type(exc).__name__}: {text[0] if text else ''}".strip())


class Executor:
    """Runs :class:`~knexa_core.fl.worker.ClientWorker` operations on the clients."""

    name = "executor"
    agents: list[Any]
    dead: set[int] | frozenset[int] = frozenset()   # clients whose worker is gone (Ray: a dead actor)

    def run(self, op: str, jobs: dict[int, tuple]) -> dict[int, Any]:
        """``worker[i].op(*args)`` for each ``i, args`` of ``jobs``: its value, or a :class:`Failure`."""
        raise NotImplementedError

    def packages(self, jobs: dict[int, tuple]) -> tuple[dict[int, Any], dict[int, Any]]:
        """``make_package(*args)`` on each teacher: (handles, summaries or :class:`Failure`)."""
        raise NotImplementedError

    def share(self, value: Any) -> Any:
        """``value`` as an argument of :meth:`run` for many clients (here: itself)."""
        return value

    def revive(self, states: dict[int, Any]) -> list[int]:
        """Replace dead workers, loading ``states[i]`` when given; returns the clients revived."""
        return []

    def close(self) -> None:
        """Release the workers (actors)."""


class LocalExecutor(Executor):
    """Every client in this process, one after the other."""

    name = "local"

    def __init__(self, workers: Sequence[Any]) -> None:
        self.workers = list(workers)
        self.agents = [w.agent for w in self.workers]

    def run(self, op: str, jobs: dict[int, tuple]) -> dict[int, Any]:
        out = {}
        for i, args in jobs.items():
            try:
                out[i] = getattr(self.workers[i], op)(*args)
            except Exception as exc:  # noqa: BLE001 - a client's failure is reported, the run goes on
                out[i] = Failure.of(i, exc)
        return out

    def packages(self, jobs: dict[int, tuple]) -> tuple[dict[int, Any], dict[int, Any]]:
        made = self.run("make_package", jobs)
        handles = {i: v[0] for i, v in made.items() if not isinstance(v, Failure)}
        return handles, {i: v if isinstance(v, Failure) else v[1] for i, v in made.items()}


def make_executor(kind: str, config: Any, clients: Sequence[Any], split: Any, test: Sequence[Any],
                  cache: Path | None = None, address: str | None = None) -> Executor:
    """The executor called ``kind`` with one worker per client of ``split``."""
    if kind == "local":
        from knexa_core.fl.worker import ClientWorker
        from knexa_core.progress import progress

        parts = progress(list(zip(clients, split.clients)), desc="build clients", unit="client")
        return LocalExecutor([ClientWorker.build(config, i, c, p, split.transfer, test, cache)
                              for i, (c, p) in enumerate(parts)])
    if kind == "ray":
        from knexa_core.fl.ray_executor import RayExecutor

        return RayExecutor(config, clients, split, test, cache, address)
    raise ConfigError(f"unknown executor {kind!r}: choose one of {', '.join(EXECUTORS)}")
