#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Startup time and peak memory of `airlock run -- /bin/true`, measured in one
# run beside plain /bin/true, bubblewrap with comparable isolation, and
# Anthropic's sandbox-runtime (srt). Prints a Markdown table on stdout, the
# targets we hold airlock to under it, and progress on stderr.
#
# Runs as root or as a normal user. Starts nothing that outlives it: every
# step has a time limit, and on exit or interrupt every process still
# carrying this run's token in its environment is ended.
#
# Settings (environment):
#   AIRLOCK=path     airlock binary (default: build/airlock in the repo)
#   RUNS=N           timed runs per tool (default 30)
#   WARMUP=N         untimed runs before them (default 3)
#   MEM_RUNS=N       runs under GNU time for peak RSS (default 5)
#   WORKDIR=path     folder every tool starts in and may write (default: a
#                    scratch project made for the run and removed after it)
#   SRT=path         an srt to use instead of the cached npm install
#   SRT_INSTALL=0    do not install srt into bench/.cache when it is missing
#
# Exit status: 0 measured and every target met, 1 a target missed or not
# checkable (its tool unmeasured), 2 a bad setting or a required tool missing.

set -euo pipefail

BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
REPO_DIR=$(dirname -- "$BENCH_DIR")
CACHE_DIR=$BENCH_DIR/.cache
SRT_PACKAGE=@anthropic-ai/sandbox-runtime
PYTHON=/usr/bin/python3
GNU_TIME=/usr/bin/time
NPM_TIMEOUT_S=300
KILL_GRACE_S=5

RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
MEM_RUNS=${MEM_RUNS:-5}
AIRLOCK=${AIRLOCK:-$REPO_DIR/build/airlock}
WORKDIR=${WORKDIR:-}
SRT=${SRT:-}
SRT_INSTALL=${SRT_INSTALL:-1}

# Every process this run starts inherits the token; cleanup looks for it.
BENCH_TOKEN=airlock-bench-$$-$RANDOM$RANDOM
export AIRLOCK_BENCH_TOKEN=$BENCH_TOKEN

SCRATCH=
CHILD_PID=

log() {
	printf 'startup.sh: %s\n' "$*" >&2
}

