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
# # The methods compared
#
# The book executes the training chapter once per method and seed into one artifact folder (the
# executed notebooks are on the page *Training runs*). This page reads every run found there (runs
# of another setting in the folder are an error) and compares the methods. Seeds are paired: the
# same seed gives the same client seeds, initial adapters and data order in every method, so
# differences are taken per seed; the split is the same for every seed, so the intervals
# (Student-t, 95 %, over seeds; none with a single seed) leave out the split's variance.

# %% tags=["parameters"]
artifacts_dir: str = "../runs/cpu/02_federated_training/artifacts"  # the training runs; default: the cpu book's batch
method: str = "knexa_fl"  # the method set against every other one (the controls)
out_dir: str = "../runs/cpu/02_methods_compared"  # comparison.json; default: the cpu book's folder
figures_dir: str = "../figures"  # where the figures are saved

# %% tags=["remove-input"]
from knexa_core.book.parameters import check_parameters
check_parameters(globals())

# %% tags=["hide-input"]
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from knexa_core.book.prose import prose
from knexa_core.book.report import save_comparisons
from knexa_core.errors import ArtifactError
from knexa_core.fl import analysis, plots
from knexa_core.fl.methods import METHODS, check_method

check_method(method)
out_path, figures = Path(out_dir), Path(figures_dir)
tables = analysis.load_tables(artifacts_dir)
if tables["clients"].empty:
    raise ArtifactError(f"no training run in {artifacts_dir}: run the training chapter (or knexa train --out) there first")

# %% [markdown]
# Per method, the client-averaged final Pass@k (sampled) and CodeBLEU, mean and 95 % interval over
# seeds:

# %%
runs = analysis.run_summary(tables["clients"])
order = [m for m in METHODS if m in set(runs.method)]
comparison = analysis.method_table(runs.set_index("method").loc[order].reset_index())
comparison.set_index("method").round(4)

# %% [markdown]
# Did local training learn, and is the data really non-IID? Greedy test Pass@1 on the categories a
# client trains on and on those it lacks, before and after, per method over all runs:

# %%
categories = analysis.held_vs_lacking(tables["categories"])
categories.round(3)

# %% [markdown]
# Paired differences in final Pass@1 between methods (per seed, then mean and interval):

# %%
controls = [c for c in order if c != method]
diffs = pd.DataFrame([analysis.paired_difference(runs, m, c) for m in order for c in controls if m != c])
diffs.round(4) if len(diffs) else Markdown("Only one method ran into this folder: nothing to compare.")

# %%
if len(order) > 1:
    fig = plots.method_bars(comparison)
    plots.save(fig, figures / "02_methods.png")

# %% tags=["remove-input"]
means = runs.groupby("method")["pass@1"].mean()
ranking = ", ".join(f"{METHODS[m][1]} {means[m]:.1%}" for m in means.sort_values(ascending=False).index)


def verdict(row) -> str:
    if row.get("seeds", 0) < 2 or pd.isna(row.get("ci95_low")):
        return f"{METHODS[row['method']][1]} − {METHODS[row['control']][1]}: one seed, no interval"
    side = ("above 0" if row["ci95_low"] > 0 else "below 0" if row["ci95_high"] < 0 else "contains 0")
    return (f"{METHODS[row['method']][1]} − {METHODS[row['control']][1]}: {100 * row['difference']:+.2f} points "
            f"[{100 * row['ci95_low']:+.2f}, {100 * row['ci95_high']:+.2f}], {row['wins']} of {row['seeds']} "
            f"seeds better (interval {side})")


lines = [verdict(r) for _, r in diffs.iterrows() if r["method"] == method] if len(diffs) else []
local = categories[categories.method == "local_only"].set_index("categories") if len(categories) else categories
local_text = ("LocalOnly clients reach " + " and ".join(
    f"{local.loc[k, 'final']:.1%} on categories they {'train on' if k == 'held' else 'lack'} (from {local.loc[k, 'base']:.1%})"
    for k in ("held", "lacking") if k in local.index) + ".") if len(local) else "LocalOnly did not run here."

# %% tags=["remove-input"]
prose(f"""
## Summary

- Mean final Pass@1 over the {len(runs)} runs found, best first: {ranking}.
- {local_text}
- {METHODS[method][1]} against the controls, paired by seed: {'; '.join(lines) if lines else 'no comparison (one method)'}.
- Chapter 04 recomputes Table 4 from the same artifact folder (one run per method, by its selection rule) and shows the per-client tables.
""")

# %%
setting = analysis.setting_text(artifacts_dir)
comparison_rows = analysis.comparison_rows(comparison, runs, setting)
save_comparisons(out_path, comparison_rows)
pd.DataFrame(comparison_rows)[["quantity", "reported", "obtained", "note"]]
