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
# # The CPM: does a learned matchmaker beat random pairing?
#
# KNEXA-FL's Central Profiler/Matchmaker (CPM) decides, every round, which agent teaches which.
# It keeps a profile of every agent and runs a LinUCB contextual bandit over *ordered pairs*.
# The paper's evidence that this learning works is a synthetic study: Figure 2 (LinUCB gains
# 48.5% relative Pass@1 over random pairing with 32 clients and high heterogeneity, 37.1% with
# 8 clients, 3.1% at low heterogeneity; Hetero-Greedy pairs more diverse clients, JS 0.710 against
# ≈0.64) and supplementary Figure 1 (LinUCB's regret levels off after ≈60 rounds while random
# pairing's grows linearly).
#
# In the authors' public release (commit 5ac3127) these figures are not produced by bandit runs:
# `simulations/linucb_cpm_validation/generate_paper_results_fast.py` types in the final Pass@1 of
# random and LinUCB per configuration, the JS values and the compute times and adds seeded noise
# (rerunning it gives 37.1 / 48.5 / 3.1% and 0.710 / 0.637 exactly), and
# `create_learning_curves.py` draws closed-form curves with constant-width bands. This chapter
# runs the experiment for real: a synthetic federation with hidden pair rewards, the CPM of
# `knexa_core.cpm`, and 95% confidence intervals computed across seeds. It reports what the runs
# show, whatever that is.

# %% tags=["parameters"]
num_clients: int = 16  # clients of the learning-dynamics study; paper (Suppl. Fig. 1): 16
num_rounds: int = 100  # rounds of every study; paper: 100
seeds: list = [0, 1, 2, 3, 4]  # one federation per seed; paper: 5 runs
heterogeneity: str = "high"  # heterogeneity of the learning-dynamics and separability studies
context: str = "concat"  # LinUCB pair context; paper: concat ([p_teacher, p_student])
beta0: float = 1.0  # LinUCB exploration scale: beta_t is beta0 / sqrt(t)
lam: float = 1.0  # LinUCB ridge regularization: A starts as lam times I
grid_clients: list = [8, 16, 32, 64]  # Figure 2 client counts; paper: 8, 16, 32, 64
grid_heterogeneities: list = ["low", "medium", "high"]  # Figure 2 heterogeneity levels; paper: the same
grid_seeds: list = [0, 1, 2, 3, 4]  # seeds per grid cell; paper: 5 runs
latency_clients: list = [16, 64, 256, 1024]  # federation sizes of the latency check
out_dir: str = "../runs/cpu/03_cpm_simulation"  # CSV outputs and comparison.json; default: the cpu book's folder
figures_dir: str = "../figures"  # where the chapter's PNG figures are saved

# %% tags=["remove-input"]
from knexa_core.book.parameters import check_parameters
check_parameters(globals())

# %% tags=["hide-input"]
import time
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Image, display
from myst_nb import glue

from knexa_core.cpm import D_P, FAMILIES, LinUCB, PERFORMANCE_FEATURES, build_profile, context_dim
from knexa_core.cpm.contexts import pair_contexts
from knexa_core.book.report import save_comparisons
from knexa_core.sim import experiments as ex
from knexa_core.sim import findings, plots
from knexa_core.sim.federation import ETA, FORGET, HETEROGENEITY, NOISE, make_federation
from knexa_core.sim.linear import make_linear_env, trained_bandit

out, figures = Path(out_dir), Path(figures_dir)
out.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## What does the matchmaker see?
#
# Each agent is summarized by a profile of $d_p = 32$ numbers built from named fields: a one-hot
# of its backbone family (8 slots), 12 dynamic performance features, and the 12-bin histogram
# of its data categories. Here is the profile of a BLOOM agent with 20% validation Pass@1 whose
# data fall into two categories:

# %%
p = build_profile("bloom", {"pass1": 0.2, "pass1_delta": 0.05}, [3, 1] + [0] * 10)
pd.DataFrame({"block": ["family"] * 8 + ["performance"] * 12 + ["histogram"] * 12,
              "field": list(FAMILIES) + list(PERFORMANCE_FEATURES) + [f"category {k}" for k in range(12)],
              "value": p}).T

# %% [markdown]
# A *pair context* turns two profiles into the bandit's feature vector. The paper uses
# `concat`, $x_{ij} = [p_i, p_j]$. A linear model on it is additively separable,
# $\theta^\top x_{ij} = \theta_1^\top p_i + \theta_2^\top p_j$: it can learn who is a good
# teacher and who a good student, but not which *pairs* fit. The `interaction` context adds
# $p_i \odot p_j$, $|p_i - p_j|$ and the Jensen-Shannon divergence of the two histograms.

