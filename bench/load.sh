#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Load and faults for the gateway, in six phases, each with its own time
# limit and its own checks:
#
#   1. TUNNELS CONNECT tunnels held open at once, 64 bytes each way through
#      every one; the gateway's memory with all of them open.
#   2. REQUESTS plain-HTTP requests through the proxy with wrk, not one of
#      them failed, and one audit record for each.
#   3. IDLE clients that send nothing and SLOW ones that send a request
#      head a byte a second, while wrk measures the rate of everyone else;
#      then the gateway must close them at its head timeout.
#   4. An origin that resets, or stalls, in the middle of a body, through
#      CONNECT and through plain HTTP; whole bodies that end with a close.
#   5. VANISH clients that reset their connection in the middle of a
#      download.
#   6. Inside `airlock run`: the gateway is killed, and the sandbox must
#      be left with no way out at all (fail closed).
#
# Phases 1 to 5 each start a fresh `airlock gateway --listen` on loopback;
# phase 6 runs `airlock run`, which starts its own. The origins are an
# nginx (phases 2, 3, 6) and a small Python server (phases 1, 4, 5) that
# can echo, send a body, reset or stall on demand and report what it saw.
# The name web.test is pinned to 127.0.0.1 by the policy (network.hosts);
# nothing leaves the machine and /etc/hosts is never touched. Each check
# is one that a broken gateway would fail: a phase passes when all of its
# checks do.
#
# Prints a Markdown table on stdout (a row per phase, with its figures),
# then every check with its outcome; progress goes to stderr. Starts
# nothing that outlives it: every step has a time limit, servers are
# stopped by pid, and on exit or interrupt every process still carrying
# this run's token in its environment is ended.
#
# Settings (environment):
#   AIRLOCK=path     airlock binary (default: build/airlock in the repo)
#   PHASES=list      the phases to run, comma-separated (default 1,2,3,4,5,6)
#   TUNNELS=N        tunnels held at once in phase 1 (default 10000, or as
#                    many as the hard limit on open files allows)
#   REQUESTS=N       requests in phase 2 (default 1000000)
#   CONNECTIONS=N    wrk connections (default 50)
#   THREADS=N        wrk threads (default: the number of CPUs)
#   IDLE=N           idle clients in phase 3 (default 1000)
#   SLOW=N           slow clients in phase 3 (default 1000)
#   RATE_S=N         seconds of each wrk run in phase 3 (default 10, at
#                    most 20: the clients must outlast it)
#   FAULTS=N         connections per fault in phase 4 (default 20)
#   END_RUNS=N       whole bodies sent through CONNECT in phase 4
#                    (default 40)
#   VANISH=N         clients that vanish in phase 5 (default 200)
#
# Exit status: 0 every check of every phase run passed, 1 a check failed,
# 2 a bad setting or a missing tool.

set -euo pipefail

BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
REPO_DIR=$(dirname -- "$BENCH_DIR")
PYTHON=/usr/bin/python3
KILL_GRACE_S=5
READY_TIMEOUT_S=15
ORIGIN_NAME=web.test
# The gateway's limit for a complete request head (GW_HEAD_TIMEOUT_MS in
# src/gateway/gw.h); phase 3 checks that it holds.
HEAD_TIMEOUT_S=30
# Descriptors a gateway needs beside the two of each tunnel: its own
# (epoll, timers, listener, log, what it inherits) and up to 64 pooled
# pipes.
GATEWAY_FDS_SPARE=160
# Phase 3 fails when the rate with the idle and slow clients held falls
# below this share of the rate without them.
RATE_RATIO_MIN=0.5
# The longest wrk may run in phase 2, whatever the rate.
REQUESTS_MAX_S=600
# What `airlock run` exits with in phase 6: the command's own status.
INSIDE_STATUS=42

AIRLOCK=${AIRLOCK:-$REPO_DIR/build/airlock}
PHASES=${PHASES:-1,2,3,4,5,6}
TUNNELS_DEFAULT=10000
TUNNELS_SET=${TUNNELS:+1}
TUNNELS=${TUNNELS:-$TUNNELS_DEFAULT}
REQUESTS=${REQUESTS:-1000000}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-$(nproc)}
IDLE=${IDLE:-1000}
SLOW=${SLOW:-1000}
RATE_S=${RATE_S:-10}
FAULTS=${FAULTS:-20}
END_RUNS=${END_RUNS:-40}
VANISH=${VANISH:-200}

# Every process this run starts inherits the token; cleanup looks for it.
BENCH_TOKEN=airlock-load-$$-$RANDOM$RANDOM
export AIRLOCK_BENCH_TOKEN=$BENCH_TOKEN
# The processes of phase 6's `airlock run` carry a token of their own.
RUN_TOKEN=$BENCH_TOKEN-run

SCRATCH=
CHILD_PID=
SERVER_PIDS=()
TUNNELS_NOTE=
GW_PID=
GW_WRAPPER=
GW_PORT=

exec {LOG_FD}>&2

log() {
	printf 'load.sh: %s\n' "$*" >&"$LOG_FD"
}

cleanup() {
	local status=$?
	local -a pids

	trap - EXIT INT TERM HUP
	if [[ -n $CHILD_PID ]]; then
		kill -TERM "$CHILD_PID" 2>/dev/null || true
	fi
	end_pids "${SERVER_PIDS[@]}"
	mapfile -t pids < <(BENCH_TOKEN=$RUN_TOKEN token_pids)
	end_pids "${pids[@]}"
	kill_leftovers
	if [[ -n $SCRATCH && -d $SCRATCH ]]; then
		rm -rf -- "$SCRATCH"
	fi
	exit "$status"
}

# The longest the whole run can last; servers get it as their own limit.
server_limit_s() {
	echo $((1800 + REQUESTS_MAX_S))
}

# The gateway holds two descriptors per tunnel of phase 1, and one per
# held client of phase 3. It raises its soft limit to the hard one, and
# the script does the same for itself and its clients. Only root with CAP_SYS_RESOURCE could raise the hard limit, so
# that is only checked: when TUNNELS was not set and the default does not
# fit, phase 1 holds as many as fit and says why in its row.
check_open_files() {
	local hard need fit

	hard=$(ulimit -Hn)
	ulimit -Sn "$hard"
	[[ $hard != unlimited ]] || return 0

	need=$((2 * TUNNELS + GATEWAY_FDS_SPARE))
	fit=$(((hard - GATEWAY_FDS_SPARE) / 2))
	if want_phase 1 && [[ $hard -lt $need ]]; then
		[[ -z $TUNNELS_SET && $fit -ge 1 ]] || die_usage \
			"TUNNELS=$TUNNELS needs a hard limit of $need open" \
			"files (2 per tunnel in the gateway, and" \
			"$GATEWAY_FDS_SPARE more), but it is $hard: raise it" \
			"(ulimit -Hn as root, limits.conf, LimitNOFILE=) or" \
			"set TUNNELS=$fit or less"
		TUNNELS_NOTE="$(commas "$TUNNELS") need a hard limit of"
		TUNNELS_NOTE+=" $(commas "$need") open files"
		TUNNELS_NOTE+=" ($(commas "$hard") here)"
		log "phase 1: $TUNNELS_NOTE, so it holds $fit tunnels"
		TUNNELS=$fit
	fi

	need=$((IDLE + SLOW + 2 * CONNECTIONS + GATEWAY_FDS_SPARE))
	if want_phase 3 && [[ $hard -lt $need ]]; then
		die_usage "IDLE + SLOW = $((IDLE + SLOW)) need a hard limit" \
			"of $need open files, but it is $hard: raise it or" \
			"lower IDLE and SLOW"
	fi
}

check_setup() {
	local tool

	check_count TUNNELS "$TUNNELS"
	check_count REQUESTS "$REQUESTS"
	check_count CONNECTIONS "$CONNECTIONS"
	check_count THREADS "$THREADS"
	check_count IDLE "$IDLE"
	check_count SLOW "$SLOW"
	check_count RATE_S "$RATE_S"
	check_count FAULTS "$FAULTS"
	check_count END_RUNS "$END_RUNS"
	check_count VANISH "$VANISH"
	[[ $THREADS -le $CONNECTIONS ]] ||
		die_usage "THREADS ($THREADS) must not exceed" \
			"CONNECTIONS ($CONNECTIONS)"
	[[ $RATE_S -le 20 ]] ||
		die_usage "RATE_S must be 20 or less: phase 3's clients are" \
			"closed ${HEAD_TIMEOUT_S} s after they connect"
	[[ $PHASES =~ ^[1-6](,[1-6])*$ ]] ||
		die_usage "PHASES must list phases 1 to 6, like 1,4,6," \
			"not '$PHASES'"

	for tool in wrk nginx curl timeout pgrep "$PYTHON"; do
		command -v "$tool" >/dev/null ||
			die_usage "required tool '$tool' not found" \
				"(apt-get install -y wrk nginx-light curl" \
				"procps python3)"
	done
	[[ -x $AIRLOCK ]] ||
		die_usage "airlock not found at $AIRLOCK (build it:" \
			"meson setup build && ninja -C build)"
	AIRLOCK=$(absolute_path "$AIRLOCK")
	check_open_files
}

