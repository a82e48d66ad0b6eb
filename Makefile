# The two commands of the README:
#   make book   build the whole book on the default CPU profile (PROFILE=smoke|cpu|paper)
#   make test   run the test suite (what .ci/run calls)
# Both create or reuse .venv from the project's own files (pyproject.toml + constraints.txt).
# Helpers: make lab (JupyterLab on notebooks/), make strip (clear outputs before committing),
#          make params (params/<profile>/<chapter>.yaml for papermill -f).

PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= cpu
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
RAY_STAMP := $(VENV)/.installed-ray
# JupyterLab opens the .py twins as notebooks (jupytext's viewer), read from the environment's settings
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: book test test-slow venv venv-ray chromium bubblewrap lock clean lab strip params

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet -c constraints.txt -e .  # no setuptools notices in the log
	$(PY) -c "from knexa_core.book.notebooks import quiet_kernelspec; quiet_kernelspec()"
	mkdir -p $(dir $(LAB_OVERRIDES))
	echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}' > $(LAB_OVERRIDES)
	touch $(STAMP)

# The optional Ray executor (pip install -e .[ray]): the tests install it so they cover `--executor ray`;
# `make book` and a plain `pip install -e .` stay without it.
venv-ray: $(RAY_STAMP)

$(RAY_STAMP): $(STAMP)
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet -c constraints.txt -e ".[ray]"
	touch $(RAY_STAMP)

# Headless Chromium for the book's browser check (Debian packages; needs root or an existing install).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "error: chromium is missing; install the Debian packages chromium and chromium-driver" >&2; exit 1; fi; }

# bubblewrap for the evaluation sandbox's private file system (Debian package; needs root or an
# existing install; without it the sandbox falls back to weaker isolation and says so in every result).
bubblewrap:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	  else echo "error: bwrap is missing; install the Debian package bubblewrap (as root: apt-get install bubblewrap)" >&2; exit 1; fi; }

book: venv chromium bubblewrap
	$(VENV)/bin/knexa book --profile $(PROFILE)

test: venv venv-ray chromium bubblewrap
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

test-slow: venv venv-ray chromium bubblewrap
	$(PY) -m pytest -m slow

lab: venv
	$(VENV)/bin/jupyter lab notebooks/

# Clear outputs saved by JupyterLab (after syncing each .py/.ipynb pair), so the pairing test passes.
strip: venv
	$(VENV)/bin/jupytext --sync --quiet notebooks/*.py
	$(PY) -m knexa_core.book.strip notebooks/*.ipynb || true

params: venv
	$(PY) -m knexa_core.book.run

lock: venv-ray
	{ head -n 2 constraints.txt; $(PY) -m pip freeze --exclude-editable | sed "s/+cpu$$//" | sort -f; } > constraints.tmp && mv constraints.tmp constraints.txt

clean:
	rm -rf runs book/_build book/chapters book/_generated params/*/
