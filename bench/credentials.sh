#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# What it costs the gateway to terminate HTTPS and inject a credential,
# measured in one run beside mitmproxy doing the same and beside the
# opaque tunnel that airlock uses when it has nothing to add. Two figures
# per row: small HTTPS requests per second on keep-alive connections
# (wrk, with p50 and p99), and the time a new TLS connection takes until
# its first response arrives, with the gateway's leaf certificate already
# made. Rows: no proxy, airlock's opaque tunnel, airlock terminating and
# injecting, mitmdump terminating and injecting. The rows are measured in
# rounds, each visiting every row once, so that a slow spell of the
# machine falls on all of them alike. Prints a Markdown table on stdout,
# the targets under it, progress on stderr.
#
# Everything runs on loopback against an nginx origin that the script
# starts, with a certificate from a CA made for the run. The origin answers
# 200 only to requests that carry the run's bearer token and 401 to the
# rest, so every counted response proves that the header was there: the
# client sends it itself in the first two rows, the proxy adds it in the
# other two. Inside `airlock run` the clients dial api.test, which the
# sandbox's DNS stub resolves and the gateway captures; wrk and the
# connection client there know nothing of a proxy. airlock is copied into
# the scratch folder first, so that a rebuild during the run changes
# nothing.
#
# Starts nothing that outlives it: every step has a time limit, servers are
# stopped by pid, and on exit or interrupt every process still carrying
# this run's token in its environment is ended.
#
# Settings (environment):
#   AIRLOCK=path       airlock binary (default: build/airlock in the repo)
#   ROUNDS=N           rounds; the table shows medians over them (default 3)
#   DURATION=N         seconds of wrk per row and round (default 5)
#   WARMUP=N           seconds of untimed wrk before each (default 2)
#   CONNECTIONS=N      wrk connections (default 32)
#   THREADS=N          wrk threads (default 2)
#   CONNECTS=N         new connections timed per row and round (default 100)
#   AUDIT=value        airlock's --audit: empty for its default log, which
#                      the run keeps in its scratch folder (default), or
#                      none
#   MITMDUMP=path      mitmdump to use (default: the one on PATH)
#   RESULTS_DIR=path   where raw numbers are kept (default bench/results;
#                      empty: keep none)
#
# Exit status: 0 measured and every target met, 1 a target missed or not
# checkable (its row unmeasured or failed), 2 a bad setting or a required
# tool missing.

set -euo pipefail

BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
REPO_DIR=$(dirname -- "$BENCH_DIR")
PYTHON=/usr/bin/python3
MITMDUMP=${MITMDUMP:-mitmdump}
KILL_GRACE_S=5
READY_TIMEOUT_S=30
ORIGIN_NAME=api.test
# Untimed new connections before the timed ones: the first makes the
# gateway's leaf certificate, the rest settle the caches.
CONNECT_WARMUP=5

AIRLOCK=${AIRLOCK:-$REPO_DIR/build/airlock}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
CONNECTS=${CONNECTS:-100}
AUDIT=${AUDIT:-}
RESULTS_DIR=${RESULTS_DIR-$BENCH_DIR/results}

# Every process this run starts inherits the token; cleanup looks for it.
BENCH_TOKEN=airlock-bench-$$-$RANDOM$RANDOM
export AIRLOCK_BENCH_TOKEN=$BENCH_TOKEN

SCRATCH=
WS=
AIRLOCK_COPY=
AIRLOCK_MISSING=
CHILD_PID=
SERVER_PIDS=()
ROWS=()

# Progress goes to the stderr the script was started with, kept on its own
# descriptor: a trap can run while a step has fd 2 pointed at a file.
exec {LOG_FD}>&2

log() {
	printf 'credentials.sh: %s\n' "$*" >&"$LOG_FD"
}

cleanup() {
	local status=$?

	trap - EXIT INT TERM HUP
	if [[ -n $CHILD_PID ]]; then
		kill -TERM "$CHILD_PID" 2>/dev/null || true
	fi
	end_pids "${SERVER_PIDS[@]}"
	kill_leftovers
	if [[ -n $SCRATCH && -d $SCRATCH ]]; then
		rm -rf -- "$SCRATCH"
	fi
	exit "$status"
}

