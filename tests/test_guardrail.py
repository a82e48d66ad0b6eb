"""Tests of the guardrail: each rule on hand-made items, exact redactions, verbatim private copies,
the package report (SIER), speed, and no false alarms on HumanEval, MBPP and the synthetic
benchmark's references."""
from __future__ import annotations

import time

import pytest

from knexa_core.data import load_humaneval, load_mbpp, synthetic_pools
from knexa_core.errors import ConfigError
from knexa_core.fl.guardrail import (RULES, Guardrail, GuardrailReport, entropy, find_secrets, is_patterned,
                                     normalized_tokens, redact)

GITHUB_TOKEN = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"
OPENAI_KEY = "sk-proj-Ab3dEf5gH7iJ9kL1mN3oP5qR7sT9uV1w"

# (item, the item after redaction): one or more secrets embedded in ordinary code
REDACTED = [
    ('    send("alice.smith@example.com")\n', '    send("<REDACTED:email>")\n'),
    ("def notify():\n    return mail('OPS@Corp.IO', body)\n",
     "def notify():\n    return mail('<REDACTED:email>', body)\n"),
    (f'client = OpenAI(api_key="{OPENAI_KEY}")\n', 'client = OpenAI(api_key="<REDACTED:api_key>")\n'),
    ('AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"', 'AWS_ACCESS_KEY_ID = "<REDACTED:api_key>"'),
    (f"    headers = {{'Authorization': 'token {GITHUB_TOKEN}'}}\n",
     "    headers = {'Authorization': 'token <REDACTED:api_key>'}\n"),
    ('    password = "Tr0ub4dor&3xYz"\n    return login(user, password)\n',
     '    password = "<REDACTED:api_key>"\n    return login(user, password)\n'),
    ('cfg = {"db_password": "s3cr3t-P4ssw0rd-2024", "port": 5432}',
     'cfg = {"db_password": "<REDACTED:api_key>", "port": 5432}'),
    ('key = """-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4Zq\n-----END RSA PRIVATE KEY-----"""\nx = 1\n',
     'key = """<REDACTED:private_key>"""\nx = 1\n'),
    ("pem = '-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA", "pem = '<REDACTED:private_key>"),
    ('    HOST = "10.0.12.7"\n', '    HOST = "<REDACTED:ip_address>"\n'),
    ('dns_server = "8.8.8.8"', 'dns_server = "<REDACTED:ip_address>"'),
    ('url = "http://192.168.1.20:8080/api"', 'url = "http://<REDACTED:ip_address>:8080/api"'),
    ('addr = "2001:db8::8a2e:370:7334"', 'addr = "<REDACTED:ip_address>"'),
    ('link = "fe80::1"; full = "2001:0db8:85a3:0000:0000:8a2e:0370:7334"',
     'link = "<REDACTED:ip_address>"; full = "<REDACTED:ip_address>"'),
    ('    digest = "9f86d081884c7d659a2feaa0c55ad015"\n', '    digest = "<REDACTED:hex_secret>"\n'),
    ('blob = "q3Zr8Jk2LmN9pQ4sT7vW1xY5zA6bC0dE2fG8hI3j"', 'blob = "<REDACTED:base64_secret>"'),
    ('x = b64decode("aGVsbG8gd29ybGQ+dGhpcyBpcyBh/HRlc3QgZm9y")', 'x = b64decode("<REDACTED:base64_secret>")'),
    ('reach bob@mail.example.org from 172.16.0.4', 'reach <REDACTED:email> from <REDACTED:ip_address>'),
]

# ordinary Python the secret/PII rules must leave alone
CLEAN = [
    "@property\ndef area(self):\n    return self.w * self.h\n",
    "    return a @ b + x@w.T + a@self.weight\n",
    '__version__ = "1.2.3.4"\nx = "1.2.3.4"\nrequires = "pkg==10.2.3.4"\n',
    "    return 3.14 * r ** 2 + 1.5e-3 + 0.25\n",
    "    return n & 0xFF | 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\n",
    "    h = 0x9f86d081884c7d659a2feaa0c55ad015a\n",
    "    y = s[a1::2]; z = x[::1]; t = s[1:2:3]; clock = '12:30:45'\n",
    "class ThisIsAVeryLongClassNameWithDigits2And3Etc:\n    pass\n",
    'ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"\n',
    '    api_key = os.environ["API_KEY"]\n    token = "("\n    secret_word = "elephant"\n',
    'api_key = "YOUR_API_KEY_HERE"\npassword = "<your password>"\n',
    'host = "127.0.0.1"; any_addr = "0.0.0.0"; user = "me@localhost"\n',
    "    hex_key = '112233445566778899AABBCCDDEEFF00'\n",
    "    return [x for x in range(10) if x % 2 == 0]\n",
]


def test_each_rule_redacts_exactly():
    fired = set()
    for item, expected in REDACTED:
        out, report = Guardrail().check([item])
        assert out == [expected], item
        assert report.flagged == 1 and report.dropped == 0
        fired |= {r for r, n in report.by_rule.items() if n}
        assert Guardrail().check(out)[1].flagged == 0  # the markers themselves never fire again
    assert fired == set(RULES) - {"private_copy"}


def test_ordinary_code_is_left_alone():
    out, report = Guardrail().check(CLEAN)
    assert out == CLEAN
    assert report.flagged == 0, [(c, find_secrets(c)) for c in CLEAN if find_secrets(c)]


