#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The gateway's cost on the wire, measured in one run beside the proxies it
# replaces: a bulk HTTPS download through a CONNECT tunnel, the rate of
# small plain-HTTP requests (wrk, with p50 and p99 latency), and the
# gateway's peak memory while 1000 tunnels stay open. Rows: no proxy,
# `airlock gateway --listen`, airlock from inside `airlock run`, tinyproxy,
# squid, and sandbox-runtime (srt) from inside its sandbox. Prints a
# Markdown table on stdout, the targets under it, progress on stderr.
#
# Everything runs on loopback against an nginx origin that the script
# starts. The name web.test is pinned to 127.0.0.1 by each tool's own means
# (airlock's network.hosts, squid's hosts_file, curl's --resolve); tinyproxy
# and srt have none, so they run in a private mount namespace whose
# /etc/hosts is a scratch file. The machine's /etc/hosts is never changed.
#
# Starts nothing that outlives it: every step has a time limit, servers are
# stopped by pid, and on exit or interrupt every process still carrying
# this run's token in its environment is ended.
#
# Settings (environment):
#   AIRLOCK=path       airlock binary (default: build/airlock in the repo)
#   RUNS=N             bulk downloads per row; the median counts (default 5)
#   BULK_MIB=N         size of the downloaded file in MiB (default 1024)
#   DURATION=N         seconds of wrk per row (default 10)
#   CONNECTIONS=N      wrk connections (default 50)
#   THREADS=N          wrk threads (default: the number of CPUs)
#   TUNNELS=N          tunnels held open for the memory figure (default 1000)
#   RESULTS_DIR=path   where raw numbers are kept (default bench/results;
#                      empty: keep none)
#   SRT=path           an srt to use instead of the cached npm install
#   SRT_INSTALL=0      do not install srt into bench/.cache when it is missing
#
# Exit status: 0 measured and every target met, 1 a target missed or not
# checkable (its row unmeasured), 2 a bad setting or a required tool missing.

set -euo pipefail

BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
REPO_DIR=$(dirname -- "$BENCH_DIR")
CACHE_DIR=$BENCH_DIR/.cache
SRT_PACKAGE=@anthropic-ai/sandbox-runtime
PYTHON=/usr/bin/python3
NPM_TIMEOUT_S=300
KILL_GRACE_S=5
READY_TIMEOUT_S=15
ORIGIN_NAME=web.test

AIRLOCK=${AIRLOCK:-$REPO_DIR/build/airlock}
RUNS=${RUNS:-5}
BULK_MIB=${BULK_MIB:-1024}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-$(nproc)}
TUNNELS=${TUNNELS:-1000}
RESULTS_DIR=${RESULTS_DIR-$BENCH_DIR/results}
SRT=${SRT:-}
SRT_INSTALL=${SRT_INSTALL:-1}

# Every process this run starts inherits the token; cleanup looks for it.
BENCH_TOKEN=airlock-bench-$$-$RANDOM$RANDOM
export AIRLOCK_BENCH_TOKEN=$BENCH_TOKEN

SCRATCH=
WS=
CHILD_PID=
SERVER_PIDS=()
SRT_PATH=
SRT_MISSING=

# Progress goes to the stderr the script was started with, kept on its own
# descriptor: a trap can run while a step has fd 2 pointed at a file.
exec {LOG_FD}>&2

