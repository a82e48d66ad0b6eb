"""``knexa run <chapter>``: execute one chapter with a profile's parameters, exactly as the book does.

::

    knexa run 03_cpm_simulation --profile smoke -p num_rounds 20 -p seeds '[0, 1]'

The chapter's outputs and ``run_info.json`` go to ``runs/<profile>/<chapter>/`` and the executed
notebook beside them. ``-p NAME VALUE`` overrides one parameter; the value is read as YAML (so
lists work) unless the parameter is declared ``str``, and is checked against the declared type.

``python -m knexa_core.book.run`` (``make params``) writes ``params/<profile>/<chapter>.yaml`` for
every profile and chapter, for ``papermill -f`` (git-ignored, generated from ``params/<profile>.yaml``).
"""
from __future__ import annotations

import argparse
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml

from knexa_core.book import notebooks
from knexa_core.book.build import chapter_parameters
from knexa_core.book.parameters import ParameterError, annotation_types, check_values
from knexa_core.book.profiles import DEFAULT_PROFILE, PROFILES, load_profile
from knexa_core.book.runinfo import resolve_parameters, run_seed, save_run_info
from knexa_core.errors import ConfigError
from knexa_core.io import write_text
from knexa_core.paths import repo_root


def chapter_source(chapter: str, root: Path) -> Path:
    """``notebooks/<name>.py`` for a chapter given as its name, its number prefix or a notebook path."""
    sources = sorted((root / "notebooks").glob("*.py"))
    stem = Path(chapter).stem
    matches = [s for s in sources if s.stem == stem] or [s for s in sources if s.stem.split("_")[0] == stem]
    if len(matches) != 1:
        raise ConfigError(f"unknown chapter {chapter!r}: choose one of {', '.join(s.stem for s in sources)}")
    return matches[0]


def parse_override(name: str, raw: str, types: Mapping[str, Any], where: str = "") -> Any:
    """The value of ``-p name raw``: the text itself for a ``str`` parameter, else parsed as YAML."""
    if name not in types:
        raise ParameterError(f"{where}unknown parameter {name!r}; known: {sorted(types)}")
    if (typing.get_origin(types[name]) or types[name]) is str:
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ParameterError(f"parameter {name!r}: {raw!r} is not a valid value (YAML syntax)") from None


def run_chapter(chapter: str, profile: str = DEFAULT_PROFILE, overrides: Mapping[str, str] | None = None,
                root: Path | None = None) -> Path:
    """Execute one chapter like ``knexa book`` does; return the executed notebook's path."""
    root = root or repo_root()
    source = chapter_source(chapter, root)
    types = annotation_types(notebooks.parameters_cell(notebooks.read_source(source), source.name).source)
    run_dir = root / "runs" / profile
    params = chapter_parameters(load_profile(profile, root), source.stem, source, run_dir, root / "notebooks")
    params.update({k: parse_override(k, v, types, f"{source.name}: ") for k, v in (overrides or {}).items()})
    out = run_dir / source.stem
    out.mkdir(parents=True, exist_ok=True)
    resolved = resolve_parameters(notebooks.notebook_parameters(source), {"profile": profile, **params})
    save_run_info(out / "run_info.json", resolved, seed=run_seed(resolved), overrides=sorted({"profile", *params}))
    notebooks.execute(source, out / f"{source.stem}.ipynb", params, cwd=root / "notebooks")
    return out / f"{source.stem}.ipynb"


def write_param_files(root: Path | None = None) -> list[Path]:
    """Write ``params/<profile>/<chapter>.yaml`` (the values ``knexa book`` passes) for every chapter."""
    root = root or repo_root()
    written = []
    for profile in PROFILES:
        data = load_profile(profile, root)
        for source in sorted((root / "notebooks").glob("*.py")):
            params = chapter_parameters(data, source.stem, source, root / "runs" / profile, root / "notebooks")
            cell = notebooks.parameters_cell(notebooks.read_source(source), source.name).source
            check_values(annotation_types(cell), params, f"params/{profile}.yaml, section {source.stem}")
            header = (f"# Generated from params/{profile}.yaml by `make params`; edit that file instead.\n"
                      f"# papermill notebooks/{source.stem}.ipynb OUT.ipynb --cwd notebooks "
                      f"-f params/{profile}/{source.stem}.yaml\n")
            path = root / "params" / profile / f"{source.stem}.yaml"
            written.append(write_text(path, header + yaml.safe_dump(params, sort_keys=False)))
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("chapter", help="chapter name (03_cpm_simulation), its number (03) or notebook path")
    parser.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE,
                        help="parameter profile (params/<profile>.yaml); default: %(default)s")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override one parameter (YAML value, e.g. -p seeds '[0, 1]'); repeatable")


def run(args: argparse.Namespace) -> int:
    executed = run_chapter(args.chapter, args.profile, dict(args.param))
    print(f"chapter executed: {executed}")
    return 0


if __name__ == "__main__":
    for path in write_param_files():
        print(path.relative_to(repo_root()))
