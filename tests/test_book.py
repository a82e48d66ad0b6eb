"""The book pipeline: TOC parsing, generated pages, link check, headless-Chromium render, full build."""
from __future__ import annotations

import json

import shutil
from pathlib import Path

import pytest
import yaml

from knexa_core.book import browser, build as book, notebooks, report
from knexa_core.errors import BuildError, ConfigError, NotebookError
from knexa_core.io import write_json

ROOT = Path(__file__).resolve().parent.parent

TOC = """format: jb-book
root: intro
parts:
  - caption: Chapters
    chapters:
      - file: chapters/01_a
      - file: chapters/02_b.ipynb
        sections:
          - file: notes/extra.md
  - caption: Appendix
    chapters:
      - file: _generated/reproducibility
"""


def make_site(tmp_path: Path) -> Path:
    site = tmp_path / "html"
    (site / "chapters").mkdir(parents=True)
    (site / "index.html").write_text(
        '<html><body><h1 id="top">Book</h1><a href="chapters/a.html#sec">A</a>'
        '<a href="https://example.org">ext</a><a href="#top">up</a></body></html>')
    (site / "chapters" / "a.html").write_text(
        '<html><body><section id="sec"><a href="../index.html">home</a></section></body></html>')
    return site


def test_toc_pages_and_chapters_follow_nesting(tmp_path: Path) -> None:
    (tmp_path / "_toc.yml").write_text(TOC)
    assert book.toc_pages(tmp_path) == ["intro", "chapters/01_a", "chapters/02_b", "notes/extra",
                                        "_generated/reproducibility"]
    assert book.toc_chapters(tmp_path) == ["01_a", "02_b"]


def test_project_toc_root_is_intro() -> None:
    assert book.toc_pages(ROOT / "book")[0] == "intro"


def test_clean_site_has_no_link_problems(tmp_path: Path) -> None:
    assert browser.link_problems(make_site(tmp_path), ["index", "chapters/a"]) == []


def test_missing_toc_page_is_reported(tmp_path: Path) -> None:
    problems = browser.link_problems(make_site(tmp_path), ["index", "chapters/a", "chapters/b"])
    assert problems == ["page 'chapters/b' listed in the table of contents is missing (chapters/b.html)"]


def test_broken_link_and_anchor_are_reported(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / "index.html").write_text('<a href="chapters/a.html#nope">x</a><img src="_static/gone.png">')
    problems = browser.link_problems(site, ["index"])
    assert len(problems) == 2
    assert any("broken anchor 'chapters/a.html#nope'" in p for p in problems)
    assert any("broken link '_static/gone.png'" in p for p in problems)