def test_findings_name_rule_span_and_text():
    item = 'ip = "10.1.2.3"  # ask admin@example.com'
    found = find_secrets(item)
    assert [(f.rule, f.text) for f in found] == [("ip_address", "10.1.2.3"), ("email", "admin@example.com")]
    assert all(item[f.start:f.end] == f.text for f in found)
    assert redact(item, found) == 'ip = "<REDACTED:ip_address>"  # ask <REDACTED:email>'


def test_string_measures():
    assert entropy("") == 0.0 and entropy("aaaa") == 0.0 and entropy("abcd") == 2.0
    assert is_patterned("abcdefgh") and is_patterned("0123456789") and is_patterned("112233445566")
    assert not is_patterned("9f86d081884c7d65")


# ----------------------------------------------------------------------------- private copies

LONG = ("    result = []\n    for i in range(len(numbers)):\n        if i % 2 == 0 and numbers[i] > threshold:\n"
        "            result.append(numbers[i] * factor)\n    return sorted(result, reverse=True)\n")
PRIVATE = [
    LONG,  # 50 tokens: any shared run of 32 tokens counts
    "    return [x for x in strings if substring in x]\n",  # 12 tokens: a whole short solution counts
    "    return x + 1\n",  # 4 tokens: too short to ever count
]


def test_verbatim_copies_of_private_solutions_are_dropped():
    guard = Guardrail(PRIVATE)
    lines = LONG.splitlines(keepends=True)
    reformatted = LONG.replace("    ", "  ").replace(" % ", "%").replace(" > ", ">")
    long_run = "".join(lines[:4]) + "    return result\n"  # 42 shared tokens
    short_run = "".join(lines[:2]) + "        total += numbers[i]\n    return total\n"  # 16 shared tokens
    items = [LONG, reformatted, long_run, PRIVATE[1].replace("    ", "\t"), "    return x + 1\n",
             "    return [s for s in strings if substring in s]\n", short_run, "    return sorted(set(l))\n"]
    out, report = guard.check(items)
    assert out == [None, None, None, None, *items[4:]]
    assert (report.total, report.flagged, report.dropped, report.redacted) == (8, 4, 4, 0)
    assert report.by_rule["private_copy"] == 4 and report.sier == 0.5
    assert [len(normalized_tokens(t)) for t in PRIVATE] == [50, 12, 4]


def test_a_copy_with_a_secret_is_dropped_and_counted_once():
    item = PRIVATE[0] + '    key = "AKIAIOSFODNN7EXAMPLE"\n'
    out, report = Guardrail(PRIVATE).check([item, "    return n\n"])
    assert out == [None, "    return n\n"]
    assert (report.flagged, report.dropped) == (1, 1)
    assert report.by_rule == dict.fromkeys(RULES, 0) | {"private_copy": 1, "api_key": 1}


def test_report_adds_up_and_serializes():
    a = Guardrail().check(["x = 1", 'm = "a@b.com"'])[1]
    b = Guardrail(PRIVATE).check([PRIVATE[0]])[1]
    total = a + b
    assert (total.total, total.flagged, total.dropped) == (3, 2, 1)
    assert total.to_dict() == {"total": 3, "flagged": 2, "dropped": 1, "redacted": 1, "sier": 2 / 3,
                               "by_rule": dict.fromkeys(RULES, 0) | {"email": 1, "private_copy": 1}}
    assert GuardrailReport().sier == 0.0 and sum([a, b], GuardrailReport()) == total


def test_bad_arguments():
    with pytest.raises(ConfigError, match="min_solution_tokens"):
        Guardrail([], min_copy_tokens=8, min_solution_tokens=12)
    with pytest.raises(ConfigError, match="not one string"):
        Guardrail("    return x\n")
    with pytest.raises(ConfigError, match="strings"):
        Guardrail().check([None])


def test_a_package_takes_milliseconds():
    he = load_humaneval()
    guard = Guardrail([p.reference for p in he[:60]])
    items = [p.reference for p in he[60:]] + [p.reference for p in he[:24]]  # 128 items, 24 copies
    start = time.perf_counter()
    out, report = guard.check(items)
    elapsed = time.perf_counter() - start
    long_enough = [len(normalized_tokens(t)) >= guard.min_solution_tokens for t in items[-24:]]
    assert report.total == 128 and report.dropped == sum(long_enough) == 22  # two are one-liners under 12 tokens
    assert [o is None for o in out[-24:]] == long_enough and None not in out[:-24]
    assert elapsed < 0.5, f"{elapsed:.3f} s"  # measured about 0.03 s on this machine


# ----------------------------------------------------------------------------- no false alarms on real code

def _assert_clean(texts: list[str], what: str) -> None:
    out, report = Guardrail().check(texts)
    tripped = {i: [(f.rule, f.text) for f in find_secrets(t)] for i, t in enumerate(texts) if out[i] != t}
    assert report.flagged == 0 and not tripped, f"{what}: {tripped}"


def test_no_false_alarms_on_humaneval_solutions():
    _assert_clean([p.reference for p in load_humaneval()], "HumanEval canonical solutions")


def test_no_false_alarms_on_mbpp_references(mbpp_path):
    problems = load_mbpp(mbpp_path)  # the fixture skips, with the reason, when MBPP is unavailable
    assert len(problems) == 974
    _assert_clean([p.reference for p in problems], "MBPP references")


def test_no_false_alarms_on_the_synthetic_benchmark():
    pool, transfer = synthetic_pools(42)
    _assert_clean([p.prompt + p.reference + p.test for p in pool + transfer], "synthetic problems")
