#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# airlock under valgrind's memcheck, on a representative workload: the
# gateway as a service, driven by curl and by raw clients against origin
# servers that this script starts on 127.0.0.1; a run's own gateway with
# TLS termination, credentials, request rules and a route; and the
# commands that parse files a user hands them (check, audit, ca, runs,
# diff, discard, run --dry-run). Exits non-zero on any memcheck error, on
# any leak (definite, indirect or possible) and on any client that did not
# get the answer it should have.
#
# valgrind 3.19 knows neither openat2 nor the new mount calls, so what
# sets a sandbox up cannot run under it (tests/README.md says what that
# leaves out). Sandboxes are still used here, run
# natively, as clients of the service under test. A run's own gateway is
# started by tests/memcheck/gateway-alone.c instead, which forks it as a
# run does and hands it listeners on 127.0.0.1.
#
# --trace-children=no: airlock execs nothing of its own (only a
# credential's command, diff(1), and the sandbox's CMD); the processes it
# forks without exec (a run's gateway) stay under memcheck regardless and
# are checked with the rest.
#
# usage: tests/memcheck.sh [BUILD_DIR]   (default: build)
# MEMCHECK_KEEP=1 keeps the scratch folder (logs, settings, audit logs).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/${1:-build}
HERE=$ROOT/tests/memcheck
VG_ERROR_STATUS=99     # no airlock command exits with it on its own
READY_TIMEOUT_S=60

for tool in valgrind curl openssl python3 ninja; do
	command -v "$tool" >/dev/null ||
		{ echo "memcheck: $tool is needed" >&2; exit 2; }
done
ninja -C "$BUILD" airlock tests/gateway-alone >/dev/null

S=$(mktemp -d "${TMPDIR:-/tmp}/airlock-memcheck.XXXXXX")
PIDS=""
cleanup() {
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $PIDS; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "${MEMCHECK_KEEP:-0}" = 1 ]; then
		echo "memcheck: scratch folder kept: $S"
	else
		rm -rf "$S"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# nothing may land in the real home or state folder; no proxy of the
# caller's may come between the clients and the gateway
export HOME=$S/home XDG_STATE_HOME=$S/state XDG_CONFIG_HOME=$S/config
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
	no_proxy NO_PROXY
mkdir -p "$HOME" "$S/vg" "$S/ws" "$S/bin"

# copies, so that a rebuild while this runs changes nothing under test
cp "$BUILD/airlock" "$BUILD/tests/gateway-alone" "$S/bin/"
AIRLOCK=$S/bin/airlock
ALONE=$S/bin/gateway-alone

LEAK_KINDS=definite,indirect,possible
VG_OPTS=(--tool=memcheck --leak-check=full
	"--show-leak-kinds=$LEAK_KINDS" "--errors-for-leak-kinds=$LEAK_KINDS"
	"--error-exitcode=$VG_ERROR_STATUS" --track-fds=no --trace-children=no
	--track-origins=yes --num-callers=30)

T0=$SECONDS
failed=0
answers=0

say() { printf '\n== %s\n' "$*"; }

# ---- checks on what clients got ----

expect() { # expect WHAT GOT WANT
	answers=$((answers + 1))
	if [ "$2" != "$3" ]; then
		echo "  FAIL $1: got '$2', want '$3'" >&2
		failed=1
	fi
}

expect_in() { # expect_in WHAT TEXT NEEDLE
	answers=$((answers + 1))
	case $2 in
	*"$3"*) ;;
	*)
		echo "  FAIL $1: '$3' not in: $(printf '%.300s' "$2")" >&2
		failed=1
		;;
	esac
}

expect_not_in() { # expect_not_in WHAT TEXT NEEDLE
	answers=$((answers + 1))
	case $2 in
	*"$3"*)
		echo "  FAIL $1: '$3' should not show" >&2
		failed=1
		;;
	esac
}

# ---- memcheck and its verdict ----

