"""The guardrail on every outgoing knowledge package (chapter 02, "One round step by step").

A knowledge package is a teacher's decoded completions on the transfer-set prompts. Before a
student sees it, :meth:`Guardrail.check` looks at every item (one completion) and

- **redacts** secrets and personal data: each matched span is replaced by ``<REDACTED:rule>``;
- **drops** an item that copies the teacher's *private training solutions* (the reference
  completions of its own train split) verbatim: the item becomes ``None``, so positions still
  match the transfer prompts. A copy is dropped rather than redacted because the copied code is
  the item's substance; what would remain is no longer the teacher's answer;
- keeps every other item unchanged.

Rules, in priority order (a match overlapping an earlier rule's match is ignored):

``private_key``
    a PEM block ``-----BEGIN ... PRIVATE KEY-----`` up to its ``END`` line, or to the end of the
    item when a truncated generation has none.
``api_key``
    vendor formats (OpenAI ``sk-...``, AWS ``AKIA...`` and other key ids, GitHub ``ghp_...`` /
    ``github_pat_...``, Slack ``xox?-...``, Google ``AIza...``, Stripe ``sk_live_...``), and a
    quoted value assigned to a name containing api_key / apikey / secret / token / password /
    passwd / pwd / access_key / private_key / credential (``=`` or ``:``, so keyword arguments
    and dict entries count). Only the value is redacted, and only if it looks random: at least
    12 characters, no whitespace, two or more character classes (lower, upper, digit, other),
    at least 3.0 bits/character of entropy, not patterned, not a placeholder such as
    ``YOUR_API_KEY`` or ``<...>``.
``email``
    ``local@domain.tld`` whose top-level domain is a common generic one (com, org, io, ...) or
    two letters (country codes). A decorator (``@property``) has no local part and matrix
    products (``x@w``, ``a@self.weight``) have no such domain, so neither matches.
``ip_address``
    IPv4: four dotted octets 0-255 not inside a longer dotted or alphanumeric run (so ``v1.2.3.4``,
    ``1.2.3.4.5`` and floats never match), not after version context (``version = "``, ``==``),
    and not ``0.*``, ``127.*`` (this host, loopback) or ``255.255.255.255``, which reveal nothing.
    An address whose first octet is a single digit (``1.2.3.4``, ``7.1.4.34``: as often versions
    or section numbers, three of them in the standard library's source) counts only when its line
    mentions networking (ip, host, dns, server, socket, url, ...): ``dns = "8.8.8.8"`` does.
    IPv6: the full eight-group form, or a ``::`` form with at least two groups one of which
    mixes digits and hex letters (``fe80::1``, ``2001:db8::7``); not directly inside ``[...]``, so
    slices such as ``s[a1::2]`` never match. The loopback ``::1`` alone is not detected.
``hex_secret``
    a run of at least 32 hex digits (128 bits) not preceded by a word character (so ``0xFF...``
    literals never match) that holds both digits and letters and has at least 3.0 bits/char of
    entropy (random 32-digit hex: 3.1-3.9, measured), and is not patterned.
``base64_secret``
    a run of at least 40 characters of the standard base64 alphabet (``A-Za-z0-9+/``, ``=``
    padding) holding upper case, lower case and digits, with at least 4.2 bits/char of entropy
    (random 40-character base64: 4.23-5.1, measured), and with at least 3 digits or a ``+`` or
    ``/`` (long CamelCase names reach 4.4 bits/char but have few digits and no ``+/``), and not
    patterned such as ``ABC...xyz0123...``.
``private_copy``
    the item shares a run of at least ``min_copy_tokens`` (default 32, two to three lines of
    code) normalized tokens with a private solution, or contains a whole private solution of at
    least ``min_solution_tokens`` (default 12) tokens. Tokens are identifiers, numbers and single
    punctuation characters (``\\w+|[^\\w\\s]``, double quotes read as single quotes), so
    whitespace and indentation do not matter; a short idiom such as ``return x + 1`` (4 tokens)
    never counts. Why 32: synthetic bodies have at most 32 tokens, and distinct problems of one
    task family share runs of up to 31 (the family's code with other names or constants, which
    is what a student should learn), so at 32 a correct answer to a synthetic transfer problem
    is dropped only when it *is* one of the teacher's private solutions (0.9 % of a perfect
    teacher's package, measured over ten splits). Among the 1,138 HumanEval + MBPP references,
    60 share a 32-token run with another problem's reference (58 of them MBPP near-duplicate
    problems such as MBPP/427 and MBPP/928), against 137 at 24 tokens. Private solutions are
    indexed once as hashed token n-grams, so a package of 128 items against 60 solutions takes
    milliseconds (about 30 ms here).

*Patterned*: more than half of the adjacent character pairs are equal or consecutive code
points (``abcdef``, ``0123``, ``112233``). *Entropy*: Shannon entropy of the string's own
character frequencies.

The report of a package (:class:`GuardrailReport`) counts items: ``total``, ``flagged`` (any rule
fired), ``dropped`` (private copies), and per rule the number of items it fired on. The
**sensitive-information exposure rate** is ``SIER = flagged / total``: the share of a teacher's
outgoing items that would have exposed a secret, personal data or private training data
without the guardrail (0 for an empty package). Pure Python and ``re``; the same input always
gives the same output.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from knexa_core.errors import ConfigError

RULES = ("private_key", "api_key", "email", "ip_address", "hex_secret", "base64_secret", "private_copy")
COPY_RULE = "private_copy"
MIN_COPY_TOKENS = 32
MIN_SOLUTION_TOKENS = 12
HEX_MIN_LEN, HEX_MIN_ENTROPY = 32, 3.0
B64_MIN_LEN, B64_MIN_ENTROPY, B64_MIN_DIGITS = 40, 4.2, 3
VALUE_MIN_LEN, VALUE_MIN_ENTROPY = 12, 3.0
GENERIC_TLDS = frozenset("""com org net edu gov mil int io ai dev app info biz co me tech cloud online site xyz
name pro email mail local test example invalid""".split())


def marker(rule: str) -> str:
    """The text that replaces a redacted span of ``rule``."""
    return f"<REDACTED:{rule}>"


# ----------------------------------------------------------------------------- string measures

def entropy(text: str) -> float:
    """Shannon entropy in bits per character of ``text``'s own character frequencies."""
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values()) if n else 0.0


