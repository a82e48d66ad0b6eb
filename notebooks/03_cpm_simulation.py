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
# `knexa_core.cpm`, two non-learning controls, and 95% confidence intervals computed across seeds.
# It reports what the runs show, whatever that is.

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
focus_clients: int = 64  # the release's low-heterogeneity setting (the paper's 3.1%)
focus_seeds: list = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # seeds of that focused comparison
sensitivity_seeds: list = [0, 1, 2, 3, 4]  # seeds per setting of the sensitivity sweep
latency_clients: list = [16, 64, 256, 1024]  # federation sizes of the latency check
speed_clients: int = 256  # size of the side-by-side comparison with the straightforward loop
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

from knexa_core.cpm import D_P, FAMILIES, LinUCB, PERFORMANCE_FEATURES, build_profile, context_dim
from knexa_core.cpm.contexts import pair_contexts
from knexa_core.cpm.reference import reference_select
from knexa_core.book.prose import prose
from knexa_core.book.report import save_comparisons
from knexa_core.sim import experiments as ex
from knexa_core.sim import findings, metrics, plots
from knexa_core.sim.federation import ETA, FORGET, HETEROGENEITY, NOISE, make_federation
from knexa_core.sim.linear import trained_bandit
from knexa_core.sim.release_env import make_release_env
from knexa_core.sim.sensitivity import sensitivity

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
# (the decaying $\beta_t$ is the schedule of the authors' release; the paper's Algorithm 1 uses a
# constant $\beta$, which the sensitivity study below also runs)
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
pd.DataFrame({"Dirichlet concentration": HETEROGENEITY,
              "mean largest histogram bin (64 clients)": {h: make_federation(64, h, 0).histograms.max(1).mean()
                                                          for h in HETEROGENEITY}}).round(3)

# %% tags=["remove-input"]
prose(f"""
The distillation rate is $\\eta$ = {ETA:.2f}, the forgetting coefficient
$\\varphi$ = {FORGET:.2f}; the observed reward noise has standard deviation
{NOISE:.2f} (Pass@1 fraction). Every method runs on its own copy of the federation,
built from the same seed with the same dynamics. Two simplifications are deliberate: the
reward is the student's expected Pass@1 gain, not the paper's Eq. 3 ($\\gamma$ times a loss
improvement minus a communication cost), and the constants were fixed before the runs (the
sensitivity study below varies each of them).
""")

# %% [markdown]
# **Summary.** The simulation has real structure to learn (who teaches whom, which families are
# compatible) and a trap for pure diversity seeking.
#
# ## Controls: what does a rule that learns nothing achieve?
#
# A student gains only in the categories where its teacher is more competent, so a transfer helps
# mostly when the better client teaches, and Random assigns the roles at random. A gain over
# Random can therefore come from orienting transfers rather than from learning. Two
# non-learning rules of `knexa_core.cpm` (usable by federated training too) separate the two:
# `random_oriented` draws the same random partners as Random but lets the higher-Pass@1 agent
# teach; `family_gap` takes same-family pairs first and, within each group, the largest Pass@1
# gap, the better agent teaching. Both read only the Pass@1 and family fields of the profiles.
#
# ## Which metric ranks the methods?
#
# Supplementary Figure 1 setting: every method for the rounds and seeds of this profile. The
# **policy regret** of a method after $T$ rounds is
# $\sum_{t \le T} [\bar P_{\text{oracle}}(t) - \bar P_m(t)]$, the mean Pass@1 proxy of the
# oracle's own run minus the method's, summed over rounds: one reference for all methods. (The
# *state* regret, the oracle's expected reward on the method's *current* federation minus the
# method's, measures each method against its own state; it stays in `per_seed.csv` as a
# diagnostic but cannot rank methods on a federation that changes.) Bands are 95% t-intervals
# across seeds; the lower panels are each method's Pass@1 minus Random's, paired per seed, and the
# share of the gain the oracle has made since the common start that each method has made,
# $(\bar P_m(t) - \bar P(0)) / (\bar P_{\text{oracle}}(t) - \bar P(0))$, round by round.

# %%
learning = ex.learning_dynamics(num_clients, num_rounds, seeds, heterogeneity, context, lam, beta0, progress=True)
curves = ex.write_learning_outputs(out, learning)
display(Image(filename=plots.plot_learning(curves["pass1"], curves["regret"], figures / "cpm_learning_regret.png",
                                           f"{num_clients} clients, {heterogeneity} heterogeneity",
                                           curves["difference"], curves["share"])))