# memcheck LABEL CMD [ARGS...]: CMD under memcheck, its logs (one per
# process) in $S/vg/LABEL.PID
memcheck() {
	local label=$1
	shift
	valgrind "${VG_OPTS[@]}" --log-file="$S/vg/$label.%p" "$@"
}

# memcheck_bg LABEL OUT ERR CMD [ARGS...]: the same in the background,
# valgrind itself a child of this shell (so that its pid, in BG_PID, is
# the one to signal)
memcheck_bg() {
	local label=$1 out=$2 err=$3
	shift 3
	valgrind "${VG_OPTS[@]}" --log-file="$S/vg/$label.%p" "$@" \
		>"$out" 2>"$err" &
	BG_PID=$!
	PIDS="$PIDS $BG_PID"
}

# Commands that may make a call valgrind does not know, because that
# part of them is optional: discard's sweep of what an interrupted apply
# left behind opens the run's tree with openat2, and is skipped.
OPENAT2_OPTIONAL="discard"

# The number in a log's "ERROR SUMMARY: N errors" line; nothing for a
# process that went on to exec another program (it has no summary).
log_errors() { # log_errors LOG
	sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$1" | tr -d ,
}

# The bytes of one kind of leak in a log ("definitely lost: N bytes").
log_leaked() { # log_leaked KIND LOG
	sed -n "s/.*$1 lost: \([0-9,]*\) bytes.*/\1/p" "$2" | tr -d , |
		head -n 1
}

# True when LOG shows a syscall valgrind does not know, other than an
# openat2 that LABEL may make (see OPENAT2_OPTIONAL).
log_unknown_syscall() { # log_unknown_syscall LABEL LOG
	local calls

	calls=$(sed -n 's/.*unhandled amd64-linux syscall: \([0-9]*\).*/\1/p' \
		"$2")
	case " $OPENAT2_OPTIONAL " in
	*" $1 "*) calls=$(echo "$calls" | grep -vx 437 || true) ;;
	esac
	[ -n "$calls" ]
}

# Prints the logs of LABEL that hold an error or an unknown syscall,
# without valgrind's boilerplate about the latter.
logs_print() { # logs_print LABEL
	local log

	for log in "$S/vg/$1".*; do
		[ -e "$log" ] || continue
		grep -q "ERROR SUMMARY: [1-9]\|unhandled" "$log" || continue
		echo "------- $log"
		grep -v "^--[0-9]*-- \(You may\|Read the\|Neverthe\|it at\)" \
			"$log"
	done
}

# verdict LABEL STATUS WANT_STATUS START: one line for one command run
# under memcheck; a failure also prints its logs
verdict() {
	local label=$1 status=$2 want=$3 start=$4
	local procs=0 errors=0 leaked=0 unknown=0 what=ok n log kind

	for log in "$S/vg/$label".*; do
		[ -e "$log" ] || continue
		if log_unknown_syscall "$label" "$log"; then
			unknown=$((unknown + 1))
		fi
		n=$(log_errors "$log")
		[ -n "$n" ] || continue
		procs=$((procs + 1))
		errors=$((errors + n))
		for kind in definitely indirectly possibly; do
			n=$(log_leaked "$kind" "$log")
			leaked=$((leaked + ${n:-0}))
		done
	done
	if [ "$status" != "$want" ] || [ "$errors" != 0 ] ||
	   [ "$unknown" != 0 ] || [ "$procs" = 0 ]; then
		what=FAIL
		failed=1
	fi
	printf '  %-4s %-28s exit %-3s errors %-2s leaked %-5s %3ss  ' \
		"$what" "$label" "$status" "$errors" "${leaked}B" \
		$((SECONDS - start))
	printf '(%s process%s)\n' "$procs" "$([ "$procs" = 1 ] || echo es)"
	[ "$what" = ok ] && return
	[ "$status" = "$want" ] ||
		echo "       exit status $status, want $want" >&2
	[ "$unknown" = 0 ] ||
		echo "       a syscall valgrind does not know was made" >&2
	logs_print "$label" >&2
}