# %%
{name: pair_contexts(np.stack([p, p]), [(0, 1)], name).shape[1] for name in ("concat", "interaction")}

# %% [markdown]
# **Summary.** Profiles are 32 numbers; the paper's context is their concatenation (64), the
# interaction context has 129 features.
#
# ## Algorithm 1: how does LinUCB choose pairs?
#
# Each round $t$ the CPM scores every ordered pair (both role assignments of every two agents)
#
# $$s_{ij} = \hat\theta^\top x_{ij} + \beta_t \sqrt{x_{ij}^\top A^{-1} x_{ij}}, \qquad
# \hat\theta = A^{-1} b, \qquad \beta_t = \beta_0 / \sqrt{\max(1, t)},$$
#
# then takes pairs greedily by descending score, skipping any pair with an agent already chosen
# (ties by ascending teacher, then student). After the round each chosen pair's reward $r$ (the
# student's improvement; z-scored with running Welford statistics, $\varepsilon = 10^{-6}$)
# updates $A \leftarrow A + x x^\top$ and $b \leftarrow b + r x$; $A^{-1}$ is kept by
# Sherman–Morrison. For `concat` the block structure of $A^{-1}$ scores all $N(N-1)$ pairs with
# one $N \times N$ matrix product. A three-agent example with an untrained bandit: every pair
# has the same mean (0) and the bonus favours the longest contexts.

# %%
toy = np.array([build_profile(f, {"pass1": v}, h) for f, v, h in
                [("qwen", 0.1, [1] + [0] * 11), ("pythia", 0.5, [0, 1] + [0] * 10), ("bloom", 0.3, [1] * 12)]])
bandit = LinUCB(context_dim("concat", D_P), lam=lam, beta0=beta0)
pd.DataFrame(bandit.score_matrix(toy, 1)).round(3), bandit.select_pairs(toy, 1, 1)

# %% [markdown]
# **Summary.** LinUCB scores both role assignments of every pair and matches greedily; the
# exploration bonus shrinks as $1/\sqrt{t}$ and as pairs are observed.
#
# ## The synthetic federation: what is there to learn?
#
# Each client has a backbone family (one of four), a category histogram drawn from a Dirichlet
# whose concentration sets the heterogeneity, a skill, and a competence per category. Its
# **Pass@1 proxy** is its mean competence over the 12 categories. A transfer from teacher $t$
# to student $u$ changes the student's competence by
# $\Delta c_{uk} = \eta\,(\kappa_{tu}\max(0, c_{tk} - c_{uk}) - \varphi\,(1 - \kappa_{tu})\,c_{uk})$
# with family compatibility $\kappa$ (1 within a family, random in $[0.1, 0.9]$ across
# families): complementary knowledge helps, an incompatible teacher makes the student forget.
# The expected reward of a pair is the student's expected Pass@1 gain; observations add noise.
# Maximizing diversity alone is therefore *not* optimal. The constants (all in
# `knexa_core/sim/federation.py`):

# %%
glue("eta", ETA, display=False)
glue("forget", FORGET, display=False)
glue("noise", NOISE, display=False)
pd.DataFrame({"Dirichlet concentration": HETEROGENEITY,
              "mean largest histogram bin (64 clients)": {h: make_federation(64, h, 0).histograms.max(1).mean()
                                                          for h in HETEROGENEITY}}).round(3)

# %% [markdown]
# The distillation rate is $\eta$ = {glue:text}`eta:.2f`, the forgetting coefficient
# $\varphi$ = {glue:text}`forget:.2f`; the observed reward noise has standard deviation
# {glue:text}`noise:.2f` (Pass@1 fraction). The regret of a method in a round is the oracle's expected reward on
# that method's *current* federation (greedy matching on the true expected rewards) minus the
# expected reward of the pairs it chose. Every method runs on its own copy of the federation,
# built from the same seed with the same dynamics.
#
# **Summary.** The simulation has real structure to learn (who teaches whom, which families are
# compatible) and a trap for pure diversity seeking.
#
# ## Learning dynamics: does LinUCB's regret level off?
#
# Supplementary Figure 1 setting: Random, Hetero-Greedy, LinUCB and Oracle for the rounds and
# seeds of this profile. Bands are 95% t-intervals across seeds.

