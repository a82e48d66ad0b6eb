"""The synthetic federation, the experiment runner and the simulation chapter's experiments.

Chapter ``03_cpm_simulation``: :mod:`~knexa_core.sim.federation` (the environment),
:mod:`~knexa_core.sim.release_env` (the release's described ground truth, a second environment),
:mod:`~knexa_core.sim.linear` (a linear-reward control), :mod:`~knexa_core.sim.runner` (one
independent environment copy per method), :mod:`~knexa_core.sim.metrics` (policy regret, gain
share, paired differences), :mod:`~knexa_core.sim.experiments` (learning dynamics, Figure 2 grid,
separability, linear control), :mod:`~knexa_core.sim.sensitivity`, :mod:`~knexa_core.sim.stats`,
:mod:`~knexa_core.sim.findings`,
:mod:`~knexa_core.sim.plots` and :mod:`~knexa_core.sim.cli` (``knexa simulate``).
"""
