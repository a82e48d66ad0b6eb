"""The Ray executor: one Ray actor per client; the driver keeps the CPM (``--executor ray``).

Each actor builds its client's :class:`~knexa_core.fl.worker.ClientWorker` (model, adapter,
guardrail, problem sets) and runs its operations; the clients of a round work at once. It asks
for one GPU when the cluster has GPUs, otherwise an equal share of the cluster's CPUs (so six
actors fit on a 2-CPU machine). A teacher's ``make_package`` returns two objects: the package,
which stays in Ray's object store and reaches the student's actor as an argument (by reference:
the driver never fetches it), and its summary (counts, SIER, size, Pass@1), which the driver
reads; the centralized baselines' broadcast package is put in the object store once
(:meth:`RayExecutor.share`) and every actor gets its reference. Every operation is seeded by (run seed, round, client, purpose), so the results are those
of ``--executor local`` byte for byte.

An operation that raises comes back as a :class:`~knexa_core.fl.executor.Failure`; an actor
that died marks its client dead: it is left out of pairing until :meth:`RayExecutor.revive`
starts a new actor and loads the newest checkpoint into it (the driver does this before the next
round). On a multi-node cluster (``ray start --head`` on one machine, ``ray start
--address=HEAD:6379`` on the others, ``knexa train --executor ray --address HEAD:6379``), every
node needs this package installed and the tiny bases' cache (``KNEXA_CACHE``) or network for
the Hugging Face checkpoints. README, "On a Ray cluster"; chapter ``02_federated_training``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from knexa_core.errors import ConfigError
from knexa_core.fl.executor import Executor, Failure


def require_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray, an optional extra: pip install -e .[ray]") from None
    return ray


class ClientActor:
    """The body of a client's actor: builds the worker there and runs its operations."""

    def __init__(self, config: Any, index: int, client: Any, part: Any, transfer: Sequence[Any],
                 test: Sequence[Any], cache: Path | None) -> None:
        from knexa_core.fl.worker import ClientWorker

        self.worker = ClientWorker.build(config, index, client, part, transfer, test, cache)

    def ready(self) -> bool:
        return True

    def pid(self) -> int:
        return os.getpid()

    def run(self, op: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.worker, op)(*args, **kwargs)

    def make_package(self, t: int, temperature: float) -> tuple[Any, Any]:
        return self.worker.make_package(t, temperature)


class AgentProxy:
    """A client's agent seen from the driver: the agent's methods, run on its actor."""

    def __init__(self, executor: "RayExecutor", index: int, client: Any, part: Any, train_config: Any) -> None:
        from knexa_core.fl.backbones import family_of

        self._executor, self._index = executor, index
        self.id, self.family, self.config = client.id, family_of(client.backbone), train_config
        self.train_set, self.val_set = tuple(part.train), tuple(part.val)

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        actor = self._executor.actors[self._index]
        return self._executor.ray.get(actor.run.remote("call", name, *args, **kwargs))

    def generate(self, *args: Any, **kwargs: Any) -> list[list[str]]:
        return self._call("generate", *args, **kwargs)

    def train_round(self, *args: Any, **kwargs: Any) -> float:
        return self._call("train_round", *args, **kwargs)

    def loss(self, *args: Any, **kwargs: Any) -> float:
        return self._call("loss", *args, **kwargs)

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("encode", *args, **kwargs)

    @property
    def stats(self) -> dict[str, float]:
        actor = self._executor.actors[self._index]
        return self._executor.ray.get(actor.run.remote("stats"))


class RayExecutor(Executor):
    """One actor per client on a Ray cluster (``address``; default: start a local one)."""

    name = "ray"

    def __init__(self, config: Any, clients: Sequence[Any], split: Any, test: Sequence[Any],
                 cache: Path | None = None, address: str | None = None) -> None:
        self.ray = ray = require_ray()
        self.started = not ray.is_initialized()
        if self.started:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(f"cannot reach the Ray cluster {address or '(local)'}: "
                                  f"{str(exc).strip().splitlines()[0]}; check --address or run `ray start --head`") from None
        self.specs = [(config, i, c, p, split.transfer, test, cache) for i, (c, p) in enumerate(zip(clients, split.clients))]
        self.actor_class = ray.remote(**self._resources(len(clients)))(ClientActor)
        self.dead: set[int] = set()
        self.actors = [self._start(i) for i in range(len(clients))]
        for i, actor in enumerate(self.actors):
            self._get(i, actor.ready.remote(), "could not start")
        self.agents = [AgentProxy(self, i, c, p, config.train_config())
                       for i, (c, p) in enumerate(zip(clients, split.clients))]

    def _resources(self, n: int) -> dict[str, Any]:
        cluster = self.ray.cluster_resources()
        if cluster.get("GPU", 0) >= 1:
            return {"num_gpus": 1, "num_cpus": 1}
        return {"num_cpus": min(1.0, cluster.get("CPU", 1) / n)}

    def _start(self, i: int) -> Any:
        return self.actor_class.options(runtime_env={"env_vars": {"KNEXA_PROGRESS": "0"}}).remote(*self.specs[i])

    def _get(self, i: int, ref: Any, what: str) -> Any:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None) or exc
            raise ConfigError(f"client {i}'s Ray actor {what}: {Failure.of(i, cause).error}") from None

    def _collect(self, refs: dict[int, Any]) -> dict[int, Any]:
        out = {}
        for i, ref in refs.items():
            try:
                out[i] = self.ray.get(ref)
            except self.ray.exceptions.RayActorError as exc:
                self.dead.add(i)
                out[i] = Failure(i, f"{type(exc).__name__}: the client's actor died")
            except self.ray.exceptions.RayTaskError as exc:
                out[i] = Failure.of(i, getattr(exc, "cause", None) or exc)
        return out

    def run(self, op: str, jobs: dict[int, tuple]) -> dict[int, Any]:
        dead = {i: Failure(i, "the client's actor is dead") for i in jobs if i in self.dead}
        refs = {i: self.actors[i].run.remote(op, *args) for i, args in jobs.items() if i not in self.dead}
        return dead | self._collect(refs)

    def packages(self, jobs: dict[int, tuple]) -> tuple[dict[int, Any], dict[int, Any]]:
        refs = {i: self.actors[i].make_package.options(num_returns=2).remote(*args) for i, args in jobs.items()}
        summaries = self._collect({i: r[1] for i, r in refs.items()})
        handles = {i: r[0] for i, r in refs.items() if not isinstance(summaries[i], Failure)}
        return handles, summaries

    def share(self, value: Any) -> Any:
        """One copy of ``value`` in Ray's object store; each actor that gets the reference reads it there."""
        return self.ray.put(value)

    def revive(self, states: dict[int, Any]) -> list[int]:
        revived = []
        for i in sorted(self.dead):
            self.ray.kill(self.actors[i], no_restart=True)
            self.actors[i] = self._start(i)
            self._get(i, self.actors[i].ready.remote(), "could not restart")
            if states.get(i) is not None:
                self._get(i, self.actors[i].run.remote("load_state", states[i]), "could not load its checkpoint")
            self.dead.discard(i)
            revived.append(i)
        return revived

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)
        if self.started:
            self.ray.shutdown()
