# Entry points of the project. `make setup` prepares a Debian 12 machine (as root) and is cheap
# to repeat; `make test` runs it first, then every test suite in order.
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
CLUSTER := $(PYTHON) tests/harness/cluster.py

TOPOLOGY ?= small
NAME ?=
SET ?=

.PHONY: setup demo bench test test-unit test-static test-harness test-awx test-molecule \
        cluster-up cluster-down image

setup:
	bash scripts/setup.sh

demo: setup
	bash scripts/demo.sh

# Not part of `make test`: kato's cluster mode against playbooks/upgrade.yml and the lower bound
# on simulated clusters, JSON and timelines in benchmarks/results/ (docs/performance.md).
# make bench BENCH_ARGS="--topologies small --time-scale 0.02 --scale ''"
bench: setup
	$(PYTHON) -m benchmarks.bench $(BENCH_ARGS)

# Sequential on purpose: the cheap suites fail first, and the cluster suites share loopback octets.
test: setup
	$(MAKE) test-unit
	$(MAKE) test-static
	$(MAKE) test-harness
	$(MAKE) test-awx
	$(MAKE) test-molecule

test-unit:
	$(VENV)/bin/pytest tests/unit -q -n auto

test-static:
	bash tests/static/run.sh

test-harness:
	$(VENV)/bin/pytest tests/harness -q

# AWX artifacts with the tools AWX uses: survey rules, ansible-builder, ansible-runner runs.
test-awx:
	$(VENV)/bin/pytest tests/awx -q

test-molecule:
	bash tests/molecule.sh

# make cluster-up TOPOLOGY=small NAME=mine SET="proxy=true nodes.dea1.sudo=password"
cluster-up:
	$(CLUSTER) up $(TOPOLOGY) $(if $(NAME),--name $(NAME)) $(foreach s,$(SET),--set $(s))

cluster-down:
	$(CLUSTER) down $(if $(NAME),--name $(NAME))

image:
	$(CLUSTER) build-image