# run_cli LABEL WANT_STATUS ARGS...: one airlock command, in the
# foreground; its stdout in $S/out/LABEL, stderr in $S/err/LABEL
run_cli() {
	local label=$1 want=$2 start=$SECONDS status=0
	shift 2
	mkdir -p "$S/out" "$S/err"
	memcheck "$label" "$AIRLOCK" "$@" >"$S/out/$label" 2>"$S/err/$label" ||
		status=$?
	verdict "$label" "$status" "$want" "$start"
}

# ---- helpers for the servers ----

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

wait_for() { # wait_for WHAT TEST-COMMAND...
	local what=$1 deadline=$((SECONDS + READY_TIMEOUT_S))
	shift
	until "$@" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			echo "memcheck: $what did not start in time" >&2
			exit 1
		fi
		sleep 0.2
	done
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop LABEL PID WANT_STATUS START: SIGTERM, then the verdict
stop() {
	local status=0
	kill -TERM "$2"
	wait "$2" || status=$?
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$2" | tr '\n' ' ')
	verdict "$1" "$status" "$3" "$4"
}

# status of one request through a proxy, with curl's own options
http_status() {
	curl -sS -m 60 --noproxy '' -o /dev/null -w '%{http_code}' "$@" \
		2>/dev/null || true
}

# the proxy's answer to CONNECT, then the origin's
connect_status() {
	curl -sS -m 60 --noproxy '' -o /dev/null \
		-w '%{http_connect} %{http_code}' "$@" 2>/dev/null || true
}

client() { python3 "$HERE/clients.py" "$@"; }

# ---- origins: plain HTTP and HTTPS, with a throwaway CA ----

say "origins on 127.0.0.1"
mkdir -p "$S/pki"
(
	cd "$S/pki"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 2 -subj "/CN=airlock memcheck test CA" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign \
		-keyout ca.key -out ca.pem
	printf '%s\n' "subjectAltName=DNS:api.test,DNS:tunnel.test" \
		"extendedKeyUsage=serverAuth" >server.ext
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=api.test -keyout server.key -out server.csr
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
		-CAcreateserial -days 2 -extfile server.ext -out server.pem
) >/dev/null 2>&1
TEST_CA=$S/pki/ca.pem

# the values the gateway must put in, which only the origin checks
TOKEN=tok_$(openssl rand -hex 16)
API_KEY=sk-ant-api03-$(openssl rand -hex 20)
ORIGIN_TOKEN=$TOKEN ORIGIN_KEY=$API_KEY python3 "$HERE/origin.py" \
	"$S/origin.ports" "$S/pki/server.pem" "$S/pki/server.key" \
	>"$S/origin.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "the origin servers" test -s "$S/origin.ports"
HP=$(awk '$1 == "http" { print $2 }' "$S/origin.ports")
SP=$(awk '$1 == "https" { print $2 }' "$S/origin.ports")
echo "  http on $HP, https on $SP"

# ---- 1. the service: airlock gateway --listen and --socket ----

say "airlock gateway --listen and --socket, under memcheck"
cat >"$S/service.json" <<EOF
{
  "network": {
    "allowedDomains": ["web.test:$HP", "tunnel.test:$SP",
                       "private.test:$SP"],
    "deniedDomains": ["blocked.test"],
    "deniedDomainReasons": {"blocked.test": "blocked for the memcheck run"},
    "hosts": {"web.test": "127.0.0.1", "tunnel.test": "127.0.0.1",
              "private.test": "10.200.0.1"},
    "allowAddresses": ["127.0.0.1"]
  }
}
EOF
cat >"$S/attached.json" <<EOF
{
  "network": {
    "allowedDomains": ["web.test:$HP", "extra.test:$HP"],
    "hosts": {"web.test": "127.0.0.1", "extra.test": "127.0.0.1"},
    "allowAddresses": ["127.0.0.1"]
  }
}
EOF
LP=$(free_port)
SOCK=$S/gateway.sock
start=$SECONDS
memcheck_bg service "$S/service.out" "$S/service.err" \
	"$AIRLOCK" gateway --no-user-settings --settings "$S/service.json" \
	--listen "127.0.0.1:$LP" --socket "$SOCK" \
	--audit "$S/service-audit.jsonl"
SERVICE=$BG_PID
wait_for "the service" tcp_open "$LP"
wait_for "the service's socket" test -S "$SOCK"
P=http://127.0.0.1:$LP

# plain HTTP through the proxy
expect "http allowed" "$(http_status -x "$P" "http://web.test:$HP/hello")" 200
expect "http not allowed" "$(http_status -x "$P" http://other.test/)" 403
expect "http denied with a reason" "$(curl -sS -m 60 --noproxy '' -o /dev/null \
	-w '%{http_code} %header{x-airlock-reason}' -x "$P" \
	"http://blocked.test:$HP/")" "403 blocked for the memcheck run"
expect "http two requests, one connection" "$(http_status -x "$P" \
	"http://web.test:$HP/hello" -o /dev/null \
	"http://web.test:$HP/bytes/100000")" 200200
