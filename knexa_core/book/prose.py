"""Sentences that quote computed numbers, visible alike in JupyterLab, papermill outputs and the book.

MyST's ``{glue:text}`` placeholders render only in the built book (JupyterLab shows them raw), and
MyST-NB's ``{eval}`` role needs a kernel running during the Sphinx build (``nb_execution_mode``
``"inline"``; otherwise ``myst_nb.ext.eval`` fails with "This document does not have a running
kernel"), which this book does not have: papermill executes first, Sphinx only renders. So a
paragraph that quotes a computed value is a code cell tagged ``remove-input`` whose last line is::

    prose(f\"\"\"
    This run found usable runs for {len(table.chosen)} of {len(METHODS)} methods.
    \"\"\")

Its output is Markdown: rendered under the cell in JupyterLab, kept in the executed notebook, and
shown by MyST-NB as the paragraph itself (roles such as ``{doc}`` work too).
"""
from __future__ import annotations

import re
import textwrap

from IPython.display import Markdown

from knexa_core.errors import NotebookError

# ``{name}``, ``{obj.attr}``, ``{x:.1f}`` left in the text: an f-string prefix was forgotten.
# MyST roles ({doc}`x`) and LaTeX groups (x_{ij}, \frac{a}{b}) are not placeholders.
_PLACEHOLDER = re.compile(r"(?<![`\w}\\^_$]){[A-Za-z_][\w.]*(?:\[[^\]{}]*\])?(?:![rsa])?(?::[^{}]*)?}(?!`)")


def prose(text: str) -> Markdown:
    """``text`` (an f-string, dedented) as Markdown; a leftover ``{placeholder}`` is a :class:`NotebookError`."""
    text = textwrap.dedent(text).strip()
    leftover = _PLACEHOLDER.search(text)
    if leftover:
        raise NotebookError(f"prose still holds the placeholder {leftover.group()!r}: "
                            "write the text as an f-string (f\"...\")")
    return Markdown(text + "\n")
