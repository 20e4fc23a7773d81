# Cupo — the two commands that matter: `make run` and `make test`. Both install what they
# need (pnpm into .tools/, dependencies, a build) on a fresh clone.

SHELL := /bin/bash
PNPM_VERSION := 10.34.8
PNPM := $(CURDIR)/.tools/node_modules/.bin/pnpm
STAMP := node_modules/.install-stamp
DEPLOY_BIN := $(CURDIR)/.tools/deploy/bin
BROWSER_DIR := $(CURDIR)/.tools/browser
PACKAGE_FILES := package.json pnpm-lock.yaml pnpm-workspace.yaml $(wildcard */*/package.json) $(wildcard patches/*)
# The GNU make features this Makefile uses (target-specific variables below, the order-only
# prerequisite on toolchain); the toolchain check names any this make lacks (GNU make 3.81,
# macOS's, has both).
MAKE_FEATURES_USED := target-specific order-only
# The toolchain check prints its lines for run and test, and only failures for the rest (so
# `TOKEN=$(make -s token)` stays clean).
TOOLCHAIN_OUTPUT := --failures-only
run test: TOOLCHAIN_OUTPUT :=

.PHONY: toolchain browser-tools all install build run test lint fmt test-unit test-system bench bench-scale soak token clean cycles deploy-tools k8s capacity load

all: build

## Node.js against package.json's engines and make against MAKE_FEATURES_USED, one line each,
## before anything else: everything below needs them.
toolchain:
	@command -v node >/dev/null || { echo "Node.js is not installed: install the version package.json's engines asks for (https://nodejs.org/en/download)" >&2; exit 1; }
	@node tools/stack/src/preflight-toolchain.cjs --package package.json --make-version "$(MAKE_VERSION)" \
	  --make-features "$(.FEATURES)" --make-needs "$(MAKE_FEATURES_USED)" $(TOOLCHAIN_OUTPUT)

$(PNPM): | toolchain
	npm install --prefix .tools --no-audit --no-fund --loglevel=error pnpm@$(PNPM_VERSION) >&2

$(STAMP): $(PNPM) $(PACKAGE_FILES)
	$(PNPM) install --frozen-lockfile >&2
	@touch $(STAMP)

install: $(STAMP)

build: install
	$(PNPM) exec tsc -b >&2

## The whole system with seed data on local PostgreSQL, Redis and RabbitMQ (PG_URL,
## REDIS_URL, AMQP_URL override the defaults) when every one answers and is new enough; with
## Docker Compose when none answers and `docker compose version` works; otherwise it says which
## server is unreachable and how to start it. One line says which mode and why; DRY_RUN=1 stops
## there.
run: build
	@mode=$$(node tools/stack/dist/preflight-cli.js run) || exit 1; \
	  [ -z "$(DRY_RUN)" ] || exit 0; \
	  if [ "$$mode" = compose ]; then exec docker compose up --build; fi; \
	  exec node tools/stack/dist/run.js

## helm, kubectl, prometheus and promtool for the deploy checks, in .tools/deploy/bin: named by
## CUPO_HELM, CUPO_KUBECTL, CUPO_PROMETHEUS, CUPO_PROMTOOL, found on PATH (never kubectl), or
## fetched (tools/deploy/fetch-tools.sh says how).
deploy-tools:
	@tools/deploy/fetch-tools.sh $(DEPLOY_BIN)

## Regenerates the plain manifests in k8s/ from the chart (a test keeps them in agreement).
k8s: deploy-tools
	node tools/deploy/render-k8s.mjs $(DEPLOY_BIN)/helm

## A Chromium or Chrome for the browser tests (playwright-core drives it), in .tools/browser:
## named by CUPO_CHROMIUM, found on PATH, or on Debian as root installed with apt-get.
browser-tools:
	@tools/stack/browser-tools.sh $(BROWSER_DIR)

## Unit, integration and system tests against the real servers, each run isolated. The
## servers' versions are checked first; a test needing a tool that cannot be had here is
## skipped and listed with the command that would enable it (on Debian as root, as CI runs,
## a missing tool is installed, or an error).
test: build lint
	@node tools/stack/dist/preflight-cli.js test
	@tools/deploy/fetch-tools.sh --optional $(DEPLOY_BIN)
	@tools/stack/browser-tools.sh --optional $(BROWSER_DIR)
	@mkdir -p test-results
	@set +e; $(PNPM) exec vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json; \
	  status=$$?; node tools/stack/dist/test-summary.js test-results/vitest.json; exit $$status

## Biome: its lint rules (biome.json: no `any`, nothing unused, domain/ and app/ import inward
## only) and its formatter (a file not in the house format fails; `make fmt` rewrites it), zero
## warnings allowed; `make test` runs it first. Reads, never rewrites.
lint: install
	$(PNPM) exec biome check --error-on-warnings .

## Rewrites the sources in biome.json's style (2 spaces, single quotes, semicolons, 140 columns).
fmt: install
	$(PNPM) exec biome format --write .

test-unit: build
	$(PNPM) exec vitest run --project unit --project integration

test-system: build
	$(PNPM) exec vitest run --project system

## Benchmarks (not tests): prints p50/p95/p99 and throughput.
bench: build
	node tools/bench/dist/main.js

## Cost against history (not a test): the same scenarios on an empty system and on one carrying a
## production-sized history loaded through SQL, side by side (p50/p95, CPU ms per operation over
## every process). SCALE=0.1 loads a tenth of it (full scale takes a few minutes to load).
bench-scale: build
	SCALE=$(or $(SCALE),1) node tools/bench/dist/scale.js

## Memory over a steady mixed load (SOAK_MINUTES, default 10, after 3 min of warm-up): every process's RSS after warm-up
## and at the end; fails when one ends more than 10 % above its warm-up figure.
soak: build
	SOAK_MINUTES=$(or $(SOAK_MINUTES),10) node tools/bench/dist/soak.js

## Capacity report: measures on this machine, writes docs/capacity.md and its plots (~5 min).
capacity: build
	node tools/capacity/dist/main.js

## The k6 load tests against BASE_URL (default http://localhost:8080, e.g. after `make run`), with
## the k6 named by K6, else ../shared/bin/k6, else k6 on PATH (it says so when there is none).
## PROMETHEUS_URL=http://localhost:9090 (compose's) streams each run there for the "Cupo — load
## test" dashboard; SCRIPTS="smoke booking-burst" picks scripts.
load: build
	@node tools/stack/dist/load-cli.js $(or $(SCRIPTS),smoke booking-burst enrollment-burst mixed)

## A development JWT: make token SUB=guest-1 ROLE=guest
token: build
	@node tools/stack/dist/token-cli.js --sub $(or $(SUB),guest-1) --role $(or $(ROLE),guest)

cycles: install
	$(PNPM) exec madge --circular --extensions ts packages/*/src services/*/src tools/*/src

clean:
	rm -rf node_modules */*/node_modules */*/dist */*/*.tsbuildinfo .run test-results .tools