want_phase() {
	[[ ,$PHASES, == *,$1,* ]]
}

# One check of phase $1: name $2, outcome $3 (1 passed, 0 failed), and
# the rest of the arguments, joined, as its detail.
add_check() {
	local detail=${*:4}

	detail=${detail//[$'\t\n']/ }
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$detail" \
		>>"$SCRATCH/checks.tsv"
	[[ $3 == 1 ]] || log "phase $1: FAILED: $2 ($detail)"
}

# One figure of phase $1: the rest of the arguments, joined.
add_figure() {
	local text=${*:2}

	printf '%s\t%s\n' "$1" "${text//[$'\t\n']/ }" >>"$SCRATCH/figures.tsv"
}

# Runs a helper of load.py for phase $1 under a time limit of $2 seconds;
# the rest are its arguments. Its output goes to $SCRATCH/phase$1.*; a
# helper that fails or runs out of time fails the phase.
helper() {
	local phase=$1 limit=$2 status=0 why
	local err=$SCRATCH/phase$1.err

	shift 2
	LOAD_PHASE=$phase run_limited "$limit" "$PYTHON" "$SCRATCH/load.py" \
		"$@" >>"$SCRATCH/phase$phase.out" 2>>"$err" || status=$?
	[[ $status -eq 0 ]] && return 0
	why="exit $status"
	[[ $status -ne 124 ]] || why+=" (out of time)"
	add_check "$phase" "load.py $1 ran to its end" 0 \
		"$why: $(tail -n 2 "$err" | tr '\n' ' ')"
	return 1
}

# ---- servers ----

write_helpers() {
	cat >"$SCRATCH/load.py" <<-'EOF'
	import asyncio, errno, json, os, random, resource, socket, statistics
	import struct, sys, time

	# The helpers of load.sh, one subcommand each. Every check and figure
	# goes to a TSV file in the scratch folder (LOAD_SCRATCH), under the
	# phase named by LOAD_PHASE; the report subcommand makes the table.
	SCRATCH = os.environ.get("LOAD_SCRATCH", ".")
	PHASE = os.environ.get("LOAD_PHASE", "-")
	# Free pipes the gateway keeps for reuse (PIPE_POOL_KEEP in tunnel.c),
	# two descriptors each: they outlast the connections that used them.
	POOL_FDS = 2 * 64
	# Connections opened at once: well within the backlog of the
	# gateway's --listen socket, so that no SYN is dropped.
	OPEN_PARALLEL = 100
	# What the origin sends of a body before it resets or stalls.
	PART = 65536
	MIB = 1 << 20
	CLIENT_ERRORS = (OSError, RuntimeError, ValueError, IndexError,
	                 asyncio.IncompleteReadError, asyncio.LimitOverrunError)


	def raise_open_files():
	    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


	def record(kind, *fields):
	    cells = [str(f).replace("\t", " ").replace("\n", " ")
	             for f in fields]
	    with open(os.path.join(SCRATCH, kind + ".tsv"), "a") as f:
	        f.write("\t".join([PHASE, *cells]) + "\n")


	def check(name, ok, detail):
	    record("checks", name, 1 if ok else 0, detail)
	    return ok


	def figure(text):
	    record("figures", text)


	def describe(e):
	    if isinstance(e, TimeoutError):
	        return "timed out"
	    if isinstance(e, asyncio.IncompleteReadError):
	        return f"closed after {len(e.partial)} bytes"
	    if isinstance(e, OSError) and e.errno:
	        return errno.errorcode.get(e.errno, str(e.errno))
	    return (str(e) or type(e).__name__)[:100]


	def tally(items):
	    """'3x a, 1x b' for a list of strings, most common first."""
	    counts = {}
	    for item in items:
	        counts[item] = counts.get(item, 0) + 1
	    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
	    return ", ".join(f"{n}x {item}" for item, n in ranked) or "none"


	def spread(values):
	    if not values:
	        return "-"
	    return (f"{min(values):.1f}/{statistics.median(values):.1f}/"
	            f"{max(values):.1f} s")


	# ---- what the gateway holds, from /proc ----

	def gateway_state(pid):
	    state = {"sockets": 0, "pipes": 0, "total": 0}
	    for name in os.listdir(f"/proc/{pid}/fd"):
	        try:
	            link = os.readlink(f"/proc/{pid}/fd/{name}")
	        except OSError:
	            continue
	        state["total"] += 1
	        if link.startswith("socket:"):
	            state["sockets"] += 1
	        elif link.startswith("pipe:"):
	            state["pipes"] += 1
	    with open(f"/proc/{pid}/status") as f:
	        for line in f:
	            key, _, value = line.partition(":")
	            if key in ("VmHWM", "VmRSS"):
	                state[key.lower() + "_kib"] = int(value.split()[0])
	    return state


	def fds_text(s):
	    return (f"{s['total']} fds ({s['sockets']} sockets, "
	            f"{s['pipes']} pipes)")


	HALF_CLOSED_S = 30  # GW_HALF_CLOSED_TIMEOUT_MS in src/gateway/gw.h


	async def settle(name, pid, base, limit_s):
	    """Waits until the gateway holds no more sockets than at base and
	    no more pipes than base plus its pool; records the check."""
	    start = time.monotonic()
	    while True:
	        now = gateway_state(pid)
	        back = (now["sockets"] <= base["sockets"] and
	                now["pipes"] <= base["pipes"] + POOL_FDS)
	        waited = time.monotonic() - start
	        if back or waited >= limit_s:
	            break
	        await asyncio.sleep(0.1)
	    if back:
	        detail = f"back to {fds_text(now)} in {waited:.1f} s"
	        short = f"let go in {waited:.1f} s"
	    else:
	        detail = (f"still {fds_text(now)} after {limit_s:.0f} s, "
	                  f"against {base['sockets']} sockets before")
	        short = (f"{now['sockets'] - base['sockets']} sockets still "
	                 f"held after {limit_s:.0f} s")
	    check(name, back, detail)
	    return short


	# ---- the origin ----

	TCP_STATES = {1: "open", 7: "reset", 8: "fin"}


	class Origin:
	    """A connection whose first byte is 0 speaks a line protocol
	    ("\\0echo", "\\0big N", ...); anything else is HTTP/1.1, where the
	    path names the same behaviours (/big/N). Counters per behaviour
	    tell the script what the far side of the gateway saw."""

	    STALL_MAX_S = 300

	    def __init__(self):
	        self.stats = {"open": {}, "closed_by_peer": {}, "done": {},
	                      "stalled_saw": []}

	    def count(self, table, kind, step=1):
	        self.stats[table][kind] = self.stats[table].get(kind, 0) + step

	    @staticmethod
	    async def head_of(reader):
	        first = await reader.readexactly(1)
	        if first == b"\0":
	            return "raw", (await reader.readline()).decode().split()
	        rest = await reader.readuntil(b"\r\n\r\n")
	        target = (first + rest).decode("latin-1").split(" ", 2)[1]
	        if "://" in target:
	            target = "/" + target.split("://", 1)[1].partition("/")[2]
	        return "http", target.strip("/").split("/")

	    @staticmethod
	    def response_head(proto, length):
	        if proto == "raw":
	            return b"LEN %d\n" % length
	        return (b"HTTP/1.1 200 OK\r\n"
	                b"Content-Type: application/octet-stream\r\n"
	                b"Content-Length: %d\r\n\r\n" % length)

	    async def echo(self, reader, writer):
	        writer.write(b"HELLO\n")
	        while data := await reader.read(65536):
	            writer.write(data)
	            await writer.drain()

	    async def reset(self, writer, proto, length):
	        writer.write(self.response_head(proto, length) + b"x" * PART)
	        await writer.drain()
	        await asyncio.sleep(0.3)  # the part leaves before the reset
	        sock = writer.get_extra_info("socket")
	        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
	                        struct.pack("ii", 1, 0))
	        writer.transport.abort()

	    async def stall(self, writer, proto, length):
	        """Sends part, then neither reads nor writes, as a hung server
	        would, whatever comes; only notes, from TCP_INFO, what the
	        gateway does to the connection."""
	        writer.write(self.response_head(proto, length) + b"x" * PART)
	        await writer.drain()
	        sock = writer.get_extra_info("socket")
	        start, seen = time.monotonic(), "open"
	        while time.monotonic() - start < self.STALL_MAX_S:
	            await asyncio.sleep(0.2)
	            info = sock.getsockopt(socket.IPPROTO_TCP,
	                                   socket.TCP_INFO, 1)
	            now = TCP_STATES.get(info[0], f"state {info[0]}")
	            if now != seen:
	                self.stats["stalled_saw"].append(now)
	                seen = now
	            if now == "reset":
	                return

	    async def body(self, writer, proto, length):
	        writer.write(self.response_head(proto, length))
	        chunk = b"\0" * 65536
	        while length > 0:
	            writer.write(chunk[:length])
	            length -= min(length, len(chunk))
	            await writer.drain()

	    def stats_reply(self):
	        body = json.dumps(self.stats).encode()
	        return (b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
	                b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

	    async def serve(self, reader, writer):
	        kind = None
	        try:
	            proto, words = await self.head_of(reader)
	            kind = words[0] if words else "?"
	            self.count("open", kind)
	            length = int(words[1]) if len(words) > 1 else 0
	            if kind == "echo":
	                await self.echo(reader, writer)
	            elif kind == "reset":
	                await self.reset(writer, proto, length)
	            elif kind == "stall":
	                await self.stall(writer, proto, length)
	            elif kind == "big":
	                await self.body(writer, proto, length)
	            elif kind == "small":
	                writer.write(self.response_head(proto, 3) + b"ok\n")
	            elif kind == "stats":
	                writer.write(self.stats_reply())
	            await writer.drain()
	            self.count("done", kind)
	        except (OSError, asyncio.IncompleteReadError):
	            if kind:
	                self.count("closed_by_peer", kind)
	        except CLIENT_ERRORS:
	            pass  # not a request of ours: dropped
	        finally:
	            if kind:
	                self.count("open", kind, -1)
	            writer.close()


	async def origin_main(port):
	    origin = Origin()
	    server = await asyncio.start_server(origin.serve, "127.0.0.1", port,
	                                        backlog=4096)
	    async with server:
	        await server.serve_forever()


	async def origin_stats(port):
	    reader, writer = await asyncio.open_connection("127.0.0.1", port)
	    writer.write(b"\0stats\n")
	    reply = await asyncio.wait_for(reader.read(), 10)
	    writer.close()
	    return json.loads(reply.split(b"\r\n\r\n", 1)[1])


	async def origin_quiet(port, kind, limit_s):
	    """Waits until the origin has no open connection of this kind;
	    returns its counters and the seconds waited."""
	    start = time.monotonic()
	    while True:
	        stats = await origin_stats(port)
	        waited = time.monotonic() - start
	        if stats["open"].get(kind, 0) == 0 or waited >= limit_s:
	            return stats, waited
	        await asyncio.sleep(0.1)


	# ---- clients ----

	async def open_tunnel(gw_port, target):
	    reader, writer = await asyncio.open_connection("127.0.0.1", gw_port)
	    try:
	        writer.write(f"CONNECT {target} HTTP/1.1\r\n"
	                     f"Host: {target}\r\n\r\n".encode())
	        head = await reader.readuntil(b"\r\n\r\n")
	        if head.split(b" ", 2)[1:2] != [b"200"]:
	            first = head.splitlines()[0]
	            raise RuntimeError(f"CONNECT answered {first!r}")
	    except BaseException:
	        writer.transport.abort()
	        raise
	    return reader, writer


	async def open_request(gw_port, target, via, kind, length):
	    """Asks the origin for kind (big, reset, stall, small) through the
	    gateway, by CONNECT or as plain HTTP; returns the streams and the
	    length that the response head declares."""
	    if via == "connect":
	        reader, writer = await open_tunnel(gw_port, target)
	        writer.write(b"\0%s %d\n" % (kind.encode(), length))
	        head = await reader.readline()
	        return reader, writer, int(head.split()[1])
	    reader, writer = await asyncio.open_connection("127.0.0.1", gw_port)
	    writer.write(f"GET http://{target}/{kind}/{length} HTTP/1.1\r\n"
	                 f"Host: {target}\r\n\r\n".encode())
	    head = await reader.readuntil(b"\r\n\r\n")
	    lines = head.decode("latin-1").split("\r\n")
	    if lines[0].split(" ")[1] != "200":
	        raise RuntimeError(f"answered {lines[0]!r}")
	    declared = [line.split(":")[1] for line in lines
	                if line.lower().startswith("content-length:")]
	    return reader, writer, int(declared[0])


	async def check_next_request(name, gw_port, target):
	    """One small plain-HTTP request through the gateway, which must be
	    answered within a second."""
	    start = time.monotonic()
	    try:
	        reader, writer, _ = await asyncio.wait_for(
	            open_request(gw_port, target, "http", "small", 0), 5)
	        body = await asyncio.wait_for(reader.readexactly(3), 5)
	        writer.close()
	        error = None if body == b"ok\n" else f"body {body!r}"
	    except CLIENT_ERRORS as e:
	        error = describe(e)
	    ms = (time.monotonic() - start) * 1000
	    check(name, error is None and ms < 1000,
	          error or f"200 in {ms:.0f} ms")


	def audit_by_client(path):
	    """The audit records of each client port, as event names."""
	    found = {}
	    if not os.path.exists(path):
	        return found
	    with open(path) as f:
	        for line in f:
	            rec = json.loads(line)
	            port = int(rec.get("client", "x:0").rsplit(":", 1)[1])
	            text = rec["event"]
	            if rec.get("error"):
	                text += f" (error: {rec['error']})"
	            found.setdefault(port, []).append(text)
	    return found


	def records_text(records, ports):
	    return tally("+".join(sorted(set(records.get(p, [])))) or "nothing"
	                 for p in ports)


	# ---- phase 1: many tunnels at once ----

	async def tunnels_main(gw_port, target, count, gw_pid, origin_port):
	    gate = asyncio.Semaphore(OPEN_PARALLEL)
	    errors = []

	    async def open_one():
	        async with gate:
	            try:
	                reader, writer = await asyncio.wait_for(
	                    open_tunnel(gw_port, target), 30)
	                writer.write(b"\0echo\n")
	                hello = await asyncio.wait_for(
	                    reader.readexactly(6), 30)
	                if hello != b"HELLO\n":
	                    raise RuntimeError(f"origin said {hello!r}")
	                return reader, writer
	            except CLIENT_ERRORS as e:
	                errors.append(describe(e))
	                return None

	    async def exchange(i, reader, writer):
	        payload = os.urandom(56) + b"%08d" % i
	        writer.write(payload)
	        try:
	            back = await asyncio.wait_for(
	                reader.readexactly(len(payload)), 60)
	        except CLIENT_ERRORS as e:
	            return describe(e)
	        return None if back == payload else "bytes differ"

	    base = gateway_state(gw_pid)
	    start = time.monotonic()
	    opened = await asyncio.gather(*(open_one() for _ in range(count)))
	    tunnels = [t for t in opened if t]
	    open_s = time.monotonic() - start
	    held = gateway_state(gw_pid)
	    stats = await origin_stats(origin_port)
	    at_origin = stats["open"].get("echo", 0)
	    start = time.monotonic()
	    bad = [r for r in await asyncio.gather(
	        *(exchange(i, r, w) for i, (r, w) in enumerate(tunnels))) if r]
	    exchange_s = time.monotonic() - start
	    for _, writer in tunnels:
	        writer.close()

	    check("every tunnel opened (CONNECT 200, origin's greeting)",
	          len(tunnels) == count,
	          f"{len(tunnels)} of {count} in {open_s:.1f} s; errors: "
	          f"{tally(errors)}")
	    check("all held at once",
	          at_origin == count and
	          held["sockets"] - base["sockets"] >= 2 * count,
	          f"origin had {at_origin} open; gateway held {fds_text(held)}")
	    check("64 bytes each way through every tunnel, intact",
	          len(tunnels) == count and not bad,
	          f"{len(tunnels) - len(bad)} intact in {exchange_s:.1f} s; "
	          f"failures: {tally(bad)}")
	    figure(f"{count:,} opened in {open_s:.1f} s, echoed in "
	           f"{exchange_s:.1f} s, {len(errors) + len(bad)} errors")
	    figure(f"gateway VmHWM {held['vmhwm_kib'] / 1024:.1f} MiB with all "
	           f"open ({base['vmrss_kib'] / 1024:.1f} MiB idle)")


	# ---- phase 3: idle and slow clients ----

	async def hold_main(gw_port, target, idle, slow, ready_file,
	                    wrk_end_file, head_timeout_s):
	    """Opens the idle and slow connections, says so in ready_file, then
	    trickles the slow ones' head a byte a second (from one task, so
	    that the holder itself costs little CPU) and notes when the gateway
	    closes each; wrk, meanwhile, writes its end time to wrk_end_file."""
	    gate = asyncio.Semaphore(OPEN_PARALLEL)
	    head = (f"GET http://{target}/small HTTP/1.1\r\n"
	            f"Host: {target}\r\nX-Slow: {'s' * 400}\r\n\r\n").encode()
	    failed = []

	    async def connect():
	        async with gate:
	            try:
	                reader, writer = await asyncio.wait_for(
	                    asyncio.open_connection("127.0.0.1", gw_port), 30)
	            except OSError as e:
	                failed.append(describe(e))
	                return None
	        return {"reader": reader, "writer": writer, "closed": None,
	                "opened": time.time(), "answer": b"",
	                "end": "still open"}

	    async def watch(conn):
	        try:
	            while data := await conn["reader"].read(4096):
	                conn["answer"] = conn["answer"] or data
	            conn["end"] = "closed"
	        except OSError as e:
	            conn["end"] = describe(e)
	        conn["closed"] = time.time()

	    async def trickle(conns):
	        for sent in range(len(head)):
	            for conn in conns:
	                if conn["closed"] is None:
	                    conn["writer"].write(head[sent:sent + 1])
	            await asyncio.sleep(1)

	    opened = await asyncio.gather(*(connect()
	                                    for _ in range(idle + slow)))
	    with open(ready_file, "w") as f:
	        f.write(f"{time.time()}\n")
	    groups = {"idle": [c for c in opened[:idle] if c],
	              "slow": [c for c in opened[idle:] if c]}
	    everyone = groups["idle"] + groups["slow"]
	    trickler = asyncio.ensure_future(trickle(groups["slow"]))
	    watchers = [asyncio.ensure_future(watch(c)) for c in everyone]
	    if watchers:
	        await asyncio.wait(watchers, timeout=head_timeout_s + 15)
	    trickler.cancel()
	    for conn in everyone:
	        conn["writer"].transport.abort()
	    with open(wrk_end_file) as f:
	        wrk_end = float(f.read())

	    check("every idle and slow client connected", not failed,
	          f"{len(everyone)} of {idle + slow}; errors: {tally(failed)}")
	    early = [c for c in everyone
	             if c["closed"] and c["closed"] < wrk_end]
	    check("none closed while wrk ran", not early,
	          f"{len(early)} closed before wrk ended")
	    low, high = head_timeout_s - 1, head_timeout_s + 5
	    for label, group in groups.items():
	        ages = [c["closed"] - c["opened"] for c in group if c["closed"]]
	        still = len(group) - len(ages)
	        late = [a for a in ages if not low <= a <= high]
	        check(f"{label} ones closed by the gateway at its head timeout "
	              f"({head_timeout_s} s)", not still and not late,
	              f"closed after {spread(ages)} (min/median/max); {still} "
	              f"still open at the end; {len(late)} outside "
	              f"{low}-{high} s")
	        answers = [c["answer"][:40].split(b"\r\n")[0].decode("latin-1")
	                   or "nothing" for c in group]
	        median = statistics.median(ages) if ages else 0
	        ends = tally(c["end"] for c in group)
	        figure(f"{label} ones closed after {median:.1f} s, "
	               f"{tally(answers)} sent, {ends}")


	# ---- phase 4: upstream resets, stalls and ends ----

	async def fault_one(gw_port, target, via, kind, length, give_up_s):
	    """One transfer that the origin breaks off: what the client saw."""
	    seen = {"port": 0, "declared": 0, "body": 0, "end": "?", "secs": 0}
	    try:
	        reader, writer, seen["declared"] = await asyncio.wait_for(
	            open_request(gw_port, target, via, kind, length), 10)
	    except CLIENT_ERRORS as e:
	        seen["end"] = "failed: " + describe(e)
	        return seen
	    seen["port"] = writer.get_extra_info("sockname")[1]
	    start = time.monotonic()
	    try:
	        while True:
	            data = await asyncio.wait_for(reader.read(65536), give_up_s)
	            if not data:
	                seen["end"] = "eof"
	                break
	            seen["body"] += len(data)
	    except TimeoutError:
	        seen["end"] = "no more bytes"
	    except OSError as e:
	        seen["end"] = describe(e)
	    seen["secs"] = time.monotonic() - start
	    writer.close()  # a client that gives up closes, as curl -m does
	    return seen


	def seen_text(results):
	    return tally(f"{r['end']} after {r['body'] // 1024} KiB of "
	                 f"{r['declared'] // 1024} KiB" for r in results)


	async def fault_case(args, via, kind):
	    gw_port, target, count, gw_pid, audit = args
	    label = f"{kind}, {'CONNECT' if via == 'connect' else 'plain HTTP'}"
	    base = gateway_state(gw_pid)
	    give_up_s = 2 if kind == "stall" else 10
	    results = await asyncio.gather(*(
	        fault_one(gw_port, target, via, kind, MIB, give_up_s)
	        for _ in range(count)))

	    short = all(0 < r["body"] < r["declared"] for r in results)
	    if kind == "reset":
	        ended = all(r["end"] in ("eof", "ECONNRESET") and r["secs"] < 5
	                    for r in results)
	        check(f"{label}: the client sees the transfer end, short",
	              short and ended, seen_text(results))
	    else:
	        ended = all(r["end"] == "no more bytes" for r in results)
	        check(f"{label}: part arrives, then nothing; the client gives "
	              f"up after {give_up_s} s and closes", short and ended,
	              seen_text(results))
	    await check_next_request(f"{label}: the next request is served at "
	                             "once", gw_port, target)
	    # a tunnel the client closed one way may still carry the server's
	    # answer: the gateway waits for it until the tunnel has been quiet
	    # for its half-closed limit (30 s); plain HTTP lets go at once
	    limit_s = HALF_CLOSED_S + 5 if (kind, via) == ("stall", "connect") \
	        else 5
	    freed = await settle(f"{label}: the gateway lets go of both sides",
	                         gw_pid, base, limit_s)
	    await asyncio.sleep(0.3)  # records go out once per loop round
	    records = audit_by_client(audit)
	    ports = [r["port"] for r in results]
	    check(f"{label}: each connection has an audit record",
	          all(records.get(p) for p in ports),
	          "records per connection: " + records_text(records, ports))
	    figure(f"{label}: {tally(r['end'] for r in results)}, {freed}, "
	           f"audit {records_text(records, ports)}")


	async def ends_case(args, runs):
	    """Whole bodies of 8 to 32 MiB through CONNECT, two at a time, the
	    origin closing after each: the client must see every end."""
	    gw_port, target, count, gw_pid, audit = args
	    base = gateway_state(gw_pid)
	    results = []
	    for _ in range(0, runs, 2):
	        results += await asyncio.gather(*(
	            fault_one(gw_port, target, "connect", "big",
	                      random.randint(8, 32) * MIB, 2)
	            for _ in range(2)))
	    results = results[:runs]
	    whole = [r for r in results if r["body"] == r["declared"]]
	    ends = [r for r in whole if r["end"] == "eof"]
	    check("end of a whole body, CONNECT: the client sees the end (EOF)",
	          len(ends) == runs,
	          f"{len(ends)} of {runs} did; {runs - len(whole)} short; "
	          f"{len(whole) - len(ends)} got every byte, then no EOF "
	          "within 2 s")
	    await settle("end of a whole body, CONNECT: the gateway lets go",
	                 gw_pid, base, 5)
	    figure(f"whole bodies: {len(ends)} of {runs} ends seen")


	async def faults_main(gw_port, target, origin_port, count, gw_pid,
	                      audit, end_runs):
	    args = (gw_port, target, count, gw_pid, audit)
	    for kind in ("reset", "stall"):
	        for via in ("connect", "http"):
	            await fault_case(args, via, kind)
	    stats = await origin_stats(origin_port)
	    saw = stats["stalled_saw"]
	    record("notes", f"of the origin's {2 * count} stalled connections,"
	           f" {saw.count('fin')} got a FIN from the gateway, "
	           f"{saw.count('reset')} a reset, and "
	           f"{stats['open'].get('stall', 0)} were still open when the "
	           "phase ended")
	    await ends_case(args, end_runs)


	# ---- phase 5: clients that vanish ----

	async def vanish_main(gw_port, target, origin_port, count, gw_pid,
	                      audit, after):
	    base = gateway_state(gw_pid)
	    stats = await origin_stats(origin_port)
	    before = stats["closed_by_peer"].get("big", 0)

	    async def one(via):
	        try:
	            reader, writer, _ = await asyncio.wait_for(
	                open_request(gw_port, target, via, "big", 1 << 40), 30)
	            got = 0
	            while got < after:
	                data = await asyncio.wait_for(reader.read(65536), 30)
	                if not data:
	                    break
	                got += len(data)
	            port = writer.get_extra_info("sockname")[1]
	            writer.get_extra_info("socket").setsockopt(
	                socket.SOL_SOCKET, socket.SO_LINGER,
	                struct.pack("ii", 1, 0))
	            writer.transport.abort()  # a reset, with the data unread
	            return via, got, port
	        except CLIENT_ERRORS as e:
	            return via, describe(e), 0

	    ways = (["connect", "http"] * count)[:count]
	    results = await asyncio.gather(*(one(v) for v in ways))
	    started = [r for r in results
	               if isinstance(r[1], int) and r[1] >= after]
	    others = [str(r[1]) for r in results if r not in started]
	    check(f"{count} downloads started and read {after // 1024} KiB",
	          len(started) == count,
	          f"{len(started)} did; others: {tally(others)}")
	    freed = await settle("the gateway closes both sides of each",
	                         gw_pid, base, 5)
	    stats, waited = await origin_quiet(origin_port, "big", 5)
	    closed = stats["closed_by_peer"].get("big", 0) - before
	    still = stats["open"].get("big", 0)
	    check("the origin sees every connection closed",
	          closed == count and still == 0,
	          f"{closed} closed under it within {waited:.1f} s, "
	          f"{still} still open")
	    await check_next_request("the next request is served at once",
	                             gw_port, target)
	    await asyncio.sleep(0.3)
	    records = audit_by_client(audit)
	    audited = []
	    for via, name in (("connect", "CONNECT"), ("http", "plain HTTP")):
	        ports = [r[2] for r in started if r[0] == via]
	        audited.append(f"{name} {records_text(records, ports)}")
	    figure(f"{len(started)} reset after {after // 1024} KiB; the "
	           f"gateway {freed}; the origin saw {closed} closed; audit: "
	           + ", ".join(audited))


	# ---- phase 6: the gateway of a run ----

	def find_gateway(supervisor):
	    """The children of airlock run's supervisor that lead a session of
	    their own in its pid namespace: its gateway (the sandbox's init
	    has a pid namespace of its own)."""
	    found = []
	    for entry in os.listdir("/proc"):
	        if not entry.isdigit():
	            continue
	        try:
	            with open(f"/proc/{entry}/stat") as f:
	                fields = f.read().rsplit(")", 1)[1].split()
	            with open(f"/proc/{entry}/status") as f:
	                nspid = [line.split()[1:] for line in f
	                         if line.startswith("NSpid:")]
	        except OSError:
	            continue
	        if (int(fields[1]) == supervisor and
	                int(fields[3]) == int(entry) and
	                nspid and len(nspid[0]) == 1):
	            found.append(entry)
	    print(" ".join(found))


	def inside_report(path):
	    """The checks of what the command inside saw (inside.py)."""
	    with open(path) as f:
	        seen = json.load(f)
	    untried = {"outcome": "not tried", "ms": 0}
	    first = seen["before"]
	    check("a request from inside succeeds first",
	          first["outcome"] == "ok",
	          f"{first['outcome']} in {first['ms']} ms")
	    for key, what in (
	            ("proxy request", "a request through the proxy"),
	            ("HTTP proxy port", "a connection to the HTTP proxy"),
	            ("SOCKS5 port", "a connection to the SOCKS5 proxy"),
	            ("origin port", "a connection to the origin's port"),
	            ("DNS stub", "a DNS query to the stub")):
	        got = seen["after"].get(key, untried)
	        check(f"after the kill, {what} fails",
	              got["outcome"] not in ("ok", "not tried"),
	              f"{got['outcome']} in {got['ms']} ms")
	    again = seen.get("again after 1 s", untried)
	    check("a second later there is still no way out",
	          again["outcome"] not in ("ok", "not tried"),
	          f"{again['outcome']} in {again['ms']} ms")
	    ways = seen["after"]
	    outcomes = tally(got["outcome"] for got in ways.values())
	    slowest = max((got["ms"] for got in ways.values()), default=0)
	    figure(f"after SIGKILL, {len(ways)} ways out from inside: "
	           f"{outcomes}, each within {slowest} ms")


	# ---- the report ----

	def read_tsv(name):
	    path = os.path.join(SCRATCH, name)
	    if not os.path.exists(path):
	        return []
	    with open(path) as f:
	        return [line.rstrip("\n").split("\t")
	                for line in f if line.strip()]


	def report_main():
	    rows = read_tsv("rows.tsv")
	    checks, figures = {}, {}
	    for phase, name, ok, detail in read_tsv("checks.tsv"):
	        checks.setdefault(phase, []).append((name, ok == "1", detail))
	    for phase, text in read_tsv("figures.tsv"):
	        figures.setdefault(phase, []).append(text)

	    failed = False
	    print("| Phase | Verdict | Figures |")
	    print("|---|---|---|")
	    for label, name, status, note in rows:
	        cells = "; ".join(figures.get(label, [])) or note
	        mine = checks.get(label, [])
	        bad = [c for c in mine if not c[1]]
	        if status != "ok":
	            verdict = status
	        elif mine and not bad:
	            verdict = "pass"
	        else:
	            verdict = f"FAIL ({len(bad)} of {len(mine)} checks)"
	            failed = True
	        print(f"| {name} | {verdict} | {cells.replace('|', '/')} |")

	    print()
	    print("Checks:")
	    for label, *_ in rows:
	        for name, ok, detail in checks.get(label, []):
	            print(f"- {label}. {name}: {'ok' if ok else 'FAILED'} "
	                  f"({detail})")
	    notes = read_tsv("notes.tsv")
	    if notes:
	        print()
	        print("Notes:")
	        for label, text in notes:
	            print(f"- {label}. {text}")
	    print()
	    print("Machine:")
	    with open(os.path.join(SCRATCH, "host.txt")) as f:
	        for line in f:
	            print(f"- {line.rstrip()}")
	    return 1 if failed else 0


	def main():
	    raise_open_files()
	    cmd, a = sys.argv[1], sys.argv[2:]
	    if cmd == "origin":
	        asyncio.run(origin_main(int(a[0])))
	    elif cmd == "state":
	        print(json.dumps(gateway_state(int(a[0]))))
	    elif cmd == "settle":
	        with open(a[2]) as f:
	            base = json.load(f)
	        asyncio.run(settle(a[0], int(a[1]), base, float(a[3])))
	    elif cmd == "tunnels":
	        asyncio.run(tunnels_main(int(a[0]), a[1], int(a[2]), int(a[3]),
	                                 int(a[4])))
	    elif cmd == "hold":
	        asyncio.run(hold_main(int(a[0]), a[1], int(a[2]), int(a[3]),
	                              a[4], a[5], int(a[6])))
	    elif cmd == "faults":
	        asyncio.run(faults_main(int(a[0]), a[1], int(a[2]), int(a[3]),
	                                int(a[4]), a[5], int(a[6])))
	    elif cmd == "vanish":
	        asyncio.run(vanish_main(int(a[0]), a[1], int(a[2]), int(a[3]),
	                                int(a[4]), a[5], int(a[6])))
	    elif cmd == "find-gateway":
	        find_gateway(int(a[0]))
	    elif cmd == "inside-report":
	        inside_report(a[0])
	    elif cmd == "report":
	        sys.exit(report_main())
	    else:
	        sys.exit(f"load.py: no subcommand {cmd}")


	main()
	EOF
	cat >"$SCRATCH/inside.py" <<-'EOF'
	import errno, json, os, socket, sys, time
	import urllib.error, urllib.parse, urllib.request

	# Runs inside `airlock run`: one request through the gateway, then,
	# once the script outside has killed the gateway, every way out it can
	# think of. It talks to the script through files in the workspace and
	# exits 42, so that its own status is told apart from airlock's.
	port = int(sys.argv[1])
	url = f"http://web.test:{port}/small"


	def describe(e):
	    if isinstance(e, urllib.error.URLError) and \
	            isinstance(e.reason, Exception):
	        e = e.reason
	    if isinstance(e, TimeoutError):
	        return "timed out"
	    if isinstance(e, OSError) and e.errno:
	        return errno.errorcode.get(e.errno, str(e.errno))
	    return (str(e) or type(e).__name__)[:100]


	def attempt(action):
	    start = time.monotonic()
	    try:
	        action()
	        outcome = "ok"
	    except Exception as e:
	        outcome = describe(e)
	    return {"outcome": outcome,
	            "ms": round((time.monotonic() - start) * 1000, 1)}


	def fetch():
	    body = urllib.request.urlopen(url, timeout=10).read()
	    if body != b"ok\n":
	        raise RuntimeError(f"body {body[:20]!r}")


	def connect(host, port):
	    def action():
	        socket.create_connection((host, port), timeout=10).close()
	    return action


	def ask_dns():
	    """An A query for web.test to the server that resolv.conf names."""
	    with open("/etc/resolv.conf") as f:
	        servers = [line.split()[1] for line in f
	                   if line.startswith("nameserver")]
	    query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
	             b"\x03web\x04test\x00\x00\x01\x00\x01")
	    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
	        s.settimeout(3)
	        s.connect((servers[0], 53))
	        s.send(query)
	        s.recv(512)


	proxy = urllib.parse.urlsplit(os.environ["http_proxy"])
	socks = urllib.parse.urlsplit(os.environ["ALL_PROXY"])
	results = {"before": attempt(fetch), "after": {}}
	with open("ready", "w") as f:
	    f.write("ready\n")
	for _ in range(600):
	    if os.path.exists("killed"):
	        break
	    time.sleep(0.1)
	else:
	    sys.exit(3)
	results["after"] = {
	    "proxy request": attempt(fetch),
	    "HTTP proxy port": attempt(connect(proxy.hostname, proxy.port)),
	    "SOCKS5 port": attempt(connect(socks.hostname, socks.port)),
	    "origin port": attempt(connect("127.0.0.1", port)),
	    "DNS stub": attempt(ask_dns),
	}
	time.sleep(1)
	results["again after 1 s"] = attempt(fetch)
	with open("results.json", "w") as f:
	    json.dump(results, f)
	sys.exit(42)
	EOF
}

