#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with ASan and UBSan (clang) and runs each for
# a few seconds on its seed corpus: a smoke test for the test command. For
# a long run of one target, see tests/fuzz/README.md.
set -eu
cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_SECONDS:-10}

if [ -d build-fuzz ]; then
	CC=clang meson setup --reconfigure build-fuzz -Dfuzzing=true \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
else
	CC=clang meson setup build-fuzz -Dfuzzing=true \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C build-fuzz

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
for target in build-fuzz/tests/fuzz-*; do
	[ -f "$target" ] && [ -x "$target" ] || continue
	name=${target##*/fuzz-}
	corpus=tests/fuzz/corpus/$name
	dict=tests/fuzz/$name.dict
	mkdir -p "$work/$name"
	set -- -max_total_time="$SECONDS_EACH" -print_final_stats=0
	[ -f "$dict" ] && set -- "$@" -dict="$dict"
	echo "fuzz-$name: ${SECONDS_EACH}s"
	# new inputs go to the scratch folder, never into the seed corpus
	UBSAN_OPTIONS=halt_on_error=1 "$target" "$@" "$work/$name" "$corpus" \
		2>"$work/$name.log" || { tail -40 "$work/$name.log"; exit 1; }
	grep -E '^(#[0-9]+ +DONE|Done)' "$work/$name.log" | tail -1 || true
done
