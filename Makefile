# The two commands of the README, and a few more. Everything real happens in
# scripts/ and meson; this file only strings them together.
.PHONY: all build run test test-container bench fuzz fuzz-http clean

BUILD ?= build

all: build

build:
	@scripts/setup.sh build
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) >/dev/null
	@ninja -C $(BUILD)

# The web UI is built into the binary; `STATIC_DIR=web make run` serves it
# from disk instead, so edits show without a rebuild.
run: build
	$(BUILD)/meditrack serve

test:
	@scripts/setup.sh test
	@test -f build/build.ninja || meson setup build >/dev/null
	@test -f build-asan/build.ninja || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C build >/dev/null
	@ninja -C build-asan
	@scripts/run-tests.sh

# Builds the Dockerfile with podman and starts the image on SQLite, PostgreSQL
# and MariaDB, then replaces it with a newer image (scripts/test-container.sh).
test-container:
	@scripts/test-container.sh

# Runs the libFuzzer target over the request validation layer for FUZZ_TIME
# seconds (clang, ASan + UBSan, separate build dir). New inputs go to
# build-fuzz/corpus; the committed seeds in tests/fuzz/corpus stay as they are.
FUZZ_TIME ?= 60
fuzz:
	@test -f build-fuzz/build.ninja || CC=clang meson setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-Wno-format-nonliteral >/dev/null
	@ninja -C build-fuzz tests/fuzz/fuzz_request
	@mkdir -p build-fuzz/corpus
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-fuzz/tests/fuzz/fuzz_request \
		-max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 build-fuzz/corpus tests/fuzz/corpus

# The same over the HTTP/1.1 framing code the server runs (src/api/http1.c):
# raw client bytes, split at every size, pipelined.
fuzz-http:
	@test -f build-fuzz/build.ninja || CC=clang meson setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-Wno-format-nonliteral >/dev/null
	@ninja -C build-fuzz tests/fuzz/fuzz_http1
	@mkdir -p build-fuzz/corpus-http
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-fuzz/tests/fuzz/fuzz_http1 \
		-max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 build-fuzz/corpus-http tests/fuzz/corpus-http

clean:
	rm -rf build build-asan build-fuzz