# wrk speaks no proxy protocol: each request names its whole target, and
# the summary comes out as one line that the script reads.
write_wrk_script() {
	cat >"$SCRATCH/proxy.lua" <<-EOF
	wrk.method = "GET"
	wrk.path = "http://$ORIGIN_NAME:$NGINX_PORT/small"
	wrk.headers["Host"] = "$ORIGIN_NAME:$NGINX_PORT"

	function done(summary, latency, requests)
	    local e = summary.errors
	    io.write(string.format("LOAD %d %d %d %d %d %d %d %d %d\n",
	        summary.requests, summary.duration,
	        latency:percentile(50), latency:percentile(99),
	        e.connect, e.read, e.write, e.status, e.timeout))
	end
	EOF
}

# nginx serves a 3-byte body for the wrk phases and phase 6. Its workers
# may drop to another user, so what they serve is readable by everyone.
start_nginx() {
	local o=$SCRATCH/nginx

	mkdir -p "$o/www" "$o/tmp"
	printf 'ok\n' >"$o/www/small"
	NGINX_PORT=$(free_port)
	{
	nginx_conf_head "$o" 4096
	cat <<-EOF
	    keepalive_requests 10000000;
	    default_type application/octet-stream;
	    server {
	        listen 127.0.0.1:$NGINX_PORT;
	        root $o/www;
	    }
	}
	EOF
	} >"$o/nginx.conf"
	log "starting nginx on 127.0.0.1:$NGINX_PORT"
	start_server nginx nginx -p "$o" -c "$o/nginx.conf" -e "$o/error.log"
	wait_port "$STARTED_PID" "$NGINX_PORT" ||
		die_usage "nginx did not start: $(first_words "$o/error.log")"
}