# %%
learning = ex.learning_dynamics(num_clients, num_rounds, seeds, heterogeneity, context, lam, beta0, progress=True)
curves = ex.write_learning_outputs(out, learning)
display(Image(filename=plots.plot_learning(curves["pass1"], curves["regret"], figures / "cpm_learning_regret.png",
                                           f"{num_clients} clients, {heterogeneity} heterogeneity")))

# %%
final = curves["pass1"][curves["pass1"]["round"] == num_rounds].set_index("method")
regret_final = curves["regret"][curves["regret"]["round"] == num_rounds].set_index("method")
plateau = findings.plateau_round(learning, "linucb")
for m in ex.METHOD_LABELS:
    glue(f"final_{m}", float(final.loc[m, "mean_pass1"]), display=False)
    glue(f"regret_{m}", float(regret_final.loc[m, "cumulative_regret"]), display=False)
glue("late_share_linucb", 100 * findings.late_regret_share(learning, "linucb"), display=False)
glue("late_share_random", 100 * findings.late_regret_share(learning, "random"), display=False)
final[["mean_pass1", "ci95_low", "ci95_high"]].join(regret_final[["cumulative_regret"]]).round(3)

# %% [markdown]
# After the last round the mean Pass@1 proxy is {glue:text}`final_linucb:.3f` for LinUCB,
# {glue:text}`final_random:.3f` for Random, {glue:text}`final_hetero_greedy:.3f` for
# Hetero-Greedy and {glue:text}`final_oracle:.3f` for the Oracle. The cumulative regret is
# {glue:text}`regret_linucb:.2f` for LinUCB, {glue:text}`regret_random:.2f` for Random and
# {glue:text}`regret_hetero_greedy:.2f` for Hetero-Greedy; rounds 61 onwards contribute
# {glue:text}`late_share_linucb:.0f`% of LinUCB's total regret and
# {glue:text}`late_share_random:.0f`% of Random's. Read the regret with care: it counts the
# expected gain a method leaves on the table *on its own federation*. As a federation's clients
# converge, less gain is left for anyone to find, so the regret of every method flattens over
# time, and a method whose clients end lower can still accumulate less regret. The Pass@1 curves,
# not the regret curves, rank the methods here.
#
# As a control, the same two methods in an environment whose reward *is* linear in the concat
# context (the setting of the release's `knexa_fl_release/simulate_cpm.py`):

# %%
from knexa_core.sim.runner import run_methods

rows, _ = run_methods(lambda: make_linear_env(num_clients, seeds[0]),
                      [("random", "random", "concat"), ("linucb", "linucb", "concat")], num_rounds, seeds[0])
linear = pd.DataFrame(rows)
half = num_rounds // 2
linear.assign(half=np.where(linear["round"] <= half, "first half", "second half")) \
    .pivot_table(index="method", columns="half", values="regret", aggfunc="sum").round(2)

# %% [markdown]
# **Summary.** The table above compares the regret of the two halves of the linear control,
# where LinUCB's model is right; in the synthetic federation, whose rewards are not linear in
# the concatenated profiles, the Pass@1 curves show what LinUCB achieves.
#
# ## Figure 2: how does the gain depend on clients and heterogeneity?
#
# The grid of this profile: every client count × heterogeneity level × seed, each with the four
# methods. Panel (a) is the relative gain of LinUCB's final Pass@1 proxy over Random's; (b) the
# final Pass@1 of Random, LinUCB and Oracle at high heterogeneity; (c) the mean JS divergence of
# the chosen pairs; (d) the CPM's measured selection latency and reward-update throughput.

# %%
grid, timing = ex.run_grid(grid_clients, grid_heterogeneities, grid_seeds, num_rounds, context, lam, beta0,
                           progress=True)  # a text bar in JupyterLab; off in the book (KNEXA_PROGRESS=0)
tables = ex.write_grid_outputs(out, grid, timing)
display(Image(filename=plots.plot_figure2(tables["summary"], tables["gain"], tables["timing"],
                                          figures / "cpm_figure2.png")))

# %%
gain = tables["gain"]
for n, het in [(32, "high"), (8, "high"), (32, "low")]:
    glue(f"gain_{n}_{het}", findings.gain_at(gain, n, het), display=False)
glue("gain_min", float(gain["gain_pct"].min()), display=False)
glue("gain_max", float(gain["gain_pct"].max()), display=False)
glue("js_hetero", findings.mean_js(tables["summary"], "hetero_greedy"), display=False)
glue("js_linucb", findings.mean_js(tables["summary"], "linucb"), display=False)
gain.pivot_table(index="n_clients", columns="heterogeneity", values="gain_pct").round(1)

