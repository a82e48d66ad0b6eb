"""Executors and crash safety on the smoke profile: kill-and-resume gives the bytes of an
uninterrupted run, a failing client does not stop the run, Ray gives the bytes of local; for a
peer-to-peer method and for the centralized baselines (whose server lives in the driver)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from knexa_core.cli import main
from knexa_core.fl import checkpoint as ckpt
from knexa_core.fl.config import FederationConfig
from knexa_core.fl.driver import run_federation

SEED = 3


def smoke(method: str = "knexa_fl", **overrides) -> FederationConfig:
    return FederationConfig.for_profile("smoke", method=method, seed=SEED, **overrides)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Per method, an uninterrupted local run (2 rounds), made on first use; its checkpoints are
    gone once its artifacts are written."""
    made: dict[str, Path] = {}

    def reference_of(method: str) -> Path:
        if method not in made:
            out = tmp_path_factory.mktemp(f"reference_{method}")
            run_federation(smoke(method), out)
            assert not (out / "checkpoints").exists()
            made[method] = out
        return made[method]

    return reference_of


@pytest.fixture(scope="module")
def reference(references) -> Path:
    return references("knexa_fl")


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from knexa_core.fl.config import FederationConfig
    from knexa_core.fl.driver import run_federation

    def stop_after(rec):
        if rec.round == 1:
            Path(sys.argv[2]).write_text("round 1 done")
            time.sleep(3600)  # the parent kills us here

    run_federation(FederationConfig.for_profile("smoke", method=sys.argv[4], seed=int(sys.argv[3])), sys.argv[1],
                   on_round=stop_after)