log() {
	printf 'gateway.sh: %s\n' "$*" >&"$LOG_FD"
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

# Seconds one download may take: a minute of start-up and slack, plus the
# file at a floor of 10 MB/s, so that only a stuck transfer is cut off.
bulk_limit_s() {
	echo $((60 + BULK_MIB / 10))
}

wrk_limit_s() {
	echo $((60 + 2 * DURATION))
}

# The longest the whole run can last; servers get it as their own limit,
# so that even a killed script leaves nothing running for long.
server_limit_s() {
	echo $((600 + 6 * (RUNS * $(bulk_limit_s) + $(wrk_limit_s) + 120)))
}

# The gateway holds two sockets per tunnel and the holding client one, so
# the soft limit on open files is raised as far as the hard one allows.
raise_open_files() {
	local need=$((2 * TUNNELS + 512))
	local hard

	hard=$(ulimit -Hn)
	if [[ $hard != unlimited && $hard -lt $need ]]; then
		die_usage "TUNNELS=$TUNNELS needs $need open files, but the" \
			"hard limit is $hard (raise it, or lower TUNNELS)"
	fi
	if [[ $(ulimit -Sn) != unlimited && $(ulimit -Sn) -lt $need ]]; then
		ulimit -Sn "$need"
	fi
}

check_setup() {
	local tool

	check_count RUNS "$RUNS"
	check_count BULK_MIB "$BULK_MIB"
	check_count DURATION "$DURATION"
	check_count CONNECTIONS "$CONNECTIONS"
	check_count THREADS "$THREADS"
	check_count TUNNELS "$TUNNELS"
	[[ $THREADS -le $CONNECTIONS ]] ||
		die_usage "THREADS ($THREADS) must not exceed" \
			"CONNECTIONS ($CONNECTIONS)"

	for tool in curl wrk nginx openssl timeout pgrep "$PYTHON"; do
		command -v "$tool" >/dev/null ||
			die_usage "required tool '$tool' not found" \
				"(apt-get install -y curl wrk nginx-light openssl" \
				"procps python3)"
	done

	raise_open_files
	AIRLOCK=$(absolute_path "$AIRLOCK")
	[[ -z $SRT ]] || SRT=$(absolute_path "$SRT")
	[[ -z $RESULTS_DIR ]] || RESULTS_DIR=$(absolute_path "$RESULTS_DIR")
}

# Records why one measurement (bulk or rate) of a row has no number.
add_failure() {
	local label=$1 what=$2 note=$3

	note=${note//[$'\t\n']/ }
	log "$label: $what failed: $note"
	printf '%s\t%s\t%s\n' "$label" "$what" "$note" >>"$SCRATCH/failed.tsv"
}

# The command prefix that runs a program in a private mount namespace
# whose /etc/hosts is our scratch file, for the tools that resolve names
# only through the system. As a normal user this needs an unprivileged
# user namespace. Sets HOSTS_NS.
init_hosts_ns() {
	HOSTS_NS=(unshare --mount --propagation private)
	[[ $(id -u) -eq 0 ]] || HOSTS_NS=(unshare --map-root-user --mount \
		--propagation private)
	# shellcheck disable=SC2016 # the inner shell expands these
	HOSTS_NS+=(-- /bin/sh -c 'mount --bind "$0" /etc/hosts && exec "$@"'
		"$SCRATCH/hosts")
}

# The pid of the program that start_server runs under timeout, for reading
# its memory. Prints nothing when it has already gone.
server_child() {
	pgrep -P "$1" | head -n 1
}

# A self-signed certificate for web.test: clients skip verification (-k),
# since trust is not what is measured, but the name is still sent as SNI.
make_certificate() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 2 -subj "/CN=$ORIGIN_NAME" \
		-addext "subjectAltName=DNS:$ORIGIN_NAME" \
		-keyout "$SCRATCH/origin/key.pem" \
		-out "$SCRATCH/origin/cert.pem" 2>"$SCRATCH/openssl.log" ||
		die_usage "openssl could not make a certificate:" \
			"$(first_words "$SCRATCH/openssl.log")"
}

# nginx serves a sparse file of BULK_MIB MiB over HTTPS and a tiny body
# over plain HTTP. Workers may drop to another user, so the files they
# serve must be readable by everyone.
start_origin() {
	local o=$SCRATCH/origin

	mkdir -p "$o/www" "$o/tmp"
	truncate -s "${BULK_MIB}M" "$o/www/big"
	printf 'ok\n' >"$o/www/small"
	make_certificate
	HTTP_PORT=$(free_port)
	HTTPS_PORT=$(free_port)

	{
	nginx_conf_head "$o" $((2 * TUNNELS + 2048)) \
		"worker_rlimit_nofile $((4 * TUNNELS + 4096));"
	cat <<-EOF
	    sendfile on;
	    keepalive_requests 1000000;
	    default_type application/octet-stream;
	    server {
	        listen 127.0.0.1:$HTTP_PORT;
	        root $o/www;
	    }
	    server {
	        listen 127.0.0.1:$HTTPS_PORT ssl;
	        ssl_protocols TLSv1.2 TLSv1.3;
	        ssl_certificate $o/cert.pem;
	        ssl_certificate_key $o/key.pem;
	        root $o/www;
	    }
	}
	EOF
	} >"$o/nginx.conf"

	log "starting nginx on 127.0.0.1:$HTTP_PORT (http)" \
		"and :$HTTPS_PORT (https)"
	start_server nginx nginx -p "$o" -c "$o/nginx.conf" -e "$o/error.log"
	wait_port "$STARTED_PID" "$HTTPS_PORT" ||
		die_usage "nginx did not start: $(first_words "$o/error.log")" \
			"$(first_words "$SCRATCH/nginx.log")"
}

# The policy every airlock row uses: web.test on the two origin ports,
# pinned to 127.0.0.1, which allowAddresses names because the address
# check refuses loopback otherwise.
write_airlock_settings() {
	cat >"$WS/airlock.json" <<-EOF
	{
	  "network": {
	    "allowedDomains": ["$ORIGIN_NAME:$HTTP_PORT",
	                       "$ORIGIN_NAME:$HTTPS_PORT"],
	    "hosts": { "$ORIGIN_NAME": "127.0.0.1" },
	    "allowAddresses": ["127.0.0.1"]
	  }
	}
	EOF
}

