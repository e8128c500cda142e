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

# ---- servers, ports and rows, for the network benchmarks ----
# They use KILL_GRACE_S, SCRATCH, SERVER_PIDS, log and server_limit_s of
# the script that sources this file.

# Sends TERM to the given pids, waits up to the grace period for them to
# go, then sends KILL to any that remain.
end_pids() {
	local -a left
	local pid i

	[[ $# -eq 0 ]] && return 0
	kill -TERM "$@" 2>/dev/null || true
	for ((i = 0; i < KILL_GRACE_S * 10; i++)); do
		left=()
		for pid in "$@"; do
			kill -0 "$pid" 2>/dev/null && left+=("$pid")
		done
		[[ ${#left[@]} -eq 0 ]] && return 0
		sleep 0.1
	done
	kill -KILL "${left[@]}" 2>/dev/null || true
}

# Records one table row: label (for files), name shown, status (ok,
# skipped) and a note. Rows are tab-separated; no tabs or newlines inside.
add_row() {
	local label=$1 name=$2 status=$3 note=$4

	note=${note//[$'\t\n']/ }
	printf '%s\t%s\t%s\t%s\n' "$label" "$name" "$status" "$note" \
		>>"$SCRATCH/rows.tsv"
}

# The first lines a failed step wrote, squeezed onto one line.
first_words() {
	head -n 3 -- "$1" 2>/dev/null | tr '\t\n' '  ' | head -c 300
}

# Asks the kernel for a free loopback port. Another program could take it
# before the server binds it, but the server's start-up check catches that.
free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Waits until something accepts on 127.0.0.1:$2, giving up when the server
# with pid $1 has exited or the start-up time has run out.
wait_port() {
	local pid=$1 port=$2 i

	for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Starts a server in the background under the run's overall time limit and
# remembers its pid for cleanup. Its output goes to $SCRATCH/$1.log. Sets
# STARTED_PID.
start_server() {
	local name=$1

	shift
	timeout -k "$KILL_GRACE_S" "$(server_limit_s)" "$@" \
		</dev/null >"$SCRATCH/$name.log" 2>&1 &
	STARTED_PID=$!
	SERVER_PIDS+=("$STARTED_PID")
}

# Ends what is left of this run after the servers were stopped by pid,
# such as the socat bridges that srt leaves behind.
kill_leftovers() {
	local -a pids

	mapfile -t pids < <(token_pids)
	[[ ${#pids[@]} -eq 0 ]] && return 0
	log "cleanup: ending ${#pids[@]} leftover process(es): ${pids[*]}"
	end_pids "${pids[@]}"
}

# Prints the start of an nginx configuration for an origin whose files
# live in folder $1: in the foreground, one worker with $2 connections,
# its pid, error log and temporary files in $1, no access log. $3, when
# given, is one more line for the main context. The caller goes on inside
# the http block and closes it.
nginx_conf_head() {
	local dir=$1 connections=$2 main_extra=${3:-}

	cat <<-EOF
	daemon off;
	master_process on;
	worker_processes 1;
	${main_extra}
	pid $dir/nginx.pid;
	error_log $dir/error.log warn;
	events { worker_connections $connections; }
	http {
	    access_log off;
	    client_body_temp_path $dir/tmp;
	    proxy_temp_path $dir/tmp;
	    fastcgi_temp_path $dir/tmp;
	    uwsgi_temp_path $dir/tmp;
	    scgi_temp_path $dir/tmp;
	EOF
}

# Prints the machine's lines of a host note: kernel, CPUs, and who runs
# the benchmark, with $1 added to that last line unless it is empty.
machine_lines() {
	local cpu who

	cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	if [[ $(id -u) -eq 0 ]]; then
		who="root (uid 0)"
	else
		who="a normal user (uid $(id -u))"
	fi
	echo "Kernel: $(uname -sr) ($(uname -m))"
	echo "CPUs: $(nproc) online${cpu:+, $cpu}"
	echo "Run as: $who${1:+; $1}"
}
