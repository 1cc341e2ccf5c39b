# Hospital management platform.
#
#   make run     install/build what is needed, start Consul + Nomad and deploy everything
#   make stop    stop it all (data is kept in ~/.local/state/hospital)
#   make test    all Go tests (real MariaDB, FerretDB, Consul, Mailpit, VictoriaLogs)
#   make bench   Go benchmarks and the load run; writes docs/BENCHMARKS.md
#   make tools   build the pinned Consul, Nomad, FerretDB, VictoriaLogs, Mailpit
#   make build   build the services into build/bin
#   make clean   remove build/ (not the tools cache, not the platform's data)
#
# Works as root on a fresh Debian with Go; Debian packages it needs
# (mariadb-server, curl, jq, and gcc to build Nomad) are installed when missing.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# The services, in deployment order. Each has svc/<name>/ (built to
# build/bin/<name>) and jobs/<name>.nomad.hcl.
SERVICES ?= user notification appointment gateway

export HOSPITAL_TOOLS_BIN ?= $(HOME)/.cache/hospital/bin
export STATE_DIR ?= $(HOME)/.local/state/hospital
export PATH := $(HOSPITAL_TOOLS_BIN):$(PATH)

BUILD_BIN := $(CURDIR)/build/bin
TEST_TIMEOUT ?= 20m
TEST_PARALLEL ?= 2

.PHONY: help run stop test bench tools test-tools build clean deps print-services

help:
	@sed -n '3,9p' Makefile | sed 's/^# \{0,1\}//'

## Debian packages, only when missing (one apt-get update, then install).
deps:
	@missing=(); \
	command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] || missing+=(mariadb-server); \
	command -v curl >/dev/null 2>&1 || missing+=(curl); \
	command -v jq >/dev/null 2>&1 || missing+=(jq); \
	command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev); \
	if (( $${#missing[@]} > 0 )); then \
	  echo "deps: installing $${missing[*]} with apt-get"; \
	  if [[ $$(id -u) -ne 0 ]]; then echo "deps: run as root, or: sudo apt-get install -y $${missing[*]}" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq; \
	  apt-get install -y -qq --no-install-recommends "$${missing[@]}"; \
	fi

tools:
	@tools/build.sh

# What the tests start: Consul, FerretDB, Mailpit, VictoriaLogs (MariaDB from Debian).
test-tools:
	@tools/build.sh consul ferretdb mailpit victoria-logs

build:
	@mkdir -p $(BUILD_BIN)
	@for s in $(SERVICES); do \
	  echo "build: $$s"; \
	  go build -o $(BUILD_BIN)/$$s ./svc/$$s; \
	done

run: deps tools build
	@SERVICES="$(SERVICES)" BUILD_BIN=$(BUILD_BIN) scripts/run.sh

stop:
	@scripts/stop.sh

test: deps test-tools
	@scripts/test.sh

bench: deps test-tools
	@scripts/bench.sh

clean:
	rm -rf build

print-services:
	@echo $(SERVICES)