def test_generated_pages_gather_comparisons_and_run_info(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "03_x"
    write_json(run / "run_info.json", {"seed": 7, "git_revision": "abc", "python": "3.11",
                                       "packages": {"numpy": "2"}, "parameters": {"n": 1}})
    report.save_comparisons(run, [{"quantity": "gain", "reported": "48.5%", "obtained": "12.0%",
                                   "source": "03_x"}])
    book.write_generated_pages(tmp_path, "smoke", [run])
    repro = (tmp_path / "_generated" / "reproducibility.md").read_text()
    assert "## 03_x" in repro and "seed: `7`" in repro and "| `n` | `1` |" in repro
    table = (tmp_path / "_generated" / "fragments" / "reported_vs_obtained.md").read_text()
    assert "**From {doc}`chapters/03_x`**" in table and "| gain | 48.5% | — | 12.0% |  |" in table
    front = (tmp_path / "_generated" / "fragments" / "what_reproduces.md").read_text()
    assert "| Table 4: " in front and "| not yet | — |" in front


def test_front_page_table_is_derived_from_the_rows() -> None:
    rows = [{"quantity": "Table 4, KNEXA-FL: Pass@1", "reported": "13.33", "obtained": "9.00", "source": "02_f"},
            {"quantity": "Suppl. Table 5, C0", "reported": "2.22 → 11.11", "obtained": "not run in this profile",
             "source": "02_f"},
            {"quantity": "LinUCB gain over Random, 8 clients", "reported": "37.1%", "obtained": "12.0%",
             "source": "03_s"},
            {"quantity": "study pool (HumanEval + MBPP)", "reported": "464", "obtained": "464", "source": "01_s",
             "basis": "construction"},
            {"quantity": "Table 5 references passing", "reported": "128/128", "obtained": "128/128",
             "source": "A1", "basis": "expected"}]
    status = {r["item"]: (r["status"], r["chapters"]) for r in report.reproduces_rows(rows)}
    assert status["Table 4"] == ("recomputed", ["02_f"])
    assert status["Supplementary Table 5"] == ("not yet", [])          # a row without a value does not count
    assert status["Figure 2"] == ("recomputed in our own simulator", ["03_s"])
    assert status["Data setting"] == ("recomputed", ["01_s"])
    assert status["Table 5"] == ("not yet", [])                         # an expectation is not a paper result
    assert status["Supplementary Table 4"] == ("not yet", [])
    md = report.reproduces_markdown(rows, ["03_s"])
    assert "{doc}`chapters/03_s`" in md and "{doc}`chapters/02_f`" not in md and "`02_f`" in md


def test_comparison_basis_expected_and_by_construction(tmp_path: Path) -> None:
    report.save_comparisons(tmp_path, [
        {"quantity": "refs", "reported": "164/164", "obtained": "164/164", "source": "A1", "basis": "expected"},
        {"quantity": "pool", "reported": "464", "obtained": "464", "source": "A1", "basis": "construction"}])
    md = report.comparisons_markdown(report.load_comparisons([tmp_path]))
    assert "| refs | — | 164/164 | 164/164 |  |" in md
    assert "| pool | 464 | — | 464 | Holds by construction of the split, not a measurement. |" in md
    with pytest.raises(ConfigError, match="basis 'guess'"):
        report.save_comparisons(tmp_path, [{"quantity": "q", "reported": "1", "obtained": "1", "source": "s",
                                            "basis": "guess"}])


def test_comparison_rows_must_be_complete(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lacks \\['obtained'\\]"):
        report.save_comparisons(tmp_path, [{"quantity": "q", "reported": "1", "source": "s"}])


def test_chromium_renders_and_screenshots(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    shot = browser.check_site(site, ["index", "chapters/a"], tmp_path / "shot.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_check_fails_on_a_javascript_error(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    page = site / "index.html"
    page.write_text(page.read_text().replace("</body>", "<script>const X = 1;</script><script>const X = 2;</script></body>"))
    with pytest.raises(BuildError, match="Uncaught SyntaxError: Identifier 'X' has already been declared"):
        browser.render_check(page, tmp_path / "s.png", ["index", "chapters/a"])


def test_render_check_fails_when_front_page_lacks_a_toc_link(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / "chapters" / "b.html").write_text("<html><body>orphan</body></html>")
    with pytest.raises(BuildError, match="no navigation link to: chapters/b"):
        browser.render_check(site / "index.html", tmp_path / "s.png", ["index", "chapters/a", "chapters/b"])


def test_failing_chapter_stops_the_build_naming_notebook_and_cell(tmp_path: Path) -> None:
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "params").mkdir()
    (tmp_path / "book" / "_toc.yml").write_text(TOC.replace("chapters/02_b.ipynb", "chapters/01_a"))
    (tmp_path / "params" / "smoke.yaml").write_text("profile: smoke\nnotebooks:\n  01_a: {n: 2}\n")
    (tmp_path / "notebooks" / "01_a.py").write_text(
        '# %% tags=["parameters"]\nn: int = 1  # x\nout_dir: str = "o"  # y\n\n# %%\nassert n == 1, "n must be 1"\n')
    with pytest.raises(NotebookError, match=r"notebook 01_a.py failed in cell 3 \(index 2\)(.|\n)*AssertionError: n must be 1"):
        book.execute_chapters("smoke", tmp_path)
    info = json.loads((tmp_path / "runs" / "smoke" / "01_a" / "run_info.json").read_text())
    assert info["parameters"]["n"] == 2 and "out_dir" in info["parameters"]


def test_run_info_records_every_resolved_parameter_and_the_real_seed(tmp_path: Path) -> None:
    for d in ("book", "notebooks", "params"):
        (tmp_path / d).mkdir()
    (tmp_path / "book" / "_toc.yml").write_text(TOC.replace("chapters/02_b.ipynb", "chapters/01_a"))
    (tmp_path / "params" / "smoke.yaml").write_text("profile: smoke\nnotebooks:\n  01_a: {lam: 2.0}\n")
    (tmp_path / "notebooks" / "01_a.py").write_text(
        '# %% tags=["parameters"]\nseeds: list = [3, 4]  # s\nlam: float = 1.0  # l\nalpha: float = 0.5  # a\n'
        'out_dir: str = "o"  # y\n\n# %%\nprint(seeds, lam, alpha)\n')
    book.execute_chapters("smoke", tmp_path)
    info = json.loads((tmp_path / "runs" / "smoke" / "01_a" / "run_info.json").read_text())
    assert info["parameters"]["alpha"] == 0.5 and info["parameters"]["lam"] == 2.0  # default and override
    assert info["seed"] == [3, 4] and info["overridden_by_profile"] == ["lam", "out_dir", "profile"]
    book.write_generated_pages(tmp_path / "book", "smoke", [tmp_path / "runs" / "smoke" / "01_a"])
    repro = (tmp_path / "book" / "_generated" / "reproducibility.md").read_text()
    assert "seed: `[3, 4]`" in repro and "| `alpha` | `0.5` | notebook default |" in repro
    assert "| `lam` | `2.0` | profile or build |" in repro


@pytest.mark.slow
def test_full_smoke_book_build_passes_browser_check(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "_build", "chapters"))
    index = book.build_book("smoke", root=copy)
    assert index.is_file() and (copy / "book" / "_build" / "screenshot.png").is_file()


def test_banner_names_the_profile_in_a_generated_config(tmp_path: Path) -> None:
    from knexa_core.book import banner
    from knexa_core.book.config import write_config

    shutil.copy(ROOT / "book" / "_config.yml", tmp_path / "_config.yml")
    config = yaml.safe_load(write_config(tmp_path, "smoke").read_text())
    assert "<strong>Not a result</strong>" in config["html"]["announcement"]
    assert config["title"] == yaml.safe_load((ROOT / "book" / "_config.yml").read_text())["title"]
    assert "Not a result" not in banner.banner("cpu")


def test_book_uses_jupyter_books_extensions_without_thebe() -> None:
    from jupyter_book.config import get_default_sphinx_config

    ours = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())["sphinx"]["config"]["extensions"]
    assert ours == [e for e in get_default_sphinx_config()["extensions"] if e != "sphinx_thebe"]


def test_injected_parameters_cell_is_removed_from_the_page(tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("n = 2", metadata={"tags": ["injected-parameters"]}),
                                         nbformat.v4.new_code_cell("print(n)")])
    notebooks.hide_injected_cell(nb, tmp_path / "x.ipynb")
    saved = nbformat.read(tmp_path / "x.ipynb", as_version=4)
    assert saved.cells[0].metadata.tags == ["injected-parameters", "remove-cell"]
    assert "tags" not in saved.cells[1].metadata


def test_front_page_status_says_how_far_a_recomputation_goes() -> None:
    rows = [{"quantity": "Table 4, KNEXA-FL Pass@1", "reported": "13.33%", "obtained": "5.00%", "source": "02_x",
             "scope": "4 of the 6 methods; tiny backbones"},
            {"quantity": "Table 4, LocalOnly Pass@1", "reported": "2.22%", "obtained": "1.00%", "source": "02_x",
             "scope": "4 of the 6 methods; tiny backbones"}]
    status = {r["item"]: r["status"] for r in report.reproduces_rows(rows)}
    assert status["Table 4"] == "recomputed (4 of the 6 methods; tiny backbones)"
    assert status["Table 5"] == "not yet"


def test_every_named_profile_has_a_banner() -> None:
    from knexa_core.book import banner

    profiles = sorted(p.stem for p in (ROOT / "params").glob("*.yaml"))
    assert "cpu-full" in profiles
    for profile in profiles:
        assert profile in banner.banner(profile)
