"""The project's one small error hierarchy.

Every message says what is wrong and how to fix it, e.g.
``DataError("MBPP not found: pass --mbpp PATH or set KNEXA_MBPP")``.
The CLI prints ``error: <message>`` and exits with status 1 for any ``KnexaError``.
"""


class KnexaError(Exception):
    """Base class: a problem the user can fix (bad input, missing file, bad parameter)."""


class ConfigError(KnexaError):
    """A profile, parameter file, roster or command-line option is invalid."""


class DataError(KnexaError):
    """A dataset is missing or malformed, or a split cannot be drawn from it."""


class DataNotFoundError(DataError):
    """A dataset could not be found at all (as opposed to found but malformed)."""


class ArtifactError(KnexaError):
    """An artifact directory is incomplete or one of its files is malformed."""


class OutputError(KnexaError):
    """An output file or folder cannot be written (a directory in the way, read-only, under a file)."""


class EvaluationError(KnexaError):
    """Generated code or a metric request cannot be evaluated as asked (e.g. k > n)."""


class NotebookError(KnexaError):
    """A notebook failed to execute, or its pairing/parameters cell is invalid."""


class BuildError(KnexaError):
    """The book build or its browser check failed (missing page, broken link, Sphinx warning)."""