expect "http POST" "$(curl -sS -m 60 --noproxy '' -x "$P" --data-binary \
	"posted through" "http://web.test:$HP/echo")" "posted through"

# CONNECT tunnels (TLS passes through; the gateway reads only the SNI)
expect "connect allowed" "$(http_status -x "$P" --cacert "$TEST_CA" \
	"https://tunnel.test:$SP/hello")" 200
expect "connect big answer" "$(curl -sS -m 60 --noproxy '' -x "$P" \
	--cacert "$TEST_CA" "https://tunnel.test:$SP/bytes/3000000" | wc -c)" \
	3000000
expect "connect not allowed" "$(connect_status -x "$P" --cacert "$TEST_CA" \
	"https://other.test:$SP/hello")" "403 000"
expect "connect to a port not allowed" "$(connect_status -x "$P" \
	--cacert "$TEST_CA" "https://tunnel.test:1/hello")" "403 000"
expect "connect to a private address" "$(connect_status -x "$P" \
	--cacert "$TEST_CA" "https://private.test:$SP/hello")" "403 000"

# SOCKS5
expect "socks5 allowed" "$(http_status --socks5-hostname "127.0.0.1:$LP" \
	"http://web.test:$HP/hello")" 200
expect "socks5 allowed, TLS" "$(http_status --socks5-hostname \
	"127.0.0.1:$LP" --cacert "$TEST_CA" \
	"https://tunnel.test:$SP/hello")" 200
expect "socks5 not allowed" "$(client socks5 "$LP" other.test 80)" "reply 2"
expect "socks5 private address" "$(client socks5 "$LP" private.test "$SP")" \
	"reply 2"
expect "socks5 malformed greeting" "$(client socks5-bad "$LP")" "answer none"
expect "socks5 client vanishes" "$(client socks5-vanish "$LP" web.test \
	"$HP")" gone

# malformed and smuggling requests, clients that vanish
O=web.test:$HP
expect "garbage" "$(client garbage "$LP" "$O")" 400
expect "oversized head" "$(client oversized-head "$LP" "$O")" 431
expect "Content-Length and chunked" "$(client length-and-chunked "$LP" \
	"$O")" 400
expect "two Content-Lengths" "$(client two-lengths "$LP" "$O")" 400
expect "bare CR" "$(client bare-cr "$LP" "$O")" 400
expect "obs-fold" "$(client obs-fold "$LP" "$O")" 400
expect "pipelined" "$(client pipelined "$LP" "$O")" "200 200"
expect "chunked upload" "$(client chunked-upload "$LP" "$O")" "200 70000"
expect "vanishes in the head" "$(client vanish-in-head "$LP" "$O")" gone
expect "vanishes in the body" "$(client vanish-in-body "$LP" "$O")" gone
expect "vanishes in a download" "$(client vanish-in-download "$LP" "$O")" \
	200