# Starts `airlock gateway --listen` on a free port. Sets STARTED_PID and
# STARTED_PORT.
start_gateway() {
	local name=$1

	STARTED_PORT=$(free_port)
	start_server "$name" "$AIRLOCK" gateway --no-user-settings \
		--settings "$WS/airlock.json" \
		--listen "127.0.0.1:$STARTED_PORT"
	wait_port "$STARTED_PID" "$STARTED_PORT"
}

# tinyproxy as shipped, but bound to loopback, allowing us, and logging
# only warnings (no tool in this run logs each request).
start_tinyproxy() {
	TINYPROXY_PORT=$(free_port)
	cat >"$SCRATCH/tinyproxy.conf" <<-EOF
	Port $TINYPROXY_PORT
	Listen 127.0.0.1
	Allow 127.0.0.1
	LogLevel Warning
	EOF
	start_server tinyproxy "${HOSTS_NS[@]}" tinyproxy -d \
		-c "$SCRATCH/tinyproxy.conf"
	wait_port "$STARTED_PID" "$TINYPROXY_PORT"
}

# squid as shipped, but bound to loopback, caching nothing, with no access
# log and no pinger helper. DNS is pointed at loopback so that nothing can
# leave the machine; web.test comes from our hosts file. squid drops to its
# own user, which must be able to write its log folder.
start_squid() {
	local d=$SCRATCH/squid

	mkdir -p "$d"
	chmod 1777 "$d"
	SQUID_PORT=$(free_port)
	cat >"$d/squid.conf" <<-EOF
	http_port 127.0.0.1:$SQUID_PORT
	pid_filename none
	cache_log $d/cache.log
	access_log none
	cache_store_log none
	cache deny all
	coredump_dir $d
	netdb_filename none
	pinger_enable off
	hosts_file $SCRATCH/hosts
	dns_nameservers 127.0.0.1
	acl bench_client src 127.0.0.1/32
	http_access allow bench_client
	http_access deny all
	shutdown_lifetime 1 seconds
	EOF
	start_server squid squid -N -f "$d/squid.conf"
	wait_port "$STARTED_PID" "$SQUID_PORT"
}

# srt refuses a name that resolves to loopback unless the address itself is
# allowed too, so both are listed, each on the two origin ports.
write_srt_settings() {
	cat >"$WS/srt.json" <<-EOF
	{
	  "network": {
	    "allowedDomains": ["$ORIGIN_NAME:$HTTP_PORT",
	                       "$ORIGIN_NAME:$HTTPS_PORT",
	                       "127.0.0.1:$HTTP_PORT", "127.0.0.1:$HTTPS_PORT"],
	    "deniedDomains": []
	  },
	  "filesystem": { "denyRead": [], "allowWrite": ["."],
	                  "denyWrite": [] }
	}
	EOF
}

# wrk speaks no proxy protocol. This script makes each request an
# absolute-URI one with the origin's Host, so that wrk can be pointed at a
# proxy, and prints wrk's own summary as one JSON line at the end.
write_wrk_files() {
	cat >"$WS/proxy.lua" <<-EOF
	wrk.path = "http://$ORIGIN_NAME:$HTTP_PORT/small"
	wrk.headers["Host"] = "$ORIGIN_NAME:$HTTP_PORT"

	local auth = os.getenv("BENCH_PROXY_AUTH")
	if auth and auth ~= "" then
	    wrk.headers["Proxy-Authorization"] = "Basic " .. auth
	end

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

	# Inside a sandbox the proxy is known only from http_proxy, and srt
	# puts credentials into that URL; this turns it into wrk's target
	# and a Proxy-Authorization value. Without http_proxy, wrk goes to
	# the origin itself.
	cat >"$WS/wrk-proxy.py" <<-'EOF'
	import base64, os, sys, urllib.parse

	origin, script, args = sys.argv[1], sys.argv[2], sys.argv[3:]
	target = origin
	proxy = os.environ.get("http_proxy") or os.environ.get("HTTP_PROXY")
	if proxy:
	    url = urllib.parse.urlsplit(proxy)
	    target = f"http://{url.hostname}:{url.port or 80}"
	    if url.username is not None:
	        user = urllib.parse.unquote(url.username)
	        secret = urllib.parse.unquote(url.password or "")
	        token = base64.b64encode(f"{user}:{secret}".encode())
	        os.environ["BENCH_PROXY_AUTH"] = token.decode()
	os.execvp("wrk", ["wrk", *args, "-s", script, target])
	EOF
}

