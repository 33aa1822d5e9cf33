# ksherdash: see README.md. `make test` is the test command (CI runs it through .ci/run).

# bash, because `make test` sources .ci/setup.sh to export PG_BIN, CHROMIUM_PATH and the
# Playwright driver path into the same shell as go test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO ?= go
BIN := bin/ksherdash

.PHONY: run build test fuzz setup generate lint bench docker clean

run:
	$(GO) run ./cmd/ksherdash

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/ksherdash

# Installs what is missing (chromium, postgresql, node; the Playwright driver), then
# tests with E2E_REQUIRED=1, so a missing browser fails instead of skipping.
# Then each fuzz target for 5 s (.ci/fuzz; FUZZTIME=30s make test for longer).
test:
	. .ci/setup.sh && $(GO) vet ./... && $(GO) test -count=1 -timeout 15m ./... && bash .ci/fuzz

fuzz:
	. .ci/setup.sh >/dev/null && bash .ci/fuzz

setup:
	bash .ci/setup.sh

generate:
	$(GO) tool templ generate

# The drift check here looks only at templ output, so uncommitted work elsewhere does not
# fail it; .ci/run checks the whole tree.
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) tool templ generate
	git diff --exit-code -- '*_templ.go'
	@out=$$(git status --porcelain -- '*_templ.go'); if [ -n "$$out" ]; then echo "templ output not committed:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

docker:
	docker build -t ksherdash .

clean:
	rm -rf bin e2e-artifacts