expect "vanishes in a TLS hello" "$(client vanish-in-tls "$LP" \
	"tunnel.test:$SP")" 200

# a sandbox (run natively) attached to the service: its proxy, its DNS
# stub and transparent capture are all served by the process under test
cd "$S/ws"
attached=$("$AIRLOCK" run --no-user-settings --settings "$S/attached.json" \
	--gateway "$SOCK" -- /bin/sh -c "
	curl -sS -m 60 -o /dev/null -w 'proxy %{http_code}\n' \
		http://web.test:$HP/hello
	env -u http_proxy -u HTTP_PROXY -u all_proxy -u ALL_PROXY \
		curl -sS -m 60 -o /dev/null -w 'capture %{http_code}\n' \
		http://web.test:$HP/hello
	curl -sS -m 60 -o /dev/null -w 'ceiling %{http_code}\n' \
		http://extra.test:$HP/hello
	getent hosts nowhere.test >/dev/null || echo 'dns nxdomain'
" 2>"$S/attached.err" || true)
cd "$ROOT"
expect "attached run" "${attached//$'\n'/ }" \
	"proxy 200 capture 200 ceiling 403 dns nxdomain"

stop service "$SERVICE" 0 "$start"
expect "service removed its socket" "$(test -e "$SOCK" || echo gone)" gone
audit=$(cat "$S/service-audit.jsonl")
expect_in "audit: the denial's reason" "$audit" \
	'"reason":"blocked for the memcheck run"'
expect_in "audit: the private address" "$audit" '"rule":"address-check"'
expect_in "audit: the attached run" "$audit" '"proto":"capture"'

# the service refusing to start: error paths must free what they took
printf 'just-a-name-without-token\n' >"$S/bad-tokens"
run_cli service-beyond-loopback 1 gateway --no-user-settings \
	--settings "$S/service.json" --listen "0.0.0.0:$(free_port)" \
	--audit none
run_cli service-bad-tokens 1 gateway --no-user-settings \
	--settings "$S/service.json" --listen "127.0.0.1:$(free_port)" \
	--tokens "$S/bad-tokens" --audit none

# ---- 2. a run's own gateway: TLS termination, credentials, rules ----

say "a run's gateway (tests/memcheck/gateway-alone), under memcheck"
cat >"$S/run.json" <<EOF
{
  "network": {
    "allowedDomains": ["api.test:$SP", "wrong.test:$SP", "web.test:$HP"],
    "hosts": {"api.test": "127.0.0.1", "wrong.test": "127.0.0.1",
              "web.test": "127.0.0.1"},
    "allowAddresses": ["127.0.0.1"],
    "tlsTerminate": {"upstreamCaCertPaths": ["$TEST_CA"]},
    "requestRules": [
      {"host": "api.test:$SP", "methods": ["GET"],
       "reason": "read only for memcheck"},
      {"host": "wrong.test:$SP", "methods": ["GET"]}
    ],
    "routes": [{"name": "api", "upstream": "https://api.test:$SP",
                "env": "API_BASE_URL"}]
  },
  "credentials": {
    "secrets": [
      {"name": "token", "from": {"command": ["printf", "%s", "$TOKEN"]},
       "hosts": ["api.test:$SP"], "use": "inject",
       "header": "Authorization", "scheme": "bearer"},
      {"name": "api-key", "from": {"env": "MEMCHECK_API_KEY"},
       "hosts": ["api.test:$SP"], "use": "placeholder",
       "env": "MEMCHECK_API_KEY"}
    ]
  }
}
EOF
start=$SECONDS
MEMCHECK_API_KEY=$API_KEY memcheck_bg gateway-alone "$S/alone.out" \
	"$S/alone.err" "$ALONE" "$S/run.json" "$S/run-audit.jsonl"
ALONE_PID=$BG_PID
wait_for "gateway-alone" grep -qx ready "$S/alone.out"
port_of() { awk -v k="$1" '$1 == k { print $2 }' "$S/alone.out"; }
P=http://127.0.0.1:$(port_of http)
SOCKS=127.0.0.1:$(port_of socks5)
PLACEHOLDER=$(awk '$1 == "placeholder" { print $3 }' "$S/alone.out")
AIRLOCK_CA=$XDG_STATE_HOME/airlock/ca/ca.pem
A=https://api.test:$SP

expect "injected token reaches the origin" "$(http_status -x "$P" \
	--cacert "$AIRLOCK_CA" "$A/auth")" 200
expect "placeholder becomes the key" "$(http_status -x "$P" \
	--cacert "$AIRLOCK_CA" -H "x-api-key: $PLACEHOLDER" "$A/key")" 200
echoed=$(curl -sS -m 60 --noproxy '' -x "$P" --cacert "$AIRLOCK_CA" \
	-H "x-api-key: $PLACEHOLDER" "$A/headers" "$A/headers" 2>&1 || true)
expect_in "echo shows the placeholder" "$echoed" "$PLACEHOLDER"
expect_not_in "echo hides the key" "$echoed" "$API_KEY"
expect_not_in "echo hides the token" "$echoed" "$TOKEN"
expect "request rule refuses POST" "$(curl -sS -m 60 --noproxy '' -o /dev/null \
	-w '%{http_code} %header{x-airlock-reason}' -x "$P" \
	--cacert "$AIRLOCK_CA" --data-binary x "$A/echo" 2>/dev/null)" \
	"403 read only for memcheck"
expect "upstream certificate for another name" "$(http_status -x "$P" \
	--cacert "$AIRLOCK_CA" "https://wrong.test:$SP/hello")" 502
expect "placeholder to another host" "$(http_status -x "$P" \
	-H "x-api-key: $PLACEHOLDER" "http://web.test:$HP/hello")" 403
expect "terminated through socks5" "$(http_status --socks5-hostname \
	"$SOCKS" --cacert "$AIRLOCK_CA" "$A/auth")" 200
expect "route injects the token" "$(http_status \
	"http://127.0.0.1:$(port_of route)/auth")" 200
expect "vanishes in a terminated TLS hello" "$(client vanish-in-tls \
	"$(port_of http)" "api.test:$SP")" 200
expect "dns stub: allowed name" "$(client dns "$(port_of dns)" api.test |
	cut -d. -f1-2)" "rcode 0 198.18"
