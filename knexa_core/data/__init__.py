"""Problems, categories and federation splits (chapter "Data splits")."""
from knexa_core.data.categories import CATEGORIES, category_histogram, classify, classify_text_code
from knexa_core.data.loaders import load_humaneval, load_mbpp
from knexa_core.data.roster import Client, load_roster
from knexa_core.data.schema import Problem
from knexa_core.data.splits import FederationSplit, js_divergence, split_federation
from knexa_core.data.synthetic import synthetic_pools, synthetic_problems

__all__ = ["CATEGORIES", "Client", "FederationSplit", "Problem", "category_histogram", "classify",
           "classify_text_code", "js_divergence", "load_humaneval", "load_mbpp", "load_roster",
           "split_federation", "synthetic_pools", "synthetic_problems"]
