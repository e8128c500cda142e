# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
#
# What the benchmarks share, sourced by each of them: stopping on a bad
# setting, time limits on every step, and finding the processes of this
# run by the token each of them carries in its environment. The caller
# defines log() and sets KILL_GRACE_S, BENCH_TOKEN (when it uses
# token_pids) and CHILD_PID=.

die_usage() {
	log "$*"
	exit 2
}

# Lists the pids of live processes, other than this shell, whose environment
# holds this run's token. Uses only builtins, so it spawns nothing to find.
token_pids() {
	local want="AIRLOCK_BENCH_TOKEN=$BENCH_TOKEN"
	local dir pid entry
	local -a env

	for dir in /proc/[0-9]*; do
		pid=${dir#/proc/}
		[[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
		mapfile -d '' -t env 2>/dev/null <"$dir/environ" || continue
		for entry in "${env[@]}"; do
			if [[ $entry == "$want" ]]; then
				printf '%s\n' "$pid"
				break
			fi
		done
	done
}

on_signal() {
	log "interrupted"
	exit 130
}

# Runs "$@" under a time limit of $1 seconds, in the background so that a
# signal reaches the trap at once instead of after the step. Returns the
# step's exit status (124 when the limit ran out).
run_limited() {
	local limit_s=$1
	local status=0

	shift
	timeout -k "$KILL_GRACE_S" "$limit_s" "$@" </dev/null &
	CHILD_PID=$!
	wait "$CHILD_PID" || status=$?
	CHILD_PID=
	return "$status"
}
