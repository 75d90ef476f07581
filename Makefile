# The two set-up commands are `make serve` and `make test`; both go through `make install`.
# torch is installed first and pinned: an unpinned torch pulls a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
# Extra pip arguments for the torch install (e.g. an index with CUDA builds).
TORCH_PIP_ARGS ?=

.PHONY: install install-test prepare serve test test-fast lint browser postgres wordnet ferret-venv bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e .
	$(BIN)/python -m app.core.attribution  # flow's and the live agreement's kernels compiled once, into numba's cache
	$(BIN)/python -m app.core.model.pooling_kernel  # the model view's thumbnail pooling, likewise
	touch $@

install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test,ray]"
	touch $@

# ferret (ferret-xai) for the faithfulness cross-check, in a venv of its own: it needs transformers < 5 and
# numpy < 2 (tools/ferret-requirements.txt). tests/core/faithfulness/test_ferret_crosscheck.py builds it when absent.
FERRET_VENV ?= .venv-ferret
ferret-venv: $(FERRET_VENV)/.installed

$(FERRET_VENV)/.installed: tools/ferret-requirements.txt
	test -x $(FERRET_VENV)/bin/python || $(PYTHON) -m venv $(FERRET_VENV)
	$(FERRET_VENV)/bin/pip install -q $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(FERRET_VENV)/bin/pip install -q -r tools/ferret-requirements.txt
	$(FERRET_VENV)/bin/python -c "import ferret"
	touch $@

# Train the embedded demo checkpoints on first use; later runs reuse them.
prepare: install
	$(BIN)/headscope prepare

serve: prepare
	$(BIN)/headscope serve --no-prepare

# Debian's chromium for the browser tests (never `playwright install`: no downloads here).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Debian's PostgreSQL for the storage tests (they start a throwaway cluster of their own in a temp folder).
postgres:
	@{ command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; } || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

# Debian's WordNet 3.0 (/usr/share/wordnet) for the robustness tests' antonyms, read with nltk (no nltk.download).
wordnet:
	@test -f /usr/share/wordnet/data.adj || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wordnet-base; }

# Lint and types (settings in pyproject.toml): ruff's rules and format at 120 columns, mypy over app/ and headscope/.
lint: install-test
	$(BIN)/ruff check app headscope tests bench tools
	$(BIN)/ruff format --check app headscope tests bench tools
	$(BIN)/mypy

test: install-test lint prepare browser postgres wordnet
	$(BIN)/pytest -q -rs

# The fast loop: unit and API tests on the tiny test checkpoints (tests/tiny_model.py), no `prepare`
# (no demo checkpoint trained, no test that fine-tunes one), no Chromium, PostgreSQL or Ray; markers in
# pyproject.toml, set in tests/conftest.py. `make test` runs all.
FAST_MARKERS ?= not trained and not trains and not browser and not postgres and not ray and not ferret
test-fast: install-test wordnet
	$(BIN)/pytest -q -rs -m "$(FAST_MARKERS)"

# Benchmarks print ratios against a baseline measured in the same run.
bench: prepare
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python bench/live_latency.py --threads 1
	$(BIN)/python bench/load.py --threads 1
	$(BIN)/python bench/memory_models.py
	$(BIN)/python bench/gpu_throughput.py
	$(BIN)/python bench/page_weight.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/train_speed.py
	$(BIN)/python bench/analysis_speed.py
	$(BIN)/python bench/attribution_speed.py
	$(BIN)/python bench/roast_speed.py --threads 1
	$(BIN)/python bench/report_speed.py --threads 1

clean:
	rm -rf $(VENV) $(FERRET_VENV) build *.egg-info