# Seconds one wrk step (warm-up and measured run, with the sandbox's
# start) may take, so that only a stuck one is cut off.
wrk_limit_s() {
	echo $((60 + 2 * (WARMUP + DURATION)))
}

# A new connection through mitmproxy takes some tens of milliseconds; a
# tenth of a second each leaves room for a slow machine.
connects_limit_s() {
	echo $((60 + (CONNECTS + CONNECT_WARMUP) / 10))
}

# The longest the whole run can last; servers get it as their own limit,
# so that even a killed script leaves nothing running for long.
server_limit_s() {
	echo $((300 + 4 * ROUNDS * ($(wrk_limit_s) + $(connects_limit_s) + 60)))
}

check_setup() {
	local tool

	check_count ROUNDS "$ROUNDS"
	check_count DURATION "$DURATION"
	check_count WARMUP "$WARMUP"
	check_count CONNECTIONS "$CONNECTIONS"
	check_count THREADS "$THREADS"
	check_count CONNECTS "$CONNECTS"
	[[ $THREADS -le $CONNECTIONS ]] ||
		die_usage "THREADS ($THREADS) must not exceed" \
			"CONNECTIONS ($CONNECTIONS)"
	[[ -z $AUDIT || $AUDIT == none ]] ||
		die_usage "AUDIT must be empty or 'none', not '$AUDIT'"

	for tool in curl wrk nginx openssl timeout "$PYTHON"; do
		command -v "$tool" >/dev/null ||
			die_usage "required tool '$tool' not found" \
				"(apt-get install -y curl wrk nginx-light openssl" \
				"python3)"
	done

	AIRLOCK=$(absolute_path "$AIRLOCK")
	[[ -z $RESULTS_DIR ]] || RESULTS_DIR=$(absolute_path "$RESULTS_DIR")
}

# Records why a row has no numbers (probe) or why one of its measurements
# (rate, connect) has none.
add_failure() {
	local label=$1 what=$2 note=$3

	note=${note//[$'\t\n']/ }
	log "$label: $what FAILED: $note"
	printf '%s\t%s\t%s\n' "$label" "$what" "$note" >>"$SCRATCH/failed.tsv"
}

# A CA for the run and a leaf for api.test that it signs, both EC P-256.
# The gateway and mitmproxy are told to trust the CA (both verify the
# origin); the clients do not check what they are shown.
make_certificates() {
	local o=$SCRATCH/origin

	{
		openssl req -x509 -newkey ec \
			-pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-subj "/CN=airlock bench CA" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" \
			-keyout "$o/ca-key.pem" -out "$o/ca.pem" &&
		openssl req -new -newkey ec \
			-pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-subj "/CN=$ORIGIN_NAME" \
			-keyout "$o/key.pem" -out "$o/leaf.csr" &&
		printf 'subjectAltName=DNS:%s,IP:127.0.0.1\n' \
			"$ORIGIN_NAME" >"$o/leaf.ext" &&
		openssl x509 -req -in "$o/leaf.csr" -days 2 \
			-CA "$o/ca.pem" -CAkey "$o/ca-key.pem" -CAcreateserial \
			-extfile "$o/leaf.ext" -out "$o/cert.pem"
	} >"$SCRATCH/openssl.log" 2>&1 ||
		die_usage "openssl could not make the certificates:" \
			"$(first_words "$SCRATCH/openssl.log")"
}

# nginx answers "ok" over HTTPS on keep-alive connections, but only to a
# request whose Authorization is the run's bearer token; the rest get 401,
# which wrk counts as errors.
start_origin() {
	local o=$SCRATCH/origin

	mkdir -p "$o/tmp"
	make_certificates
	HTTPS_PORT=$(free_port)

	{
	nginx_conf_head "$o" 4096
	cat <<-EOF
	    keepalive_requests 1000000;
	    default_type text/plain;
	    server {
	        listen 127.0.0.1:$HTTPS_PORT ssl;
	        ssl_protocols TLSv1.2 TLSv1.3;
	        ssl_certificate $o/cert.pem;
	        ssl_certificate_key $o/key.pem;
	        location / {
	            if (\$http_authorization != "Bearer $API_KEY") {
	                return 401 "no credential\n";
	            }
	            return 200 "ok\n";
	        }
	    }
	}
	EOF
	} >"$o/nginx.conf"

	log "starting nginx on 127.0.0.1:$HTTPS_PORT (https)"
	start_server nginx nginx -p "$o" -c "$o/nginx.conf" -e "$o/error.log"
	wait_port "$STARTED_PID" "$HTTPS_PORT" ||
		die_usage "nginx did not start: $(first_words "$o/error.log")" \
			"$(first_words "$SCRATCH/nginx.log")"
}

