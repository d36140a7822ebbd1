# medtwin — the two commands the README leads with, and a few more.
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build demo demo-day test check-all bench asan valgrind clean \
        fuzz-build fuzz-smoke fuzz-long

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The live demo: 30 virtual patients streamed through the server at 60x
# (docs/API.md, "Demo"), on a fresh store each time; stop with Ctrl-C.
demo: build
	rm -rf $(BUILD)/demo-data $(BUILD)/demo-data.keys
	test -f $(BUILD)/demo-master.key || $(BUILD)/medtwin keys master $(BUILD)/demo-master.key
	$(BUILD)/medtwin serve --demo --listen 127.0.0.1:8080 --data $(BUILD)/demo-data \
	  --master-key-file $(BUILD)/demo-master.key

# A day of a virtual patient, its clinical summary and a plot.
demo-day: build
	$(BUILD)/medtwin simulate --model uva_padova_t1d --patient adult#001 \
	  --scenario examples/scenarios/day.json --svg demo-day.svg --csv demo-day.csv
	@echo "plot: demo-day.svg   trace: demo-day.csv"

# Every suite but the slow ones, then the same again under ASan + UBSan,
# then each libFuzzer target for FUZZ_SMOKE_TIME seconds (clang, in
# $(BUILD)-fuzz; docs/fuzzing.md).
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE slow
	$(MAKE) --no-print-directory asan
	$(MAKE) --no-print-directory fuzz-smoke FUZZ_TIME=$(FUZZ_SMOKE_TIME)

# Everything: the slow suites too, in both builds, the unit, verification
# and end-to-end suites under valgrind (docs/TESTING.md), and the long fuzz
# run: FUZZ_RUNS (10^7) executions of every target (docs/fuzzing.md; 35 to
# 45 minutes on 2 cores).
check-all: build asan valgrind
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS) -L slow
	$(MAKE) --no-print-directory fuzz-long

asan: deps
	cmake -S . -B $(BUILD)-asan -G Ninja -DMT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS) -LE slow

# memcheck of the unit, verification and end-to-end suites (about 45x
# slower; four end-to-end suites with wall-clock deadlines are left to ASan,
# CMakeLists.txt MT_VALGRIND_E2E_SKIP)
valgrind: deps
	cmake -S . -B $(BUILD)-valgrind -G Ninja -DMT_VALGRIND=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(BUILD)-valgrind -j $(JOBS)
	cd $(BUILD)-valgrind && ctest --output-on-failure -j $(JOBS) -L 'unit|verify|e2e'

# Fuzzing (docs/fuzzing.md): libFuzzer targets of tests/fuzz, built with
# clang (scripts/install-deps installs it) in $(BUILD)-fuzz. fuzz-smoke:
# FUZZ_TIME seconds per target (make test: FUZZ_SMOKE_TIME). fuzz-long:
# 10^7 executions per target (about 2 hours on 2 cores; not part of
# check-all). Both write only under $(BUILD)-fuzz, never into tests/fuzz.
FUZZ_CC ?= clang
FUZZ_TIME ?= 10
FUZZ_SMOKE_TIME ?= 5
FUZZ_RUNS ?= 10000000
FUZZ_TARGETS = $(basename $(notdir $(filter-out %/replay_main.c,$(wildcard tests/fuzz/*.c))))

fuzz-build: deps
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { echo "fuzz-build: no \
	$(FUZZ_CC) (FUZZ_CC); scripts/install-deps installs clang" >&2; exit 1; }
	CC=$(FUZZ_CC) cmake -S . -B $(BUILD)-fuzz -G Ninja -DMT_FUZZ=ON \
	  -DMT_FUZZ_TIME=$(FUZZ_TIME)
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_all

fuzz-smoke: fuzz-build
	cd $(BUILD)-fuzz && ctest --output-on-failure -j $(JOBS) -L 'fuzz'

fuzz-long: fuzz-build
	@printf '%s\n' $(FUZZ_TARGETS) | xargs -P $(JOBS) -I{} sh -c \
	  'bash tests/fuzz/run.sh $(BUILD)-fuzz/tests/fuzz_{} $(BUILD)-fuzz/fuzz-long/{} \
	    tests/fuzz/corpus/{} tests/fuzz/regress/{} -- -runs=$(FUZZ_RUNS) > /dev/null 2>&1 \
	    && echo "fuzz-long: {}: $(FUZZ_RUNS) runs, no crash" \
	    || { echo "fuzz-long: {} FAILED: $(BUILD)-fuzz/fuzz-long/{}/log"; exit 1; }'

bench: build
	$(BUILD)/bench/sim_patient_day

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-valgrind $(BUILD)-fuzz
