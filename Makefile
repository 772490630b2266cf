# ctflow: the two entry points are `make demo` and `make test` (see README.md).
# Every dependency comes from Debian packages (apt-get) or the npm registry, installed here.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
# Extra CMake options and a subset of targets, for image builds (docker/*.Dockerfile), e.g.
# `make build CMAKE_ARGS="-DCTFLOW_TESTS=OFF" BUILD_TARGETS="ctflow web"`; default: everything.
CMAKE_ARGS ?=
BUILD_TARGETS ?=
APT_PACKAGES := cmake g++ make pkg-config ccache git ca-certificates tzdata procps \
  libboost-json1.81-dev libboost-url1.81-dev libpqxx-dev libyaml-dev libeigen3-dev \
  catch2 libcctz-dev libcli11-dev libfmt-dev libssl-dev postgresql \
  libtorch-dev libfaiss-dev libopenblas0-pthread clang libclang-rt-14-dev \
  zlib1g-dev jq bc time chromium python3-yaml
BENCH_PACKAGES := wrk hyperfine

.PHONY: all build deps test test-k8s test-slow test-monitor test-plain test-chaos test-security test-asan test-tsan demo data clean format bench-sched bench-hpo bench-mnist bench-api bench-web bench-serve swap-serve accept-mnist bench-rows bench-scale stress-sse fuzz

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
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) $(if $(BUILD_TARGETS),--target $(BUILD_TARGETS))

# Everything but the tests labelled `slow` (end-to-end MNIST runs through the Kubernetes test
# server, the serving loop): those have their own targets below, run by hand (docs/testing.md).
test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900 -LE slow

# The Kubernetes executor against the local HTTPS test server (tests/k8s/), the slow MNIST
# scenarios (acceptance 2 and 3 of the executor: a model registered, kill -9) included.
test-k8s: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 1200 -L k8s

# Every test labelled slow.
test-slow: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 1800 -L slow

# The monitor's retraining loop on MNIST alone (issue 21, acceptance 4; about 4 minutes).
test-monitor: build
	cd $(BUILD) && ctest --output-on-failure --timeout 1200 -L slow -R monitor

# The whole suite with the engine's fast path off in every server the tests start (the
# scenario tests' "fast" mode included): the plain path must pass everything too.
test-plain: build
	cd $(BUILD) && CTFLOW_NO_FAST_PATH=1 ctest --output-on-failure -j$(JOBS) --timeout 900 -LE slow

# Every chaos scenario (tests/chaos/), the long ones too: `make test` runs only the short ones
# (the long ones are hidden Catch2 cases, [.][chaos]). See docs/testing.md.
test-chaos: build
	cd $(BUILD) && for t in tests/test_chaos_*; do echo "== $$t"; ./$$t '[chaos]' || exit 1; done

# The security tests alone (they also run in `make test`).
test-security: build
	cd $(BUILD) && ctest --output-on-failure -L security -j$(JOBS)

# The C++ suite under AddressSanitizer + UndefinedBehaviorSanitizer, in its own build dir (no
# libtorch tasks, no dashboard; the fuzz harnesses run under ASan in every `make test` already).
# Slow: a cold build is about an hour on 2 cores. docs/testing.md says when it was last green.
ASAN_BUILD ?= build-asan
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTFLOW_SANITIZE=address \
	  -DCTFLOW_TASKS=OFF -DCTFLOW_WEB=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) --timeout 1800 -LE 'fuzz|lint'

# The engine's tests (unit engine, integration engine/scenario/crash) under ThreadSanitizer, in
# its own build dir. libpqxx and Boost are not instrumented: a report inside them alone is
# suppressed by tests/tsan.supp only after it was read and understood.
TSAN_BUILD ?= build-tsan
TSAN_TESTS ?= test_engine_plan test_engine_study test_engine_fast_path test_it_engine \
  test_it_engine_features test_it_engine_limits test_it_armed_chain test_it_dispatch_ahead \
  test_it_crash
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTFLOW_SANITIZE=thread \
	  -DCTFLOW_TASKS=OFF -DCTFLOW_WEB=OFF
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target ctflow test_it_scenarios $(TSAN_TESTS)
	cd $(TSAN_BUILD) && export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" && \
	  for t in $(TSAN_TESTS); do echo "== $$t"; ./tests/$$t || exit 1; done && \
	  ctest --output-on-failure -j$(JOBS) --timeout 1800 -L scenario

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
# Issue 21, acceptance 6: examples/mnist-ct.yaml on the full MNIST set, the deployed version
# served by ctflow-serve, >= 99.4% of the 10k test images right over KServe v1 and v2.
accept-mnist: build data
	@missing=; for p in curl; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; done; \
	  [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing
	CTFLOW=$(CURDIR)/$(BUILD)/ctflow bash tests/bench/serve/accept_mnist.sh

swap-serve: build
	@missing=; for p in wrk curl jq bc; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; done; \
	  [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing
	CTFLOW=$(CURDIR)/$(BUILD)/ctflow bash tests/bench/serve/swap.sh

# The dashboard in headless Chromium: 100,000 runs, a 5,000-task graph, a 1,000-task grid (docs/benchmarks.md).
bench-web: build
	CTFLOW=$(CURDIR)/$(BUILD)/ctflow bash tests/bench/web/run.sh

# 1,000,000 finished task rows: the API's read plans and times, and gc of half (docs/benchmarks.md).
bench-rows: build
	$(BUILD)/tests/test_it_row_plans '[bench]' --durations yes

# One run of 100,000 tasks, and 1,000 runs on 3 replicas sharing one database (docs/benchmarks.md).
bench-scale: build
	@dpkg-query -W curl bc >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl bc
	CTFLOW=$(CURDIR)/$(BUILD)/ctflow bash tests/bench/scale/run.sh

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