# Holds TUNNELS tunnels open through the gateway at the given port: each
# one is a CONNECT to the HTTPS origin, a TLS handshake and one request,
# so every tunnel has carried bytes both ways. Then it reads the gateway's
# memory from /proc and prints it as JSON.
write_tunnel_holder() {
	cat >"$SCRATCH/hold-tunnels.py" <<-'EOF'
	import json, socket, ssl, sys, time

	port, host, origin_port, count, pid = sys.argv[1:6]
	port, origin_port, count = int(port), int(origin_port), int(count)

	def memory_kib():
	    fields = {}
	    with open(f"/proc/{pid}/status") as f:
	        for line in f:
	            key, _, value = line.partition(":")
	            if key in ("VmHWM", "VmRSS"):
	                fields[key] = int(value.split()[0])
	    return fields

	def open_tunnel(ctx):
	    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
	    target = f"{host}:{origin_port}"
	    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"
	                 .encode())
	    head = b""
	    while b"\r\n\r\n" not in head:
	        chunk = sock.recv(4096)
	        if not chunk:
	            raise RuntimeError(f"proxy closed: {head[:80]!r}")
	        head += chunk
	    if head.split(b" ", 2)[1:2] != [b"200"]:
	        raise RuntimeError(f"CONNECT refused: {head[:80]!r}")
	    tls = ctx.wrap_socket(sock, server_hostname=host)
	    tls.sendall(f"GET /small HTTP/1.1\r\nHost: {target}\r\n\r\n"
	                .encode())
	    reply = tls.recv(4096)
	    if b" 200 " not in reply.split(b"\r\n", 1)[0]:
	        raise RuntimeError(f"origin said: {reply[:80]!r}")
	    return tls

	ctx = ssl.create_default_context()
	ctx.check_hostname = False
	ctx.verify_mode = ssl.CERT_NONE

	before = memory_kib()
	start = time.monotonic()
	tunnels = [open_tunnel(ctx) for _ in range(count)]
	opened_s = time.monotonic() - start
	time.sleep(1)  # let the gateway settle before it is read
	held = memory_kib()
	for t in tunnels:
	    t.close()
	print(json.dumps({"tunnels": count, "open_s": round(opened_s, 2),
	                  "idle_hwm_kib": before["VmHWM"],
	                  "hwm_kib": held["VmHWM"], "rss_kib": held["VmRSS"]}))
	EOF
}

# The curl line for one bulk download; $@ are the proxy options, if any.
# The write-out gives the CONNECT status (000 when there was none), the
# bytes received and the average speed in bytes per second.
bulk_curl() {
	printf '%s\0' curl -sS -k -o /dev/null "$@" \
		-w '%{http_connect} %{size_download} %{speed_download}\n' \
		"https://$ORIGIN_NAME:$HTTPS_PORT/big"
}

# Runs the client command "$@" the way row $1 reaches the origin: outside
# rows run it as is (its proxy options are on the command line), sandbox
# rows run it inside the sandbox, where the proxy comes from the
# environment.
run_via() {
	local label=$1 limit=$2

	shift 2
	case $label in
	airlock-run)
		run_limited "$limit" "$AIRLOCK" run --no-user-settings \
			--settings "$WS/airlock.json" -- "$@"
		;;
	srt)
		# srt leaves its proxy's socket files in TMPDIR; ours is
		# in the scratch folder, so they go when it does.
		TMPDIR=$SCRATCH/srt-tmp run_limited "$limit" \
			"${HOSTS_NS[@]}" "$SRT_PATH" \
			--settings "$WS/srt.json" -- "$@"
		;;
	*)
		run_limited "$limit" "$@"
		;;
	esac
}

# The curl proxy options of an outside row; sandbox rows need none.
curl_proxy_args() {
	case $1 in
	direct)
		printf '%s\0' --noproxy '*' \
			--resolve "$ORIGIN_NAME:$HTTPS_PORT:127.0.0.1" \
			--resolve "$ORIGIN_NAME:$HTTP_PORT:127.0.0.1"
		;;
	gateway) printf '%s\0' --proxy "http://127.0.0.1:$GATEWAY_PORT" ;;
	tinyproxy) printf '%s\0' --proxy "http://127.0.0.1:$TINYPROXY_PORT" ;;
	squid) printf '%s\0' --proxy "http://127.0.0.1:$SQUID_PORT" ;;
	esac
}

# The http_proxy the wrk launcher sees for an outside row; sandbox rows
# bring their own, and the direct row has none.
wrk_proxy_env() {
	case $1 in
	gateway) echo "http://127.0.0.1:$GATEWAY_PORT" ;;
	tinyproxy) echo "http://127.0.0.1:$TINYPROXY_PORT" ;;
	squid) echo "http://127.0.0.1:$SQUID_PORT" ;;
	*) echo "" ;;
	esac
}

