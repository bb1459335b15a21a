# Velos — the two commands the README promises: `make demo` and `make test`.
GO      ?= go
BIN     := bin/velos
# velos and velosd are built (and installed) side by side: velos starts the
# velosd beside it.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
DEMO_HOME ?= $(CURDIR)/.demo

.PHONY: build test test-faults fuzz soak generate evals demo demo-stop lint bench clean

# Static binaries (CGO_ENABLED=0): a dynamically linked velos spends about
# 2 ms in the loader and libc before main, more than a command takes.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./cmd/velos ./cmd/velosd

test:
	$(GO) test -count=1 -timeout 6m ./...

# The fault suite (faults/): kill -9 of the daemon mid-operation, a full log
# disk, no file descriptors left, 500 processes, 50 clients for 60 s. Minutes.
test-faults:
	$(GO) test -count=1 -tags faults -timeout 15m ./faults/

# Every fuzz target for FUZZTIME each (default 8s); see .ci/fuzz.
fuzz:
	bash .ci/fuzz

# Ten minutes of a chatty app and a crash loop under the daemon; prints the
# daemon's memory every 10 s (bench/soak; -duration for a quick run).
soak:
	$(GO) run ./bench/soak

# Rewrites schemas/ and the README's tool reference from the registry.
generate:
	$(GO) test ./tools -run TestGenerated -update -count=1

# Plays every eval against a real daemon, prints the token table (tool,
# --json and --ai tokens, ratio, budget; tools/list) and puts it in the README.
evals:
	@mkdir -p bin
	$(GO) test -count=1 ./evals -args -table $(CURDIR)/bin/evals.md -readme
	@cat bin/evals.md

demo: build
	@mkdir -p $(DEMO_HOME)
	@VELOS_HOME=$(DEMO_HOME) $(BIN) delete all >/dev/null 2>&1 || true
	VELOS_HOME=$(DEMO_HOME) $(BIN) start examples/web.js --name web --env PORT=3000
	VELOS_HOME=$(DEMO_HOME) $(BIN) start examples/worker.py --name worker
	VELOS_HOME=$(DEMO_HOME) $(BIN) start examples/ticker.sh --name ticker
	@sleep 1
	VELOS_HOME=$(DEMO_HOME) $(BIN) list
	@echo
	@echo "Try: VELOS_HOME=$(DEMO_HOME) $(BIN) describe web   |   $(BIN) list --ai   |   make demo-stop"

demo-stop:
	VELOS_HOME=$(DEMO_HOME) $(BIN) kill

lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...
	staticcheck ./...

# Benchmarks print tables; they assert nothing (see README, Performance).
bench: build
	bash bench/startup.sh -bin bin
	bash bench/run.sh
	bash bench/pm2.sh
	bash bench/metrics.sh
	$(GO) run ./bench/insight
	$(GO) run ./bench/logs -runs 3
	$(GO) run ./bench/reload

clean:
	rm -rf bin .demo
