# The two commands a newcomer needs (see README.md):
#   make test   lint, type checks and every test tier (installs what it needs)
#   make demo   the local stack on an embedded default
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml emulator/pyproject.toml devstack/pyproject.toml constraints.txt | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: test venv tools lock image image-test lint typecheck unit integration e2e soak demo up clean manifests

test: venv tools lint typecheck
	$(PY) -m pytest -p no:cacheprovider -ra $(PYTEST_ARGS) tests

venv: $(STAMP)

# Dependencies at the versions locked in constraints.txt (the image uses them too).
$(STAMP): pyproject.toml emulator/pyproject.toml devstack/pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --constraint constraints.txt -e '.[dev]' -e ./emulator -e ./devstack
	@rm -f $(VENV)/.installed-*; touch $@

tools:
	hack/build-tools.sh

# The controller image, built without Docker or a registry (hack/image.sh: a Debian
# base made once and cached under ~/.cache/awspca-issuer/image, then buildah).
image:
	hack/image.sh build

# The image run as the chart's pod against the harness (also part of `make test`).
image-test: venv tools
	$(PY) -m pytest -p no:cacheprovider -ra $(PYTEST_ARGS) tests/e2e/test_image.py

# Re-resolve every dependency (newest allowed by the pyproject files) into constraints.txt.
lock:
	$(PYTHON) hack/lock.py

lint: venv
	$(VENV)/bin/ruff check issuer emulator devstack tests hack
	$(VENV)/bin/ruff format --check issuer emulator devstack tests hack
	$(VENV)/bin/lint-imports
	$(VENV)/bin/hadolint Dockerfile

typecheck: venv
	$(VENV)/bin/mypy

unit: venv
	$(PY) -m pytest -p no:cacheprovider -ra $(PYTEST_ARGS) tests/unit

integration: venv tools
	$(PY) -m pytest -p no:cacheprovider -ra $(PYTEST_ARGS) tests/integration

e2e: venv tools
	$(PY) -m pytest -p no:cacheprovider -ra $(PYTEST_ARGS) tests/e2e

# The fault matrix (tests/faults, also part of make test) at soak scale:
# SOAK_SCALE times the requests, storms and outages; see README "Reliability".
SOAK_SCALE ?= 5
soak: venv tools
	AWSPCA_SOAK_SCALE=$(SOAK_SCALE) $(PY) -m pytest -p no:cacheprovider -ra $(PYTEST_ARGS) tests/faults

# Our controller against the Go issuer v1.12.0 (built here, only for this), side
# by side on one stack; rewrites BENCHMARKS.md's table. About 30 minutes with the
# defaults on a quiet machine; BENCH_ARGS="--rounds 1 --at-once 0" ... is shorter.
BENCH_ARGS ?=
.PHONY: bench
bench: venv
	hack/build-tools.sh etcd kubernetes cert-manager goissuer
	$(PY) -m tests.bench.bench_controller --json tests/bench/results/side-by-side.json \
		--write-benchmarks BENCHMARKS.md $(BENCH_ARGS)

# The chart's copy of the CRDs, manifests/install.yaml (the chart rendered with
# its defaults) and the chart README's values table; tests check all are in sync.
manifests: venv tools
	cp manifests/crds/*.yaml charts/aws-privateca-issuer/files/crds/
	$(PY) -m tests.e2e.test_chart_render
	$(PY) -m tests.unit.test_chart_docs

# ARGS=--stay keeps the stack up (kubeconfig + emulator endpoint printed) until Ctrl-C.
ARGS ?=
# It builds only the components it runs (concurrently where memory allows).
DEMO_TOOLS := etcd kubernetes cert-manager istiod
demo: venv
	hack/build-tools.sh $(DEMO_TOOLS)
	$(PY) -m awspca_devstack demo $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