# One small request through the row, so that a row that cannot work is
# reported in its own words before anything is timed.
probe_row() {
	local label=$1 status=0
	local out=$SCRATCH/$label.probe
	local -a proxy

	mapfile -d '' -t proxy < <(curl_proxy_args "$label")
	run_via "$label" 120 curl -sS "${proxy[@]}" \
		"http://$ORIGIN_NAME:$HTTP_PORT/small" >"$out" 2>&1 ||
		status=$?
	if [[ $status -ne 0 || $(head -n 1 "$out") != ok ]]; then
		PROBE_ERROR="exit $status: $(first_words "$out")"
		return 1
	fi
}

# Downloads the big file once through row $1 (round $2) and appends the
# result to bulk.tsv: label, round, curl's exit, CONNECT status, bytes,
# bytes per second.
bulk_once() {
	local label=$1 round=$2 status=0 code bytes speed
	local out=$SCRATCH/bulk-$label-$round
	local -a cmd proxy

	mapfile -d '' -t proxy < <(curl_proxy_args "$label")
	mapfile -d '' -t cmd < <(bulk_curl "${proxy[@]}")
	run_via "$label" "$(bulk_limit_s)" "${cmd[@]}" >"$out.out" \
		2>"$out.err" || status=$?
	read -r code bytes speed <"$out.out" || true
	speed=${speed:-0}
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$round" "$status" \
		"${code:-?}" "${bytes:-0}" "${speed:-0}" >>"$SCRATCH/bulk.tsv"
	if [[ $status -ne 0 ]]; then
		# the warm-up (round 0) counts for nothing, not even failing
		[[ $round == 0 ]] || add_failure "$label" bulk \
			"curl exit $status: $(first_words "$out.err")"
		return 1
	fi
	log "  $label round $round: $((${speed%.*} / 1000000)) MB/s"
}

# One wrk run of DURATION seconds through row $1. wrk's report is kept
# whole; the JSON line from proxy.lua is what the table uses.
rate_once() {
	local label=$1 status=0 proxy
	local out=$SCRATCH/wrk-$label
	local -a cmd

	proxy=$(wrk_proxy_env "$label")
	cmd=("$PYTHON" "$WS/wrk-proxy.py" "http://127.0.0.1:$HTTP_PORT"
		"$WS/proxy.lua" -t "$THREADS" -c "$CONNECTIONS"
		-d "${DURATION}s" --latency)
	case $label in
	direct) cmd=(env -u http_proxy -u HTTP_PROXY "${cmd[@]}") ;;
	airlock-run | srt) ;;
	*) cmd=(env "http_proxy=$proxy" "${cmd[@]}") ;;
	esac

	log "wrk through $label for ${DURATION}s"
	run_via "$label" "$(wrk_limit_s)" "${cmd[@]}" >"$out.txt" \
		2>"$out.err" || status=$?
	if [[ $status -ne 0 ]] || ! grep '^{' "$out.txt" >"$out.json"; then
		add_failure "$label" rate \
			"wrk exit $status: $(first_words "$out.err")"
		return 1
	fi
}

# The rows of the table, in order: label and name shown. Each row that is
# available goes into ROWS; unavailable ones are recorded as skipped.
start_rows() {
	ROWS=(direct)
	add_row direct "no proxy (curl/wrk straight to nginx)" ok ""

	if [[ ! -x $AIRLOCK ]]; then
		add_row gateway "airlock gateway --listen" skipped \
			"not found at $AIRLOCK (build it: ninja -C build)"
		add_row airlock-run "airlock run (client inside)" skipped \
			"not found at $AIRLOCK"
	elif ! start_gateway gateway; then
		add_row gateway "airlock gateway --listen" skipped \
			"did not start: $(first_words "$SCRATCH/gateway.log")"
		add_row airlock-run "airlock run (client inside)" ok ""
		ROWS+=(airlock-run)
	else
		GATEWAY_PID=$STARTED_PID
		GATEWAY_PORT=$STARTED_PORT
		add_row gateway "airlock gateway --listen" ok ""
		add_row airlock-run "airlock run (client inside)" ok ""
		ROWS+=(gateway airlock-run)
	fi

	start_peer_rows
}

start_peer_rows() {
	local version

	if ! command -v tinyproxy >/dev/null; then
		add_row tinyproxy tinyproxy skipped \
			"not installed (apt-get install -y tinyproxy)"
	elif ! command -v unshare >/dev/null; then
		add_row tinyproxy tinyproxy skipped \
			"needs unshare (util-linux) for its hosts file"
	else
		version=$(tinyproxy -v 2>&1 | awk '{print $2; exit}')
		if start_tinyproxy; then
			add_row tinyproxy "tinyproxy $version" ok ""
			ROWS+=(tinyproxy)
		else
			add_row tinyproxy "tinyproxy $version" skipped \
				"did not start: $(first_words "$SCRATCH/tinyproxy.log")"
		fi
	fi

	if ! command -v squid >/dev/null; then
		add_row squid squid skipped \
			"not installed (apt-get install -y squid)"
	else
		version=$(squid -v | awk '/Version/ {print $NF; exit}')
		if start_squid; then
			add_row squid "squid $version" ok ""
			ROWS+=(squid)
		else
			add_row squid "squid $version" skipped \
				"did not start: $(first_words "$SCRATCH/squid/cache.log")"
		fi
	fi

	start_srt_row
}

