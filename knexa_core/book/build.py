"""``knexa book``: execute every chapter of ``book/_toc.yml`` with papermill, then build the HTML.

Steps (chapter "How to run" of the book's front page):
1. each ``chapters/<name>`` entry of the TOC is executed from ``notebooks/<name>.py`` with the
   parameters of ``params/<profile>.yaml`` into ``book/chapters/<name>.ipynb`` (git-ignored); its
   outputs and ``run_info.json`` (parameters, seed, versions, git revision) go to ``runs/<profile>/<name>/``;
2. the reported-vs-obtained table and the reproducibility page are generated from those runs;
3. Jupyter Book v1 builds ``book/_build/html`` with warnings as errors, from a generated
   ``_config.yml`` that adds the profile banner and the repository link (``config``, ``repository``);
4. the site is link-checked and rendered in headless Chromium (``book/_build/screenshot.png``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import yaml
from knexa_core.book import batch, browser, notebooks, report, repository, schedule
from knexa_core.book.config import write_config
from knexa_core.progress import quiet_progress
from knexa_core.data.loaders import HOW_TO_SUPPLY, resolve_mbpp_path
from knexa_core.data.mbpp_hub import hub_mbpp_path
from knexa_core.errors import BuildError, DataNotFoundError
from knexa_core.io import read_json, write_text
from knexa_core.book.profiles import DEFAULT_PROFILE, PROFILES, load_profile
from knexa_core.paths import repo_root
from knexa_core.book.runinfo import resolve_parameters, run_seed, save_run_info

CHAPTER_PREFIX = "chapters/"


def _toc_files(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key in ("root", "file"):
            if isinstance(node.get(key), str):
                yield node[key]
        for value in node.values():
            if isinstance(value, (list, dict)):
                yield from _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from _toc_files(item)


def toc_pages(book_dir: Path) -> list[str]:
    """Every page of ``_toc.yml`` (root first), as paths relative to the book without suffix."""
    path = book_dir / "_toc.yml"
    try:
        toc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BuildError(f"{path}: cannot read the table of contents: {exc}") from None
    return [str(Path(f).with_suffix("")) if Path(f).suffix in (".md", ".ipynb") else f
            for f in _toc_files(toc)]


def toc_chapters(book_dir: Path) -> list[str]:
    """Names of the notebook chapters listed in the TOC (``chapters/<name>`` entries)."""
    return [p[len(CHAPTER_PREFIX):] for p in toc_pages(book_dir) if p.startswith(CHAPTER_PREFIX)]


def chapter_parameters(profile: dict[str, Any], name: str, source: Path, run_dir: Path,
                       cwd: Path) -> dict[str, Any]:
    """The profile's parameters for ``name`` plus ``profile``/``out_dir`` when the notebook has them.

    ``out_dir`` is given relative to ``cwd`` (the notebooks' folder), as a reader would type it.
    """
    params = dict(profile["notebooks"].get(name, {}))
    known = notebooks.notebook_parameters(source)
    injected = {"profile": profile["profile"], "out_dir": os.path.relpath(run_dir / name, cwd)}
    params.update({k: v for k, v in injected.items() if k in known})
    return params


def warn_without_mbpp(profile: dict[str, Any], sources: list[Path]) -> str:
    """Print (and return) one line when chapters that read MBPP by default cannot find it."""
    readers = [s for s in sources if "mbpp_path" in notebooks.notebook_parameters(s)
               and not profile["notebooks"].get(s.stem, {}).get("mbpp_path")]
    try:
        if readers:
            resolve_mbpp_path() or hub_mbpp_path(HOW_TO_SUPPLY)
    except DataNotFoundError as exc:
        line = f"warning: {exc}; {', '.join(s.stem for s in readers)} will run on HumanEval alone"
        print(line, file=sys.stderr)
        return line
    return ""


def execute_chapters(profile_name: str, root: Path) -> list[Path]:
    """Run every TOC chapter with papermill; return the run folders (one per chapter)."""
    profile = load_profile(profile_name, root)
    book_dir, executed = root / "book", root / "book" / "chapters"
    names = toc_chapters(book_dir)
    missing = [n for n in names if not (root / "notebooks" / f"{n}.py").is_file()]
    if missing:
        raise BuildError(f"_toc.yml lists chapters without a notebook: {missing}; add notebooks/<name>.py")
    warn_without_mbpp(profile, [root / "notebooks" / f"{n}.py" for n in names])
    shutil.rmtree(executed, ignore_errors=True)
    shutil.rmtree(book_dir / "batch", ignore_errors=True)
    run_dir = root / "runs" / profile_name
    pages = {name: chapter_parameters(profile, name, root / "notebooks" / f"{name}.py", run_dir, root / "notebooks")
             for name in names}
    for name, params in pages.items():  # every chapter's parameters are checked before the first kernel starts
        notebooks.validate_parameters(notebooks.read_source(root / "notebooks" / f"{name}.py"), params,
                                      f"params/{profile_name}.yaml, section {name}")
    jobs, batches, reads, batched = [], [], {}, "-"
    for name, params in pages.items():
        source = root / "notebooks" / f"{name}.py"
        (run_dir / name / report.FILENAME).unlink(missing_ok=True)  # no stale front-page rows
        combos, fixed = batch.grid(profile, name)
        if combos:  # every execution of the chapter writes into one artifact folder, emptied first
            batched = name if batched == "-" else batched  # the page lists the first batched chapter
            shutil.rmtree(run_dir / name / "artifacts", ignore_errors=True)
            params["artifacts_dir"] = os.path.relpath(run_dir / name / "artifacts", root / "notebooks")
            own = [c for c in combos if all(params.get(k) == v for k, v in c.items())]
            planned, records = batch.plan(name, [c for c in combos if c not in own], {**params, **fixed}, source,
                                          run_dir, root / "book" / "batch" / name, root / "notebooks")
            jobs += planned
            batches += records
        (run_dir / name).mkdir(parents=True, exist_ok=True)
        resolved = resolve_parameters(notebooks.notebook_parameters(source), {"profile": profile_name, **params})
        save_run_info(run_dir / name / "run_info.json", resolved, seed=run_seed(resolved),
                      overrides=sorted({"profile", *params}))
        jobs.append(schedule.Job(name, source, executed / f"{name}.ipynb", params, root / "notebooks"))
        reads[name] = {**resolved, **fixed}  # defaults included: a default path may point at a chapter
    after = {name: {k for c in read for k in (c, f"{c}#batch")}  # a reader waits for the page and its batch
             for name, read in schedule.readers(reads, run_dir, root / "notebooks").items()}
    after |= {f"{name}#batch": after[name] for name in names}
    with quiet_progress():  # bars inside the kernels would end up on the book's pages
        schedule.run_jobs(schedule.ordered(jobs), after)
    runs = [run_dir / name for name in names]
    write_text(book_dir / "_generated" / "training_runs.md", batch.page(batched, batches, book_dir))
    return runs


def _reproducibility_page(profile_name: str, runs: list[Path]) -> str:
    lines = ["# Reproducibility report", "",
             f"This build ran the **{profile_name}** profile (`params/{profile_name}.yaml`). "
             "For every chapter, every parameter it ran with (the notebook's defaults, and where the "
             "profile overrides them, the profile's value), its seed, the package versions and the "
             "git revision, as saved in `run_info.json` beside its outputs.", ""]
    if not runs:
        lines.append("No chapter notebook was executed in this build.")
    for run in runs:
        info = read_json(run / "run_info.json", BuildError)
        seed = "none (the chapter has no seed parameter)" if info["seed"] is None else f"`{info['seed']}`"
        lines += [f"## {run.name}", "", f"- seed: {seed}", f"- git revision: `{info['git_revision']}`",
                  f"- Python {info['python']}; " + ", ".join(f"{k} {v}" for k, v in info["packages"].items()),
                  "", "| parameter | value | set by |", "|---|---|---|"]
        profile_keys = set(info.get("overridden_by_profile", []))
        lines += [f"| `{k}` | `{v!r}` | {'profile or build' if k in profile_keys else 'notebook default'} |"
                  for k, v in sorted(info["parameters"].items())]
        lines.append("")
    return "\n".join(lines) + "\n"


def write_generated_pages(book_dir: Path, profile_name: str, runs: list[Path]) -> None:
    """Write ``_generated/`` pages: the reproducibility report and the reported-vs-obtained table."""
    gen = book_dir / "_generated"
    write_text(gen / "reproducibility.md", _reproducibility_page(profile_name, runs))
    rows, names = report.load_comparisons(runs), [run.name for run in runs]
    write_text(gen / "fragments" / "reported_vs_obtained.md", report.comparisons_markdown(rows, names))
    write_text(gen / "fragments" / "what_reproduces.md", report.reproduces_markdown(rows, names))


def install_mathjax(book_dir: Path) -> Path:
    """Copy the local MathJax of ``jupyter-server-mathjax`` into ``_mathjax/mathjax`` (offline math).

    It is served as ``_static/mathjax``; it is kept out of ``_static`` itself because Jupyter Book
    adds every ``.js`` file found there to every page.
    """
    import jupyter_server_mathjax

    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = book_dir / "_mathjax" / "mathjax"
    if not (target / "MathJax.js").is_file():
        shutil.copytree(source, target, dirs_exist_ok=True)
    return target


def build_html(book_dir: Path, config: Path | None = None) -> Path:
    """Run Jupyter Book v1 with warnings as errors (``config``: another ``_config.yml``); return ``_build/html``."""
    install_mathjax(book_dir)
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe if exe.exists() else "jupyter-book"), "build", str(book_dir), "--builder", "html",
           "-W", "-n", "--keep-going", *(["--config", str(config)] if config else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        lines = notebooks.strip_ansi(proc.stdout + proc.stderr).splitlines()
        problems = [ln for ln in lines if "WARNING" in ln or "ERROR" in ln] or lines[-40:]
        raise BuildError(f"jupyter-book build failed (exit {proc.returncode}), warnings are errors:\n"
                         + "\n".join(problems))
    return book_dir / "_build" / "html"


def build_book(profile_name: str = DEFAULT_PROFILE, root: Path | None = None, check: bool = True) -> Path:
    """Execute the chapters, build the HTML and (``check``) run the browser check; return index.html.

    The generated configuration (banner, repository link) is written first, so a bad
    ``KNEXA_REPOSITORY_URL`` or profile stops the build before any chapter runs.
    """
    root = root or repo_root()
    book_dir = root / "book"
    site_config = write_config(book_dir, profile_name, repository.resolve(root))
    runs = execute_chapters(profile_name, root)
    write_generated_pages(book_dir, profile_name, runs)
    html = build_html(book_dir, site_config)
    if check:
        shot = browser.check_site(html, toc_pages(book_dir), book_dir / "_build" / "screenshot.png")
        print(f"browser check passed; screenshot: {shot}")
    return html / "index.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE,
                        help="parameter profile (params/<profile>.yaml); default: %(default)s")
    parser.add_argument("--no-browser-check", action="store_true",
                        help="skip the link check and the headless Chromium render")


def run(args: argparse.Namespace) -> int:
    index = build_book(args.profile, check=not args.no_browser_check)
    print(f"book built: {index}")
    return 0
