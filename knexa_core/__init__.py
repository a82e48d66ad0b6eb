"""knexa_core: the tested core of the KNEXA-FL reproduction book.

Sub-packages: ``data`` (problems, categories, splits), ``cpm`` (profiles, LinUCB, matchers),
``sim`` (synthetic federation), ``fl`` (LoRA agents and methods), ``eval`` (sandbox, Pass@k,
CodeBLEU), ``artifacts`` (paper artifact layout), ``book`` (profiles, papermill, Jupyter Book build);
shared helpers ``io``, ``errors``, ``progress``, ``paths``, ``divergence``; ``cli`` (the ``knexa`` command). Notebooks narrate; everything they compute lives here.
"""
from knexa_core.errors import (
    BuildError,
    ArtifactError,
    ConfigError,
    DataError,
    DataNotFoundError,
    EvaluationError,
    KnexaError,
    NotebookError,
)

__version__ = "0.1.0"
__all__ = [
    "ArtifactError",
    "BuildError",
    "ConfigError",
    "DataError",
    "DataNotFoundError",
    "EvaluationError",
    "KnexaError",
    "NotebookError",
    "__version__",
]