# Two policies that differ only in the credential: api.test on the origin
# port, pinned to 127.0.0.1 (which allowAddresses names, because the
# address check refuses loopback otherwise), and the run's CA trusted for
# the connection upstream. With the credential bound to the host, the
# gateway terminates its TLS and adds the header; without it, the
# connection is an opaque tunnel.
write_airlock_settings() {
	local network

	network=$(
		cat <<-EOF
		  "network": {
		    "allowedDomains": ["$ORIGIN_NAME:$HTTPS_PORT"],
		    "hosts": { "$ORIGIN_NAME": "127.0.0.1" },
		    "allowAddresses": ["127.0.0.1"],
		    "tlsTerminate": {
		      "upstreamCaCertPaths": ["$SCRATCH/origin/ca.pem"]
		    }
		  }
		EOF
	)
	printf '{\n%s\n}\n' "$network" >"$SCRATCH/tunnel.json"
	cat >"$SCRATCH/terminate.json" <<-EOF
	{
	$network,
	  "credentials": {
	    "secrets": [{
	      "name": "bench",
	      "from": { "env": "API_KEY" },
	      "hosts": ["$ORIGIN_NAME:$HTTPS_PORT"],
	      "use": "inject",
	      "header": "Authorization",
	      "scheme": "bearer"
	    }]
	  }
	}
	EOF
}

# mitmdump's addon: the same header on every request, from the same
# environment variable the gateway reads.
write_mitm_addon() {
	cat >"$SCRATCH/mitm-inject.py" <<-'EOF'
	import os

	VALUE = "Bearer " + os.environ["API_KEY"]


	def request(flow):
	    flow.request.headers["Authorization"] = VALUE
	EOF
}

# mitmdump in reverse mode in front of the origin: it accepts TLS from the
# client with a leaf from its own CA (kept in the scratch folder), and
# verifies the origin against the run's CA. Sets MITM_PORT.
start_mitmproxy() {
	MITM_PORT=$(free_port)
	start_server mitmproxy "$MITMDUMP" -q \
		--mode "reverse:https://127.0.0.1:$HTTPS_PORT" \
		--listen-host 127.0.0.1 --listen-port "$MITM_PORT" \
		--set "confdir=$SCRATCH/mitmproxy" \
		--set "ssl_verify_upstream_trusted_ca=$SCRATCH/origin/ca.pem" \
		-s "$SCRATCH/mitm-inject.py"
	wait_port "$STARTED_PID" "$MITM_PORT"
}

# The files the clients need, in the workspace, so that they are seen
# inside the sandbox as well.
write_client_files() {
	# Prints wrk's own summary as one JSON line at the end.
	cat >"$WS/report.lua" <<-'EOF'
	function done(summary, latency, requests)
	    local e = summary.errors
	    io.write(string.format(
	        '{"requests": %d, "duration_us": %d, "p50_us": %d, '
	        .. '"p99_us": %d, "connect": %d, "read": %d, "write": %d, '
	        .. '"status": %d, "timeout": %d}\n',
	        summary.requests, summary.duration,
	        latency:percentile(50), latency:percentile(99),
	        e.connect, e.read, e.write, e.status, e.timeout))
	end
	EOF

	# An untimed warm-up, then the measured run, in one sandbox, so
	# that both meet the same gateway.
	cat >"$WS/load.sh" <<-'EOF'
	#!/bin/sh
	# load.sh WARMUP_S THREADS CONNECTIONS DURATION_S URL [wrk options]
	warmup=$1 threads=$2 connections=$3 duration=$4 url=$5
	shift 5
	wrk -t"$threads" -c"$connections" -d"${warmup}s" "$@" "$url" \
	    >/dev/null || exit
	exec wrk -t"$threads" -c"$connections" -d"${duration}s" --latency \
	    -s report.lua "$@" "$url"
	EOF
	chmod 0755 "$WS/load.sh"

	write_connect_client
}

