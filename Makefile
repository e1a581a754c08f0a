# The README's commands. `make setup` is idempotent: it only redoes what changed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
DEPS := $(VENV)/.deps-installed
STAMP := $(VENV)/.genbench-installed
PLUGINS := $(wildcard plugins/*/pyproject.toml)
SOURCES := pyproject.toml CMakeLists.txt $(wildcard csrc/*) $(PLUGINS)
# The torch this project is developed and tested with; elsewhere pip resolves its own.
TORCH := torch==2.14.1 torchvision==0.29.1

.PHONY: setup test-tools run test test-long docs bench bench-no-faults lint clean

setup: $(STAMP) test-tools

# Debian's chromium (the HTML report's browser test) and tmux (the terminal screen test);
# where they cannot be installed (not root) those tests skip, except in CI (.ci/run
# requires them).
test-tools:
	@bash scripts/install-test-tools.sh

$(PY):
	$(PYTHON) -m venv $(VENV)

$(DEPS): requirements-dev.txt | $(PY)
	$(PIP) install $(TORCH) || $(PIP) install torch torchvision
	$(PIP) install -r requirements-dev.txt
	touch $@

# The harness (with harness._C compiled from csrc/) and every built-in plugin, each its
# own distribution registered through the `genbench` entry-point group.
$(STAMP): $(DEPS) $(SOURCES)
	$(PIP) install --no-build-isolation --no-deps -e .
	for p in $(dir $(PLUGINS)); do $(PIP) install --no-build-isolation --no-deps -e $$p || exit 1; done
	touch $@

run: setup
	$(VENV)/bin/genbench run --suite quick

test: setup
	$(PY) -m pytest

# What `make test` leaves out to stay fast, and CI runs as well: the `long` end-to-end
# trials (seeded kill -9 trials, the CI recipe run verbatim, ...) and the `ray` tests,
# which start a real two-node Ray cluster on this machine.
test-long: setup
	$(PY) -m pytest -m "long or ray"

# The documentation site (docs/, the API reference generated from the docstrings) in
# build/docs. -W: a warning (a broken link, a name autodoc cannot import, a page in no
# toctree) fails the build; -n: so does a cross-reference to nothing; --keep-going
# lists them all first. -E: every page is read again each time, so every build reports
# every warning, not only those of the pages changed since the last one (a few seconds).
docs: setup
	$(PY) -m sphinx -E -W --keep-going -n -b html docs build/docs

bench: setup
	$(PY) -m pytest bench --benchmark-only --benchmark-json=bench-results.json

# The fused-op cases with glibc keeping freed memory in its heap, so a fresh output is not
# first-touch page faults: the kernels' own speed (docs/performance.md, "Page faults").
bench-no-faults: setup
	GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184 \
	  $(PY) -m pytest bench/test_bench_ops.py --benchmark-only --benchmark-json=bench-results-no-faults.json

lint: setup
	$(VENV)/bin/ruff check harness plugins tests bench

clean:
	rm -rf build $(VENV) runs .pytest_cache .benchmarks
