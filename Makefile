# picket — the two commands: `make run` and `make test`.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all deps build run test test-release test-asan test-fuzz bench golden clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@ninja -C $(BUILD) -j $(JOBS)

# The main job: build, then the live demo (`picket demo`: real attacks in namespaces, narrated; docs/demo.md).
run: build
	@scripts/run-demo.sh $(BUILD)/picket

# Every test: the release build's suite, the same suite under ASan+UBSan, and the fuzzers.
test: deps
	@scripts/test.sh

test-release: deps
	@scripts/test.sh release

test-asan: deps
	@scripts/test.sh asan

test-fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/test.sh fuzz

bench: build
	@scripts/bench.sh $(BUILD)

# Regenerates the checked-in golden event files after an intended change of output.
golden: build
	@UPDATE_GOLDEN=1 ctest --test-dir $(BUILD) -R golden --output-on-failure

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