# %%
ranking = metrics.final_ranking(learning)
share = learning[learning["round"] == num_rounds].groupby("method")["gain_share"].mean()
state = learning[learning["round"] == num_rounds].groupby("method")["cumulative_state_regret"].mean()
agree = metrics.orders_agree(ranking)
orders_agree = "is the same as" if agree else "differs from"
state_agrees = list(state.sort_values().index) == list(ranking.index)
state_verdict = ("happens to list the methods in the same order here, but only by chance of the dynamics"
                 if state_agrees else "lists the methods in a different order from their final Pass@1")
pass1_order = ", ".join(plots.LABELS[m] for m in ranking.index)
ranking.assign(gain_share_pct=100 * share, state_regret=state).round(3)

# %% tags=["remove-input"]
prose(f"""
After the last round the mean Pass@1 proxy is {ranking.loc['linucb', 'mean_pass1']:.3f} for LinUCB,
{ranking.loc['random', 'mean_pass1']:.3f} for Random, {ranking.loc['random_oriented', 'mean_pass1']:.3f} for
Random with the better agent teaching, {ranking.loc['family_gap', 'mean_pass1']:.3f} for the same-family
largest-gap rule, {ranking.loc['hetero_greedy', 'mean_pass1']:.3f} for Hetero-Greedy and
{ranking.loc['oracle', 'mean_pass1']:.3f} for the Oracle. By final Pass@1 the order is
{pass1_order}; the order by policy regret (LinUCB {ranking.loc['linucb', 'cumulative_regret']:.2f},
Random {ranking.loc['random', 'cumulative_regret']:.2f}, Random with the better agent teaching
{ranking.loc['random_oriented', 'cumulative_regret']:.2f}) {orders_agree} it. In the last round
LinUCB holds {100 * share['linucb']:.0f}% of the gain the oracle has made from the common
start, Random {100 * share['random']:.0f}% and Random with the better agent teaching
{100 * share['random_oriented']:.0f}%. The state regret (Random {state['random']:.2f},
LinUCB {state['linucb']:.2f}) {state_verdict}: each method is measured on
its own federation, where less gain is left to find once its clients have converged.
""")

# %% [markdown]
# **Sub-linear regret** is a meaningful claim only where the environment does not change. The
# control below is such a place: the reward is linear in the concat context (the setting of the
# release's `knexa_fl_release/simulate_cpm.py`), and the state regret is the usual bandit regret.
# Regret summed over each half of the rounds, 95% intervals across all seeds:

# %%
linear = ex.linear_control(num_clients, num_rounds, seeds, lam, beta0)
halves = ex.regret_halves(linear)
plateau = findings.plateau_round(linear, "linucb")
cell = halves.set_index(["method", "half"])["state_regret"]
lin_plateau = "no plateau within the run" if plateau is None else f"a plateau from round {plateau}"
halves.round(2)

# %% tags=["remove-input"]
prose(f"""
LinUCB's regret is {cell['linucb', 'first half']:.1f} in the first half and {cell['linucb', 'second half']:.1f}
in the second; Random's is {cell['random', 'first half']:.1f} and {cell['random', 'second half']:.1f}. By the
rule of `findings.plateau_round` (per-round regret below 10% of its level in rounds 1–10) LinUCB
shows {lin_plateau}.

**Summary.** Policy regret is measured against one reference, the oracle's own run (here its
order {orders_agree} the order by final Pass@1); the controls are the baseline a
learned matchmaker has to beat; the linear control is where sub-linear regret is checked.
""")

# %% [markdown]
# ## Figure 2: how does the gain depend on clients and heterogeneity?
#
# The grid of this profile: every client count × heterogeneity level × seed, each with every
# method. Panel (a) is the relative gain of LinUCB's final Pass@1 proxy over Random's (solid) and
# over Random with the better agent teaching (dashed), paired per seed; (b) the final Pass@1 of
# Random, LinUCB and Oracle at high heterogeneity; (c) the mean JS divergence of the chosen pairs
# with 95% intervals; (d) the CPM's measured selection latency and reward-update throughput.

