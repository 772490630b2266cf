# ctflow: the two entry points are `make demo` and `make test` (see README.md).
# Every dependency comes from Debian packages (apt-get) or the npm registry, installed here.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
APT_PACKAGES := cmake g++ make pkg-config ccache git ca-certificates tzdata procps \
  libboost-json1.81-dev libboost-url1.81-dev libpqxx-dev libyaml-dev libeigen3-dev \
  catch2 libcctz-dev libcli11-dev libfmt-dev libssl-dev postgresql \
  libtorch-dev libfaiss-dev libopenblas0-pthread clang libclang-rt-14-dev \
  zlib1g-dev jq bc time chromium
BENCH_PACKAGES := wrk hyperfine

.PHONY: all build deps test test-monitor test-plain demo data clean format bench-sched bench-hpo bench-mnist bench-api bench-web bench-serve swap-serve stress-sse fuzz

all: build

# Installs only what is missing; --no-install-recommends keeps Boost 1.74 out (it conflicts with 1.81).
deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900 -LE slow

# Tests labelled slow, outside `make test`: the monitor's retraining loop on MNIST (issue 21,
# acceptance 4; two trainings, about 4 minutes on 2 shared cores).
test-monitor: build
	cd $(BUILD) && ctest --output-on-failure --timeout 1200 -L slow

# The whole suite with the engine's fast path off in every server the tests start (the
# scenario tests' "fast" mode included): the plain path must pass everything too.
test-plain: build
	cd $(BUILD) && CTFLOW_NO_FAST_PATH=1 ctest --output-on-failure -j$(JOBS) --timeout 900 -LE slow

demo: build
	bash scripts/demo.sh

data: deps
	bash scripts/fetch-mnist.sh

bench-sched: build
	@missing=; for p in $(BENCH_PACKAGES); do dpkg-query -W $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing
	bash tests/bench/sched/run.sh

bench-hpo: build
	bash tests/bench/hpo/run.sh

bench-mnist: build
	bash tests/bench/mnist/run.sh

# REST API under wrk: list with 10,000 runs, and durable submissions (docs/benchmarks.md).
bench-api: build
	@dpkg-query -W wrk >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk
	CTFLOW=$(CURDIR)/$(BUILD)/ctflow bash tests/bench/api/run.sh

# The predictor: in-process vs FastAPI + uvicorn vs ctflow-serve under wrk (docs/benchmarks.md).
# Needs `make data` (or MODEL_DIR). The peer's packages are installed here, not by `make deps`.
SERVE_BENCH_PACKAGES := wrk curl python3-fastapi python3-uvicorn python3-torch python3-faiss
bench-serve: build
	@missing=; for p in $(SERVE_BENCH_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; done; \
	  [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing
	bash tests/bench/serve/run.sh

# The predictor under wrk while the alias moves: deploy, canary 10%, rollback (issue 21 acc. 2).
swap-serve: build
	@missing=; for p in wrk curl jq bc; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; done; \
	  [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing
	CTFLOW=$(CURDIR)/$(BUILD)/ctflow bash tests/bench/serve/swap.sh

# The dashboard in headless Chromium: 100,000 runs, a 5,000-task graph, a 1,000-task grid (docs/benchmarks.md).
bench-web: build
	CTFLOW=$(CURDIR)/$(BUILD)/ctflow bash tests/bench/web/run.sh

# SSE under concurrent writers: every event reaches a follower, in order (tests/stress/).
stress-sse: build
	@dpkg-query -W wrk >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk
	CTFLOW=$(CURDIR)/$(BUILD)/ctflow bash tests/stress/sse_order.sh

# libFuzzer harnesses (tests/fuzz/), longer than the 20 s each gets in `make test`.
FUZZ_SECONDS ?= 600
fuzz: deps $(BUILD)/CMakeCache.txt
	bash tests/fuzz/run.sh -b $(BUILD)/fuzz -t $(FUZZ_SECONDS)

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
