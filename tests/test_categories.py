"""Tests of knexa_core.data.categories: hand-labelled problems, determinism, the 12-bin histogram."""
from __future__ import annotations

import numpy as np
import pytest

from knexa_core.data import CATEGORIES, Problem, category_histogram, classify, classify_text_code
from knexa_core.data.categories import code_features, text_features
from knexa_core.errors import DataError

# (problem statement, reference code, the label a person gives it)
HAND_LABELLED = [
    ("Write a function to find the area of a circle.",
     "import math\ndef area(r):\n    return math.pi * r * r\n", "geometry"),
    ("Write a function to find the volume of a cube.", "def volume_cube(l):\n    return l ** 3\n", "geometry"),
    ("Write a function to find all adverbs in a sentence using regex.",
     "import re\ndef adverbs(text):\n    return re.findall(r'\\w+ly', text)\n", "regex_parsing"),
    ("Check whether a string of parentheses is balanced.",
     "def ok(s):\n    d = 0\n    for ch in s:\n        d += 1 if ch == '(' else -1\n        if d < 0:\n"
     "            return False\n    return d == 0\n", "regex_parsing"),
    ("Write a python function to count the set bits of a given number.",
     "def count(n):\n    c = 0\n    while n:\n        c += n & 1\n        n >>= 1\n    return c\n", "bits"),
    ("Write a python function to toggle all odd bits of a given number.",
     "def toggle(n):\n    return n ^ 0b10101010\n", "bits"),
    ("Write a function to sort a list of elements using bubble sort.",
     "def bubble(xs):\n    for i in range(len(xs)):\n        for j in range(len(xs) - 1):\n"
     "            if xs[j] > xs[j + 1]:\n                xs[j], xs[j + 1] = xs[j + 1], xs[j]\n    return xs\n",
     "sorting_searching"),
    ("Write a function to find the kth smallest element of an array.",
     "def kth(xs, k):\n    return sorted(xs)[k - 1]\n", "sorting_searching"),
    ("Write a function to compute the transpose of a matrix.",
     "def t(m):\n    return [[m[i][j] for i in range(len(m))] for j in range(len(m[0]))]\n", "matrices"),
    ("Given a grid of 0s and 1s, count the rows that contain only ones.",
     "def full_rows(g):\n    return sum(all(v == 1 for v in r) for r in g)\n", "matrices"),
    ("Write a function to compute the n-th Fibonacci number using recursion.",
     "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n", "recursion_dp"),
    ("Write a function to find the length of the longest common subsequence of two strings.",
     "def lcs(a, b):\n    dp = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]\n    return dp[-1][-1]\n",
     "recursion_dp"),
    ("Write a function to convert a decimal number to hexadecimal.", "def to_hex(n):\n    return hex(n)[2:]\n",
     "conversion_formatting"),
    ("Write a function to convert a camel case string to snake case.",
     "def snake(s):\n    return ''.join('_' + c.lower() if c.isupper() else c for c in s)\n",
     "conversion_formatting"),
    ("Write a function to find the common elements of two tuples.",
     "def common(a, b):\n    return tuple(set(a) & set(b))\n", "collections"),
    ("Write a function to reverse the words in a string.",
     "def rev(s):\n    return ' '.join(s.split()[::-1])\n", "strings"),
    ("Write a function to check whether a number is prime.",
     "def is_prime(n):\n    return n > 1 and all(n % d for d in range(2, n))\n", "math"),
    ("Return the sum of the even numbers in a list.", "def f(xs):\n    return sum(x for x in xs if x % 2 == 0)\n",
     "math"),
    ("Write a function to get the last item of every sublist in a list.",
     "def last(xs):\n    return [x[-1] for x in xs]\n", "lists"),
    ("Write a function to print the season for the given month and day.",
     "def season(m, d):\n    if m in ('December', 'January'):\n        return 'winter'\n    return 'summer'\n",
     "logic_other"),
]