# %%
grid, timing = ex.run_grid(grid_clients, grid_heterogeneities, grid_seeds, num_rounds, context, lam, beta0,
                           progress=True)  # a text bar in JupyterLab; off in the book (KNEXA_PROGRESS=0)
tables = ex.write_grid_outputs(out, grid, timing)
display(Image(filename=plots.plot_figure2(tables["summary"], tables["gain"], tables["timing"],
                                          figures / "cpm_figure2.png")))

# %%
gain, summary = tables["gain"], tables["summary"]
over_random = gain[gain["baseline"] == "random"]
over_oriented = gain[gain["baseline"] == "random_oriented"]
n_beats_oriented = int((over_oriented["ci95_low"] > 0).sum())
n_below_oriented = int((over_oriented["ci95_high"] < 0).sum())
high = summary[summary["heterogeneity"] == "high"].pivot_table(index="n_clients", columns="method", values="final_pass1")
gap = high["oracle"] - high["linucb"]
mean_by_het = over_random.groupby("heterogeneity")["gain_pct"].mean()
het_verdict = "larger" if mean_by_het.get("low", 0) > mean_by_het.get("high", 0) else "smaller"
gap_verdict = "grows" if gap.iloc[-1] > gap.iloc[0] else "shrinks"
mean_random, mean_oriented = float(over_random["gain_pct"].mean()), float(over_oriented["gain_pct"].mean())
oriented_verdict = ("a rule that learns nothing but lets the better agent teach obtains most of what LinUCB "
                    "gains over Random" if mean_oriented < 0.5 * mean_random else "most of LinUCB's gain over Random "
                    "is its own: the oriented control obtains less than half of it")
js_cell = summary[summary["heterogeneity"] == "high"].groupby("method")[["js_ci95_low", "js_ci95_high"]].mean()
overlap = not (js_cell.loc["linucb", "js_ci95_low"] > js_cell.loc["random", "js_ci95_high"]
               or js_cell.loc["linucb", "js_ci95_high"] < js_cell.loc["random", "js_ci95_low"])
js_verdict = ("about as diverse as Random's (overlapping intervals)" if overlap else
              ("more diverse than Random's" if findings.mean_js(summary, "linucb") > findings.mean_js(summary, "random")
               else "less diverse than Random's"))
gain.pivot_table(index="n_clients", columns=["baseline", "heterogeneity"], values="gain_pct").round(1)

# %% tags=["remove-input"]
prose(f"""
Over Random, LinUCB's mean relative gain ranges from {over_random['gain_pct'].min():.1f}% to
{over_random['gain_pct'].max():.1f}% across the grid (mean {mean_random:.1f}%; 95%
intervals in `grid_gain.csv` and panel (a)). Over Random with the better agent teaching, its
mean gain is {mean_oriented:.1f}%: LinUCB is ahead with an interval above zero
in {n_beats_oriented} of the {len(over_oriented)} cells and behind with an interval
below zero in {n_below_oriented}. So {oriented_verdict}.

Against the paper's claims: in panel (b) the LinUCB–Oracle gap at high heterogeneity
{gap_verdict} from {gap.iloc[0]:.3f} at {int(gap.index[0])}
clients to {gap.iloc[-1]:.3f} at {int(gap.index[-1])} (the release's figure
script sets the oracle's Pass@1 to 1.08 times LinUCB's at every size). LinUCB's mean gain over
Random is {mean_by_het.get('low', float('nan')):.1f}% at low and {mean_by_het.get('high', float('nan')):.1f}% at high
heterogeneity, {het_verdict} at low (the paper: 3.1% against 48.5%); here low
heterogeneity does not remove what there is to learn, because family compatibility and skill
differences remain when the category histograms are alike. In panel (c) the pairs of
Hetero-Greedy have a mean JS divergence of {findings.mean_js(summary, 'hetero_greedy'):.3f}, LinUCB's
{findings.mean_js(summary, 'linucb'):.3f} and Random's {findings.mean_js(summary, 'random'):.3f}: LinUCB's pairs are
{js_verdict} (the release's figure script types 0.45 for Random and 0.65 for LinUCB).
In this federation diversity is not the target: a divergent pair helps only if the families
are compatible.
""")

# %% [markdown]
# The paper's 3.1% comes from the release's setting of 64 clients at low heterogeneity; that cell
# with more seeds:

