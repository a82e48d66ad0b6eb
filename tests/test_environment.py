"""The install files agree: pyproject.toml, environment.yml and the constraints lock file."""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def pyproject_requirements() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {Requirement(d).name.lower(): str(Requirement(d).specifier) for d in deps}


def conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {Requirement(d).name.lower(): str(Requirement(d).specifier) for d in pip}


def lock_versions() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pins = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {r.name.lower().replace("_", "-"): next(iter(r.specifier)).version for r in pins}


def test_environment_yml_has_the_same_pins_as_pyproject() -> None:
    assert conda_requirements() == pyproject_requirements()


def test_every_direct_dependency_is_pinned_and_locked_at_that_version() -> None:
    lock = lock_versions()
    for name, spec in pyproject_requirements().items():
        assert spec.startswith("=="), f"{name} is not pinned exactly in pyproject.toml"
        assert lock.get(name.replace("_", "-")) == spec[2:], f"{name}: constraints.txt disagrees"


def test_the_pins_that_matter_on_this_machine() -> None:
    req = pyproject_requirements()
    assert req["torch"] == "==2.13.0"
    assert req["codebleu"] == "==0.7.0"
    assert req["tree-sitter"] == "==0.22.3" and req["tree-sitter-python"] == "==0.21.0"
    assert req["jupyter-book"].startswith("==1.")


def test_python_and_key_packages_in_the_venv_match_the_lock() -> None:
    from importlib import metadata

    lock = lock_versions()
    for name in ("numpy", "papermill", "jupytext", "codebleu", "peft", "transformers"):
        assert metadata.version(name) == lock[name], f"{name}: installed version differs from the lock"
    assert metadata.version("torch").split("+")[0] == "2.13.0"
    assert sys.version_info[:2] == (3, 11), "pyproject.toml and environment.yml require Python 3.11"
