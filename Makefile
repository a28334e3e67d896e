# roam's make targets. `make dev` and `make test` are the two set-up commands
# the README starts with; keep them working on a fresh Debian machine.
GO ?= go

.PHONY: build dev test test-setup e2e chaos bench bench-ui bench-mesh check fuzz images ui-screenshots

build: ## build bin/roam
	$(GO) build -o bin/roam ./cmd/roam

dev: ## build roam, start a dev agent and run examples/hello.nomad
	scripts/dev.sh

images: ## build the seed applications' images locally (images/README.md)
	scripts/images.sh

test-setup: ## install what the tests need (Debian packages) and start services
	scripts/test-setup.sh

# The suite runs as `go test -json` through scripts/testsummary, which prints
# what plain `go test` prints plus a closing line of counts and the skipped
# tests with their reasons (a skip must never pass unnoticed).
test: test-setup ## what CI runs: vet and every test
	$(GO) vet ./...
	$(GO) build -o bin/testsummary ./scripts/testsummary
	bash -o pipefail -c '$(GO) test -json -count=1 -timeout 20m ./... | bin/testsummary'

e2e: build ## black-box tests of the built binary
	$(GO) test -count=1 ./e2e/...

chaos: ## the fault-injection suite: every fault on 3 and 5 servers, checked for linearizability (docs/cluster.md)
	$(GO) test -count=1 -v -timeout 60m -run 'TestChaos' ./e2e/ -args -chaos.full

bench: ## scheduler benchmarks and the end-to-end scheduling benchmark
	$(GO) test -run xxx -bench . -benchtime 3x ./scheduler/
	$(GO) run ./bench/scheduler -nodes 1000 -jobs 100 -allocs 10000
	$(GO) run ./bench/netns -n 100
	$(GO) build -o bin/roam ./cmd/roam
	$(GO) run ./bench/devready -roam bin/roam -n 5 -no-bridge

bench-mesh: build ## roam's sidecar proxies against direct connections (docs/mesh.md#benchmarks)
	$(GO) run ./bench/mesh -roam bin/roam

bench-ui: ## load a job page with 1,000 allocations in Chromium (docs/ui.md)
	$(GO) test -run xxx -bench JobPage1000Allocs -benchtime 10x ./ui/

ui-screenshots: ## regenerate the screenshots of the web UI in docs/ui/ (needs chromium)
	ROAM_UI_SCREENSHOTS=$(CURDIR)/docs/ui $(GO) test -count=1 -run TestScreenshots ./ui/

check: ## vet, formatting and the repository layering test
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) test -run 'TestLayering|TestEveryPackageHasADocComment' .

FUZZTIME ?= 60s
fuzz: ## fuzz the job-file parser and the state files' open paths, FUZZTIME each
	$(GO) test -run xxx -fuzz FuzzParse -fuzztime $(FUZZTIME) ./jobspec/
	$(GO) test -run xxx -fuzz FuzzCheckBolt -fuzztime $(FUZZTIME) ./internal/statefile/
	$(GO) test -run xxx -fuzz FuzzOpenRaftDB -fuzztime $(FUZZTIME) ./server/
	$(GO) test -run xxx -fuzz FuzzFSMApply -fuzztime $(FUZZTIME) ./server/
	$(GO) test -run xxx -fuzz FuzzFSMRestore -fuzztime $(FUZZTIME) ./server/
	$(GO) test -run xxx -fuzz FuzzOpenClientState -fuzztime $(FUZZTIME) ./client/state/
