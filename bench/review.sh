#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# File-heavy work in the workspace modes of `airlock run`: unpacking a
# generated C source tree and compiling it, with no sandbox, in live mode
# and in overlay mode (writes kept for review), side by side with
# hyperfine in one run. Prints a Markdown table on stdout, the target
# under it, and progress on stderr.
#
# Starts nothing that outlives it: every step has a time limit, and the
# scratch folder (the tree, the workspace, airlock's state folder with the
# overlay runs' layers) is removed on exit or interrupt.
#
# Settings (environment):
#   AIRLOCK=path   airlock binary (default: build/airlock in the repo)
#   FILES=N        C files in the generated tree (default 300)
#   RUNS=N         timed runs per row (default 10)
#   WARMUP=N       untimed runs before them (default 2)
#   JOBS=N         make -j (default: the number of CPUs)
#
# Exit status: 0 measured and the target met, 1 the target missed or not
# checkable, 2 a bad setting or a required tool missing.

set -euo pipefail

BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
REPO_DIR=$(dirname -- "$BENCH_DIR")
PYTHON=/usr/bin/python3
KILL_GRACE_S=5
OVERLAY_TARGET=1.3

AIRLOCK=${AIRLOCK:-$REPO_DIR/build/airlock}
FILES=${FILES:-300}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
JOBS=${JOBS:-$(nproc)}

SCRATCH=
CHILD_PID=

log() {
	printf 'review.sh: %s\n' "$*" >&2
}

cleanup() {
	local status=$?

	trap - EXIT INT TERM HUP
	if [[ -n $CHILD_PID ]]; then
		kill -TERM "$CHILD_PID" 2>/dev/null || true
		wait "$CHILD_PID" 2>/dev/null || true
	fi
	if [[ -n $SCRATCH && -d $SCRATCH ]]; then
		rm -rf -- "$SCRATCH"
	fi
	exit "$status"
}

check_setup() {
	local name tool

	for name in FILES RUNS WARMUP JOBS; do
		check_count "$name" "${!name}"
	done
	for tool in hyperfine timeout tar make cc "$PYTHON"; do
		command -v "$tool" >/dev/null ||
			die_usage "required tool '$tool' not found" \
				"(apt-get install -y hyperfine make gcc tar)"
	done
	[[ -x $AIRLOCK ]] ||
		die_usage "airlock not found at $AIRLOCK (ninja -C build)"
}

# A C project of FILES small translation units and a Makefile, as a tar.
make_source() {
	local src=$SCRATCH/src/proj i

	mkdir -p "$src"
	for ((i = 0; i < FILES; i++)); do
		cat >"$src/unit$i.c" <<-EOF
		#include <stdio.h>
		#include <string.h>
		int unit$i(const char *s);
		int unit$i(const char *s)
		{
			char buf[64];
			int n = 0;

			snprintf(buf, sizeof(buf), "%s-%d", s, $i);
			for (size_t k = 0; k < strlen(buf); k++)
				n += buf[k] * (int)(k + $i);
			return n;
		}
		EOF
	done
	printf 'int main(void) { return 0; }\n' >"$src/main.c"
	# printf, not a here-document: <<- would strip the recipes' tabs
	# shellcheck disable=SC2016 # make's variables, not the shell's
	printf '%s\n' 'SRCS := $(wildcard *.c)' 'prog: $(SRCS:.c=.o)' \
		'	$(CC) -o $@ $^' '%.o: %.c' '	$(CC) -O1 -c -o $@ $<' \
		>"$src/Makefile"
	tar -C "$SCRATCH/src" -cf "$SCRATCH/proj.tar" proj
}

measure() {
	local ws=$SCRATCH/ws
	local work="tar xf $SCRATCH/proj.tar && make -s -C proj -j$JOBS"
	local reset="rm -rf $ws/proj $SCRATCH/state/airlock/runs"

	mkdir -p "$ws"
	cd -- "$ws"
	log "measuring $FILES files, make -j$JOBS, $RUNS runs each"
	run_limited $((120 + 60 * (RUNS + WARMUP) * 3)) hyperfine \
		--warmup "$WARMUP" --runs "$RUNS" --prepare "$reset" \
		--export-json "$SCRATCH/review.json" \
		--command-name "no sandbox" "sh -c '$work'" \
		--command-name "airlock, live" \
		"$AIRLOCK run --workspace-mode live -- sh -c '$work'" \
		--command-name "airlock, overlay" \
		"$AIRLOCK run --workspace-mode overlay -- sh -c '$work'" \
		>&2
}

report() {
	"$PYTHON" - "$SCRATCH/review.json" "$OVERLAY_TARGET" <<-'EOF'
	import json, sys

	results = json.load(open(sys.argv[1]))["results"]
	target = float(sys.argv[2])
	by_name = {r["command"]: r for r in results}
	base = by_name["no sandbox"]["median"]
	print("| Work | Median (s) | Ratio to no sandbox |")
	print("|---|--:|--:|")
	for r in results:
	    print(f"| {r['command']} | {r['median']:.3f} | "
	          f"{r['median'] / base:.2f}x |")
	overlay = by_name["airlock, overlay"]["median"] / base
	ok = overlay <= target
	print()
	print(f"Target: overlay within {target}x of no sandbox: "
	      f"{'met' if ok else 'MISSED'} ({overlay:.2f}x)")
	sys.exit(0 if ok else 1)
	EOF
}

main() {
	check_setup
	trap cleanup EXIT
	trap on_signal INT TERM HUP

	SCRATCH=$(mktemp -d /var/tmp/airlock-bench-review.XXXXXX)
	# started by root, the sandbox's id must be able to pass through it
	chmod 755 "$SCRATCH"
	# the overlay runs' layers go to the scratch folder, outside the
	# workspace (a state folder inside it is refused in overlay mode)
	export XDG_STATE_HOME=$SCRATCH/state
	make_source
	measure
	report
	echo
	echo "Machine: $(uname -sr), $(nproc) CPUs, $(cc --version | head -n 1)," \
		"$FILES files, make -j$JOBS, $(hyperfine --version)," \
		"run as uid $(id -u), scratch on $(df -T "$SCRATCH" |
			awk 'NR == 2 {print $2}')"
}

main "$@"
