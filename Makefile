# Hospital management platform.
#
#   make run     install/build what is needed, start Consul + Nomad and deploy everything
#   make stop    stop it all (data is kept in ~/.local/state/hospital)
#   make test    the Nomad job check and all Go tests (real MariaDB, FerretDB, Consul, Mailpit, ...)
#   make bench   Go benchmarks and the load runs, nginx as the peer; writes docs/BENCHMARKS.md
#   make tools   build the pinned Consul, Nomad, FerretDB, VictoriaLogs, Mailpit, stripe-mock
#   make build   build the services into build/bin
#   make clean   remove build/ (not the tools cache, not the platform's data)
#
# Works as root on a fresh Debian with Go; Debian packages it needs (mariadb-server,
# postgresql-15, curl, jq, and gcc to build Nomad; nginx-light and wrk for make bench only)
# are installed when missing. INSTANCES=2 make run runs two instances of each service.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# The services, in deployment order. Each has svc/<name>/ (built to
# build/bin/<name>) and jobs/services/<name>.hcl (its settings for the one job
# shape, jobs/service.nomad.hcl); see jobs/README.md, "Adding a service".
SERVICES ?= user notification appointment ehr billing pharmacy lab admin gateway

export HOSPITAL_TOOLS_BIN ?= $(HOME)/.cache/hospital/bin
export STATE_DIR ?= $(HOME)/.local/state/hospital
export PATH := $(HOSPITAL_TOOLS_BIN):$(PATH)

BUILD_BIN := $(CURDIR)/build/bin
TEST_TIMEOUT ?= 20m
TEST_PARALLEL ?= 2

# PostgreSQL 15 of Debian (FerretDB's backend); not on PATH there.
PG_BIN := /usr/lib/postgresql/15/bin

.PHONY: help run stop test bench tools test-tools build clean deps bench-deps validate-jobs print-services

help:
	@sed -n '3,9p' Makefile | sed 's/^# \{0,1\}//'

## Debian packages, only when missing (one apt-get update, then install). The
## servers the packages just installed may start (on 3306, 5432) are stopped and
## disabled: Nomad runs MariaDB and PostgreSQL with the platform's own data.
deps:
	@missing=(); \
	command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] || missing+=(mariadb-server); \
	[[ -x $(PG_BIN)/postgres && -x $(PG_BIN)/initdb ]] || missing+=(postgresql-15); \
	command -v curl >/dev/null 2>&1 || missing+=(curl); \
	command -v jq >/dev/null 2>&1 || missing+=(jq); \
	command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev); \
	if (( $${#missing[@]} > 0 )); then \
	  echo "deps: installing $${missing[*]} with apt-get"; \
	  if [[ $$(id -u) -ne 0 ]]; then echo "deps: run as root, or: sudo apt-get install -y $${missing[*]}" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq; \
	  apt-get install -y -qq --no-install-recommends "$${missing[@]}"; \
	  for pkg in "$${missing[@]}"; do \
	    case $$pkg in mariadb-server) svc=mariadb ;; postgresql-15) svc=postgresql ;; *) continue ;; esac; \
	    systemctl disable --now "$$svc" >/dev/null 2>&1 || service "$$svc" stop >/dev/null 2>&1 || true; \
	  done; \
	fi

## The peer of make bench (nginx in front of the same upstream) and the load
## generator of its peak runs (wrk), only when missing.
bench-deps:
	@missing=(); \
	command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light); \
	command -v wrk >/dev/null 2>&1 || missing+=(wrk); \
	if (( $${#missing[@]} > 0 )); then \
	  echo "bench-deps: installing $${missing[*]} with apt-get"; \
	  if [[ $$(id -u) -ne 0 ]]; then echo "bench-deps: run as root, or: sudo apt-get install -y $${missing[*]}" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq; \
	  apt-get install -y -qq --no-install-recommends "$${missing[@]}"; \
	  systemctl disable --now nginx >/dev/null 2>&1 || service nginx stop >/dev/null 2>&1 || true; \
	fi

tools:
	@tools/build.sh

# What the tests start: Consul, FerretDB, Mailpit, VictoriaLogs, stripe-mock
# (MariaDB and PostgreSQL from Debian), and Nomad to check the job files.
test-tools:
	@tools/build.sh consul nomad ferretdb mailpit victoria-logs stripe-mock

# Every job file parses and validates (nomad job validate), as make run and a
# cluster would submit it.
validate-jobs:
	@jobs/validate.sh

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

test: deps test-tools validate-jobs
	@scripts/test.sh

bench: deps bench-deps test-tools
	@scripts/bench.sh

clean:
	rm -rf build

print-services:
	@echo $(SERVICES)
