"""A synthetic code benchmark that tiny models can learn on a CPU (profiles ``cpu`` and ``smoke``).

Chapter 02 trains federations of ~4 M-parameter transformers on a 2-core CPU in minutes. HumanEval
and MBPP are far beyond such models (their Pass@1 stays 0 whatever the method), so the ``cpu`` and
``smoke`` profiles use this benchmark instead: HumanEval-style problems (prompt = signature +
docstring, reference = the body, ``check(candidate)`` asserts) generated from the template table
of :mod:`knexa_core.data.synthetic_templates`, four task families per category of
:data:`~knexa_core.data.categories.CATEGORIES`, each with drawn function names, argument names
and constants.

Why templates: a category is a small set of task families with fixed wording, so a model can
learn it from a few dozen examples, and a client that holds no problem of a category has never
seen its wording or its code. *Learning a category* here means mapping the docstring of an
unseen instance (new names, new constants) to the family's body with the right names and
constants. The docstring states the task in words, never the code, and the tests fail a body of
another family of the same category or with other constants, so neither copying the prompt nor
guessing the family is enough. Constants the body needs appear in the docstring as numbers or
characters, so a model that knows the family can copy them.

Why a few settings, and no two problems with the same body: a family's instances draw their
constants from a bank of :data:`N_SETTINGS` settings and their argument names from
:data:`N_ARG_NAMES` tuples, and no two problems (pool and transfer pool together) share a
reference body. A held-out problem therefore always asks for a *combination* of argument names
and constants that no training or transfer problem has, while each value it needs has been seen.
With unbounded constants the tiny models of the ``cpu`` profile learned each family's body but
not to copy an arbitrary constant from the docstring (measured: the held-out failures were wrong
constants and argument names, on bodies of the right shape), which ~45 training problems per
client cannot teach. Bodies are unique as text, *not* up to the argument names: a test problem's
body often equals another problem's with its arguments renamed (:func:`renamed_twins` counts them;
chapter 02 shows the share), so synthetic Pass@1 measures whether a client knows a family's
bodies and fills in the names and constants, not open-ended generalization.

Problems are ``"Synthetic/<n>"`` with the categories interleaved (0 = the first ``strings``
problem, 1 = the first ``lists`` problem, ...). Category k's instances come from the random stream
``(seed, k)`` one after another, so a larger ``n_per_category`` only appends problems. No two
problems share a prompt. The expected values in the tests come from running the reference
in-process at generation time (our own template code), so tests and references always agree.
"""
from __future__ import annotations

import hashlib
import string
from typing import Any, Sequence

import numpy as np

from knexa_core.data.categories import CATEGORIES
from knexa_core.data.schema import Problem
from knexa_core.data.synthetic_templates import TEMPLATES, Template
from knexa_core.errors import DataError
from knexa_core.io import dumps_json

SOURCE = "synthetic"
PREFIX = "Synthetic/"
N_POOL_PER_CATEGORY = 40  # 480 study problems (>= the paper's 464)
N_TRANSFER_PER_CATEGORY = 11  # 132 transfer candidates (>= the paper's 128)
MAX_TRIES = 200  # redraws of a colliding instance before giving up
N_SETTINGS = 5  # constant settings per family (drawn once per family and seed); see "Why a few settings"
N_ARG_NAMES = 4  # argument-name tuples per family (the first ones of the template's list)
BY_CATEGORY: dict[str, tuple[Template, ...]] = {c: tuple(t for t in TEMPLATES if t.category == c)
                                               for c in CATEGORIES}
BY_NAME: dict[str, Template] = {name: t for t in TEMPLATES for name in t.names}  # names are unique


def template_of(problem: Problem) -> Template:
    """The template a synthetic problem was drawn from (function names are unique to a template)."""
    if problem.source != SOURCE or problem.entry_point not in BY_NAME:
        raise DataError(f"{problem.task_id} is not a synthetic problem of this template table")
    return BY_NAME[problem.entry_point]


def literal(value: Any) -> str:
    """``value`` as Python source; strings with backslashes as raw strings (regular expressions)."""
    if isinstance(value, str) and "\\" in value and '"' not in value and not value.endswith("\\"):
        return f'r"{value}"'
    return repr(value)


