# bascaler: common tasks. `make test` is the one test command (README, CI).
GO ?= go
BIN := bin/bascaler

.PHONY: all build demo test test-integration unit check bench generate clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bascaler

demo:
	$(GO) run ./cmd/bascaler demo

# check: formatting and vet, fast.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# test: everything, including the envtest + Prometheus integration tests, then the race
# detector on the packages with concurrency. Installs/builds the test binaries when missing.
# The testbed's end-to-end run is left out of the race pass: its replicas re-execute the
# race-instrumented test binary and compute about 20x slower, which turns a functional test
# of scaling into a test of the machine's speed; its concurrent parts (lb, loadgen, replica,
# fftsvc) do run under the race detector. The main pass runs one package at a time (-p 1):
# the controller, conformance, cluster and testbed packages each start API servers,
# Prometheus and replica processes and judge timing on a 2-core machine, and run side by
# side they starved each other into missed ticks.
test: check
	env=$$(hack/test-env.sh) && eval "$$env" && \
	$(GO) test -p 1 -count=1 -timeout 45m ./... && \
	$(GO) test -count=1 -race -timeout 30m ./internal/driver/... ./internal/sim/... ./internal/metrics/... ./internal/promserver/... \
		./internal/controller/... ./internal/testbed/lb/... ./internal/testbed/loadgen/... \
		./internal/testbed/replica/... ./internal/testbed/fftsvc/... ./internal/nn/... ./internal/rl/...

# test-integration: only the tests against a real kube-apiserver and Prometheus.
test-integration:
	env=$$(hack/test-env.sh) && eval "$$env" && $(GO) test -count=1 ./internal/controller/ ./internal/promserver/ ./internal/testbed/ ./cmd/bascaler/

# unit: tests that need nothing installed (integration tests skip outside CI).
unit:
	$(GO) test ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

# generate: deepcopy and the CRD YAML (controller-gen from hack/tools).
generate:
	$(GO) generate ./api/...

clean:
	rm -rf bin out