start_srt_row() {
	local dep version

	if ! find_srt; then
		add_row srt srt skipped "$SRT_MISSING"
		return 0
	fi
	# On Linux srt wraps bwrap and relays its network through socat; it
	# also needs ripgrep to scan for files it must protect.
	for dep in bwrap socat rg unshare; do
		if ! command -v "$dep" >/dev/null; then
			add_row srt srt skipped "needs $dep, which is not installed"
			return 0
		fi
	done
	version=$(run_limited 60 "$SRT_PATH" --version 2>/dev/null || echo '?')
	add_row srt "srt $version (client inside)" ok ""
	ROWS+=(srt)
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
			log "$label does not work ($PROBE_ERROR); skipping it"
			add_failure "$label" bulk "does not work: $PROBE_ERROR"
			add_failure "$label" rate "does not work: $PROBE_ERROR"
		fi
	done
	ROWS=("${kept[@]}")
}

# Downloads in rounds, each round visiting every row once, so that a slow
# spell of the machine falls on all rows alike; each round starts one row
# later than the one before, so that no row is always first. An untimed
# download comes first, to bring the file into the page cache. A row that
# fails once is not tried again.
measure_bulk() {
	local round i label n=${#ROWS[@]}
	local -A broken=()

	log "untimed download to warm up the origin"
	bulk_once direct 0 >/dev/null 2>&1 || true
	for ((round = 1; round <= RUNS; round++)); do
		log "bulk download round $round of $RUNS (${BULK_MIB} MiB each)"
		for ((i = 0; i < n; i++)); do
			label=${ROWS[(round - 1 + i) % n]}
			[[ -n ${broken[$label]:-} ]] && continue
			bulk_once "$label" "$round" || broken[$label]=1
		done
	done
}

measure_rate() {
	local label

	for label in "${ROWS[@]}"; do
		rate_once "$label" || true
	done
}

# Reads the gateway's VmHWM after the bulk and wrk rows, for the notes.
note_gateway_peak() {
	local pid

	[[ -n ${GATEWAY_PID:-} ]] || return 0
	pid=$(server_child "$GATEWAY_PID")
	[[ -n $pid ]] || return 0
	awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" \
		>"$SCRATCH/gateway-peak-kib" 2>/dev/null || true
}

# A fresh gateway, so that its high-water mark is the tunnels' alone.
measure_memory() {
	local status=0 pid

	if [[ ! -x $AIRLOCK ]]; then
		echo "airlock not found at $AIRLOCK" >"$SCRATCH/memory.failed"
		return 0
	fi
	if ! start_gateway gateway-memory; then
		echo "gateway did not start: $(first_words \
			"$SCRATCH/gateway-memory.log")" >"$SCRATCH/memory.failed"
		return 0
	fi

	pid=$(server_child "$STARTED_PID")

	log "holding $TUNNELS tunnels open through a fresh gateway (pid $pid)"
	run_limited 300 "$PYTHON" "$SCRATCH/hold-tunnels.py" "$STARTED_PORT" \
		"$ORIGIN_NAME" "$HTTPS_PORT" "$TUNNELS" "$pid" \
		>"$SCRATCH/memory.json" 2>"$SCRATCH/memory.err" || status=$?
	if [[ $status -ne 0 ]]; then
		echo "tunnel client exit $status: $(tail -n 1 \
			"$SCRATCH/memory.err" | head -c 300)" \
			>"$SCRATCH/memory.failed"
	fi
	end_pids "$STARTED_PID"
}

# The cipher that curl and nginx agree on sets the ceiling of every bulk
# row, so it goes into the notes.
tls_cipher() {
	curl -sSvk --noproxy '*' -o /dev/null \
		--resolve "$ORIGIN_NAME:$HTTPS_PORT:127.0.0.1" \
		"https://$ORIGIN_NAME:$HTTPS_PORT/small" 2>&1 |
		sed -n 's/^\* SSL connection using //p' | head -n 1
}

# Facts about the machine that the numbers depend on, one per line.
write_host_notes() {
	local airlock_version=missing

	[[ -x $AIRLOCK ]] && airlock_version=$("$AIRLOCK" --version)

	{
		machine_lines ""
		echo "airlock: $airlock_version ($AIRLOCK)"
		echo "Origin: $(nginx -v 2>&1 | sed 's/^nginx version: //')," \
			"1 worker, TLS $(tls_cipher)"
		echo "Clients: $(curl --version | head -n 1 | cut -d' ' -f1-2)," \
			"wrk $(wrk -v 2>&1 | awk '{print $2; exit}')," \
			"Python $("$PYTHON" -c 'import platform
print(platform.python_version())')"
		echo "Settings: RUNS=$RUNS BULK_MIB=$BULK_MIB DURATION=$DURATION" \
			"CONNECTIONS=$CONNECTIONS THREADS=$THREADS TUNNELS=$TUNNELS"
		echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)"
	} >"$SCRATCH/host.txt"
}

