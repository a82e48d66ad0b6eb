"""A deterministic 12-category classifier of code problems (chapter "Data splits").

The Dirichlet non-IID split needs a label per problem, and the CPM profile carries a client's
12-bin category histogram (DESIGN.md, "Profile"). We do not have the paper's category
definitions, so we use twelve topics that cover HumanEval and MBPP and classify with transparent
rules. Each category has keyword patterns on the problem text (3 points per distinct keyword of
a narrow topic such as geometry, 2 points once for a broad topic such as lists) and features of
the reference code's syntax tree (``import re``, ``sorted(...)``, ``x ^ y``, self-recursion,
``a[i][j]``, ...; 1 to 4 points). The highest total wins; ties go to the earlier category of
:data:`PRIORITY` (narrow topics first); no evidence at all gives
``"logic_other"``. Same input, same label: no randomness and no model.
"""
from __future__ import annotations

import ast
import re
import warnings
from collections import Counter
from typing import Iterable

import numpy as np

from knexa_core.errors import DataError

# The histogram order used everywhere (CPM profiles, manifests, figures). Do not reorder.
EXAMPLES_HEADER = "Your code should pass these tests:"  # starts the asserts shown in MBPP prompts

CATEGORIES: tuple[str, ...] = (
    "strings", "lists", "math", "collections", "sorting_searching", "recursion_dp",
    "regex_parsing", "geometry", "bits", "matrices", "conversion_formatting", "logic_other",
)
FALLBACK = "logic_other"
# tie-break order: narrow topics before broad ones, so "area of a triangle from a list" is geometry
PRIORITY: tuple[str, ...] = (
    "regex_parsing", "geometry", "bits", "matrices", "recursion_dp", "conversion_formatting",
    "sorting_searching", "collections", "strings", "lists", "math", "logic_other",
)
NARROW = frozenset(PRIORITY[:7])  # each keyword of these weighs 3; a broad topic weighs 2 once

# Text patterns (regular expressions on the lower-cased problem text), one list per category.
TEXT_PATTERNS: dict[str, tuple[str, ...]] = {
    "strings": (r"\bstrings?\b", r"\bwords?\b", r"\bchar(acter)?s?\b", r"\bvowels?\b", r"\bletters?\b",
                r"\bsentences?\b", r"\bsubstrings?\b", r"\bpalindrom", r"\b(upper|lower)case\b",
                r"\banagram", r"\bconsonants?\b", r"\btext\b"),
    "lists": (r"\blists?\b", r"\barrays?\b", r"\belements?\b", r"\bsublists?\b", r"\bsequences?\b"),
    "math": (r"\bprimes?\b", r"\bnumbers?\b", r"\bsum\b", r"\bfactorials?\b", r"\bgcd\b", r"\blcm\b",
             r"\bdivis", r"\bdigits?\b", r"\bpowers?\b", r"\beven\b", r"\bodd\b", r"\bseries\b",
             r"\bintegers?\b", r"\bsquares? root", r"\bproduct\b", r"\baverage\b", r"\bmultiples?\b",
             r"\bperfect square", r"\bfibonacci\b", r"\bmodul"),
    "collections": (r"\bdict(ionary|ionaries)?\b", r"\btuples?\b", r"\bsets?\b(?! of bits)", r"\bkeys?\b",
                    r"\bfrequenc", r"\bcounter\b", r"\bunique\b", r"\bduplicates?\b"),
    "sorting_searching": (r"\bsort", r"\bsearch", r"\bheaps?\b", r"\bk-?th\b", r"\bmedian\b",
                          r"\bsmallest\b", r"\blargest\b", r"\bindex of\b", r"\bposition of\b",
                          r"\bascending\b", r"\bdescending\b"),
    "recursion_dp": (r"\brecursi", r"\bdynamic programming\b", r"\bnumber of ways\b", r"\bsubsequence",
                     r"\bmemo", r"\btower of hanoi\b", r"\bcatalan\b", r"\bpermutations?\b",
                     r"\bknapsack\b", r"\bpaths?\b", r"\bfib(fib|onacci)\b", r"\bpartitions?\b"),
    "regex_parsing": (r"\bregex\b", r"\bregular expression", r"\bparenthes", r"\bbrackets?\b",
                      r"\bparse", r"\bbalanced\b", r"\bdelimit"),
    "geometry": (r"\btriangles?\b", r"\bcircles?\b", r"\barea\b", r"\bperimeter\b", r"\bvolume\b",
                 r"\bpolygon", r"\bradius\b", r"\bsurface\b", r"\bcubes?\b", r"\bspheres?\b",
                 r"\bcylinders?\b", r"\bcones?\b", r"\brectangles?\b", r"\bangles?\b", r"\bslope\b",
                 r"\brhombus\b", r"\btrapezi", r"\bparallelogram\b", r"\bhexagon", r"\bpentagon",
                 r"\bpyramid\b", r"\bdiagonal of a\b", r"\bdistance\b"),
    "bits": (r"\bbits?\b", r"\bbitwise\b", r"\bxor\b", r"\bset bits\b", r"\btoggle\b", r"\bunset\b"),
    "matrices": (r"\bmatrix\b", r"\bmatrices\b", r"\bgrids?\b", r"\b2d\b", r"\brows?\b", r"\bcolumns?\b",
                 r"\bdiagonals?\b"),
    "conversion_formatting": (r"\bconvert", r"\bconversion\b", r"\bformat", r"\broman\b", r"\bdecimal\b",
                              r"\bhexadecimal\b", r"\boctal\b", r"\bbinary\b", r"\bbase\b", r"\bcamel",
                              r"\bsnake\b", r"\bencod", r"\bdecod", r"\bcipher\b", r"\bencrypt", r"\bdecrypt"),
    "logic_other": (),
}
_COMPILED = {c: tuple(re.compile(p) for p in pats) for c, pats in TEXT_PATTERNS.items()}