def render(template: Template, fname: str, args: Sequence[str], consts: dict[str, Any]) -> tuple[str, str]:
    """The prompt (signature + docstring) and the reference body (indented) of one instance."""
    names = {"f": fname} | dict(zip("abc", args))
    doc = string.Template(template.doc).substitute({k: str(v) for k, v in consts.items()} | names)
    body = string.Template(template.body).substitute({k: literal(v) for k, v in consts.items()} | names)
    prompt = f"def {fname}({', '.join(args)}):\n    \"\"\"{doc}\"\"\"\n"
    return prompt, "".join(f"    {line}\n" for line in body.split("\n"))


def compile_function(prompt: str, body: str, fname: str):
    """The function defined by ``prompt + body`` (our own template code, run in-process)."""
    namespace: dict[str, Any] = {}
    exec(compile(prompt + body, f"<synthetic {fname}>", "exec"), namespace)  # noqa: S102 trusted templates
    return namespace[fname]


def check_code(fname: str, cases: Sequence[tuple], expected: Sequence[Any]) -> str:
    """HumanEval-style test code: ``check(candidate)`` with one assert per case, then the call."""
    asserts = "".join(f"    assert candidate({', '.join(literal(a) for a in case)}) == {literal(out)}\n"
                      for case, out in zip(cases, expected))
    return f"\n\ndef check(candidate):\n{asserts}\n\ncheck({fname})\n"


def settings_bank(template: Template, rng: np.random.Generator, n: int = N_SETTINGS) -> list[dict[str, Any]]:
    """``n`` distinct constant settings of ``template`` (fewer if it has fewer), in drawing order."""
    bank: list[dict[str, Any]] = []
    for _ in range(MAX_TRIES):
        consts = template.consts(rng)
        if consts not in bank:
            bank.append(consts)
        if len(bank) == n:
            break
    return bank