start_origin() {
	ORIGIN_PORT=$(free_port)
	log "starting the Python origin on 127.0.0.1:$ORIGIN_PORT"
	start_server origin "$PYTHON" "$SCRATCH/load.py" origin "$ORIGIN_PORT"
	wait_port "$STARTED_PID" "$ORIGIN_PORT" ||
		die_usage "the origin did not start:" \
			"$(first_words "$SCRATCH/origin.log")"
}

# web.test on both origins' ports, pinned to 127.0.0.1, which
# allowAddresses names because the gateway refuses loopback otherwise.
write_settings() {
	cat >"$SCRATCH/airlock.json" <<-EOF
	{
	  "network": {
	    "allowedDomains": ["$ORIGIN_NAME:$NGINX_PORT",
	                       "$ORIGIN_NAME:$ORIGIN_PORT"],
	    "hosts": { "$ORIGIN_NAME": "127.0.0.1" },
	    "allowAddresses": ["127.0.0.1"]
	  }
	}
	EOF
}

# Starts a fresh `airlock gateway --listen` for phase $1, auditing to $2
# ("none" for no log), serves one request through it so that what it
# sets up on first use is in place, and keeps what it holds then as the
# baseline of the phase. Sets GW_PID, GW_WRAPPER and GW_PORT.
start_gateway() {
	local phase=$1 audit=$2 name=gateway$1 code

	GW_PORT=$(free_port)
	start_server "$name" "$AIRLOCK" gateway --no-user-settings \
		--settings "$SCRATCH/airlock.json" \
		--listen "127.0.0.1:$GW_PORT" --audit "$audit"
	GW_WRAPPER=$STARTED_PID
	if ! wait_port "$GW_WRAPPER" "$GW_PORT"; then
		add_check "$phase" "the gateway starts" 0 \
			"$(first_words "$SCRATCH/$name.log")"
		end_pids "$GW_WRAPPER"
		return 1
	fi
	GW_PID=$(pgrep -P "$GW_WRAPPER" | head -n 1)
	code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' \
		--proxy "http://127.0.0.1:$GW_PORT" \
		"http://$ORIGIN_NAME:$NGINX_PORT/small" 2>&1) || true
	if [[ -z $GW_PID || $code != 200 ]]; then
		add_check "$phase" "the gateway serves a first request" 0 \
			"curl said $code"
		end_pids "$GW_WRAPPER"
		return 1
	fi
	"$PYTHON" "$SCRATCH/load.py" state "$GW_PID" >"$SCRATCH/$name.base"
	log "phase $phase: gateway pid $GW_PID on 127.0.0.1:$GW_PORT"
}