# Reads the raw files, prints the table, the memory figure and the
# targets, and exits 1 when a target is missed or cannot be checked.
report() {
	"$PYTHON" - "$SCRATCH" $((BULK_MIB * 1024 * 1024)) <<-'EOF'
	import json, os, statistics, sys

	scratch, size = sys.argv[1], int(sys.argv[2])

	def path(name):
	    return os.path.join(scratch, name)

	def lines(name):
	    if not os.path.exists(path(name)):
	        return []
	    with open(path(name)) as f:
	        return [l.rstrip("\n").split("\t") for l in f if l.strip()]

	rows = [dict(zip(("label", "name", "status", "note"), r))
	        for r in lines("rows.tsv")]
	failed = {}
	for label, what, note in lines("failed.tsv"):
	    failed.setdefault((label, what), note)

	# Bulk: the median over the rounds (round 0 is the warm-up). Every
	# download of a proxy row must have tunnelled (CONNECT answered 200)
	# and every byte must have arrived, or the row has no number.
	speeds = {}
	for label, run, status, code, nbytes, speed in lines("bulk.tsv"):
	    if status != "0" or run == "0":
	        continue
	    want = "000" if label == "direct" else "200"
	    if code != want:
	        failed.setdefault((label, "bulk"),
	                          f"CONNECT status {code}, expected {want}")
	    elif int(nbytes) != size:
	        failed.setdefault((label, "bulk"), f"got {nbytes} bytes")
	    else:
	        speeds.setdefault(label, []).append(float(speed))
	for label, what in failed:
	    if what == "bulk":
	        speeds.pop(label, None)

	rates = {}
	for row in rows:
	    p = path(f"wrk-{row['label']}.json")
	    if row["status"] == "ok" and os.path.exists(p):
	        with open(p) as f:
	            r = json.loads(f.read().splitlines()[-1])
	        # Only complete responses count as requests. A read or write
	        # error is a connection the proxy closed: wrk opens a new one.
	        # Refusals, failed connects and timeouts make a row fail.
	        errors = r["status"] + r["connect"] + r["timeout"]
	        if r["requests"] == 0 or errors > r["requests"] / 100:
	            failed.setdefault((row["label"], "rate"),
	                              f"{errors} errors in {r['requests']} "
	                              "requests")
	            continue
	        r["rate"] = r["requests"] / (r["duration_us"] / 1e6)
	        r["closed"] = r["read"] + r["write"]
	        rates[row["label"]] = r

	def bulk_mbs(label):
	    s = speeds.get(label)
	    return statistics.median(s) / 1e6 if s else None

	direct = bulk_mbs("direct")
	print("| Path | Tunnel (MB/s) | Tunnel / direct | Requests/s "
	      "| p50 (ms) | p99 (ms) |")
	print("|---|--:|--:|--:|--:|--:|")
	for row in rows:
	    name = row["name"]
	    if row["status"] != "ok":
	        note = row["note"].replace("|", "\\|")
	        print(f"| {name} | {row['status']}: {note} | - | - | - | - |")
	        continue
	    cells = []
	    mbs = bulk_mbs(row["label"])
	    if mbs is None:
	        why = failed.get((row["label"], "bulk"), "no result")
	        cells += ["failed: " + why.replace("|", "\\|"), "-"]
	    else:
	        ratio = f"{mbs / direct:.2f}x" if direct else "n/a"
	        cells += [f"{mbs:.0f}", ratio]
	    r = rates.get(row["label"])
	    if r is None:
	        why = failed.get((row["label"], "rate"), "no result")
	        cells += ["failed: " + why.replace("|", "\\|"), "-", "-"]
	    else:
	        cells += [f"{r['rate']:.0f}", f"{r['p50_us'] / 1000:.2f}",
	                  f"{r['p99_us'] / 1000:.2f}"]
	    print(f"| {name} | " + " | ".join(cells) + " |")

	print()
	print("Tunnel: HTTPS download of one big file through CONNECT, "
	      "median of the runs,")
	print("MB = 10^6 bytes. Requests/s, p50, p99: wrk, small plain-HTTP "
	      "GETs through")
	print("the proxy on keep-alive connections.")
	for row in rows:
	    r = rates.get(row["label"])
	    if r and r["closed"] > r["requests"] / 100:
	        share = 100 * r["closed"] / r["requests"]
	        print(f"{row['name']}: the connection was closed after "
	              f"{share:.0f}% of the responses, so those requests "
	              "each paid for a new one.")

	memory = None
	if os.path.exists(path("memory.json")):
	    with open(path("memory.json")) as f:
	        memory = json.loads(f.read().splitlines()[-1])
	print()
	if memory:
	    per = (memory["hwm_kib"] - memory["idle_hwm_kib"]) / memory["tunnels"]
	    print(f"Gateway memory (VmHWM): {memory['idle_hwm_kib'] / 1024:.1f} "
	          f"MiB idle, {memory['hwm_kib'] / 1024:.1f} MiB with "
	          f"{memory['tunnels']} tunnels open")
	    print(f"(about {per:.1f} KiB per tunnel; VmRSS while held "
	          f"{memory['rss_kib'] / 1024:.1f} MiB).")
	else:
	    why = "not measured"
	    if os.path.exists(path("memory.failed")):
	        with open(path("memory.failed")) as f:
	            why = f.read().strip()
	    print(f"Gateway memory: {why}")
	if os.path.exists(path("gateway-peak-kib")):
	    with open(path("gateway-peak-kib")) as f:
	        kib = f.read().strip()
	    if kib:
	        print(f"The --listen gateway's VmHWM after the rows above: "
	              f"{int(kib) / 1024:.1f} MiB.")

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

	def tunnel_target(label, name):
	    mbs = bulk_mbs(label)
	    if mbs is None or direct is None:
	        who = name if mbs is None else "direct"
	        target(f"{name} tunnel >= 0.9x direct", None,
	               f"{who} not measured")
	        return
	    target(f"{name} tunnel >= 0.9x direct", mbs >= 0.9 * direct,
	           f"{mbs / direct:.2f}x")

	def rate_target(peer, name):
	    a, p = rates.get("gateway"), rates.get(peer)
	    if a is None or p is None:
	        who = "airlock gateway" if a is None else name
	        target(f"airlock gateway requests/s >= 2x {name}", None,
	               f"{who} not measured")
	        return
	    target(f"airlock gateway requests/s >= 2x {name}",
	           a["rate"] >= 2 * p["rate"], f"{a['rate'] / p['rate']:.2f}x")

	tunnel_target("gateway", "airlock gateway --listen")
	tunnel_target("airlock-run", "airlock run")
	rate_target("tinyproxy", "tinyproxy")
	rate_target("squid", "squid")
	if memory:
	    target(f"gateway peak memory < 8 MiB with {memory['tunnels']} "
	           "tunnels", memory["hwm_kib"] < 8 * 1024,
	           f"{memory['hwm_kib'] / 1024:.1f} MiB")
	else:
	    target("gateway peak memory < 8 MiB with the tunnels open", None,
	           "memory not measured")

	print()
	print("Machine:")
	with open(path("host.txt")) as f:
	    for line in f:
	        print(f"- {line.rstrip()}")
	sys.exit(1 if missed else 0)
	EOF
}