def is_patterned(text: str) -> bool:
    """True if more than half of the adjacent pairs are equal or consecutive characters (``abcd``,
    ``0123``, ``112233``): an alphabet or a made-up pattern, not random."""
    steps = sum(ord(b) - ord(a) in (0, 1) for a, b in zip(text, text[1:]))
    return len(text) > 1 and steps > (len(text) - 1) / 2


def char_classes(text: str) -> int:
    """How many of lower case, upper case, digits and other characters ``text`` holds."""
    return (any(c.islower() for c in text) + any(c.isupper() for c in text)
            + any(c.isdigit() for c in text) + any(not c.isalnum() for c in text))


# ----------------------------------------------------------------------------- secret and PII rules

@dataclass(frozen=True)
class Finding:
    """One span of an item matched by a secret/PII rule."""

    rule: str
    start: int
    end: int
    text: str


PLACEHOLDER = re.compile(r"(?i)your|here|example|placeholder|dummy|changeme|xxxx|<.*>|\*\*\*")
VERSION_BEFORE = re.compile(r"(?i)(?<![a-z])(?:version|ver|release|rev)\w*\W{0,4}$|(?:==|>=|<=|~=|!=)\s*$")
NETWORK_WORDS = re.compile(r"(?i)(?<![a-z])(?:ip|ipv4|host|hostname|addr|address|server|dns|socket|connect|"
                           r"gateway|proxy|url|http|https|ping|subnet|route|nameserver)(?![a-z])")  # dns_server too
OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
HEXG = r"[0-9A-Fa-f]{1,4}"


def _value_looks_secret(value: str) -> bool:
    return (len(value) >= VALUE_MIN_LEN and char_classes(value) >= 2 and entropy(value) >= VALUE_MIN_ENTROPY
            and not is_patterned(value) and not PLACEHOLDER.search(value))


def _line_before(text: str, start: int) -> str:
    return text[text.rfind("\n", 0, start) + 1:start]


def _line_of(text: str, start: int, end: int) -> str:
    stop = text.find("\n", end)
    return text[text.rfind("\n", 0, start) + 1:stop if stop >= 0 else len(text)]


def _check_vendor_key(m: re.Match, text: str) -> tuple[int, int] | None:
    body = m.group(0)
    return m.span() if any(c.isdigit() for c in body) and any(c.isalpha() for c in body) else None


def _check_assignment(m: re.Match, text: str) -> tuple[int, int] | None:
    return m.span("value") if _value_looks_secret(m.group("value")) else None


def _check_email(m: re.Match, text: str) -> tuple[int, int] | None:
    tld = m.group("tld")
    return m.span() if tld.lower() in GENERIC_TLDS or len(tld) == 2 else None