# Code features: AST predicates on the reference solution, each with its category and weight.
STRING_METHODS = frozenset({"split", "join", "lower", "upper", "isalpha", "isdigit", "isupper", "islower",
                            "strip", "replace", "startswith", "endswith", "swapcase", "isspace", "title"})
CONVERSION_CALLS = frozenset({"bin", "hex", "oct", "chr", "ord", "format"})
COLLECTION_CALLS = frozenset({"set", "dict", "tuple", "Counter", "defaultdict", "frozenset", "OrderedDict"})
SORTING_CALLS = frozenset({"sorted", "sort", "bisect", "bisect_left", "bisect_right", "heappush", "heappop",
                           "nlargest", "nsmallest", "heapify"})


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _is_self_recursive(tree: ast.AST) -> bool:
    """True if some function calls itself by name."""
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef):
            if any(isinstance(n, ast.Call) and _call_name(n) == fn.name for n in ast.walk(fn) if n is not fn):
                return True
    return False


def parse_quietly(code: str) -> ast.AST | None:
    """``ast.parse`` without the SyntaxWarnings of old code (MBPP's ``"\\d"``); None if invalid."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))
        try:
            return ast.parse(code)
        except SyntaxError:
            return None


def code_features(code: str) -> Counter:
    """Category evidence from the reference code's syntax tree (empty if it does not parse)."""
    tree = parse_quietly(code)
    if tree is None:
        return Counter()
    score: Counter = Counter()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            score["regex_parsing"] += 4 * any(m == "re" for m in mods)
            score["sorting_searching"] += 2 * any(m in ("heapq", "bisect") for m in mods)
            score["math"] += any(m in ("math", "cmath") for m in mods)
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            score["strings"] += name in STRING_METHODS
            score["conversion_formatting"] += name in CONVERSION_CALLS or (name == "int" and len(node.args) == 2)
            score["collections"] += name in COLLECTION_CALLS
            score["sorting_searching"] += 2 * (name in SORTING_CALLS)
            score["recursion_dp"] += 2 * (name in ("lru_cache", "cache"))
        elif isinstance(node, ast.BinOp):
            score["bits"] += 2 * isinstance(node.op, (ast.BitXor, ast.LShift, ast.RShift))
            score["math"] += isinstance(node.op, (ast.Mod, ast.Pow, ast.FloorDiv))
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Subscript):
            score["matrices"] += 1
        elif isinstance(node, ast.Name) and node.id in ("dp", "memo", "table"):
            score["recursion_dp"] += 1
    score["recursion_dp"] += 2 * _is_self_recursive(tree)
    score["matrices"] = min(score["matrices"], 2)  # a[i][j] is weak evidence: cap it
    return score