def arg_names_for(template: Template, bank_size: int) -> tuple[tuple[str, ...], ...]:
    """The first :data:`N_ARG_NAMES` argument-name tuples, more when a family with few settings
    would otherwise have fewer distinct bodies than the default pools need (+ 3 spare)."""
    families = len(BY_CATEGORY[template.category])
    needed = -(-(N_POOL_PER_CATEGORY + N_TRANSFER_PER_CATEGORY) // families)
    count = min(N_ARG_NAMES, len(template.args))
    while count < len(template.args) and bank_size * count < needed + 3:
        count += 1
    return template.args[:count]


def draw_instance(template: Template, rng: np.random.Generator, bank: Sequence[dict[str, Any]] | None = None,
                  arg_names: Sequence[tuple[str, ...]] | None = None) -> dict[str, Any]:
    """Names, constants (one of ``bank``'s settings, or freshly drawn) and test inputs of one instance."""
    fname = template.names[int(rng.integers(len(template.names)))]
    arg_names = arg_names or template.args
    args = arg_names[int(rng.integers(len(arg_names)))]
    consts = bank[int(rng.integers(len(bank)))] if bank else template.consts(rng)
    return {"fname": fname, "args": args, "consts": consts, "cases": template.inputs(rng, consts)}


def build_problem(template: Template, instance: dict[str, Any], number: int) -> Problem | None:
    """The :class:`Problem` of one drawn instance (expected values from running the reference).

    None if every test case expects the same value (a constant answer would pass): redraw.
    """
    fname, cases = instance["fname"], instance["cases"]
    prompt, body = render(template, fname, instance["args"], instance["consts"])
    fn = compile_function(prompt, body, fname)
    expected = [fn(*case) for case in cases]
    if len({literal(e) for e in expected}) < 2:
        return None
    return Problem(task_id=f"{PREFIX}{number}", source=SOURCE, prompt=prompt, entry_point=fname,
                   test=check_code(fname, cases, expected), reference=body, category=template.category,
                   prefix=prompt)


def _category_problems(k: int, n: int, seed: int) -> list[Problem]:
    """The first ``n`` problems of category ``CATEGORIES[k]``, numbered with the categories interleaved."""
    templates = BY_CATEGORY[CATEGORIES[k]]
    rng = np.random.default_rng([seed, k])
    banks = [settings_bank(t, rng) for t in templates]
    names = [arg_names_for(t, len(b)) for t, b in zip(templates, banks)]  # not n: more only appends
    seen: set[str] = set()  # reference bodies (so prompts are unique too)
    out = []
    for j in range(n):
        f = j % len(templates)  # families in turn: each equally often
        template = templates[f]
        for _ in range(MAX_TRIES):
            problem = build_problem(template, draw_instance(template, rng, banks[f], names[f]), j * len(CATEGORIES) + k)
            if problem is not None and problem.reference not in seen:
                break
        else:
            raise DataError(f"template {template.key}: no instance with a new body and discriminating tests in "
                            f"{MAX_TRIES} draws; add argument names or settings, or ask for fewer problems")
        seen.add(problem.reference)
        out.append(problem)
    return out


def renamed_body(problem: Problem) -> str:
    """The reference body with its arguments renamed ``ARG0``, ``ARG1``, ... in signature order."""
    import ast
    import re

    body = problem.reference
    for i, arg in enumerate(a.arg for a in ast.parse(problem.prompt).body[0].args.args):
        body = re.sub(rf"\b{re.escape(arg)}\b", f"ARG{i}", body)
    return body


def renamed_twins(problems: Sequence[Problem], others: Sequence[Problem]) -> int:
    """How many of ``problems`` have a body equal, up to argument names, to one of ``others``."""
    known = {renamed_body(p) for p in others}
    return sum(renamed_body(p) in known for p in problems)


def synthetic_problems(n_per_category: int, seed: int) -> tuple[Problem, ...]:
    """``n_per_category`` problems of each of the 12 categories, in task-id order.

    Parameters
    ----------
    n_per_category : problems per category (families of a category in turn).
    seed : the generator's seed; the same seed gives byte-identical problems.

    Returns
    -------
    tuple of Problem
        ``"Synthetic/0"`` ... ``"Synthetic/<12 n - 1>"``, ``source="synthetic"``, bodies (so prompts) unique.
    """
    if isinstance(n_per_category, bool) or not isinstance(n_per_category, int) or n_per_category < 0:
        raise DataError(f"n_per_category must be a non-negative integer, got {n_per_category!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    by_cat = [_category_problems(k, n_per_category, seed) for k in range(len(CATEGORIES))]
    problems = tuple(p for j in range(n_per_category) for p in (ps[j] for ps in by_cat))
    if len({p.prompt for p in problems}) != len(problems):  # categories' wordings differ; make sure
        raise DataError("two synthetic problems share a prompt; the template table has a duplicate wording")
    return problems


def synthetic_pools(seed: int, n_pool: int = N_POOL_PER_CATEGORY,
                    n_transfer: int = N_TRANSFER_PER_CATEGORY) -> tuple[tuple[Problem, ...], tuple[Problem, ...]]:
    """The study pool and a disjoint transfer pool (default 480 + 132 problems).

    The first ``n_pool`` problems of each category form the pool (``Synthetic/0`` ...), the next
    ``n_transfer`` the transfer pool; :func:`~knexa_core.data.splits.split_federation` takes them
    as ``pool`` and ``transfer_pool``.
    """
    problems = synthetic_problems(n_pool + n_transfer, seed)
    cut = n_pool * len(CATEGORIES)
    return problems[:cut], problems[cut:]


def synthetic_parameters(seed: int, n_pool: int = N_POOL_PER_CATEGORY,
                         n_transfer: int = N_TRANSFER_PER_CATEGORY) -> dict[str, Any]:
    """The generator's parameters and a sha256 of the template table (for manifests)."""
    table = [[t.key, t.category, list(t.names), [list(a) for a in t.args], t.doc, t.body] for t in TEMPLATES]
    return {"generator": "knexa_core.data.synthetic", "seed": seed, "pool_per_category": n_pool,
            "transfer_per_category": n_transfer, "templates": len(TEMPLATES), "settings_per_family": N_SETTINGS,
            "argument_names_per_family": N_ARG_NAMES,
            "templates_sha256": hashlib.sha256(dumps_json(table).encode()).hexdigest()}
