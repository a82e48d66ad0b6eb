"""The template table of the synthetic benchmark (:mod:`knexa_core.data.synthetic`).

One :class:`Template` per task family, four per category. Patterns use :class:`string.Template`
placeholders: ``$f`` is the function name, ``$a`` and ``$b`` the argument names, every other
placeholder a constant of :attr:`Template.consts`. In the docstring a constant is written as
text (``7``, ``e``); in the body as a Python literal (``7``, ``'e'``). Bodies are written without
their 4-space indentation. ``inputs`` returns the argument tuples the tests call the function
with; the expected values come from running the reference, so they cannot disagree with it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

Gen = np.random.Generator
LETTERS = "abcdefghijklmnopqrstuvwxyz"
SEPARATORS = ("-", "+", ",", ";", "|", "/", "_", "*", ":", "#")
WORDS = ("fizz", "buzz", "ping", "pong", "tick", "tock", "foo", "bar", "yes", "no", "hot", "cold")
BRACKETS = (("(", ")"), ("[", "]"), ("{", "}"), ("<", ">"), ("|", "|"), ("*", "*"), ("#", "#"))
BASES = (("binary", "b"), ("octal", "o"), ("hexadecimal", "x"))


@dataclass(frozen=True)
class Template:
    """One task family: a category, name choices, docstring and body patterns, constants, inputs."""

    key: str
    category: str
    names: tuple[str, ...]  # function names to draw from
    args: tuple[tuple[str, ...], ...]  # argument-name tuples to draw from (all of one arity)
    doc: str
    body: str
    consts: Callable[[Gen], dict[str, Any]]
    inputs: Callable[[Gen, dict[str, Any]], list[tuple]]


# ----------------------------------------------------------------------------- input helpers

def _int(r: Gen, lo: int, hi: int) -> int:
    return int(r.integers(lo, hi + 1))


def _pick(r: Gen, options):
    return options[_int(r, 0, len(options) - 1)]


def _ints(r: Gen, lo: int, hi: int, min_len: int = 0, max_len: int = 8) -> list[int]:
    return [int(v) for v in r.integers(lo, hi + 1, size=_int(r, min_len, max_len))]


def _word(r: Gen, alphabet: str = LETTERS, lo: int = 1, hi: int = 7) -> str:
    return "".join(alphabet[i] for i in r.integers(0, len(alphabet), size=_int(r, lo, hi)))


def _sentence(r: Gen, lo: int = 0, hi: int = 5) -> str:
    return " ".join(_word(r, LETTERS[:8], 1, 5) for _ in range(_int(r, lo, hi)))


def _matrix(r: Gen, rows: int, cols: int) -> list[list[int]]:
    return [_ints(r, -9, 20, cols, cols) for _ in range(rows)]


def _cases(r: Gen, make: Callable[[Gen], tuple], n: int = 6, fixed: tuple = ()) -> list[tuple]:
    """``fixed`` edge cases then ``n`` distinct random cases from ``make`` (fewer if it has fewer)."""
    out: list[tuple] = []
    for case in fixed:
        if case not in out:
            out.append(case)
    for _ in range(20 * n):
        if len(out) >= len(fixed) + n:
            break
        case = make(r)
        if case not in out:
            out.append(case)
    return out


def _two_distinct(r: Gen, lo: int, hi: int) -> tuple[int, int]:
    k = _int(r, lo, hi)
    m = _int(r, lo, hi - 1)
    return k, m + (m >= k)


def _enclosed_text(r: Gen, c: dict) -> tuple:
    parts = []
    for _ in range(_int(r, 1, 5)):
        o, cl = _pick(r, BRACKETS) if r.random() < 0.4 else (c["o"], c["c"])
        parts.append(o + _word(r, LETTERS[:6], 0, 4) + cl if r.random() < 0.7 else _word(r, LETTERS[:6]))
    return (" ".join(parts),)


def _delimiters(o: str, c: str) -> dict[str, str]:
    """Constants of a bracket pair: the two delimiters and the regular expression between them."""
    return {"o": o, "c": c, "pat": re.escape(o) + "(.*?)" + re.escape(c)}


def _digits_in_base(r: Gen, base: int) -> tuple:
    return (_word(r, "0123456789abcdef"[:base], 1, 5),)


# ----------------------------------------------------------------------------- the table

SEQ = (("xs",), ("nums",), ("values",), ("items",), ("arr",), ("lst",))
NUM = (("n",), ("num",), ("value",), ("x",), ("number",))
TEXT = (("s",), ("text",), ("word",))
SENT = (("s",), ("text",), ("sentence",), ("line",), ("msg",), ("data",))
POINT = (("x", "y"), ("a", "b"), ("u", "v"), ("px", "py"))
SIDES = (("w", "h"), ("width", "height"), ("a", "b"), ("x", "y"))
GRID = (("m",), ("grid",), ("mat",), ("table",))
K = lambda lo, hi: (lambda r: {"k": _int(r, lo, hi)})  # noqa: E731  a single constant k in [lo, hi]

TEMPLATES: tuple[Template, ...] = (
    # --- strings
    Template("count_char", "strings", ("count_char", "char_count", "occurrences", "tally_letter"), TEXT,
             "Return how many times the character '$ch' occurs in $a.", "return $a.count($ch)",
             lambda r: {"ch": _pick(r, "aeinorst")},
             lambda r, c: _cases(r, lambda r: (_word(r, c["ch"] * 3 + "abxyz", 3, 10),), fixed=(("",),))),
    Template("reverse_words", "strings", ("reverse_words", "flip_words", "words_backwards", "mirror_sentence"),
             SENT, "Return the words of $a in reverse order, joined by '$sep'.",
             "return $sep.join($a.split()[::-1])", lambda r: {"sep": _pick(r, SEPARATORS + (" ",))},
             lambda r, c: _cases(r, lambda r: (_sentence(r, 1, 5),), fixed=(("",), ("one  two",)))),
    Template("repeat_join", "strings", ("repeat_text", "echo", "duplicate", "copies"), TEXT,
             "Return $k copies of $a separated by '$sep'.", "return $sep.join([$a] * $k)",
             lambda r: {"k": _int(r, 2, 5), "sep": _pick(r, SEPARATORS)},
             lambda r, c: _cases(r, lambda r: (_word(r),), n=4, fixed=(("",),))),
    Template("upper_prefix", "strings", ("shout_start", "upper_prefix", "loud_head", "raise_front"), TEXT,
             "Return $a with its first $k characters converted to upper case.",
             "return $a[:$k].upper() + $a[$k:]", K(1, 6),
             lambda r, c: _cases(r, lambda r: (_word(r, LETTERS, 1, 10),), fixed=(("",),))),
    # --- lists
    Template("add_offset", "lists", ("add_offset", "shift_all", "raise_values", "offset_list"), SEQ,
             "Return a new list with $k added to every element of $a.", "return [x + $k for x in $a]",
             K(1, 19), lambda r, c: _cases(r, lambda r: (_ints(r, -20, 30, 1),), n=4, fixed=(([],),))),
    Template("keep_greater", "lists", ("keep_greater", "above", "filter_big", "larger_than"), SEQ,
             "Return the elements of $a that are greater than $k, in their original order.",
             "return [x for x in $a if x > $k]", K(0, 15),
             lambda r, c: _cases(r, lambda r: (_ints(r, -5, 25, 1),), fixed=(([],),))),
    Template("sum_stride", "lists", ("sum_stride", "every_kth_sum", "stride_total", "skip_sum"), SEQ,
             "Return the sum of every $k-th element of $a, starting with the first.", "return sum($a[::$k])",
             K(2, 5), lambda r, c: _cases(r, lambda r: (_ints(r, -9, 30, 2, 10),), fixed=(([],),))),
    Template("last_reversed", "lists", ("last_reversed", "tail_back", "final_items", "end_reversed"), SEQ,
             "Return the last $k elements of $a in reverse order.", "return $a[::-1][:$k]",
             K(1, 5), lambda r, c: _cases(r, lambda r: (_ints(r, -9, 30, 2, 9),), fixed=(([],),))),
    # --- math
    Template("sum_multiples", "math", ("sum_multiples", "multiple_total", "add_divisible", "sum_div"), NUM,
             "Return the sum of the numbers from 1 to $a that are divisible by $k.",
             "return sum(i for i in range(1, $a + 1) if i % $k == 0)", K(2, 9),
             lambda r, c: _cases(r, lambda r: (_int(r, 1, 60),), fixed=((0,),))),
    Template("digit_sum_scaled", "math", ("digit_sum", "scaled_digits", "digits_times", "weighted_digits"),
             NUM, "Return the sum of the decimal digits of $a, multiplied by $k.",
             "return $k * sum(int(d) for d in str($a))", K(2, 9),
             lambda r, c: _cases(r, lambda r: (_int(r, 0, 99999),), fixed=((0,),))),
    Template("quadratic", "math", ("quadratic", "curve", "poly_value", "evaluate"), NUM,
             "Return $k times the square of $a, plus $m.", "return $k * $a ** 2 + $m",
             lambda r: {"k": _int(r, 2, 9), "m": _int(r, 1, 20)},
             lambda r, c: _cases(r, lambda r: (_int(r, -12, 12),), n=4, fixed=((0,),))),
    Template("divisors_above", "math", ("divisors_above", "big_divisors", "count_divisors", "divisor_tally"),
             NUM, "Return the number of positive divisors of $a that are greater than $k.",
             "return sum(1 for d in range(1, $a + 1) if $a % d == 0 and d > $k)", K(1, 6),
             lambda r, c: _cases(r, lambda r: (_int(r, 1, 100),), fixed=((12,), (1,)))),
    # --- collections
    Template("frequent", "collections", ("frequent", "common_counts", "repeated", "count_often"), SEQ,
             "Return a dictionary mapping each element of $a that occurs at least $k times to its "
             "number of occurrences.", "return {x: $a.count(x) for x in $a if $a.count(x) >= $k}", K(1, 3),
             lambda r, c: _cases(r, lambda r: (_ints(r, 0, 5, 0, 10),), fixed=(([],), ([1, 1, 1, 2, 2, 3],)))),
    Template("distinct_mod", "collections", ("distinct_mod", "remainder_kinds", "mod_classes", "unique_rems"),
             SEQ, "Return how many distinct remainders the elements of $a leave when divided by $k.",
             "return len({x % $k for x in $a})", K(2, 9),
             lambda r, c: _cases(r, lambda r: (_ints(r, 0, 50, 1, 8),), fixed=(([],),))),
    Template("lookup", "collections", ("lookup", "get_or_default", "fetch", "value_of"),
             (("d", "key"), ("table", "name"), ("mapping", "k"), ("scores", "who")),
             "Return the value stored under $b in the dictionary $a, or $k if $b is not a key.",
             "return $a.get($b, $k)", K(-9, 99),
             lambda r, c: [({w: _int(r, 100, 200) for w in ws}, key)
                           for ws in [[_word(r, LETTERS[:5], 1, 2) for _ in range(3)] for _ in range(3)]
                           for key in (ws[0], "zz")]),
    Template("common_chars", "collections", ("common_chars", "shared_letters", "overlap", "both_have"),
             (("s", "t"), ("a", "b"), ("first", "second"), ("left", "right")),
             "Return the sorted list of characters that occur in both $a and $b, except '$ch'.",
             "return sorted(set($a) & set($b) - {$ch})", lambda r: {"ch": _pick(r, "abcdef")},
             lambda r, c: _cases(r, lambda r: (_word(r, LETTERS[:8], 0, 8), _word(r, LETTERS[:8], 0, 8)),
                                 fixed=(("abcdef", "fedcba"),))),
    # --- sorting_searching
    Template("kth_sorted", "sorting_searching", ("kth_sorted", "ranked", "order_stat", "pick_rank"), SEQ,
             "Return the element at index $k of $a sorted in ascending order.", "return sorted($a)[$k]",
             K(0, 3), lambda r, c: _cases(r, lambda r: (_ints(r, -20, 40, c["k"] + 2, 8),))),
    Template("first_above", "sorting_searching", ("first_above", "find_big", "locate_over", "index_over"),
             SEQ, "Return the index of the first element of $a that is greater than $k, or -1 if there is none.",
             "return next((i for i, x in enumerate($a) if x > $k), -1)", K(0, 20),
             lambda r, c: _cases(r, lambda r: (_ints(r, -5, 30, 1, 8),), fixed=(([],),))),
    Template("top_k", "sorting_searching", ("top_k", "largest", "best_values", "leaders"), SEQ,
             "Return the $k largest elements of $a in descending order.",
             "return sorted($a, reverse=True)[:$k]", K(1, 6),
             lambda r, c: _cases(r, lambda r: (_ints(r, -20, 40, 2, 8),), fixed=(([],),))),
    Template("sort_by_mod", "sorting_searching", ("sort_by_mod", "order_remainders", "mod_sort", "rem_rank"),
             SEQ, "Return $a sorted by the remainder of each element divided by $k; elements with equal "
             "remainders keep their order.", "return sorted($a, key=lambda x: x % $k)", K(2, 7),
             lambda r, c: _cases(r, lambda r: (_ints(r, 0, 40, 3, 8),))),
    # --- recursion_dp
    Template("stairs", "recursion_dp", ("stairs", "climb_ways", "step_ways", "count_climbs"), NUM,
             "Return the number of ways to climb $a stairs taking 1 or $k steps at a time.",
             "if $a < 0:\n    return 0\nreturn 1 if $a == 0 else $f($a - 1) + $f($a - $k)", K(2, 4),
             lambda r, c: _cases(r, lambda r: (_int(r, 0, 14),), n=5, fixed=((0,), (c["k"] + 1,)))),
    Template("two_term", "recursion_dp", ("two_term", "lucas_like", "seq_term", "pair_sum_seq"), NUM,
             "Return the term at index $a of the sequence that starts $x, $y and continues with the sum "
             "of the two previous terms.", "return $x if $a == 0 else $y if $a == 1 else $f($a - 1) + $f($a - 2)",
             lambda r: {"x": _int(r, 0, 9), "y": _int(r, 1, 9)},
             lambda r, c: _cases(r, lambda r: (_int(r, 2, 12),), n=4, fixed=((0,), (1,)))),
    Template("product_from", "recursion_dp", ("product_from", "partial_factorial", "range_product", "chain_mul"),
             NUM, "Return the product of all integers from $k to $a, computed recursively; return 1 when $a "
             "is less than $k.", "return 1 if $a < $k else $a * $f($a - 1)", K(1, 5),
             lambda r, c: _cases(r, lambda r: (_int(r, 0, 10),), fixed=((c["k"],), (0,)))),
    Template("scaled_sum", "recursion_dp", ("scaled_sum", "rec_total", "weighted_sum", "sum_times"), SEQ,
             "Return the sum of the elements of $a, each multiplied by $k, computed recursively.",
             "return 0 if not $a else $k * $a[0] + $f($a[1:])", K(2, 9),
             lambda r, c: _cases(r, lambda r: (_ints(r, -9, 20, 1, 7),), n=4, fixed=(([],),))),
    # --- regex_parsing
    Template("numbers_above", "regex_parsing", ("numbers_above", "extract_big", "find_numbers", "big_ints"),
             SENT, "Return the list of integers written in $a (runs of digits) that are greater than $k.",
             'import re\nreturn [int(t) for t in re.findall(r"\\d+", $a) if int(t) > $k]', K(0, 50),
             lambda r, c: _cases(r, lambda r: (" ".join(_pick(r, (str(_int(r, 0, 99)), _word(r, "ab-x")))
                                                        for _ in range(_int(r, 1, 6))),), fixed=(("",),))),
    Template("sum_separated", "regex_parsing", ("sum_separated", "parse_sum", "total_fields", "add_tokens"),
             SENT, "Return the sum of the integers in $a, which are separated by '$sep'.",
             "return sum(int(t) for t in $a.split($sep))", lambda r: {"sep": _pick(r, ",;|/:#")},
             lambda r, c: _cases(r, lambda r: (c["sep"].join(str(v) for v in _ints(r, -9, 99, 1, 6)),))),
    Template("parse_pairs", "regex_parsing", ("parse_pairs", "to_dict", "read_settings", "parse_options"), SENT,
             "Parse $a, made of key${eq}value items separated by '$sep', into a dictionary.",
             "return dict(item.split($eq) for item in $a.split($sep))",
             lambda r: {"eq": _pick(r, "=:"), "sep": _pick(r, ";,&|")},
             lambda r, c: _cases(r, lambda r: (c["sep"].join(_word(r, LETTERS[:5], 1, 3) + c["eq"] + _word(r)
                                                             for _ in range(_int(r, 1, 4))),))),
    Template("enclosed", "regex_parsing", ("enclosed", "bracketed", "inside_marks", "grab_groups"), SENT,
             "Return the pieces of $a enclosed between '$o' and '$c'.", "import re\nreturn re.findall($pat, $a)",
             lambda r: _delimiters(*_pick(r, BRACKETS)),
             lambda r, c: _cases(r, lambda r: _enclosed_text(r, c), fixed=(("",),))),
    # --- geometry
    Template("manhattan", "geometry", ("manhattan", "taxi_distance", "grid_distance", "city_blocks"), POINT,
             "Return the Manhattan distance from the point ($a, $b) to the point ($px, $py).",
             "return abs($a - $px) + abs($b - $py)", lambda r: {"px": _int(r, 0, 9), "py": _int(r, 0, 9)},
             lambda r, c: _cases(r, lambda r: (_int(r, -15, 15), _int(r, -15, 15)))),
    Template("in_circle", "geometry", ("in_circle", "inside_disc", "within_radius", "covered"), POINT,
             "Return True if the point ($a, $b) lies inside or on the circle of radius $k centred at the origin.",
             "return $a ** 2 + $b ** 2 <= $k ** 2", K(2, 12),
             lambda r, c: _cases(r, lambda r: (_int(r, -c["k"] - 3, c["k"] + 3), _int(r, -c["k"] - 3, c["k"] + 3)),
                                 n=8, fixed=((0, c["k"]), (c["k"], 1)))),
    Template("tiles", "geometry", ("tiles", "fit_squares", "tile_count", "square_cover"), SIDES,
             "Return how many $k by $k squares fit side by side in a $a by $b rectangle.",
             "return ($a // $k) * ($b // $k)", K(2, 6),
             lambda r, c: _cases(r, lambda r: (_int(r, 1, 40), _int(r, 1, 40)))),
    Template("grown_area", "geometry", ("grown_area", "padded_area", "enlarged", "border_area"), SIDES,
             "Return the area of a $a by $b rectangle after both sides are lengthened by $k.",
             "return ($a + $k) * ($b + $k)", K(1, 9),
             lambda r, c: _cases(r, lambda r: (_int(r, 0, 30), _int(r, 0, 30)), n=4)),
    # --- bits
    Template("ones_after_xor", "bits", ("ones_after_xor", "xor_popcount", "flip_count", "masked_ones"), NUM,
             "Return the number of 1 bits in the binary form of $a XOR $k.", 'return bin($a ^ $k).count("1")',
             K(1, 255), lambda r, c: _cases(r, lambda r: (_int(r, 0, 1023),), fixed=((0,),))),
    Template("flip_bit", "bits", ("flip_bit", "toggle", "invert_bit", "switch_bit"), NUM,
             "Return $a with bit $k flipped (bit 0 is the least significant bit).", "return $a ^ (1 << $k)",
             K(0, 7), lambda r, c: _cases(r, lambda r: (_int(r, 0, 511),), n=4, fixed=((0,),))),
    Template("bit_set", "bits", ("bit_set", "has_bit", "test_bit", "is_on"), NUM,
             "Return True if bit $k of $a is 1 (bit 0 is the least significant bit).",
             "return ($a >> $k) & 1 == 1", K(0, 7),
             lambda r, c: _cases(r, lambda r: (_int(r, 0, 511),), n=8, fixed=((1 << c["k"],), (0,)))),
    Template("low_bits", "bits", ("low_bits", "mask_low", "keep_bits", "bottom_bits"), NUM,
             "Return the value of the lowest $k bits of $a.", "return $a & ((1 << $k) - 1)", K(2, 8),
             lambda r, c: _cases(r, lambda r: (_int(r, 0, 4095),), fixed=((0,),))),
    # --- matrices
    Template("transpose_plus", "matrices", ("transpose_plus", "flip_shift", "turn_grid", "swap_axes"), GRID,
             "Return the transpose of the matrix $a with $k added to every entry.",
             "return [[x + $k for x in col] for col in zip(*$a)]", K(1, 9),
             lambda r, c: _cases(r, lambda r: (_matrix(r, _int(r, 1, 3), _int(r, 2, 4)),), n=4)),
    Template("row_sums", "matrices", ("row_sums", "line_totals", "sum_rows", "row_scores"), GRID,
             "Return the list of the row sums of the matrix $a, each multiplied by $k.",
             "return [$k * sum(row) for row in $a]", K(2, 9),
             lambda r, c: _cases(r, lambda r: (_matrix(r, _int(r, 1, 4), _int(r, 1, 4)),), n=4, fixed=(([],),))),
    Template("diag_above", "matrices", ("diag_above", "big_diagonal", "trace_over", "diagonal_sum"), GRID,
             "Return the sum of the entries on the main diagonal of the square matrix $a that are greater "
             "than $k.", "return sum($a[i][i] for i in range(len($a)) if $a[i][i] > $k)", K(0, 9),
             lambda r, c: _cases(r, lambda r: (lambda n: (_matrix(r, n, n),))(_int(r, 1, 4)), n=5)),
    Template("column", "matrices", ("column", "get_column", "col_values", "vertical"), GRID,
             "Return column $k of the matrix $a (counting from 0) as a list.", "return [row[$k] for row in $a]",
             K(0, 3), lambda r, c: _cases(r, lambda r: (_matrix(r, _int(r, 1, 4), c["k"] + _int(r, 1, 2)),), n=4)),
    # --- conversion_formatting
    Template("to_base_padded", "conversion_formatting", ("to_base", "padded_digits", "encode_number", "as_base"),
             NUM, "Return the $base representation of $a as a string, padded with leading zeros to $k digits.",
             "return format($a, $spec)",
             lambda r: (lambda b, k: {"base": b[0], "k": k, "spec": f"0{k}{b[1]}"})(_pick(r, BASES), _int(r, 4, 10)),
             lambda r, c: _cases(r, lambda r: (_int(r, 0, 300),), n=4, fixed=((0,), (1 << 14,)))),
    Template("parse_base", "conversion_formatting", ("parse_base", "from_digits", "decode_number", "read_base"),
             TEXT, "Return the integer whose base-$k digits are given by the string $a.", "return int($a, $k)",
             K(2, 16), lambda r, c: _cases(r, lambda r: _digits_in_base(r, c["k"]), fixed=(("10",),))),
    Template("group_digits", "conversion_formatting", ("group_digits", "thousands", "pretty_number", "digit_groups"),
             NUM, "Return $a written with '$sep' between each group of three digits, counted from the right.",
             'return f"{$a:,}".replace(",", $sep)', lambda r: {"sep": _pick(r, "._ '/-|:")},
             lambda r, c: _cases(r, lambda r: (_int(r, 0, 10 ** _int(r, 2, 9)),), fixed=((1234567,),))),
    Template("to_camel", "conversion_formatting", ("to_camel", "camelize", "join_camel", "camel_case"),
             (("name",), ("s",), ("text",), ("label",)),
             "Convert $a, whose words are separated by '$sep', to camelCase.",
             'return "".join(w.title() if i else w for i, w in enumerate($a.split($sep)))',
             lambda r: {"sep": _pick(r, "_-. /:+")},
             lambda r, c: _cases(r, lambda r: (c["sep"].join(_word(r, LETTERS, 1, 5) for _ in range(_int(r, 1, 4))),))),
    # --- logic_other
    Template("fizz", "logic_other", ("fizz", "label_number", "classify", "say"), NUM,
             "Return '$w1' if $a is divisible by $k, otherwise '$w2' if it is divisible by $m, otherwise $a "
             "as a string.", "return $w1 if $a % $k == 0 else $w2 if $a % $m == 0 else str($a)",
             lambda r: (lambda km, w: {"k": km[0] + 2, "m": km[1] + 2, "w1": WORDS[w[0]], "w2": WORDS[w[1]]})(
                 _two_distinct(r, 0, 7), _two_distinct(r, 0, len(WORDS) - 1)),
             lambda r, c: _cases(r, lambda r: (_int(r, 1, 100),), fixed=((c["k"] * c["m"],), (c["m"],), (1,)))),
    Template("clamp", "logic_other", ("clamp", "limit", "bound", "squeeze"), NUM,
             "Return $a limited to the range from $lo to $hi.", "return max($lo, min($hi, $a))",
             lambda r: (lambda lo: {"lo": lo, "hi": lo + _int(r, 3, 30)})(_int(r, -20, 20)),
             lambda r, c: _cases(r, lambda r: (_int(r, c["lo"] - 10, c["hi"] + 10),), n=5,
                                 fixed=((c["lo"] - 1,), (c["hi"] + 1,)))),
    Template("exactly_one", "logic_other", ("exactly_one", "one_above", "either_big", "single_over"),
             (("a", "b"), ("x", "y"), ("p", "q"), ("first", "second")),
             "Return True if exactly one of $a and $b is greater than $k.", "return ($a > $k) != ($b > $k)",
             K(0, 20), lambda r, c: _cases(r, lambda r: (_int(r, -5, 30), _int(r, -5, 30)), n=8,
                                           fixed=((c["k"] + 1, c["k"]), (c["k"] + 1, c["k"] + 2)))),
    Template("half_or_grow", "logic_other", ("half_or_grow", "collatz_step", "next_value", "step"), NUM,
             "Return half of $a when $a is even, and $k times $a plus 1 otherwise.",
             "return $a // 2 if $a % 2 == 0 else $k * $a + 1", K(2, 7),
             lambda r, c: _cases(r, lambda r: (_int(r, 0, 99),), fixed=((0,), (1,)))),
)
