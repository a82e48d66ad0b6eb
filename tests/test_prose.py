"""Sentences with computed numbers are Markdown outputs (visible in JupyterLab and the book)."""
from __future__ import annotations

from pathlib import Path

import pytest

from knexa_core.book.prose import prose
from knexa_core.errors import NotebookError

ROOT = Path(__file__).resolve().parent.parent
CONVERTED = ["01_splits", "02_federated_training", "02_methods_compared", "03_cpm_simulation", "04_recompute_artifacts",
             "A1_evaluation_harness"]  # every chapter: no {glue:text} left


def test_prose_is_dedented_markdown() -> None:
    n = 3
    md = prose(f"""
        Found {n} runs, see {{doc}}`chapters/x` and $x_{{ij}} = \\frac{{a}}{{b}}$.
        """)
    assert md.data == "Found 3 runs, see {doc}`chapters/x` and $x_{ij} = \\frac{a}{b}$.\n"
    assert md._repr_markdown_().startswith("Found 3 runs")


@pytest.mark.parametrize("text", ["Found {n} runs.", "gain {gain:.1f}%", "{table.chosen} here", "{rows[0]}",
                                  "value {x!r}"])
def test_a_forgotten_f_prefix_is_caught(text: str) -> None:
    with pytest.raises(NotebookError, match="placeholder"):
        prose(text)


@pytest.mark.parametrize("name", CONVERTED)
def test_converted_chapters_have_no_glue_placeholders(name: str) -> None:
    source = (ROOT / "notebooks" / f"{name}.py").read_text()
    assert "{glue:" not in source and "myst_nb" not in source
    assert 'tags=["remove-input"]\nprose(f"""' in source