def text_features(text: str) -> Counter:
    """Category evidence from keyword patterns in the problem text."""
    low = text.lower()
    score: Counter = Counter()
    for cat, pats in _COMPILED.items():
        hits = sum(1 for p in pats if p.search(low))
        # broad topics count once ("list ... elements" is one topic); narrow ones per distinct keyword
        score[cat] += 3 * hits if cat in NARROW else 2 * min(hits, 1)
    return score


def classify_text_code(text: str, code: str) -> str:
    """The category of a problem given its statement ``text`` and reference ``code``.

    Returns
    -------
    str
        One of :data:`CATEGORIES`: the highest-scoring category, ties broken by :data:`PRIORITY`,
        ``"logic_other"`` when no rule fires.
    """
    score = text_features(text) + code_features(code)
    best = max(PRIORITY, key=lambda c: (score[c], -PRIORITY.index(c)))
    return best if score[best] > 0 else FALLBACK


def classify(problem) -> str:
    """The category of a :class:`~knexa_core.data.schema.Problem`: its statement (the prompt without
    MBPP's usage-example asserts, which would add noise) and its full reference solution."""
    statement = problem.prompt.split(EXAMPLES_HEADER, 1)[0]
    return classify_text_code(statement, problem.solution(problem.reference))


def category_histogram(problems: Iterable) -> np.ndarray:
    """Normalized 12-bin histogram of ``problems``' categories in :data:`CATEGORIES` order.

    An empty input gives all zeros. Unknown categories are a :class:`DataError`.
    """
    counts = np.zeros(len(CATEGORIES), dtype=float)
    for p in problems:
        cat = p if isinstance(p, str) else p.category
        if cat not in CATEGORIES:
            raise DataError(f"unknown category {cat!r} of {getattr(p, 'task_id', p)!r}; "
                             f"expected one of {CATEGORIES}")
        counts[CATEGORIES.index(cat)] += 1
    total = counts.sum()
    return counts / total if total else counts


def load_hand_labels(path) -> dict[str, str]:
    """Task id to hand label, from a CSV with columns ``task_id,label`` (e.g.
    ``artifacts/categories/hand_labels.csv``); an unknown label or a malformed file is a
    :class:`DataError`."""
    import csv
    from pathlib import Path

    try:
        with Path(path).open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise DataError(f"{path}: cannot read the hand-labelled sample ({exc})") from None
    if not rows or set(rows[0]) != {"task_id", "label"}:
        raise DataError(f"{path}: expected a CSV with the header 'task_id,label'")
    bad = [r["task_id"] for r in rows if r["label"] not in CATEGORIES]
    if bad:
        raise DataError(f"{path}: labels of {bad[:5]} are not categories; use one of {CATEGORIES}")
    return {r["task_id"]: r["label"] for r in rows}


def confusion(truth: Iterable[str], predicted: Iterable[str]) -> np.ndarray:
    """12 x 12 counts, row = true (hand) category, column = predicted, in :data:`CATEGORIES` order."""
    matrix = np.zeros((len(CATEGORIES), len(CATEGORIES)), dtype=int)
    for t, p in zip(truth, predicted, strict=True):
        matrix[CATEGORIES.index(t), CATEGORIES.index(p)] += 1
    return matrix