# Opens new connections one after another, each with a full TLS handshake
# (no session is resumed) and one request, and prints the times as JSON:
# to the end of the handshake, and to the end of the response.
# The first ones are not timed. The peer's certificate is saved for the
# notes; it is not checked.
write_connect_client() {
	cat >"$WS/connects.py" <<-'EOF'
	import json, socket, ssl, sys, time

	host, port, count, warmup, out = sys.argv[1:6]
	auth = sys.argv[6] if len(sys.argv) > 6 else ""
	port, count, warmup = int(port), int(count), int(warmup)
	# Outside a sandbox the name is not known; inside, the DNS stub
	# answers it. Either way it is looked up once, before any timing.
	addr = "127.0.0.1" if host == "127.0.0.1" else \
	    socket.getaddrinfo(host, port, socket.AF_INET)[0][4][0]
	sni = host if host != "127.0.0.1" else "api.test"

	ctx = ssl.create_default_context()
	ctx.check_hostname = False
	ctx.verify_mode = ssl.CERT_NONE
	head = f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\n"
	if auth:
	    head += f"Authorization: {auth}\r\n"
	request = (head + "Connection: close\r\n\r\n").encode()

	def one():
	    t0 = time.perf_counter()
	    raw = socket.create_connection((addr, port), timeout=10)
	    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
	    tls = ctx.wrap_socket(raw, server_hostname=sni)
	    t1 = time.perf_counter()
	    tls.sendall(request)
	    reply = b""
	    while True:
	        chunk = tls.recv(4096)
	        if not chunk:
	            break
	        reply += chunk
	    t2 = time.perf_counter()
	    facts = (tls.version(), tls.cipher()[0],
	             tls.getpeercert(binary_form=True))
	    tls.close()
	    status = reply.split(b"\r\n", 1)[0]
	    if b" 200 " not in status + b" ":
	        raise SystemExit(f"origin said: {status[:80]!r}")
	    return (t1 - t0) * 1e3, (t2 - t0) * 1e3, facts

	for _ in range(warmup):
	    one()
	setup, first = [], []
	for _ in range(count):
	    s, f, facts = one()
	    setup.append(s)
	    first.append(f)
	with open(out, "wb") as f:
	    f.write(facts[2])
	print(json.dumps({"tls": f"{facts[0]} {facts[1]}",
	                  "setup_ms": setup, "first_ms": first}))
	EOF
}

# Runs the client command "$@" the way row $1 reaches the origin: the
# sandbox rows inside `airlock run` with their policy, the others as is.
run_via() {
	local label=$1 limit=$2
	local -a audit=()

	shift 2
	[[ -n $AUDIT ]] && audit=(--audit "$AUDIT")
	case $label in
	tunnel | terminate)
		run_limited "$limit" "$AIRLOCK_COPY" run --no-user-settings \
			--settings "$SCRATCH/$label.json" "${audit[@]}" -- "$@"
		;;
	*)
		run_limited "$limit" "$@"
		;;
	esac
}

# Where row $1's clients point, as "HOST PORT": the origin itself from
# outside, api.test from inside a sandbox, mitmproxy's port for its row.
target_of() {
	case $1 in
	direct) echo "127.0.0.1 $HTTPS_PORT" ;;
	mitmproxy) echo "127.0.0.1 $MITM_PORT" ;;
	*) echo "$ORIGIN_NAME $HTTPS_PORT" ;;
	esac
}

# The header the client sends itself: only where no proxy adds it.
client_auth() {
	case $1 in
	direct | tunnel) echo "Bearer $API_KEY" ;;
	*) echo "" ;;
	esac
}

# One untimed request with curl, which must come back 200: in the rows
# that inject, that proves the header was added. Sets PROBE_ERROR.
probe_row() {
	local label=$1 host port auth code status=0
	local -a cmd=(curl -sS -k --noproxy '*' -o /dev/null -w '%{http_code}')

	read -r host port < <(target_of "$label")
	auth=$(client_auth "$label")
	[[ -n $auth ]] && cmd+=(-H "Authorization: $auth")
	[[ $label == direct ]] && cmd+=(-H "Host: $ORIGIN_NAME:$port")

	code=$(run_via "$label" 60 "${cmd[@]}" "https://$host:$port/" \
		2>"$SCRATCH/probe-$label.err") || status=$?
	if [[ $status -ne 0 ]]; then
		PROBE_ERROR="curl exit $status: $(first_words \
			"$SCRATCH/probe-$label.err")"
		return 1
	fi
	if [[ $code != 200 ]]; then
		PROBE_ERROR="the origin answered $code, not 200"
		[[ $code == 401 ]] &&
			PROBE_ERROR+=" (no credential reached it)"
		return 1
	fi
	log "$label: probe answered 200"
}