""")


@pytest.mark.parametrize("method", ["knexa_fl", "fedid_central_kd"])
def test_sigkill_after_round_1_then_resume_gives_the_uninterrupted_bytes(method, references, tmp_path: Path) -> None:
    out, marker = tmp_path / "out", tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out), str(marker), str(SEED), method],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), child.stderr.read().decode()[-2000:] if child.poll() is not None else "no round 1"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    root = ckpt.run_dir(out, SEED, method)
    assert ckpt.rounds_saved(root) == [1]
    saved = sorted(p.name for p in (root / "round1").iterdir())
    assert saved == [".knexa-set", "checkpoint.json", *[f"client{i}.pt" for i in range(6)], "driver.pkl"]
    assert not (out / "knexa_fl").exists() and not (out / "baselines").exists()  # no artifacts before the end
    server = ckpt.load(root, 1)[0]["server"]  # FedID's central adapter is in the driver's checkpoint
    assert (server is None) == (method == "knexa_fl") and (server is None or any("lora" in k for k in server))
    result = run_federation(smoke(method), out, resume=True)
    assert [r.round for r in result.records] == [1, 2]
    assert _files(out) == _files(references(method))


def test_only_complete_checkpoints_count_and_resume_checks_parameters(tmp_path: Path) -> None:
    root = tmp_path / "checkpoints" / "seed3_knexa_fl"
    ckpt.save(root, 1, {"rounds": 2}, {"run": None, "states": []}, {})
    (root / "round2").mkdir()                   # a round folder without its checkpoint.json
    (root / ".round3.staging-x").mkdir()        # a write killed before its rename
    assert ckpt.rounds_saved(root) == [1] and ckpt.latest(root, {"rounds": 2}) == 1
    with pytest.raises(Exception, match=r"parameters \['rounds'\] differ"):
        ckpt.latest(root, {"rounds": 3})
    for t in (2, 3, 4):
        ckpt.save(root, t, {"rounds": 2}, {"run": None, "states": []}, {})
    assert ckpt.rounds_saved(root) == [3, 4]    # the two newest are kept


def test_a_client_that_raises_is_excluded_and_the_run_goes_on(monkeypatch, capsys, tmp_path: Path) -> None:
    from knexa_core.fl import worker

    real = worker.ClientWorker.train

    def flaky(self, package, alpha, t):
        if self.index == 2 and t == 2:
            raise RuntimeError("CUDA error: device-side assert triggered\nsecond line")
        return real(self, package, alpha, t)

    monkeypatch.setattr(worker.ClientWorker, "train", flaky)
    result = run_federation(smoke(), tmp_path)
    rows = pd.DataFrame(result.rows)
    last = rows[rows["round"] == 2].set_index("client")
    assert last.loc["C2", "failed"] == 1 and (last.drop("C2").failed == 0).all()
    assert last.loc["C2", ["val_loss", "pass@1", "reward"]].isna().all()  # not measured
    rec = result.records[1]
    assert 2 in rec.failed and rec.failed[2] == "RuntimeError: CUDA error: device-side assert triggered"
    assert all(2 not in pair for pair in rec.pairs) and len(rec.rewards) == len(rec.pairs)
    partners = [s if t == 2 else t for t, s in rec.dissolved]
    assert len(rec.dissolved) == 1 and all(p not in rec.rewards for p in partners)
    err = capsys.readouterr().err
    assert err.count("warning: client C2 failed in round 2 (RuntimeError: CUDA error: device-side assert triggered)") == 1
    assert len(result.final) == 6 and (tmp_path / "knexa_fl" / "logs" / "seed3_KNEXA_FL_s6.log").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--resume"], "nothing to resume: no checkpoint under"),
    (["--address", "10.0.0.1:6379"], "--address is the Ray cluster's: add --executor ray"),
])
def test_train_cli_executor_and_resume_errors_are_one_line(argv, message, tmp_path: Path, capsys) -> None:
    code = main(["train", "--profile", "smoke", "--out", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err
    assert code == 1 and message in err and err.count("\n") == 1


def test_executor_ray_without_ray_says_how_to_install(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as without the extra
    code = main(["train", "--profile", "smoke", "--out", str(tmp_path / "o"), "--executor", "ray"])
    err = capsys.readouterr().err
    assert code == 1 and "pip install -e .[ray]" in err and err.count("\n") == 1


# -- Ray ------------------------------------------------------------------------------------------
def _ray():
    return pytest.importorskip("ray", reason="ray is not installed (the optional extra: pip install -e .[ray])")


@pytest.fixture(scope="module")
def ray_cluster():
    ray = _ray()
    for attempt in (1, 2):  # Ray gives its node 30 s to register: a busy machine may need a second try
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            break
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
    yield ray
    ray.shutdown()


@pytest.mark.timeout(1200)  # six actors each import torch: minutes on a busy 2-core machine
def test_ray_executor_gives_the_bytes_of_local(ray_cluster, reference: Path, tmp_path: Path) -> None:
    from knexa_core.fl.worker import PackageSummary

    result = run_federation(smoke(), tmp_path, executor="ray")
    try:
        ex = result.federation.executor
        assert ex.name == "ray" and len(ex.actors) == 6
        pids = {ray_cluster.get(a.pid.remote()) for a in ex.actors}
        assert len(pids) == 6 and os.getpid() not in pids  # one process per client, none is the driver
        for rec in result.records:  # the driver holds object refs and summaries, never package contents
            assert all(isinstance(h, ray_cluster.ObjectRef) for h in rec.handles.values()) and rec.handles
            assert all(type(p) is PackageSummary for p in rec.packages.values())
        probe = result.federation.agents[0]  # a proxy with the agent's methods, for code that drives agents
        assert probe.loss(probe.val_set) == pytest.approx(result.rows[-6]["val_loss"], abs=1e-6)
    finally:
        result.federation.executor.close()
    assert _files(tmp_path) == _files(reference)


@pytest.mark.timeout(1200)
def test_a_dead_actor_is_excluded_then_restarted_from_the_checkpoint(ray_cluster, monkeypatch, capsys,
                                                                     tmp_path: Path) -> None:
    from knexa_core.fl import ray_executor

    made = []
    real_init = ray_executor.RayExecutor.__init__

    def keep(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(ray_executor.RayExecutor, "__init__", keep)

    def kill_c2(rec):
        if rec.round == 1:
            ray_cluster.kill(made[0].actors[2], no_restart=True)

    result = run_federation(smoke(), tmp_path, executor="ray", on_round=kill_c2)
    result.federation.executor.close()
    rec = result.records[1]
    assert "actor" in rec.failed[2] and all(2 not in pair for pair in rec.pairs)
    rows = pd.DataFrame(result.rows)
    assert rows[(rows["round"] == 2) & (rows.client == "C2")].failed.tolist() == [1]
    err = capsys.readouterr().err
    assert "warning: client C2 failed in round 2" in err
    assert "warning: client C2's worker was restarted from the round-1 checkpoint" in err
    assert len(result.final) == 6


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("method", ["central_kd", "fedid_central_kd"])
def test_ray_executor_runs_the_centralized_baselines_with_the_bytes_of_local(method, ray_cluster, references,
                                                                            tmp_path: Path) -> None:
    result = run_federation(smoke(method), tmp_path, executor="ray")
    result.federation.executor.close()
    assert all(len(rec.packages) == 6 and not rec.failed for rec in result.records)
    assert _files(tmp_path) == _files(references(method))