# Keeps the raw numbers and the table under RESULTS_DIR, one folder a run.
keep_results() {
	local dest f

	[[ -n $RESULTS_DIR ]] || return 0
	dest=$RESULTS_DIR/gateway-$(date -u +%Y%m%dT%H%M%SZ)
	mkdir -p "$dest"
	for f in rows.tsv failed.tsv bulk.tsv memory.json host.txt table.md \
		"$WS"/*.json "$SCRATCH"/wrk-*.txt "$SCRATCH"/wrk-*.json; do
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
	# airlock keeps its audit log and run records in the state folder:
	# measured as users run it, but kept in the scratch folder
	export XDG_STATE_HOME=$SCRATCH/state
	# Servers that drop to another user must reach their files.
	chmod 0755 "$SCRATCH"
	WS=$SCRATCH/workspace
	mkdir -p "$WS" "$SCRATCH/origin" "$SCRATCH/srt-tmp"
	: >"$SCRATCH/rows.tsv"
	: >"$SCRATCH/failed.tsv"
	: >"$SCRATCH/bulk.tsv"
	init_hosts_ns
	printf '127.0.0.1 localhost\n::1 localhost\n127.0.0.1 %s\n' \
		"$ORIGIN_NAME" >"$SCRATCH/hosts"
	# The sandboxes see their own /tmp; the workspace is shared.
	cd -- "$WS"

	start_origin
	write_airlock_settings
	write_srt_settings
	write_wrk_files
	write_tunnel_holder

	start_rows
	probe_rows
	measure_bulk
	measure_rate
	note_gateway_peak
	measure_memory

	write_host_notes
	report >"$SCRATCH/table.md" || status=$?
	cat -- "$SCRATCH/table.md"
	keep_results
	return "$status"
}

main "$@"