# %%
focus_grid, _ = ex.run_grid([focus_clients], ["low"], focus_seeds, num_rounds, context, lam, beta0)
focus = ex.grid_gain(focus_grid)
focus_gain = {(base, col): findings.gain_at(focus, focus_clients, "low", base, col)
              for base in ex.BASELINES for col in ("gain_pct", "ci95_low", "ci95_high")}
focus.round(2)

# %% tags=["remove-input"]
prose(f"""
With {len(focus_seeds)} seeds, LinUCB's gain at low heterogeneity is
{focus_gain['random', 'gain_pct']:.1f}% over Random (95% CI {focus_gain['random', 'ci95_low']:.1f}
to {focus_gain['random', 'ci95_high']:.1f}%) and {focus_gain['random_oriented', 'gain_pct']:.1f}%
over Random with the better agent teaching ({focus_gain['random_oriented', 'ci95_low']:.1f} to
{focus_gain['random_oriented', 'ci95_high']:.1f}%).
""")

# %% [markdown]
# **Summary.** The gain over random pairing is measured per cell with its paired interval; the
# gain over the oriented control is the part a learned matchmaker adds.
#
# ## How robust is the gain?
#
# One setting changed at a time from the defaults: the simulator's constants ($\eta$, $\varphi$,
# the compatibility range, the skill range, the reward noise) and LinUCB's ($\beta_0$, $\lambda$,
# constant instead of decaying $\beta$, rewards without z-scoring), on the learning-dynamics
# federations.

# %%
sens = sensitivity(num_clients, num_rounds, sensitivity_seeds, heterogeneity, context=context)
display(Image(filename=plots.plot_sensitivity(sens, figures / "cpm_sensitivity.png")))
oriented = sens[sens["baseline"] == "random_oriented"]
sens_beats_oriented = int((oriented["ci95_low"] > 0).sum())
sens_below_oriented = int((oriented["ci95_high"] < 0).sum())
over_r = sens[sens["baseline"] == "random"].set_index("setting")["gain_pct"]
sens.pivot_table(index=["order", "group", "setting"], columns="baseline", values="gain_pct").round(1)

# %% tags=["remove-input"]
prose(f"""
Across the {int(oriented['order'].nunique())} settings LinUCB's gain over Random ranges from
{over_r.min():.1f}% (with {over_r.idxmin()}) to
{over_r.max():.1f}% (with {over_r.idxmax()}): the size of the gain over
Random is a property of the simulator's constants as much as of the matchmaker. Over Random with
the better agent teaching, LinUCB is ahead with an interval above zero in
{sens_beats_oriented} settings and behind with an interval below zero in
{sens_below_oriented}.
""")

# %% [markdown]
# ## The release's environment: does the conclusion survive the opposite assumption?
#
# The authors' release describes a second ground truth (`simulations/linucb_cpm_validation/`):
# a pair reward weighting data heterogeneity (JS) 0.5, performance complementarity 0.2, trust
# compatibility 0.2 and communication efficiency 0.1, scaled by $\gamma = 10$ minus
# $\delta = 10^{-5}$ per KB, noise $\sigma = 0.02$, clipped to [0, 1]. `knexa_core.sim.release_env`
# implements that description (the module docstring lists our own choices) and runs through the
# same runner. It encodes the opposite assumption to our federation's: diversity is always
# rewarded and nothing is forgotten, whereas here a divergent but incompatible teacher hurts.

# %%
release = ex.learning_dynamics(num_clients, num_rounds, seeds, heterogeneity, context, lam, beta0,
                               make_env=make_release_env)
ex.write_learning_outputs(out, release, prefix="release_")
both = pd.concat({"our federation": metrics.final_ranking(learning),
                  "release's environment": metrics.final_ranking(release)}, axis=1)
release_rank = metrics.final_ranking(release)
release_order = ", ".join(plots.LABELS[m] for m in release_rank.index)
release_agree = "is the same as" if metrics.orders_agree(release_rank) else "differs from"
same = list(release_rank.index) == list(ranking.index)
env_verdict = ("The ranking is the same under both assumptions." if same else
               "The ranking changes with the assumption: synthetic evidence for a matchmaker says as much about the "
               "simulator as about the matchmaker.")
both.round(3)

