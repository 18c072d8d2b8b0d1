# Every target that runs project code first makes sure the locked environment is there, so a
# fresh clone needs nothing but `make demo` or `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --locked --all-extras --quiet

.PHONY: help install install-tools demo serve test lint format docs rules dashboards \
        promtool-test bench check-generated ci test-openai3

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

install:  ## Install uv (with pip, if missing) and the locked environment
	@scripts/bootstrap

install-tools:  ## install, plus promtool for the tests (Debian package prometheus)
	@scripts/bootstrap --tools

demo: install  ## The main job: simulator + instrumented workload + /metrics on :9464
	$(RUN) llm-exporter demo

serve: install  ## Run `llm-exporter serve` on :9464
	$(RUN) llm-exporter serve

test: install-tools  ## Run the test suite
	$(RUN) pytest

test-openai3: install-tools  ## The SDK-facing tests again, on openai 3.x (the lock pins 2.x for openlit)
	$(RUN) --with 'openai>=3,<4' pytest -q tests/test_openai_instrumentation.py tests/test_simulator.py

lint: install  ## ruff lint and format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: install  ## Apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

docs: install  ## Regenerate docs/metrics.md from the catalog
	$(RUN) llm-exporter docs generate --out docs

check-generated: docs  ## Fail when a generated artifact differs from what is committed
	@git diff --exit-code --stat -- docs/ || { echo "generated files are stale: run make docs and commit" >&2; exit 1; }

bench: install  ## Overhead per LLM call (uninstrumented, llm-exporter, OpenLIT); slow: valgrind
	$(RUN) python scripts/bench_gpu.py
	$(RUN) python scripts/bench_overhead.py
	@command -v valgrind >/dev/null || scripts/bootstrap --valgrind
	$(RUN) python scripts/bench_instructions.py
	$(RUN) python scripts/bench_instructions.py --stream --calls 100

rules dashboards promtool-test:
	@echo "make $@: not built yet (see the open issues: rule pack, dashboards)" >&2; exit 1

ci: lint check-generated test test-openai3  ## What .ci/run does
