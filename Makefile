# launchwarden — run `make help` for the targets.
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 10s
BIN      ?= bin/launchwarden

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the launchwarden binary into bin/.
	$(GO) build -o $(BIN) ./cmd/launchwarden

.PHONY: test
test: ## Run all tests with the race detector.
	$(GO) test -race -timeout 20m $(PKGS)

.PHONY: lint
lint: ## gofmt and go vet.
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 10s; CI uses a count such as 100000x).
	$(GO) test ./projects -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME)
	$(GO) test ./lifecycle -run '^$$' -fuzz '^FuzzParseNotice$$' -fuzztime $(FUZZTIME)
	$(GO) test ./notify -run '^$$' -fuzz '^FuzzParseExtendRequest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./limits -run '^$$' -fuzz '^FuzzEffective$$' -fuzztime $(FUZZTIME)
	$(GO) test ./cloud/ec2sim -run '^$$' -fuzz '^FuzzQuery$$' -fuzztime $(FUZZTIME)

.PHONY: bench
bench: ## Run the benchmarks; the fleet-scale ones (./bench) also write bench/README.md.
	$(GO) test ./bench -run '^$$' -bench . -benchtime 1x -benchmem -timeout 60m -write-table
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list $(PKGS) | grep -v '/bench$$')

.PHONY: demo
demo: ## Walk a simulated fleet through expiry against the embedded EC2 emulator and Slack server.
	$(GO) run ./cmd/launchwarden demo

.PHONY: screenshot
screenshot: ## Render the status page of the demo's fleet to docs/status-page.png (needs Debian's chromium).
	@mkdir -p docs
	$(GO) test ./cmd/launchwarden -run '^TestStatusPageScreenshot$$' -count=1 -v -args -screenshot=$(CURDIR)/docs/status-page.png

.PHONY: validate-example
validate-example: ## Validate examples/config-repo.
	$(GO) run ./cmd/launchwarden validate examples/config-repo
