#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The whole test suite: builds with gcc and with clang (warnings are
# errors), runs the unit tests under ASan and UBSan, runs a short pass of
# each fuzz target, memcheck on what valgrind can run, then the end-to-end
# tests against the built binary and against the sanitized one
# (tests/README.md says what each part proves).
# Build folders: build/ (gcc), build-release/ (gcc -O3), build-clang/
# (release), build-asan/, build-fuzz/.
set -eu
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

setup() { # setup DIR [meson options...]
	dir=$1
	shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

say "build: gcc"
setup build
ninja -C build

# -O3 finds warnings (null dereference paths, say) that -O2 does not
say "build: gcc, release"
setup build-release --buildtype=release
ninja -C build-release

say "build: clang, release"
CC=clang setup build-clang --buildtype=release
ninja -C build-clang

say "unit tests under ASan and UBSan"
CC=clang setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --suite unit --print-errorlogs

if [ -x tests/fuzz/run-short.sh ]; then
	say "fuzz targets, short run"
	tests/fuzz/run-short.sh
fi

say "memcheck: the gateway and the commands valgrind can run"
tests/memcheck.sh build

say "end-to-end tests"
# Node clients the tests run in the sandbox (the Anthropic SDK), pinned by
# the lock file, from the npm registry
if [ ! -d tests/e2e/node/node_modules ]; then
	npm ci --prefix tests/e2e/node --no-audit --no-fund
fi
AIRLOCK_BIN="$PWD/build/airlock" /usr/bin/python3 -m pytest -q tests/e2e "$@"

# The same suite against the ASan+UBSan build: a memory error or a leak
# in any airlock process (the supervisor, init, the gateway, the service)
# makes it exit non-zero or drop its connections, and the test fails.
say "end-to-end tests against the ASan and UBSan build"
ASAN_OPTIONS=detect_leaks=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
AIRLOCK_BIN="$PWD/build-asan/airlock" /usr/bin/python3 -m pytest -q \
	-p no:cacheprovider tests/e2e "$@"