# Checks that the phase's gateway is still up and logged nothing worse
# than notes, then stops it.
stop_gateway() {
	local phase=$1 log_file=$SCRATCH/gateway$1.log bad first

	if kill -0 "$GW_PID" 2>/dev/null; then
		add_check "$phase" "the gateway stays up" 1 "pid $GW_PID"
	else
		add_check "$phase" "the gateway stays up" 0 "pid $GW_PID is" \
			"gone: $(tail -n 2 "$log_file" | tr '\n' ' ')"
	fi
	bad=$(grep -ciE 'warning|error' "$log_file" || true)
	first=$(grep -m 1 -iE 'warning|error' "$log_file" || true)
	add_check "$phase" "the gateway logs no warning or error" \
		"$(holds "$bad -eq 0")" \
		"$bad lines${first:+, the first: $first}"
	end_pids "$GW_WRAPPER"
	GW_PID=
}

# Checks that the gateway of phase $1 lets go, within 10 s, of every
# socket it did not hold at the start (check $2).
settle() {
	local phase=$1 what=$2

	helper "$phase" 60 settle "$what" "$GW_PID" \
		"$SCRATCH/gateway$phase.base" 10
}

# The gateway's socket count now, from /proc.
gateway_sockets() {
	"$PYTHON" "$SCRATCH/load.py" state "$GW_PID" |
		sed -n 's/.*"sockets": \([0-9]*\).*/\1/p'
}

