# Every target that runs project code first makes sure the locked environment is there, so a
# fresh clone needs nothing but `make demo` or `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --locked --all-extras --quiet

.PHONY: help install install-tools demo serve test lint format docs rules dashboards \
        promtool-test bench check-generated ci test-openai3 up down replay

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

install:  ## Install uv (with pip, if missing) and the locked environment
	@scripts/bootstrap

install-tools:  ## install, plus promtool, Prometheus and Alertmanager for the tests (Debian packages)
	@scripts/bootstrap --tools

demo: install  ## The main job: simulator + instrumented workload + /metrics on localhost:9464
	$(RUN) llm-exporter demo --listen-address 127.0.0.1:9464

serve: install  ## Run `llm-exporter serve` on :9464
	$(RUN) llm-exporter serve

test: install-tools  ## Run the test suite
	$(RUN) pytest

test-openai3: install-tools  ## The SDK-facing tests again, on openai 3.x (the lock pins 2.x for openlit)
	$(RUN) --with 'openai>=3,<4' pytest -q tests/test_openai_instrumentation.py tests/test_simulator.py

lint: install  ## ruff lint and format check, mypy type check of the package
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

format: install  ## Apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

docs: install  ## Regenerate docs/metrics.md and docs/runbook.md
	$(RUN) llm-exporter docs generate --out docs

rules: install  ## Regenerate rules/thresholds.yaml (the defaults) and the rule files from it
	$(RUN) llm-exporter rules init --out rules/thresholds.yaml
	$(RUN) llm-exporter rules generate --config rules/thresholds.yaml --out rules

promtool-test: install-tools rules  ## promtool check rules (no warnings allowed) and promtool test rules
	@out=$$(promtool check rules rules/*.rules.yaml 2>&1) || { echo "$$out"; exit 1; }; \
	  if echo "$$out" | grep -qi warn; then echo "$$out"; exit 1; fi; echo "$$out" | grep -c SUCCESS | sed 's/^/rule files OK: /'
	cd promtool-tests && promtool test rules *.test.yaml

check-generated: docs rules dashboards  ## Fail when a generated artifact differs from what is committed
	@git diff --exit-code --stat -- docs/ rules/ grafana/ || { echo "generated files are stale: run make docs rules dashboards and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- docs/ rules/ grafana/)" || { git status --short -- docs/ rules/ grafana/; echo "generated files are not committed" >&2; exit 1; }

bench: install  ## Overhead per LLM call, /metrics at scale, load, a label flood, a million users; slow: valgrind
	$(RUN) python scripts/bench_gpu.py
	$(RUN) python scripts/bench_overhead.py
	$(RUN) python scripts/bench_scrape.py
	$(RUN) python scripts/bench_load.py
	$(RUN) python scripts/bench_flood.py
	$(RUN) python scripts/bench_users.py
	@command -v valgrind >/dev/null || scripts/bootstrap --valgrind
	$(RUN) python scripts/bench_instructions.py
	$(RUN) python scripts/bench_instructions.py --stream --calls 100

dashboards: install  ## Regenerate the Grafana dashboards in grafana/dashboards from the thresholds file
	$(RUN) llm-exporter dashboards generate --config rules/thresholds.yaml --out grafana/dashboards

replay: install-tools  ## Replay 5 seeded worlds (normal week, every incident by day and night) through the rule pack (~75 min on 2 cores)
	$(RUN) llm-exporter replay

up: install  ## Start the demo, Prometheus, Alertmanager and a webhook receiver on loopback
	@$(RUN) python deploy/stack.py up

down:  ## Stop what make up started
	@python3 deploy/stack.py down

ci: lint check-generated test test-openai3  ## What .ci/run does