expect "dns stub: other name" "$(client dns "$(port_of dns)" other.test)" \
	"rcode 3"
expect "dns stub: garbage" "$(client dns-garbage "$(port_of dns)")" "rcode 1"
stop gateway-alone "$ALONE_PID" 0 "$start"
expect_in "audit: the credentials used" "$(cat "$S/run-audit.jsonl")" \
	'"credential":"token,api-key"'
expect_in "audit: the upstream certificate" "$(cat "$S/run-audit.jsonl")" \
	'"rule":"upstream-tls"'

# ---- 3. the commands that parse what a user hands them ----

say "check, audit, ca, runs, diff, discard, run --dry-run, under memcheck"
run_cli check-service 0 check --no-user-settings --settings "$S/service.json"
expect_in "check prints the policy" "$(cat "$S/out/check-service")" \
	'"allowedDomains"'
run_cli check-run 0 check --no-user-settings --settings "$S/run.json" \
	--profile claude-code
printf '{"network": {"allowedDomains": ["a.test",]}}\n' >"$S/syntax.json"
printf '{\n  "network": {\n    "allowedDomains": "a.test"\n  }\n}\n' \
	>"$S/type.json"
cat >"$S/values.json" <<'EOF'
{"network": {"allowedDomains": ["*.*", "exa mple.com", "a.test:99999"]},
 "filesystem": {"denyRead": [5]},
 "credentials": {"secrets": [{"name": "x", "use": "sideways"}]},
 "nonsense": true}
