# bootc-storaged — see README.md. `make run` and `make check` set up a fresh Debian 12 machine themselves.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PREFIX ?= /usr
DESTDIR ?=
REPORTS := .cache/reports

.PHONY: deps build bundle run check lint generate typecheck test-unit test-integration test-faults test-system test-browser bench install uninstall clean

deps:
	@bash scripts/install-deps.sh

build: deps
	npx tsc -p tsconfig.build.json
	node scripts/bundle.mjs dist/bundle
	node cockpit/build.mjs dist/cockpit/bootc-storage

bundle: deps
	node scripts/bundle.mjs dist/bundle

# The daemon on a sandbox: ./.run/sysroot, a private system bus, polkitd, a local registry with a demo image.
run: build
	bash scripts/sandbox.sh

# The contract files generated from src/core/operations.ts and src/errors.ts must be fresh.
lint: deps
	npx biome check .
	node scripts/generate-contract.mjs --check

# Rewrites dbus/org.bootc.Storage.xml and varlink/org.bootc.Storage.varlink.
generate:
	node scripts/generate-contract.mjs

typecheck: deps
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p cockpit/tsconfig.json

test-unit: deps
	@mkdir -p $(REPORTS)
	npx vitest run --project unit --reporter=default --reporter=json --outputFile.json=$(REPORTS)/unit.json

test-integration: deps
	@mkdir -p $(REPORTS)
	npx vitest run --project integration --reporter=default --reporter=json --outputFile.json=$(REPORTS)/integration.json

test-faults: deps
	@mkdir -p $(REPORTS)
	npx vitest run --project faults --reporter=default --reporter=json --outputFile.json=$(REPORTS)/faults.json

# The booted-systemd tier (systemd-nspawn); see test/system/README.md. It says why when it cannot run.
test-system: deps
	@mkdir -p $(REPORTS)
	bash test/system/run.sh $(REPORTS)/system.json

# The Cockpit page in Debian's Chromium through cockpit-ws/cockpit-bridge (screenshots: $(REPORTS)/browser/).
test-browser: deps
	@mkdir -p $(REPORTS)/browser
	npx vitest run --project browser --reporter=default --reporter=json --outputFile.json=$(REPORTS)/browser.json

# Benchmarks against raw podman, measured in the same run (never part of check).
bench: build
	bash bench/run.sh

install: build
	bash scripts/install.sh "$(DESTDIR)" "$(PREFIX)"

uninstall:
	bash scripts/install.sh --uninstall "$(DESTDIR)" "$(PREFIX)"

# Every tier; each one runs even when an earlier one failed, then one closing line sums them up.
check: deps
	@rm -rf $(REPORTS); mkdir -p $(REPORTS); status=0; \
	$(MAKE) --no-print-directory lint || status=1; \
	$(MAKE) --no-print-directory typecheck || status=1; \
	$(MAKE) --no-print-directory test-unit || status=1; \
	$(MAKE) --no-print-directory test-integration || status=1; \
	$(MAKE) --no-print-directory test-faults || status=1; \
	$(MAKE) --no-print-directory test-system || status=1; \
	$(MAKE) --no-print-directory test-browser || status=1; \
	node scripts/summarize-tests.mjs $(REPORTS)/{unit,integration,faults,system,browser}.json || status=1; \
	if [ $$status -ne 0 ]; then echo "make check: FAILED" >&2; fi; exit $$status

clean:
	rm -rf dist dist-check .cache/reports

# A long soak (SOAK_MINUTES, default 20; SOAK_SEED): mixed traffic from root and nobody over D-Bus and Varlink
# while faults are injected (kill -9, registry down or stalled, disk full, sysroot lock held), invariants checked
# after each; writes docs/reliability.md and docs/reliability-rss.svg. Never part of check, whose faults tier
# runs the same engine for one minute (test/faults/soak.test.ts).
.PHONY: soak
soak: deps
	node scripts/bundle.mjs .cache/test-bundle
	node test/soak/bundle.mjs .cache/soak
	SOAK_MINUTES="$(or $(SOAK_MINUTES),20)" $(if $(SOAK_SEED),SOAK_SEED="$(SOAK_SEED)") node .cache/soak/soak.cjs
