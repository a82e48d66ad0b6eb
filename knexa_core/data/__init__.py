"""Problems, categories and federation splits (chapter "Data splits")."""
from knexa_core.data.schema import Problem

__all__ = ["Problem"]
