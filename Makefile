# bootc-storaged — see README.md. `make run` and `make check` set up a fresh Debian 12 machine themselves.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PREFIX ?= /usr
DESTDIR ?=
REPORTS := .cache/reports

.PHONY: deps build run check lint typecheck test-unit test-integration clean

deps:
	@bash scripts/install-deps.sh

build: deps
	npx tsc -p tsconfig.build.json

# The daemon on a sandbox: ./.run/sysroot, a private system bus, polkitd, a local registry with a demo image.
run: build
	bash scripts/sandbox.sh

lint: deps
	npx biome check .

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

test-unit: deps
	@mkdir -p $(REPORTS)
	npx vitest run --project unit --reporter=default --reporter=json --outputFile.json=$(REPORTS)/unit.json

test-integration: deps
	@mkdir -p $(REPORTS)
	npx vitest run --project integration --reporter=default --reporter=json --outputFile.json=$(REPORTS)/integration.json

# Every tier; each one runs even when an earlier one failed, then one closing line sums them up.
check: deps
	@rm -rf $(REPORTS); mkdir -p $(REPORTS); status=0; \
	$(MAKE) --no-print-directory lint || status=1; \
	$(MAKE) --no-print-directory typecheck || status=1; \
	$(MAKE) --no-print-directory test-unit || status=1; \
	$(MAKE) --no-print-directory test-integration || status=1; \
	node scripts/summarize-tests.mjs $(REPORTS)/unit.json $(REPORTS)/integration.json || status=1; \
	if [ $$status -ne 0 ]; then echo "make check: FAILED" >&2; fi; exit $$status

clean:
	rm -rf dist dist-check .cache/reports