# ---- wrk ----

# Runs wrk through the phase's gateway for $2 seconds, keeping its report
# as $SCRATCH/wrk-$1.txt. Sets W_REQUESTS, W_US (its duration), W_P50_US,
# W_P99_US and W_ERR (connect, read, write, status, timeout errors).
wrk_run() {
	local name=$1 seconds=$2 status=0 line
	local out=$SCRATCH/wrk-$name.txt

	log "wrk for ${seconds}s ($name)"
	run_limited $((seconds + 60)) wrk -t "$THREADS" -c "$CONNECTIONS" \
		-d "${seconds}s" --latency -s "$SCRATCH/proxy.lua" \
		"http://127.0.0.1:$GW_PORT" >"$out" 2>&1 || status=$?
	line=$(grep -m 1 '^LOAD ' "$out") || line=
	if [[ $status -ne 0 || -z $line ]]; then
		log "wrk failed (exit $status): $(first_words "$out")"
		return 1
	fi
	read -r _ W_REQUESTS W_US W_P50_US W_P99_US line <<<"$line"
	read -r -a W_ERR <<<"$line"
}

# The rate of the last wrk run, in requests per second.
wrk_rate() {
	echo $((W_REQUESTS * 1000000 / (W_US > 0 ? W_US : 1)))
}

# "connect 0, read 0, ..." from five error counts.
errors_text() {
	printf 'connect %s, read %s, write %s, status %s, timeout %s' "$@"
}

# 1 when all the given counts are zero, else 0.
all_zero() {
	local n

	for n in "$@"; do
		[[ $n == 0 ]] || { echo 0; return; }
	done
	echo 1
}