# Every row runs the same airlock, even while a new one is being built:
# the binary is copied into the scratch folder first. Sets AIRLOCK_COPY,
# or AIRLOCK_MISSING to say why not.
copy_airlock() {
	if [[ ! -x $AIRLOCK ]]; then
		AIRLOCK_MISSING="not found at $AIRLOCK (build it: ninja -C build)"
	elif ! cp -- "$AIRLOCK" "$SCRATCH/airlock" 2>/dev/null; then
		AIRLOCK_MISSING="$AIRLOCK could not be copied"
	else
		AIRLOCK_COPY=$SCRATCH/airlock
	fi
}

# The rows of the table, in order: label and name shown. Each row that is
# available goes into ROWS; unavailable ones are recorded as skipped.
start_rows() {
	local version

	ROWS=(direct)
	add_row direct "no proxy" ok ""

	if [[ -z $AIRLOCK_COPY ]]; then
		add_row tunnel "airlock, opaque tunnel" skipped \
			"$AIRLOCK_MISSING"
		add_row terminate "airlock, terminate + inject" skipped \
			"$AIRLOCK_MISSING"
	else
		add_row tunnel "airlock, opaque tunnel" ok ""
		add_row terminate "airlock, terminate + inject" ok ""
		ROWS+=(tunnel terminate)
	fi

	if ! command -v "$MITMDUMP" >/dev/null; then
		add_row mitmproxy "mitmproxy, terminate + inject" skipped \
			"mitmdump not installed (apt-get install -y mitmproxy)"
		return 0
	fi
	version=$("$MITMDUMP" --version 2>/dev/null |
		awk '/^Mitmproxy:/ {print $2; exit}')
	if start_mitmproxy; then
		add_row mitmproxy "mitmproxy $version, terminate + inject" ok ""
		ROWS+=(mitmproxy)
	else
		add_row mitmproxy "mitmproxy $version, terminate + inject" \
			skipped "did not start: $(first_words \
			"$SCRATCH/mitmproxy.log")"
	fi
}

# Drops the rows whose probe fails, keeping them in the table with the
# reason.
probe_rows() {
	local label
	local -a kept=()

	for label in "${ROWS[@]}"; do
		PROBE_ERROR=
		if probe_row "$label"; then
			kept+=("$label")
		else
			add_failure "$label" probe "$PROBE_ERROR"
		fi
	done
	ROWS=("${kept[@]}")
}

# One wrk run of row $1 in round $2; a failure is recorded.
rate_once() {
	local label=$1 round=$2 host port auth status=0
	local out=$SCRATCH/wrk-$label-$round
	local -a opts=()

	read -r host port < <(target_of "$label")
	auth=$(client_auth "$label")
	[[ -n $auth ]] && opts+=(-H "Authorization: $auth")
	[[ $label == direct ]] && opts+=(-H "Host: $ORIGIN_NAME:$port")

	log "round $round: wrk through $label for ${WARMUP}s + ${DURATION}s"
	run_via "$label" "$(wrk_limit_s)" ./load.sh "$WARMUP" "$THREADS" \
		"$CONNECTIONS" "$DURATION" "https://$host:$port/" "${opts[@]}" \
		>"$out.txt" 2>"$out.err" || status=$?
	if [[ $status -ne 0 ]] || ! grep '^{' "$out.txt" >"$out.json"; then
		add_failure "$label" rate \
			"wrk exit $status: $(first_words "$out.err")"
		return 1
	fi
	# wrk's own words, in case the JSON line and its summary disagree.
	if grep -Eq 'Non-2xx|Socket errors' "$out.txt"; then
		add_failure "$label" rate "$(grep -Eh 'Non-2xx|Socket errors' \
			"$out.txt" | sed 's/^ *//' | tr '\n' ' ')"
		rm -f -- "$out.json"
		return 1
	fi
}