# Ends what is left of this run: TERM first, KILL after a grace period.
kill_leftovers() {
	local -a pids
	local i

	mapfile -t pids < <(token_pids)
	[[ ${#pids[@]} -eq 0 ]] && return 0
	log "cleanup: ending ${#pids[@]} leftover process(es): ${pids[*]}"
	kill -TERM "${pids[@]}" 2>/dev/null || true

	for ((i = 0; i < KILL_GRACE_S * 10; i++)); do
		mapfile -t pids < <(token_pids)
		[[ ${#pids[@]} -eq 0 ]] && return 0
		sleep 0.1
	done
	kill -KILL "${pids[@]}" 2>/dev/null || true
}

cleanup() {
	local status=$?

	trap - EXIT INT TERM HUP
	if [[ -n $CHILD_PID ]]; then
		kill -TERM "$CHILD_PID" 2>/dev/null || true
	fi
	kill_leftovers
	if [[ -n $SCRATCH && -d $SCRATCH ]]; then
		rm -rf -- "$SCRATCH"
	fi
	exit "$status"
}

# Seconds one tool's measurement may take: generous for srt's ~0.5 s runs.
step_limit_s() {
	echo $((60 + 5 * (RUNS + WARMUP + MEM_RUNS)))
}

check_setup() {
	local tool

	check_count RUNS "$RUNS"
	check_count WARMUP "$WARMUP"
	check_count MEM_RUNS "$MEM_RUNS"

	for tool in hyperfine timeout "$GNU_TIME" "$PYTHON"; do
		command -v "$tool" >/dev/null ||
			die_usage "required tool '$tool' not found" \
				"(apt-get install -y hyperfine time python3)"
	done

	if [[ -n $WORKDIR ]]; then
		[[ -d $WORKDIR ]] ||
			die_usage "WORKDIR '$WORKDIR' is not a folder"
		WORKDIR=$(cd -- "$WORKDIR" && pwd)
		WORKDIR_NOTE=$WORKDIR
	fi
	AIRLOCK=$(absolute_path "$AIRLOCK")
	[[ -z $SRT ]] || SRT=$(absolute_path "$SRT")
}

# Records one table row: name, status (ok, skipped, failed) and a note.
# Rows are tab-separated; notes must not hold tabs or newlines.
add_row() {
	local name=$1 status=$2 note=$3

	note=${note//$'\t'/ }
	printf '%s\t%s\t%s\n' "$name" "$status" "${note//$'\n'/ }" \
		>>"$SCRATCH/rows.tsv"
}

# Runs the command once and reports whether it works, so that a broken tool
# is reported with its own words instead of hyperfine's.
probe() {
	local label=$1 status=0 said

	shift
	run_limited 60 "$@" >/dev/null 2>"$SCRATCH/$label.probe" || status=$?
	if [[ $status -ne 0 ]]; then
		said=$(head -n 2 "$SCRATCH/$label.probe" | head -c 300)
		PROBE_ERROR="exit $status: ${said//[$'\n\t']/ }"
		return 1
	fi
	return 0
}

# hyperfine --shell=none splits its command like a POSIX shell would.
quote_command() {
	local out

	printf -v out '%q ' "$@"
	printf '%s\n' "${out% }"
}

# Measures one tool: start time with hyperfine, peak RSS with GNU time.
# $1 is the label used for files, $2 the name shown, the rest the command.
measure() {
	local label=$1 name=$2 i status=0

	shift 2
	log "measuring $name: $(quote_command "$@")"

	PROBE_ERROR=
	if ! probe "$label" "$@"; then
		log "$name does not run ($PROBE_ERROR); skipping it"
		add_row "$name" failed "does not run: $PROBE_ERROR"
		return 0
	fi

	run_limited "$(step_limit_s)" hyperfine --shell=none \
		--warmup "$WARMUP" --runs "$RUNS" \
		--command-name "$name" \
		--export-json "$SCRATCH/$label.json" \
		"$(quote_command "$@")" >&2 || status=$?
	if [[ $status -ne 0 ]]; then
		log "hyperfine failed on $name (exit $status); skipping it"
		add_row "$name" failed "hyperfine exit $status"
		return 0
	fi

	for ((i = 0; i < MEM_RUNS; i++)); do
		run_limited 60 "$GNU_TIME" -f %M -a -o "$SCRATCH/$label.rss" \
			"$@" >/dev/null 2>&1 || status=$?
		if [[ $status -ne 0 ]]; then
			log "$name failed under GNU time (exit $status)"
			add_row "$name" failed "GNU time run exit $status"
			return 0
		fi
	done

	add_row "$name" ok "$label"
}

measure_true() {
	measure true "/bin/true (no sandbox)" /bin/true
}

measure_airlock() {
	if [[ ! -x $AIRLOCK ]]; then
		log "airlock not found at $AIRLOCK (build it: ninja -C build," \
			"or set AIRLOCK=path)"
		add_row airlock skipped "not found at $AIRLOCK"
		return 0
	fi
	measure airlock airlock "$AIRLOCK" run -- /bin/true
}

measure_bwrap() {
	local bwrap

	if ! bwrap=$(command -v bwrap); then
		log "bwrap not found; skipping it" \
			"(apt-get install -y bubblewrap)"
		add_row bwrap skipped "bwrap not installed"
		return 0
	fi
	measure bwrap "bwrap $(bwrap --version | awk '{print $2}')" \
		"$bwrap" --unshare-all --die-with-parent --new-session \
		--cap-drop ALL --ro-bind / / --dev /dev --proc /proc \
		--tmpfs /tmp --bind "$WORKDIR" "$WORKDIR" -- /bin/true
}

measure_srt() {
	local srt dep version

	if ! find_srt; then
		log "srt unavailable: $SRT_MISSING; skipping it"
		add_row srt skipped "$SRT_MISSING"
		return 0
	fi

	# On Linux srt wraps bwrap and relays its network through socat; it
	# also needs ripgrep to scan for files it must protect.
	for dep in bwrap socat rg; do
		if ! command -v "$dep" >/dev/null; then
			log "srt needs $dep, which is missing; skipping srt" \
				"(apt-get install -y bubblewrap socat ripgrep)"
			add_row srt skipped "needs $dep, which is not installed"
			return 0
		fi
	done

	srt=$SRT_PATH

	# Same rules as the bwrap row: the start folder writable, no network.
	cat >"$SCRATCH/srt-settings.json" <<-'EOF'
	{
	  "network": { "allowedDomains": [], "deniedDomains": [] },
	  "filesystem": { "denyRead": [], "allowWrite": ["."],
	                  "denyWrite": [] }
	}
	EOF

	version=$(run_limited 60 "$srt" --version 2>/dev/null || echo '?')
	# srt leaves a socket file in TMPDIR at every start: keep them here
	mkdir -p "$SCRATCH/srt-tmp"
	TMPDIR=$SCRATCH/srt-tmp measure srt "srt $version" \
		"$srt" --settings "$SCRATCH/srt-settings.json" -- /bin/true
}

# Settings files in HOME that `airlock run -- /bin/true` reads on its own;
# the airlock row shows the default policy only when there are none.
user_settings() {
	local f found=
	local -a files=("$HOME/.config/airlock/settings.json"
		"$HOME/.srt-settings.json")

	for f in "${files[@]}"; do
		[[ -e $f ]] && found+="${found:+, }$f"
	done
	printf '%s\n' "${found:-none}"
}

# Facts about the machine that the numbers depend on, one per line.
write_host_notes() {
	{
		machine_lines ""
		echo "Harness: $(hyperfine --version) (RUNS=$RUNS," \
			"WARMUP=$WARMUP), GNU time %M (MEM_RUNS=$MEM_RUNS)"
		echo "Start folder: $WORKDIR_NOTE"
		echo "Settings files airlock reads: $(user_settings)"
		echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)"
	} >"$SCRATCH/host.txt"
}

# Reads the rows, hyperfine's JSON and the RSS samples, prints the table and
# the targets, and exits 1 when a target is missed or cannot be checked.
report() {
	"$PYTHON" - "$SCRATCH" <<-'EOF'
	import json, os, statistics, sys

	scratch = sys.argv[1]
	rows = []
	with open(os.path.join(scratch, "rows.tsv")) as f:
	    for line in f:
	        name, status, note = line.rstrip("\n").split("\t")
	        rows.append({"name": name, "status": status, "note": note})

	for row in rows:
	    if row["status"] != "ok":
	        continue
	    label = row["note"]
	    with open(os.path.join(scratch, label + ".json")) as f:
	        row["median_s"] = json.load(f)["results"][0]["median"]
	    with open(os.path.join(scratch, label + ".rss")) as f:
	        kib = [int(x) for x in f.read().split()]
	    row["rss_kib"] = statistics.median(kib)
	    row["label"] = label

	by_label = {r.get("label"): r for r in rows if r["status"] == "ok"}
	base = by_label.get("airlock")

	print("| Tool | Median (ms) | Ratio to airlock | Peak RSS (MiB) |")
	print("|---|--:|--:|--:|")
	for row in rows:
	    if row["status"] != "ok":
	        note = row["note"].replace("|", "\\|")
	        print(f"| {row['name']} | {row['status']}: {note} | - | - |")
	        continue
	    ms = row["median_s"] * 1000
	    ratio = "n/a"
	    if base:
	        ratio = f"{row['median_s'] / base['median_s']:.2f}x"
	    mib = row["rss_kib"] / 1024
	    print(f"| {row['name']} | {ms:.2f} | {ratio} | {mib:.1f} |")

	print()
	print("Ratio: the tool's median over airlock's (above 1: slower")
	print("than airlock). Peak RSS: GNU time %M, the largest single")
	print("process of the tree, median over the runs.")
	print()
	print("Targets:")
	missed = False

	def target(text, peer_label, check):
	    global missed
	    peer = by_label.get(peer_label) if peer_label else base
	    if base is None or peer is None:
	        who = "airlock" if base is None else peer_label
	        print(f"- {text}: not checked ({who} not measured)")
	        missed = True
	        return
	    ok, detail = check(base, peer)
	    print(f"- {text}: {'met' if ok else 'MISSED'} ({detail})")
	    missed = missed or not ok

	target("airlock median <= bwrap median", "bwrap",
	       lambda a, b: (a["median_s"] <= b["median_s"],
	                     f"{a['median_s'] * 1000:.2f} ms vs "
	                     f"{b['median_s'] * 1000:.2f} ms"))
	target("airlock >= 50x faster than srt", "srt",
	       lambda a, b: (b["median_s"] >= 50 * a["median_s"],
	                     f"srt takes {b['median_s'] / a['median_s']:.1f}x "
	                     "as long"))
	target("airlock peak RSS < 4 MiB", None,
	       lambda a, b: (a["rss_kib"] < 4096,
	                     f"{a['rss_kib'] / 1024:.2f} MiB"))

	print()
	print("Machine:")
	with open(os.path.join(scratch, "host.txt")) as f:
	    for line in f:
	        print(f"- {line.rstrip()}")
	sys.exit(1 if missed else 0)
	EOF
}

# The default start folder: a small project of our own, with the files that
# airlock and srt protect in a checkout, so that each does its usual work.
# srt puts placeholder files into the start folder while it runs; here they
# cannot land in a real tree if srt is cut short.
make_workspace() {
	WORKDIR=$SCRATCH/workspace
	WORKDIR_NOTE="a scratch project with .git/ and src/, removed after"
	mkdir -p "$WORKDIR/.git/hooks" "$WORKDIR/src"
	: >"$WORKDIR/.git/config"
	printf 'int main(void) { return 0; }\n' >"$WORKDIR/src/main.c"
}

main() {
	check_setup
	trap cleanup EXIT
	trap on_signal INT TERM HUP

	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/airlock-bench.XXXXXX")
	# airlock keeps its audit log and run records in the state folder:
	# measured as users run it, but kept in the scratch folder
	export XDG_STATE_HOME=$SCRATCH/state
	: >"$SCRATCH/rows.tsv"
	[[ -n $WORKDIR ]] || make_workspace
	cd -- "$WORKDIR"

	measure_airlock
	measure_true
	measure_bwrap
	measure_srt

	write_host_notes
	report
}

main "$@"