# %% tags=["remove-input"]
prose(f"""
In the release's environment the methods rank {release_order} by final Pass@1 (the
order by policy regret {release_agree} it). Hetero-Greedy, which seeks diversity,
ranks {int(ranking.loc['hetero_greedy', 'rank_pass1'])} of six in our federation and
{int(release_rank.loc['hetero_greedy', 'rank_pass1'])} in the release's environment; LinUCB ranks
{int(ranking.loc['linucb', 'rank_pass1'])} and {int(release_rank.loc['linucb', 'rank_pass1'])}. {env_verdict}
""")

# %% [markdown]
# ## Separability: can `concat` learn pair synergy?
#
# The reward of this federation depends on the *pair* (family compatibility, complementary
# categories). We run LinUCB with both contexts on the same federations and compare their Pass@1.

# %%
sep = ex.separability(num_clients, num_rounds, seeds, heterogeneity, lam, beta0)
sep_tables = ex.write_learning_outputs(out, sep, prefix="separability_")
display(Image(filename=plots.plot_separability(sep_tables["pass1"], figures / "cpm_separability.png")))
sep_rank = metrics.final_ranking(sep)
sep_diff = metrics.paired_difference(sep[sep["round"] == num_rounds], "linucb_concat")
sep_diff = sep_diff[sep_diff["method"] == "linucb_interaction"].iloc[0]
sep_rank.round(3)

# %% tags=["remove-input"]
prose(f"""
Final Pass@1 proxy: {sep_rank.loc['linucb_concat', 'mean_pass1']:.3f} with `concat`,
{sep_rank.loc['linucb_interaction', 'mean_pass1']:.3f} with `interaction` (paired difference, 95% CI {sep_diff['ci95_low']:.3f} to
{sep_diff['ci95_high']:.3f}).
""")

# %% [markdown]
# **Summary.** A linear model on the concatenated profiles cannot express pair synergy (family
# compatibility, complementary categories); interaction features can, and the Pass@1 difference
# above measures how much that matters in this federation.
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

# %% tags=["remove-input"]
prose(f"""
Side by side at {speed_clients} agents, on the same bandit and profiles: the straightforward
implementation (`knexa_core.cpm.reference`: a Python loop over every ordered pair with a fresh
inverse, then one sorted scan) against the vectorized one (best of 20 runs each side but the
loop's single run).
""")

# %%
b, env = trained_bandit(speed_clients, seed=0, updates=1000)
prof = env.profiles()
fast = []
for _ in range(20):
    start = time.perf_counter()
    picks = b.select_pairs(prof, speed_clients // 2, 50)
    fast.append(time.perf_counter() - start)
start = time.perf_counter()
ref = reference_select(b.A, b.b, prof, speed_clients // 2, 50, b.beta0)
slow = time.perf_counter() - start
speed_identical = "identical" if picks == ref else "NOT identical"
pd.DataFrame({"straightforward loop (ms)": [1e3 * slow], "vectorized, best of 20 (ms)": [1e3 * min(fast)],
              "speedup": [slow / min(fast)], "same pairs": [picks == ref]}).round(2)

# %% tags=["remove-input"]
prose(f"""
The vectorized selection is {slow / min(fast):.0f} times faster here, with
{speed_identical} choices. The ratio depends on the machine's load; BLAS threads
cost more than they bring for products this small on a busy 2-core machine, so
`benchmarks/bench_cpm.py` runs BLAS on one thread.
""")

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
# heterogeneity, at 32 clients with low heterogeneity and at the release's own setting of the
# 3.1% (64 clients, low heterogeneity, with the focused run's seeds), and with the mean over the
# grid's client counts at high heterogeneity. The regret plateau is read on the stationary
# linear control, the one setting in which it is meaningful.

# %%
rows = findings.comparison_rows(gain, tables["summary"], linear, focus)
save_comparisons(out, rows)
pd.DataFrame(rows)[["quantity", "reported", "obtained", "note"]].set_index("quantity")  # no numeric index column

# %% [markdown]
# **Summary.** The release's script that reproduces the paper's synthetic-study numbers exactly
# runs no bandit. Running the experiment, the table above shows the measured gains (over Random
# and over the oriented control), diversity and regret behaviour, each next to the claimed value,
# and the outputs (`learning_curve.csv`,
# `regret_curve.csv`, the per-seed and CI files, `grid.csv` and its summaries) let anyone check
# them.