# CONNECTS new connections through row $1 in round $2.
connect_once() {
	local label=$1 round=$2 host port status=0
	local out=$SCRATCH/connect-$label-$round

	read -r host port < <(target_of "$label")
	log "round $round: $CONNECTS new connections through $label"
	run_via "$label" "$(connects_limit_s)" "$PYTHON" connects.py \
		"$host" "$port" "$CONNECTS" "$CONNECT_WARMUP" \
		"leaf-$label.der" "$(client_auth "$label")" \
		>"$out.json" 2>"$out.err" || status=$?
	if [[ $status -ne 0 ]]; then
		add_failure "$label" connect "client exit $status: $(tail -n 1 \
			"$out.err" | head -c 300)"
		rm -f -- "$out.json"
		return 1
	fi
}

# Each round starts one row later than the one before, so that no row is
# always first. A row that fails once is not tried again.
measure_rows() {
	local round i label n=${#ROWS[@]}
	local -A broken=()

	for ((round = 1; round <= ROUNDS; round++)); do
		for ((i = 0; i < n; i++)); do
			label=${ROWS[(round - 1 + i) % n]}
			[[ -n ${broken[$label-rate]:-} ]] ||
				rate_once "$label" "$round" ||
				broken[$label-rate]=1
			[[ -n ${broken[$label-connect]:-} ]] ||
				connect_once "$label" "$round" ||
				broken[$label-connect]=1
		done
	done
}

# What the client of row $1 was shown as the server's certificate: its key
# (the server signs with it in every full handshake) and its issuer, from
# the DER file the connection client left.
leaf_summary() {
	local der=$WS/leaf-$1.der key issuer

	[[ -s $der ]] || return 0
	key=$(openssl x509 -inform DER -in "$der" -noout -text 2>/dev/null |
		awk '/NIST CURVE:/ { curve = $NF }
		     /Public-Key: \(/ { bits = $2 }
		     /Public Key Algorithm:/ { alg = $NF }
		     END {
			if (curve != "") print "EC " curve
			else if (alg == "rsaEncryption") print "RSA " bits
			else print alg
		     }' | tr -d '(')
	issuer=$(openssl x509 -inform DER -in "$der" -noout -issuer \
		2>/dev/null | sed 's/^issuer= *//')
	printf '%s: %s, issued by %s\n' "$1" "$key" "$issuer"
}

# Facts about the machine that the numbers depend on, one per line.
write_host_notes() {
	local label airlock_version=missing mitm_version=missing

	[[ -n $AIRLOCK_COPY ]] && airlock_version="$("$AIRLOCK_COPY" \
		--version), sha256 $(sha256sum "$AIRLOCK_COPY" | cut -c1-12)"
	command -v "$MITMDUMP" >/dev/null && mitm_version=$("$MITMDUMP" \
		--version 2>/dev/null | awk '/^Mitmproxy:/ {print $2; exit}')

	{
		machine_lines ""
		echo "airlock: $airlock_version ($AIRLOCK)," \
			"audit log: ${AUDIT:-default, in the scratch folder}"
		echo "mitmproxy: $mitm_version (mitmdump -q, reverse mode)"
		echo "Origin: $(nginx -v 2>&1 | sed 's/^nginx version: //')," \
			"1 worker, EC P-256 certificate"
		echo "Clients: wrk $(wrk -v 2>&1 | awk '{print $2; exit}')," \
			"Python $("$PYTHON" -c 'import platform, ssl
print(platform.python_version(), "with", ssl.OPENSSL_VERSION)')"
		echo "Settings: ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP" \
			"CONNECTIONS=$CONNECTIONS THREADS=$THREADS" \
			"CONNECTS=$CONNECTS"
		echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)"
	} >"$SCRATCH/host.txt"
	for label in "${ROWS[@]}"; do
		leaf_summary "$label"
	done >"$SCRATCH/leaves.txt"
}

# Reads the raw files, prints the table and the targets, and exits 1 when
# a target is missed or cannot be checked.
report() {
	"$PYTHON" - "$SCRATCH" "$CONNECT_WARMUP" "$ROUNDS" <<-'EOF'
	import json, os, statistics, sys

	scratch, warmup, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])

	def path(name):
	    return os.path.join(scratch, name)

	def lines(name):
	    if not os.path.exists(path(name)):
	        return []
	    with open(path(name)) as f:
	        return [l.rstrip("\n").split("\t") for l in f if l.strip()]

	def last_json(name):
	    if not os.path.exists(path(name)):
	        return None
	    with open(path(name)) as f:
	        found = [l for l in f.read().splitlines() if l.startswith("{")]
	    return json.loads(found[-1]) if found else None

	rows = [dict(zip(("label", "name", "status", "note"), r))
	        for r in lines("rows.tsv")]
	failed = {}
	for label, what, note in lines("failed.tsv"):
	    failed.setdefault((label, what), note)

	# A row has a rate only when every round gave one, and each is the
	# median over the rounds.
	def rate_of(label):
	    found = []
	    for n in range(1, rounds + 1):
	        r = last_json(f"wrk-{label}-{n}.json")
	        if r is None:
	            return None
	        # Every request must have been answered 200 on the
	        # connection it was sent on: a 401 is a missing header.
	        errors = (r["status"] + r["connect"] + r["read"]
	                  + r["write"] + r["timeout"])
	        if r["requests"] == 0 or errors:
	            failed.setdefault((label, "rate"),
	                              f"{errors} errors in {r['requests']} "
	                              f"requests in round {n}")
	            return None
	        r["rate"] = r["requests"] / (r["duration_us"] / 1e6)
	        found.append(r)
	    return {key: statistics.median(r[key] for r in found)
	            for key in ("rate", "p50_us", "p99_us")}

	# New connections: the samples of all rounds together.
	def connects_of(label):
	    setup, first, tls = [], [], None
	    for n in range(1, rounds + 1):
	        c = last_json(f"connect-{label}-{n}.json")
	        if c is None:
	            return None
	        setup += c["setup_ms"]
	        first += c["first_ms"]
	        tls = c["tls"]
	    return {"tls": tls, "count": len(first),
	            "setup_ms": statistics.median(setup),
	            "first_ms": statistics.median(first),
	            "first_p90_ms": statistics.quantiles(first, n=10)[-1]}

	rates, connects = {}, {}
	for row in rows:
	    r, c = rate_of(row["label"]), connects_of(row["label"])
	    if r is not None:
	        rates[row["label"]] = r
	    if c is not None:
	        connects[row["label"]] = c

	def cell_failed(label, what):
	    why = failed.get((label, what), "no result")
	    return "failed: " + why.replace("|", "\\|")

	mitm = rates.get("mitmproxy")
	direct_c = connects.get("direct")
	print("| Path | Requests/s | Ratio to mitmproxy | p50 (ms) "
	      "| p99 (ms) | New connection (ms) | Added (ms) |")
	print("|---|--:|--:|--:|--:|--:|--:|")
	for row in rows:
	    label, name = row["label"], row["name"]
	    status, note = row["status"], row["note"]
	    if (label, "probe") in failed:
	        status, note = "failed", failed[(label, "probe")]
	    if status != "ok":
	        note = note.replace("|", "\\|")
	        print(f"| {name} | {status}: {note} | - | - | - | - | - |")
	        continue
	    r, c = rates.get(label), connects.get(label)
	    if r is None:
	        cells = [cell_failed(label, "rate"), "-", "-", "-"]
	    else:
	        ratio = f"{r['rate'] / mitm['rate']:.1f}x" if mitm else "n/a"
	        cells = [f"{r['rate']:.0f}", ratio,
	                 f"{r['p50_us'] / 1000:.2f}",
	                 f"{r['p99_us'] / 1000:.2f}"]
	    if c is None:
	        cells += [cell_failed(label, "connect"), "-"]
	    else:
	        added = "-"
	        if direct_c and label != "direct":
	            added = f"{c['first_ms'] - direct_c['first_ms']:+.2f}"
	        cells += [f"{c['first_ms']:.2f}", added]
	    print(f"| {name} | " + " | ".join(cells) + " |")

	print()
	print(f"Medians over {rounds} rounds. Requests/s, p50, p99: wrk, "
	      "GET / answered with")
	print("3 bytes, on keep-alive HTTPS connections, after an untimed "
	      "warm-up against")
	print("the same proxy. The origin answers 401 without the bearer "
	      "token: the first")
	print("two rows send it themselves, the last two have it added. New "
	      "connection: time")
	print("from connect() to the whole response of one request on a new "
	      "TLS connection")
	print(f"(full handshake, no resumption), after {warmup} untimed ones "
	      "per round that")
	print("make the leaf certificate. Added: that median minus the "
	      "no-proxy row's.")
	print()
	print("| Path | TLS the client got | New connections "
	      "| Connect + handshake (ms) | New connection p90 (ms) |")
	print("|---|---|--:|--:|--:|")
	for row in rows:
	    c = connects.get(row["label"])
	    if c:
	        print(f"| {row['name']} | {c['tls']} | {c['count']} "
	              f"| {c['setup_ms']:.2f} | {c['first_p90_ms']:.2f} |")

	print()
	print("Targets:")
	missed = False

	def target(text, ok, detail):
	    global missed
	    if ok is None:
	        print(f"- {text}: not checked ({detail})")
	        missed = True
	        return
	    print(f"- {text}: {'met' if ok else 'MISSED'} ({detail})")
	    missed = missed or not ok

	a = rates.get("terminate")
	text = "airlock terminate + inject requests/s >= 50x mitmproxy's"
	if a is None or mitm is None:
	    who = "airlock terminate + inject" if a is None else "mitmproxy"
	    target(text, None, f"{who} not measured")
	else:
	    target(text, a["rate"] >= 50 * mitm["rate"],
	           f"{a['rate'] / mitm['rate']:.1f}x")

	t, o = connects.get("terminate"), connects.get("tunnel")
	text = ("new TLS connection through termination adds < 2 ms at the "
	        "median over the opaque tunnel")
	if t is None or o is None:
	    who = "airlock terminate + inject" if t is None else "the tunnel"
	    target(text, None, f"{who} not measured")
	else:
	    added = t["first_ms"] - o["first_ms"]
	    detail = f"{added:+.2f} ms"
	    if direct_c:
	        detail += (f"; {t['first_ms'] - direct_c['first_ms']:+.2f} ms "
	                   "over no proxy")
	    target(text, added < 2, detail)

	print()
	print("Machine:")
	with open(path("host.txt")) as f:
	    for line in f:
	        print(f"- {line.rstrip()}")
	with open(path("leaves.txt")) as f:
	    for line in f:
	        print(f"- Certificate seen by the client, {line.rstrip()}")
	sys.exit(1 if missed else 0)
	EOF
}

# Keeps the raw numbers and the table under RESULTS_DIR, one folder a run.
keep_results() {
	local dest f

	[[ -n $RESULTS_DIR ]] || return 0
	dest=$RESULTS_DIR/credentials-$(date -u +%Y%m%dT%H%M%SZ)
	mkdir -p "$dest"
	for f in rows.tsv failed.tsv host.txt leaves.txt table.md \
		tunnel.json terminate.json mitm-inject.py \
		"$SCRATCH"/wrk-*.txt "$SCRATCH"/wrk-*.json \
		"$SCRATCH"/connect-*.json "$SCRATCH"/wrk-*.err; do
		[[ $f == /* ]] || f=$SCRATCH/$f
		[[ -e $f ]] && cp -- "$f" "$dest/"
	done
	log "raw numbers kept in $dest"
}

main() {
	local status=0

	check_setup
	trap cleanup EXIT
	trap on_signal INT TERM HUP

	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/airlock-bench.XXXXXX")
	# airlock keeps its CA, audit log and run records in the state
	# folder: used as users run it, but kept in the scratch folder.
	export XDG_STATE_HOME=$SCRATCH/state
	# The sandbox's user must pass through to the workspace.
	chmod 0755 "$SCRATCH"
	WS=$SCRATCH/workspace
	mkdir -p "$WS" "$SCRATCH/origin" "$SCRATCH/mitmproxy"
	: >"$SCRATCH/rows.tsv"
	: >"$SCRATCH/failed.tsv"
	# The secret that the gateway and mitmproxy add, and the origin
	# wants; a throwaway for this run.
	API_KEY=bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	export API_KEY
	# The sandbox sees its own /tmp; the workspace is shared.
	cd -- "$WS"

	copy_airlock
	start_origin
	write_airlock_settings
	write_mitm_addon
	write_client_files

	start_rows
	probe_rows
	measure_rows

	write_host_notes
	report >"$SCRATCH/table.md" || status=$?
	cat -- "$SCRATCH/table.md"
	keep_results
	return "$status"
}

main "$@"