# The sum of the given error counts ("-" counts as one: no result).
errors_sum() {
	local n sum=0

	for n in "$@"; do
		[[ $n =~ ^[0-9]+$ ]] || n=1
		sum=$((sum + n))
	done
	echo "$sum"
}

# 1234567 as 1,234,567.
commas() {
	sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' \
		-e 'ta' <<<"$1"
}

# KiB as MiB with one decimal.
mib() {
	printf '%d.%d' $(($1 / 1024)) $((($1 % 1024) * 10 / 1024))
}

# Microseconds as milliseconds with two decimals.
ms() {
	printf '%d.%02d' $(($1 / 1000)) $((($1 % 1000) / 10))
}

# 1 when the shell test in $1 holds, else 0.
holds() {
	if eval "[[ $1 ]]"; then echo 1; else echo 0; fi
}

# ---- phase 1: many tunnels at once ----

phase_tunnels() {
	start_gateway 1 none || return 1
	log "phase 1: opening $TUNNELS tunnels"
	helper 1 600 tunnels "$GW_PORT" "$ORIGIN_NAME:$ORIGIN_PORT" \
		"$TUNNELS" "$GW_PID" "$ORIGIN_PORT" || true
	settle 1 "the gateway's descriptors return to their baseline" || true
	[[ -z $TUNNELS_NOTE ]] || add_figure 1 "$TUNNELS_NOTE"
	stop_gateway 1
}

# ---- phase 2: many requests, not one lost ----

# The gateway's resident size in KiB.
rss_kib() {
	awk '/^VmRSS:/ {print $2}' "/proc/$GW_PID/status" 2>/dev/null ||
		echo 0
}

# wrk has no request count of its own: a 3 s run gives the rate, the next
# is sized from it with 5% to spare, and up to two more make up for a
# slow spell. Every run counts, the first too.
phase_requests() {
	local audit=$SCRATCH/gateway2-audit.jsonl
	local total=0 us=0 runs=0 seconds p50=0 p99=0 longest=0 i
	local logged others not_ok rss_start rss_end detail
	local -a errors=(0 0 0 0 0)

	start_gateway 2 "$audit" || return 1
	if ! wrk_run 2-calibration 3; then
		add_check 2 "wrk runs through the gateway" 0 \
			"$(first_words "$SCRATCH/wrk-2-calibration.txt")"
		stop_gateway 2
		return 1
	fi
	rss_start=$(rss_kib)
	while :; do
		total=$((total + W_REQUESTS))
		us=$((us + W_US))
		for i in 0 1 2 3 4; do
			errors[i]=$((errors[i] + W_ERR[i]))
		done
		if [[ $W_US -gt $longest ]]; then
			longest=$W_US
			p50=$W_P50_US
			p99=$W_P99_US
		fi
		runs=$((runs + 1))
		[[ $total -lt $REQUESTS && $runs -le 3 ]] || break
		seconds=$(((REQUESTS - total) * W_US * 105 /
			(100000000 * (W_REQUESTS > 0 ? W_REQUESTS : 1)) + 1))
		[[ $seconds -le $REQUESTS_MAX_S ]] || seconds=$REQUESTS_MAX_S
		if ! wrk_run "2-$runs" "$seconds"; then
			add_check 2 "wrk run $((runs + 1)) finishes" 0 \
				"$(first_words "$SCRATCH/wrk-2-$runs.txt")"
			break
		fi
	done
	rss_end=$(rss_kib)

	add_check 2 "at least $REQUESTS requests completed" \
		"$(holds "$total -ge $REQUESTS")" "$total in $runs wrk runs"
	add_check 2 "no socket error, no status >= 400 (wrk)" \
		"$(all_zero "${errors[@]}")" "$(errors_text "${errors[@]}")"

	# One request record per request: each that wrk counted, plus at
	# most one per connection that was in flight when a run stopped.
	log "phase 2: counting the audit records"
	: >>"$audit"
	# A request in flight when wrk stopped is recorded as cut short, with
	# the reason; every other one must say 200.
	logged=$(grep -c '"event":"request"' "$audit" || true)
	cut=$(grep '"event":"request"' "$audit" |
		grep -c '"error":"the client left' || true)
	not_ok=$(grep '"event":"request"' "$audit" | grep -v '"error":' |
		grep -vc '"status":200,' || true)
	others=$(grep -vc '"event":"request"' "$audit" || true)
	detail="$logged for $total requests (up to $((runs * CONNECTIONS))"
	detail+=" more were in flight when wrk stopped, $cut of them recorded"
	detail+=" as cut short); $others other records"
	add_check 2 "the audit log holds one request record per request" \
		"$(holds "$logged -ge $total && $others -eq 0 &&
			$cut -le $((runs * CONNECTIONS)) &&
			$logged -le $((total + runs * CONNECTIONS))")" "$detail"
	add_check 2 "every request record not cut short says 200" \
		"$(holds "$not_ok -eq 0")" "$not_ok say otherwise"
	add_check 2 "the gateway's memory stays flat (VmRSS grows < 4 MiB)" \
		"$(holds "$((rss_end - rss_start)) -lt 4096")" \
		"VmRSS $rss_start KiB after the first 3 s," \
		"$rss_end KiB at the end"

	add_figure 2 "$(commas "$total") in $(ms $((us / 1000))) s" \
		"($(commas $((total * 1000000 / (us > 0 ? us : 1))))/s)," \
		"p50 $(ms "$p50") ms, p99 $(ms "$p99") ms"
	add_figure 2 "$(errors_sum "${errors[@]}") errors," \
		"$not_ok not 200, $(commas "$logged") audit records"
	add_figure 2 "gateway VmRSS $(mib "$rss_start") MiB after 3 s," \
		"$(mib "$rss_end") MiB at the end"
	rm -f -- "$audit"
	settle 2 "the gateway's descriptors return to their baseline" || true
	stop_gateway 2
}

# ---- phase 3: idle and slow clients beside busy ones ----

# The holder keeps IDLE silent and SLOW trickling connections, writes
# $SCRATCH/held once all are open, and watches each until the gateway
# closes it; wrk measures the rate before and while they are held.
phase_idle() {
	local held=$SCRATCH/held wrk_end=$SCRATCH/wrk-end
	local holder status=0 rate_alone rate_held ratio base sockets i what
	local -a err_alone err_held

	start_gateway 3 none || return 1
	base=$(gateway_sockets)
	if ! wrk_run 3-alone "$RATE_S"; then
		add_check 3 "wrk runs through the gateway" 0 \
			"$(first_words "$SCRATCH/wrk-3-alone.txt")"
		stop_gateway 3
		return 1
	fi
	rate_alone=$(wrk_rate)
	err_alone=("${W_ERR[@]}")

	log "phase 3: holding $IDLE idle and $SLOW slow clients"
	LOAD_PHASE=3 timeout -k "$KILL_GRACE_S" $((HEAD_TIMEOUT_S + 120)) \
		"$PYTHON" "$SCRATCH/load.py" hold "$GW_PORT" \
		"$ORIGIN_NAME:$NGINX_PORT" "$IDLE" "$SLOW" "$held" "$wrk_end" \
		"$HEAD_TIMEOUT_S" </dev/null >>"$SCRATCH/phase3.out" \
		2>>"$SCRATCH/phase3.err" &
	holder=$!
	SERVER_PIDS+=("$holder")
	for ((i = 0; i < 600; i++)); do
		[[ -e $held ]] && break
		kill -0 "$holder" 2>/dev/null || break
		sleep 0.1
	done
	# the gateway must hold every one of them, not leave them queued
	for ((i = 0; i < 50; i++)); do
		sockets=$(gateway_sockets)
		[[ $sockets -ge $((base + IDLE + SLOW)) ]] && break
		sleep 0.1
	done
	add_check 3 "the gateway has accepted every idle and slow client" \
		"$(holds "$sockets -ge $((base + IDLE + SLOW))")" \
		"$((sockets - base)) sockets more than before"

	if wrk_run 3-held "$RATE_S"; then
		rate_held=$(wrk_rate)
		err_held=("${W_ERR[@]}")
	else
		rate_held=0
		err_held=(- - - - -)
	fi
	date +%s.%N >"$wrk_end"
	log "phase 3: waiting for the gateway to close the held clients"
	wait "$holder" || status=$?
	[[ $status -eq 0 ]] || add_check 3 "load.py hold ran to its end" 0 \
		"exit $status: $(tail -n 2 "$SCRATCH/phase3.err" | tr '\n' ' ')"

	add_check 3 "wrk alone: no error" "$(all_zero "${err_alone[@]}")" \
		"$(errors_text "${err_alone[@]}")"
	add_check 3 "wrk beside the held clients: no error" \
		"$(all_zero "${err_held[@]}")" "$(errors_text "${err_held[@]}")"
	ratio=$(awk -v a="$rate_alone" -v h="$rate_held" \
		'BEGIN {printf "%.2f", (a > 0 ? h / a : 0)}')
	what="the rate beside them is at least $RATE_RATIO_MIN of alone"
	add_check 3 "$what" "$(awk -v r="$ratio" -v m="$RATE_RATIO_MIN" \
		'BEGIN {print (r >= m)}')" "$rate_held/s against $rate_alone/s"
	add_figure 3 "wrk $(commas "$rate_alone")/s alone," \
		"$(commas "$rate_held")/s beside them (${ratio}x)," \
		"$(errors_sum "${err_alone[@]}" "${err_held[@]}") errors"
	settle 3 "the gateway's descriptors return to their baseline" || true
	stop_gateway 3
}