def _check_ipv4(m: re.Match, text: str) -> tuple[int, int] | None:
    if VERSION_BEFORE.search(_line_before(text, m.start())):
        return None
    octets = m.group(0).split(".")
    if octets[0] in ("0", "127") or m.group(0) == "255.255.255.255":
        return None  # this host, loopback, broadcast: they reveal nothing
    if len(octets[0]) == 1 and not NETWORK_WORDS.search(_line_of(text, *m.span())):
        return None  # 1.2.3.4, 7.1.4.34: as often a version or section number as an address
    return m.span()


def _check_ipv6(m: re.Match, text: str) -> tuple[int, int] | None:
    addr = m.group(0)
    if "::" not in addr:
        return m.span()  # the full eight-group form
    groups = [g for g in re.split(r":+", addr) if g]
    mixed = any(any(c.isdigit() for c in g) and any(c.isalpha() for c in g) for g in groups)
    return m.span() if len(groups) >= 2 and mixed else None


def _check_hex(m: re.Match, text: str) -> tuple[int, int] | None:
    s = m.group(0)
    ok = (any(c.isdigit() for c in s) and any(c.isalpha() for c in s) and entropy(s) >= HEX_MIN_ENTROPY
          and not is_patterned(s))
    return m.span() if ok else None


def _check_base64(m: re.Match, text: str) -> tuple[int, int] | None:
    s = m.group(0).rstrip("=")
    digits = sum(c.isdigit() for c in s)
    ok = (any(c.islower() for c in s) and any(c.isupper() for c in s) and digits > 0
          and entropy(s) >= B64_MIN_ENTROPY and (digits >= B64_MIN_DIGITS or "+" in s or "/" in s)
          and not is_patterned(s))
    return m.span() if ok else None


Check = Callable[[re.Match, str], "tuple[int, int] | None"]
SECRET_PATTERNS: tuple[tuple[str, re.Pattern, Check | None], ...] = (
    ("private_key", re.compile(r"-----BEGIN[ A-Z0-9]*PRIVATE KEY-----[\s\S]*?"
                               r"(?:-----END[ A-Z0-9]*PRIVATE KEY-----|\Z)"), None),
    ("api_key", re.compile(r"(?<![\w-])sk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{20,}"), _check_vendor_key),
    ("api_key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"), None),
    ("api_key", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"), None),
    ("api_key", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), _check_vendor_key),
    ("api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), None),
    ("api_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"), None),
    ("api_key", re.compile(r"(?i)(?<![\w-])[\w-]{0,40}?(?:api[_-]?key|apikey|secret|token|passw(?:or)?d|pwd|"
                           r"access[_-]?key|private[_-]?key|credentials?)[\w-]{0,40}['\"]?\s*[:=]\s*"
                           r"(?P<q>['\"])(?P<value>[^'\"\s]+)(?P=q)"),
     _check_assignment),
    ("email", re.compile(r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
                         r"(?P<tld>[A-Za-z]{2,24})(?![\w-]|\.[A-Za-z0-9])"), _check_email),
    ("ip_address", re.compile(rf"(?<![\w.]){OCTET}(?:\.{OCTET}){{3}}(?!\w|\.\d)"), _check_ipv4),
    ("ip_address", re.compile(rf"(?<![\w:.\[])(?:{HEXG}(?::{HEXG}){{7}}|(?:{HEXG}(?::{HEXG}){{0,6}})?::"
                              rf"(?:{HEXG}(?::{HEXG}){{0,6}})?)(?![\w:\]])"), _check_ipv6),
    ("hex_secret", re.compile(rf"(?<!\w)[0-9A-Fa-f]{{{HEX_MIN_LEN},}}(?!\w)"), _check_hex),
    ("base64_secret", re.compile(rf"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{{{B64_MIN_LEN},}}={{0,2}}(?![A-Za-z0-9+/=])"),
     _check_base64),
)


def find_secrets(text: str) -> list[Finding]:
    """The secret/PII spans of ``text`` (rules in priority order, overlaps dropped), in text order."""
    taken: list[Finding] = []
    for rule, pattern, check in SECRET_PATTERNS:
        for m in pattern.finditer(text):
            span = m.span() if check is None else check(m, text)
            if span is None or span[0] == span[1]:
                continue
            start, end = span
            if all(end <= f.start or start >= f.end for f in taken):
                taken.append(Finding(rule, start, end, text[start:end]))
    return sorted(taken, key=lambda f: f.start)


