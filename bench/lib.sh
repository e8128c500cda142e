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

check_count() {
	local name=$1 value=$2

	[[ $value =~ ^[0-9]+$ && $value -ge 1 ]] ||
		die_usage "$name must be a whole number >= 1, not '$value'"
}

# Makes a path given relative to the caller's folder absolute.
absolute_path() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$PWD" "$1" ;;
	esac
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

# Finds srt: SRT=path, else the copy in bench/.cache (CACHE_DIR), installing
# $SRT_PACKAGE there with npm when SRT_INSTALL allows. Sets SRT_PATH, or
# SRT_MISSING to say why not.
# shellcheck disable=SC2034 # SRT_PATH and SRT_MISSING are for the caller
find_srt() {
	local cached=$CACHE_DIR/node_modules/.bin/srt

	SRT_PATH=
	SRT_MISSING=
	if [[ -n $SRT ]]; then
		if [[ ! -x $SRT ]]; then
			SRT_MISSING="SRT=$SRT is not executable"
			return 1
		fi
		SRT_PATH=$SRT
		return 0
	fi
	if [[ -x $cached ]]; then
		SRT_PATH=$cached
		return 0
	fi
	if [[ $SRT_INSTALL == 0 ]]; then
		SRT_MISSING="not installed (SRT_INSTALL=0)"
		return 1
	fi
	if ! command -v npm >/dev/null; then
		SRT_MISSING="npm not installed, so srt cannot be installed"
		return 1
	fi

	log "installing $SRT_PACKAGE into $CACHE_DIR"
	mkdir -p "$CACHE_DIR" 2>/dev/null || true
	if ! run_limited "$NPM_TIMEOUT_S" npm install --prefix "$CACHE_DIR" \
		--no-audit --no-fund --loglevel=error "$SRT_PACKAGE" >&2 ||
		[[ ! -x $cached ]]; then
		SRT_MISSING="npm install of $SRT_PACKAGE into $CACHE_DIR failed"
		return 1
	fi
	SRT_PATH=$cached
}