# %% [markdown]
# The table gives LinUCB's mean relative gain (%) per cell, from {glue:text}`gain_min:.1f`% to
# {glue:text}`gain_max:.1f`% across the grid; the 95% intervals are in `grid_gain.csv` and in
# panel (a). At high heterogeneity the mean JS divergence of the pairs chosen by Hetero-Greedy
# is {glue:text}`js_hetero:.3f` and by LinUCB {glue:text}`js_linucb:.3f`. Compare with the
# learning-dynamics study above, where Hetero-Greedy's final Pass@1 proxy was
# {glue:text}`final_hetero_greedy:.3f` against Random's {glue:text}`final_random:.3f`. By
# construction of the rewards, a divergent pair helps only if the two families are compatible,
# so diversity alone is not the target here.
#
# The size of these gains depends on the simulator's constants ($\eta$, $\varphi$, the
# compatibility range), which were fixed before the runs and not tuned toward the paper. In
# particular, low heterogeneity does not make pairing irrelevant here, because family
# compatibility and skill differences remain when the category histograms are alike.
#
# **Summary.** The gain of the learned matchmaker over random pairing is measured per cell with
# its interval; it is whatever the runs give, not a typed-in target.
#
# ## Separability: can `concat` learn pair synergy?
#
# The reward of this federation depends on the *pair* (family compatibility, complementary
# categories). We run LinUCB with both contexts on the same federations.

# %%
sep = ex.separability(num_clients, num_rounds, seeds, heterogeneity, lam, beta0)
sep_regret = ex.write_learning_outputs(out, sep, prefix="separability_")["regret"]
display(Image(filename=plots.plot_separability(sep_regret, figures / "cpm_separability.png")))
sep_final = sep_regret[sep_regret["round"] == num_rounds].set_index("method")
glue("sep_concat", float(sep_final.loc["linucb_concat", "cumulative_regret"]), display=False)
glue("sep_interaction", float(sep_final.loc["linucb_interaction", "cumulative_regret"]), display=False)

# %% [markdown]
# Cumulative regret after the last round: {glue:text}`sep_concat:.2f` with `concat`,
# {glue:text}`sep_interaction:.2f` with `interaction`.
#
# **Summary.** A linear model on the concatenated profiles cannot express pair synergy
# (family compatibility, complementary categories); interaction features can, and the regret
# difference above measures how much that matters in this federation.
#
# ## How fast is the CPM?
#
# One selection at round 50 (score every ordered pair, match $N/2$ pairs) with a bandit that has
# seen 1,000 rewards. `benchmarks/bench_cpm.py` prints the full table (up to 4,096 agents, the
# speedup over a Python loop with a fresh inverse, and a top-k pre-filter at 16,384 agents).

# %%
latency = []
for n in latency_clients:
    b, env = trained_bandit(n, seed=0, updates=1000)
    start = time.perf_counter()
    b.select_pairs(env.profiles(), n // 2, 50)
    latency.append({"clients": n, "ordered pairs": n * (n - 1), "latency (ms)": 1e3 * (time.perf_counter() - start)})
pd.DataFrame(latency).round(2)

# %% [markdown]
# **Summary.** Scoring is a few matrix products; greedy matching is exact and vectorized. The
# timings vary with the machine's load and are not part of the byte-identical outputs.
#
# ## Reported by the paper vs measured here
#
# The paper's numbers in the left column come from values typed into the release's figure
# script (see the introduction); the right column comes from the runs of this chapter. The
# 37.1% and 3.1% values are quoted with only one coordinate of the grid (8 clients; low
# heterogeneity), and the JS values with none: we compare them at 8 clients with high
# heterogeneity, at 32 clients with low heterogeneity, and with the mean over the grid's client
# counts at high heterogeneity.

# %%
rows = findings.comparison_rows(gain, tables["summary"], learning)
save_comparisons(out, rows)
pd.DataFrame(rows)[["quantity", "reported", "obtained", "note"]]

# %% [markdown]
# **Summary.** The paper's synthetic-study numbers are not produced by any bandit run in its
# release. Running the experiment, the table above shows the measured gains, diversity and regret
# behaviour, each next to the claimed value, and the outputs (`learning_curve.csv`,
# `regret_curve.csv`, the per-seed and CI files, `grid.csv` and its summaries) let anyone check
# them.