def redact(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with every finding's span replaced by its rule's marker."""
    out, pos = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        out += [text[pos:f.start], marker(f.rule)]
        pos = f.end
    return "".join(out) + text[pos:]


# ----------------------------------------------------------------------------- private copies

TOKEN = re.compile(r"\w+|[^\w\s]")


def normalized_tokens(code: str) -> tuple[str, ...]:
    """Identifiers, numbers and single punctuation characters of ``code`` (``"`` read as ``'``)."""
    return tuple(TOKEN.findall(code.replace('"', "'")))


# ----------------------------------------------------------------------------- the guardrail

@dataclass(frozen=True)
class GuardrailReport:
    """Counts of one package (or of several, added with ``+``); see the module docstring."""

    total: int = 0
    flagged: int = 0
    dropped: int = 0
    by_rule: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULES, 0))

    @property
    def sier(self) -> float:
        """Sensitive-information exposure rate: flagged / total (0 for an empty package)."""
        return self.flagged / self.total if self.total else 0.0

    @property
    def redacted(self) -> int:
        """Items kept with redactions (flagged but not dropped)."""
        return self.flagged - self.dropped

    def __add__(self, other: GuardrailReport) -> GuardrailReport:
        rules = dict.fromkeys(RULES, 0) | {r: self.by_rule.get(r, 0) + other.by_rule.get(r, 0)
                                           for r in {*self.by_rule, *other.by_rule}}
        return GuardrailReport(self.total + other.total, self.flagged + other.flagged,
                               self.dropped + other.dropped, rules)

    def to_dict(self) -> dict:
        """JSON-ready counts, with ``redacted`` and ``sier``."""
        return {"total": self.total, "flagged": self.flagged, "dropped": self.dropped, "redacted": self.redacted,
                "sier": self.sier, "by_rule": {r: self.by_rule.get(r, 0) for r in RULES}}


class Guardrail:
    """Checks a teacher's outgoing items against the secret/PII rules and its private solutions.

    Parameters
    ----------
    private_solutions : the reference completions of the teacher's own train split.
    min_copy_tokens : a shared run of this many normalized tokens is a copy (default 32).
    min_solution_tokens : a whole private solution of at least this many tokens inside an item is
        a copy, even when shorter than ``min_copy_tokens`` (default 12).
    """

    def __init__(self, private_solutions: Sequence[str] = (), min_copy_tokens: int = MIN_COPY_TOKENS,
                 min_solution_tokens: int = MIN_SOLUTION_TOKENS) -> None:
        if not 1 <= min_solution_tokens <= min_copy_tokens:
            raise ConfigError(f"need 1 <= min_solution_tokens <= min_copy_tokens; got {min_solution_tokens}, "
                              f"{min_copy_tokens}")
        if isinstance(private_solutions, str):
            raise ConfigError("private_solutions must be a sequence of solution texts, not one string")
        self.min_copy_tokens, self.min_solution_tokens = min_copy_tokens, min_solution_tokens
        n, k = min_copy_tokens, min_solution_tokens
        self._grams: set[tuple[str, ...]] = set()  # every n-gram of the long solutions
        self._short: dict[tuple[str, ...], set[tuple[str, ...]]] = {}  # first k tokens -> whole short solutions
        for solution in private_solutions:
            tokens = normalized_tokens(solution)
            if len(tokens) >= n:
                self._grams.update(tokens[i:i + n] for i in range(len(tokens) - n + 1))
            elif len(tokens) >= k:
                self._short.setdefault(tokens[:k], set()).add(tokens)

    def copies_private(self, item: str) -> bool:
        """True if ``item`` copies a private solution (see the module docstring)."""
        tokens = normalized_tokens(item)
        n, k = self.min_copy_tokens, self.min_solution_tokens
        if self._grams and any(tokens[i:i + n] in self._grams for i in range(len(tokens) - n + 1)):
            return True
        if not self._short:
            return False
        for i in range(len(tokens) - k + 1):
            for whole in self._short.get(tokens[i:i + k], ()):
                if tokens[i:i + len(whole)] == whole:
                    return True
        return False

    def check(self, items: Sequence[str]) -> tuple[list[str | None], GuardrailReport]:
        """Screen a package.

        Returns
        -------
        (items, report)
            Per input item, in order: the item unchanged, the item with its secret/PII spans
            redacted, or None if it copies a private solution (dropped); and the package's counts.
        """
        out: list[str | None] = []
        by_rule = dict.fromkeys(RULES, 0)
        flagged = dropped = 0
        for item in items:
            if not isinstance(item, str):
                raise ConfigError(f"package items must be strings, got {type(item).__name__}; decode completions before the guardrail")
            findings = find_secrets(item)
            copied = self.copies_private(item)
            rules = {f.rule for f in findings} | ({COPY_RULE} if copied else set())
            for rule in rules:
                by_rule[rule] += 1
            flagged += bool(rules)
            dropped += copied
            out.append(None if copied else redact(item, findings))
        return out, GuardrailReport(len(out), flagged, dropped, by_rule)