EOF
python3 -c 'print("[" * 20000)' >"$S/deep.json"
printf '{"network": {"allowedDomains": ["\377\376.test"]}}\n' >"$S/bytes.json"
for bad in syntax type values deep bytes; do
	run_cli "check-$bad" 2 check --no-user-settings \
		--settings "$S/$bad.json"
	expect_in "check $bad.json: a position" "$(cat "$S/err/check-$bad")" \
		"$S/$bad.json:"
done
expect "check values.json: every problem" \
	"$(grep -c "values.json:[0-9]*:[0-9]*:" "$S/err/check-values")" 8

run_cli audit 0 audit "$S/service-audit.jsonl"
expect_in "audit lists the denial" "$(cat "$S/out/audit")" "blocked.test"
run_cli audit-summary 0 audit --summary "$S/service-audit.jsonl"
expect_in "audit --summary totals" "$(cat "$S/out/audit-summary")" "(total)"
run_cli audit-denied-run 0 audit --denied --run memcheck \
	"$S/run-audit.jsonl"
expect_in "audit --denied" "$(cat "$S/out/audit-denied-run")" \
	"read only for memcheck"
{
	head -n 1 "$S/service-audit.jsonl"
	printf '%s\n' 'not json' '{"event": 5}' '{"time": "x", "run": ' '' \
		'[1,2,3]'
	printf '\000\377\376{}\n'
	python3 -c 'print("{\"host\": \"" + "h" * 300000 + "\"}")'
} >"$S/malformed.jsonl"
run_cli audit-malformed 1 audit "$S/malformed.jsonl"
expect "audit: malformed lines skipped" \
	"$(grep -c "^$S/malformed.jsonl:[0-9]*:" "$S/err/audit-malformed")" 6
run_cli audit-malformed-summary 1 audit --summary "$S/malformed.jsonl"

# the CA: made on first use in a fresh state folder, then read
(
	export XDG_STATE_HOME=$S/ca-state
	run_cli ca-show-makes 0 ca show
	run_cli ca-path 0 ca path
	run_cli ca-export 0 ca export "$S/exported.pem"
	run_cli ca-export-stdout 0 ca export
	cmp -s "$S/exported.pem" "$S/out/ca-export-stdout" &&
		cmp -s "$S/exported.pem" "$(cat "$S/out/ca-path")" ||
		{ echo "  FAIL ca export differs from ca path" >&2; exit 1; }
	run_cli ca-rotate 0 ca rotate
	cmp -s "$S/exported.pem" "$(cat "$S/out/ca-path")" &&
		{ echo "  FAIL ca rotate left the certificate" >&2; exit 1; }
	chmod 0644 "$S/ca-state/airlock/ca/ca.key"
	run_cli ca-readable-key 1 ca show
	run_cli ca-usage 2 ca sideways
	exit $failed
) || failed=1

# runs, diff, discard on runs made natively; diff -p, --stat and apply
# read the run's files with openat2 and cannot run under valgrind
cd "$S/ws"
echo kept >kept.txt
"$AIRLOCK" run --no-user-settings --workspace-mode overlay -- /bin/sh -c \
	'echo new >new.txt; echo more >>kept.txt' 2>/dev/null
run_cli runs 0 runs
expect_in "runs lists the overlay run" "$(cat "$S/out/runs")" overlay
run_cli diff 0 diff
expect "diff lists the changes" "$(cat "$S/out/diff")" \
	"$(printf 'M  kept.txt\nA  new.txt')"
run_cli discard 0 discard
expect_in "discard" "$(cat "$S/err/discard")" "discarded the changes"
run_cli runs-prune 0 runs --prune
run_cli run-dry-run 0 run --no-user-settings --settings "$S/run.json" \
	--dry-run -- true
expect_in "run --dry-run prints the plan" "$(cat "$S/out/run-dry-run")" \
	"capture ports: $SP $HP"
cd "$ROOT"
run_cli usage 2 sideways

say "done in $((SECONDS - T0)) s: $answers answers checked"
if [ "$failed" != 0 ]; then
	echo "memcheck: FAILED (see above)" >&2
	exit 1
fi
echo "memcheck: no errors, no leaks, every answer as expected"
