"""Problems, categories and federation splits (chapter "Data splits")."""
from knexa_core.data.categories import CATEGORIES, category_histogram, classify, classify_text_code
from knexa_core.data.loaders import load_humaneval, load_mbpp
from knexa_core.data.schema import Problem

__all__ = ["CATEGORIES", "Problem", "category_histogram", "classify", "classify_text_code",
           "load_humaneval", "load_mbpp"]