@pytest.mark.parametrize("text,code,label", HAND_LABELLED, ids=[h[2] + "-" + h[0][:30] for h in HAND_LABELLED])
def test_hand_labelled_cases(text, code, label):
    assert classify_text_code(text, code) == label


def test_every_category_has_a_hand_labelled_case():
    assert {h[2] for h in HAND_LABELLED} == set(CATEGORIES)


def test_twelve_categories_in_a_fixed_order():
    assert len(CATEGORIES) == 12 and len(set(CATEGORIES)) == 12
    assert CATEGORIES[0] == "strings" and CATEGORIES[-1] == "logic_other"


def test_no_evidence_falls_back_to_logic_other():
    assert classify_text_code("", "pass") == "logic_other"
    assert classify_text_code("Do it.", "this is not python (") == "logic_other"


def test_features_are_weighted_as_documented():
    # Narrow topic: 3 per distinct keyword ("triangle", "area"); broad topic: 2 once ("list", "elements").
    assert text_features("area of a triangle")["geometry"] == 6
    assert text_features("a list of elements in an array")["lists"] == 2
    # Code: `import re` weighs 4, a call to sorted 2, self-recursion 2.
    assert code_features("import re\n")["regex_parsing"] == 4
    assert code_features("def f(x):\n    return sorted(x)\n")["sorting_searching"] == 2
    assert code_features("def f(n):\n    return f(n - 1)\n")["recursion_dp"] == 2


def test_classify_uses_prompt_and_full_solution():
    # HumanEval-style: the body alone does not parse; prefix + body does and shows `import re`.
    p = Problem("X/1", "synthetic", "import re\ndef f(s):\n    '''Words.'''\n", "f", "", "    return re.split(' ', s)\n",
                prefix="import re\ndef f(s):\n    '''Words.'''\n")
    assert classify(p) == "regex_parsing"


def test_histogram_counts_in_category_order():
    cats = ["math", "math", "strings", "logic_other"]
    hist = category_histogram(cats)
    expected = np.zeros(12)
    expected[CATEGORIES.index("math")] = 0.5
    expected[CATEGORIES.index("strings")] = 0.25
    expected[CATEGORIES.index("logic_other")] = 0.25
    np.testing.assert_allclose(hist, expected)
    np.testing.assert_allclose(category_histogram([]), np.zeros(12))


def test_histogram_rejects_unknown_category():
    with pytest.raises(DataError, match="unknown category 'poetry'"):
        category_histogram(["poetry"])


def test_real_data_labels_and_coverage(mbpp_path):
    from knexa_core.data import load_humaneval, load_mbpp

    by_id = {p.task_id: p.category for p in load_humaneval() + load_mbpp(mbpp_path)}
    assert by_id["HumanEval/45"] == "geometry"  # triangle_area
    assert by_id["HumanEval/1"] == "regex_parsing"  # separate_paren_groups
    assert by_id["HumanEval/55"] == "recursion_dp"  # fib
    assert by_id["MBPP/24"] == "conversion_formatting"  # binary to decimal
    assert by_id["MBPP/224"] == "bits"  # count set bits
    pool = [c for t, c in by_id.items() if t.startswith("HumanEval/") or 11 <= int(t.split("/")[1]) <= 310]
    assert set(pool) == set(CATEGORIES)  # every bin of the profile histogram can be non-zero


def test_hand_labelled_sample_is_valid_and_confusion_counts(tmp_path):
    from knexa_core.data.categories import CATEGORIES, confusion, load_hand_labels
    from knexa_core.errors import DataError
    from knexa_core.paths import repo_root
    labels = load_hand_labels(repo_root() / "artifacts" / "categories" / "hand_labels.csv")
    assert len(labels) >= 60 and sum(t.startswith("HumanEval/") for t in labels) == 30
    m = confusion(["math", "math", "bits"], ["math", "strings", "bits"])
    assert m.sum() == 3 and m.trace() == 2 and m[CATEGORIES.index("math"), CATEGORIES.index("strings")] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("task_id,label\nMBPP/1,astrology\n")
    with pytest.raises(DataError, match="not categories"):
        load_hand_labels(bad)