# ---- phase 4: the origin breaks off ----

phase_faults() {
	local audit=$SCRATCH/gateway4-audit.jsonl

	start_gateway 4 "$audit" || return 1
	log "phase 4: resets, stalls and ends, $FAULTS connections each"
	helper 4 600 faults "$GW_PORT" "$ORIGIN_NAME:$ORIGIN_PORT" \
		"$ORIGIN_PORT" "$FAULTS" "$GW_PID" "$audit" "$END_RUNS" || true
	stop_gateway 4
}

# ---- phase 5: clients vanish ----

phase_vanish() {
	local audit=$SCRATCH/gateway5-audit.jsonl

	start_gateway 5 "$audit" || return 1
	log "phase 5: $VANISH clients reset their downloads"
	helper 5 300 vanish "$GW_PORT" "$ORIGIN_NAME:$ORIGIN_PORT" \
		"$ORIGIN_PORT" "$VANISH" "$GW_PID" "$audit" 262144 || true
	stop_gateway 5
}

# ---- phase 6: the gateway killed under a running sandbox ----

# Sets LEFT to the pids that still carry the run's token, after waiting
# up to 2 s for them to go.
run_leftovers() {
	local i

	for ((i = 0; i < 20; i++)); do
		LEFT=$(BENCH_TOKEN=$RUN_TOKEN token_pids | tr '\n' ' ')
		[[ -z $LEFT ]] && return 0
		sleep 0.1
	done
}

# True while pid $1 is alive (a zombie counts as gone: its descriptors
# are closed).
alive() {
	local state

	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ $state != Z ]]
}

phase_killed() {
	local ws=$SCRATCH/workspace run_log=$SCRATCH/run6.log
	local wrapper sup gateways gw status=0 i

	mkdir -p "$ws"
	cp -- "$SCRATCH/inside.py" "$ws/"
	log "phase 6: airlock run; its gateway is killed under it"
	(cd -- "$ws" && exec timeout -k "$KILL_GRACE_S" 120 \
		env "AIRLOCK_BENCH_TOKEN=$RUN_TOKEN" "$AIRLOCK" run \
		--no-user-settings --settings "$SCRATCH/airlock.json" \
		--audit none --env "AIRLOCK_BENCH_TOKEN=$RUN_TOKEN" -- \
		"$PYTHON" inside.py "$NGINX_PORT") </dev/null \
		>"$SCRATCH/run6.out" 2>"$run_log" &
	wrapper=$!
	SERVER_PIDS+=("$wrapper")
	for ((i = 0; i < 600; i++)); do
		[[ -e $ws/ready ]] && break
		kill -0 "$wrapper" 2>/dev/null || break
		sleep 0.1
	done
	if [[ ! -e $ws/ready ]]; then
		add_check 6 "the command starts inside" 0 \
			"$(first_words "$run_log")"
		end_pids "$wrapper"
		return 1
	fi

	sup=$(pgrep -P "$wrapper" | head -n 1)
	gateways=$("$PYTHON" "$SCRATCH/load.py" find-gateway "${sup:-0}")
	read -r gw _ <<<"$gateways"
	if [[ $gateways =~ ^[0-9]+$ ]]; then
		add_check 6 "the run has one gateway" 1 \
			"airlock run pid $sup, its gateway pid $gw"
	else
		add_check 6 "the run has one gateway" 0 \
			"airlock run pid ${sup:-none}, gateways:" \
			"${gateways:-none}"
		gw=
	fi
	if [[ -n $gw ]]; then
		kill -KILL "$gw"
		for ((i = 0; i < 20; i++)); do
			alive "$gw" || break
			sleep 0.1
		done
		if alive "$gw"; then
			add_check 6 "SIGKILL ends the gateway" 0 \
				"pid $gw lives on"
		else
			add_check 6 "SIGKILL ends the gateway" 1 "pid $gw"
		fi
	fi
	: >"$ws/killed"
	wait "$wrapper" || status=$?

	add_check 6 "airlock run exits with the command's own status" \
		"$(holds "$status -eq $INSIDE_STATUS")" \
		"$status (the command exits $INSIDE_STATUS)"
	add_figure 6 "airlock run exited $status, the command's status"
	add_check 6 "the supervisor says the sandbox has no way out" \
		"$(grep -qF 'the gateway exited; the sandbox has no way out' \
			"$run_log" && echo 1 || echo 0)" \
		"$(grep -m 1 -F 'gateway exited' "$run_log" || echo 'not said')"
	run_leftovers
	add_check 6 "nothing of the run is left" \
		"$(holds "-z '$LEFT' && ! -e /proc/${sup:-0}")" \
		"${LEFT:-no process carries its token}"
	if [[ -e $ws/results.json ]]; then
		LOAD_PHASE=6 "$PYTHON" "$SCRATCH/load.py" inside-report \
			"$ws/results.json"
	else
		add_check 6 "the command inside reports" 0 \
			"no results: $(first_words "$run_log")"
	fi
}

# ---- the run ----

run_phase() {
	local n=$1 title=$2 fn=$3 start=$SECONDS

	if ! want_phase "$n"; then
		add_row "$n" "$title" skipped "not in PHASES"
		return 0
	fi
	add_row "$n" "$title" ok ""
	log "phase $n: $title"
	"$fn" || true
	add_figure "$n" "$((SECONDS - start)) s"
}

# Facts about the machine that the figures depend on, one per line.
write_host_notes() {
	{
		machine_lines "open files: soft $(ulimit -Sn), hard $(ulimit -Hn)"
		echo "airlock: $("$AIRLOCK" --version) ($AIRLOCK)"
		echo "Origins: $(nginx -v 2>&1 | sed 's/^nginx version: //')" \
			"(1 worker), Python $("$PYTHON" -c 'import platform
print(platform.python_version())') asyncio"
		echo "Clients: wrk $(wrk -v 2>&1 | awk '{print $2; exit}')," \
			"curl $(curl --version | awk '{print $2; exit}')," \
			"Python"
		echo "Settings: PHASES=$PHASES TUNNELS=$TUNNELS" \
			"REQUESTS=$REQUESTS CONNECTIONS=$CONNECTIONS" \
			"THREADS=$THREADS IDLE=$IDLE SLOW=$SLOW" \
			"RATE_S=$RATE_S FAULTS=$FAULTS END_RUNS=$END_RUNS" \
			"VANISH=$VANISH"
		echo "Date: $(date -u +%Y-%m-%dT%H:%MZ); the run took" \
			"$SECONDS s"
	} >"$SCRATCH/host.txt"
}

main() {
	local status=0

	check_setup
	trap cleanup EXIT
	trap on_signal INT TERM HUP

	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/airlock-load.XXXXXX")
	# nginx's workers may run as another user, and so may what
	# `airlock run` starts as root: they must reach their files.
	chmod 0755 "$SCRATCH"
	export LOAD_SCRATCH=$SCRATCH
	# airlock keeps its run records in the state folder: here, not in ~
	export XDG_STATE_HOME=$SCRATCH/state
	# nothing the steps leave behind lands in the caller's folder
	cd -- "$SCRATCH"
	: >"$SCRATCH/rows.tsv"
	: >"$SCRATCH/checks.tsv"
	: >"$SCRATCH/figures.tsv"

	write_helpers
	start_nginx
	start_origin
	write_settings
	write_wrk_script

	run_phase 1 "1. $(commas "$TUNNELS") tunnels at once" phase_tunnels
	run_phase 2 "2. $(commas "$REQUESTS") requests" phase_requests
	run_phase 3 "3. $(commas "$IDLE") idle, $(commas "$SLOW") slow" \
		phase_idle
	run_phase 4 "4. server resets, stalls, closes" phase_faults
	run_phase 5 "5. $(commas "$VANISH") clients vanish" phase_vanish
	run_phase 6 "6. gateway killed under airlock run" phase_killed

	write_host_notes
	"$PYTHON" "$SCRATCH/load.py" report >"$SCRATCH/table.md" || status=$?
	cat -- "$SCRATCH/table.md"
	return "$status"
}

main "$@"
