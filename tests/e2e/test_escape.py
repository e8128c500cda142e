# SPDX-License-Identifier: Apache-2.0
"""The escape suite: tests/escape/probes.py tries, from inside a sandbox,
each known way out, and this driver sets up what lies outside (planted
secrets, host services that answer with a sentinel banner, a host process
to signal, a DNS server that rebinds a name) and checks from the host that
nothing was reached, changed or left running.

Two policies, each started by root and by an unprivileged user: the
default one (no network), and one whose gateway allows a few names on
loopback. Each probe's line ("held ID: tried ... -> ...") is printed;
run with `pytest -s tests/e2e/test_escape.py` to see them all.
"""
import json
import os
import pty
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from airlock_harness import ROOT, SYSTEM_PYTHON
from netfixtures import Origin, write_settings

PROBES = ROOT / "tests" / "escape" / "probes.py"
BANNER = b"AIRLOCK-SENTINEL"
MARKER_PARTS = ["AIRLOCK", "ESCAPE-SECRET-" + secrets.token_hex(8)]
MARKER = "".join(MARKER_PARTS)
# where the rebinding DNS server listens; /etc/resolv.conf names it in a
# private mount namespace that only the run under test sees
DNS_ADDRESS = "127.53.0.1"
LIMITS = ["--processes", "256", "--memory", "512M"]


# ---- what lies outside ----

class Sentinel:
    """Counts connections on a listening socket and the bytes that arrive
    on them, and answers with a banner: at once when greet, else on the
    first bytes."""

    def __init__(self, name, sock, greet=True):
        self.name = name
        self.greet = greet
        self.accepted = 0
        self.received = 0
        self.sock = sock
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            banner = BANNER + b" " + self.name.encode() + b"\r\n"
            try:
                if self.greet:
                    conn.sendall(banner)
                conn.settimeout(2)
                data = conn.recv(65536)
                self.received += len(data)
                if data and not self.greet:
                    conn.sendall(banner)
            except OSError:
                pass
            conn.close()

    def stop(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(timeout=10)


class TcpSentinel(Sentinel):
    def __init__(self, name, host="127.0.0.1", port=0, greet=True):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        super().__init__(name, sock, greet)


class UnixSentinel(Sentinel):
    """On a path ("\\0NAME": an abstract name) that anyone may connect to."""

    def __init__(self, name, path):
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path)
        if not path.startswith("\0"):
            os.chmod(path, 0o777)
        sock.listen(8)
        super().__init__(name, sock)


class UdpServer:
    """A UDP server in a thread; answer(data) gives the reply or None."""

    def __init__(self, address):
        self.stopping = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.2)  # a closed socket does not wake recvfrom
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self.answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def answer(self, data):
        raise NotImplementedError

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=10)
        self.sock.close()


class UdpSentinel(UdpServer):
    def __init__(self, name):
        self.name = name
        self.received = 0
        super().__init__(("127.0.0.1", 0))

    def answer(self, data):
        self.received += 1
        return BANNER


class RebindingDns(UdpServer):
    """Answers A queries for one name, flipping between a good and a bad
    address (and sometimes both); everything else gets NXDOMAIN."""

    def __init__(self, name, good, bad):
        self.name, self.good, self.bad = name, good, bad
        self.queries = 0
        super().__init__((DNS_ADDRESS, 53))

    def _answers(self, qtype):
        if qtype != 1:
            return []
        self.queries += 1
        return [[self.good], [self.bad], [self.good, self.bad]][
            (self.queries - 1) % 3]

    def answer(self, query):
        end = 12
        labels = []
        while query[end]:
            labels.append(query[end + 1:end + 1 + query[end]].decode())
            end += query[end] + 1
        qtype = struct.unpack(">H", query[end + 1:end + 3])[0]
        question = query[12:end + 5]
        known = ".".join(labels).lower() == self.name
        addrs = self._answers(qtype) if known else []
        flags = 0x8180 if known else 0x8183
        reply = query[:2] + struct.pack(">HHHHH", flags, 1, len(addrs), 0,
                                        0) + question
        for a in addrs:
            reply += struct.pack(">HHHIH", 0xc00c, 1, 1, 0, 4) + \
                socket.inet_aton(a)
        return reply


def host_address():
    """The host's first global IPv4 address, or None."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope",
                          "global"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        return line.split()[3].split("/")[0]
    return None


def processes_with(marker):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            pass
    return found


class Outside:
    """Everything the probes aim at, set up around one sandbox."""

    def __init__(self, sb, with_gateway):
        self.sb = sb
        self.stoppers = []
        base, ws, home = sb.base, sb.workspace, sb.home
        self.outside = base / "outside"
        self.outside.mkdir()
        (self.outside / "file.txt").write_text("outside, unchanged\n")
        private = base / "private"
        private.mkdir()
        (private / "secret.txt").write_text(MARKER + "\n")
        for rel in [".ssh/id_ed25519", ".aws/credentials",
                    ".config/gcloud/application_default_credentials.json"]:
            (home / rel).parent.mkdir(parents=True, exist_ok=True)
            (home / rel).write_text(MARKER + "\n")
        (ws / ".env").write_text(f"API_KEY={MARKER}\n")
        (ws / ".bashrc").write_text("# the user's own\n")
        (ws / ".git" / "hooks").mkdir(parents=True)
        (ws / ".git" / "config").write_text("[core]\n")
        (ws / ".git" / "hooks" / "pre-commit").write_text("#!/bin/sh\n")
        self.protected_existing = [".bashrc", ".git/config",
                                   ".git/hooks/pre-commit"]
        self.protected_missing = [".mcp.json", ".vscode/tasks.json",
                                  ".claude/commands/x.md", ".gitmodules",
                                  ".airlock.json",
                                  ".git/hooks/post-checkout"]

        self.loopback = self._start(TcpSentinel("host-loopback"))
        self.any = self._start(TcpSentinel("host-any", "0.0.0.0"))
        self.udp = self._start(UdpSentinel("host-udp"))
        self.abstract = f"airlock-escape-{secrets.token_hex(6)}"
        self.unix = [self._start(UnixSentinel("ws-socket",
                                              str(ws / "host.sock"))),
                     self._start(UnixSentinel("outside-socket",
                                              str(self.outside / "host.sock"))),
                     self._start(UnixSentinel("abstract",
                                              "\0" + self.abstract))]
        self.signals = base / "signals.txt"
        self.signals.write_text("")
        self.sentinel = subprocess.Popen(
            [SYSTEM_PYTHON, "-c",
             "import signal, sys, time\n"
             "def got(n, _):\n"
             "    open(sys.argv[1], 'a').write(f'{n}\\n')\n"
             "signal.signal(signal.SIGURG, got)\n"
             "time.sleep(300)\n", str(self.signals), "sentinel"])
        self.daemon_marker = f"airlock-escape-daemon-{secrets.token_hex(6)}"
        self.host_ip = host_address()

        tcp = [{"name": "host-loopback", "host": "127.0.0.1",
                "port": self.loopback.port},
               {"name": "host-any-via-loopback", "host": "127.0.0.1",
                "port": self.any.port}]
        if self.host_ip:
            tcp.append({"name": "host-address", "host": self.host_ip,
                        "port": self.any.port})
        self.targets = {
            "secret_marker_parts": MARKER_PARTS,
            "secret_paths": [str(home / ".ssh/id_ed25519"),
                             str(home / ".aws/credentials"),
                             str(ws / ".env"), str(private / "secret.txt")],
            "outside_dirs": [str(self.outside), str(home)],
            "outside_files": [str(self.outside / "file.txt")],
            "protected_existing": self.protected_existing,
            "protected_missing": self.protected_missing,
            "host_pid": self.sentinel.pid,
            "tcp_sentinels": tcp,
            "udp_sentinels": [{"name": "host-udp", "host": "127.0.0.1",
                               "port": self.udp.port}],
            "unix_paths": [str(ws / "host.sock"),
                           str(self.outside / "host.sock")],
            "unix_abstract": [self.abstract],
            "daemon_marker": self.daemon_marker,
        }
        self.settings = {"filesystem": {"denyRead": [str(private)]}}
        self.dns = self.origin = self.sni = None
        if with_gateway:
            self._gateway()
        self.before = self._snapshot()

    def _start(self, server):
        self.stoppers.append(server.stop)
        return server

    def _gateway(self):
        self.origin = Origin("allowed", address="127.0.0.2")
        self.stoppers.append(self.origin.stop)
        port = self.origin.port
        # the rebound name's bad address: the host's loopback service
        self.rebind_bad = self._start(TcpSentinel("rebind-target",
                                                  "127.0.0.1", port))
        # the name behind disagreeing SNI and Host: reaching it is
        # allowed, but no byte of the disagreeing request may arrive
        self.sni = self._start(TcpSentinel("sni-target", "127.0.0.2",
                                           greet=False))
        try:
            self.dns = self._start(RebindingDns("rebind.test", "127.0.0.2",
                                                "127.0.0.1"))
        except OSError as e:
            pytest.skip(f"cannot serve DNS on {DNS_ADDRESS}:53: {e}")
        hosts = {"allowed.test": "127.0.0.2", "sni.test": "127.0.0.2",
                 "meta.test": "169.254.169.254", "lo.test": "127.0.0.1"}
        pinned = ["meta.test", f"lo.test:{self.loopback.port}"]
        allowed = [f"allowed.test:{port}", f"rebind.test:{port}",
                   f"sni.test:{self.sni.port}", "meta.test",
                   f"lo.test:{self.loopback.port}"]
        if self.host_ip:
            hosts["own.test"] = self.host_ip
            allowed.append(f"own.test:{self.any.port}")
            pinned.append(f"own.test:{self.any.port}")
        self.settings["network"] = {"allowedDomains": allowed,
                                    "hosts": hosts,
                                    "allowAddresses": ["127.0.0.2"]}
        self.settings["credentials"] = {"secrets": [
            {"name": "escape", "from": {"env": "ESCAPE_CRED_TOKEN"},
             "hosts": [f"allowed.test:{port}"]}]}
        self.targets["gateway"] = {
            "allowed": "allowed.test", "port": port,
            "sni_name": "sni.test", "sni_port": self.sni.port,
            "pinned_private": pinned,
            "real_addresses": ["127.0.0.2", "127.0.0.1"],
            "rebind": {"name": "rebind.test", "port": port, "tries": 9},
            "placeholder_env": "ESCAPE_CRED_TOKEN",
        }

    def _snapshot(self):
        ws, out = self.sb.workspace, self.outside
        return {"outside": sorted(p.name for p in out.iterdir()),
                "file": (out / "file.txt").read_bytes(),
                "home": sorted(str(p) for p in self.sb.home.rglob("*")),
                "protected": {r: (ws / r).read_bytes()
                              for r in self.protected_existing}}

    def run(self):
        """Runs the probes; returns (exit status, output lines)."""
        targets = self.sb.workspace / "escape-targets.json"
        targets.write_text(json.dumps(self.targets))
        # a copy in the workspace: the checkout may lie under /tmp, which
        # is the sandbox's own
        probes = self.sb.workspace / "escape-probes.py"
        shutil.copyfile(PROBES, probes)
        settings = write_settings(self.sb, self.settings)
        args = ["run", "--settings", str(settings), "--audit",
                str(self.sb.base / "audit.jsonl"), *LIMITS, "--",
                SYSTEM_PYTHON, str(probes), str(targets)]
        cmd = self.sb.command(args)
        if self.dns:
            resolv = self.sb.base / "resolv.conf"
            resolv.write_text(f"nameserver {DNS_ADDRESS}\n")
            cmd = ["unshare", "-m", "--propagation", "private", "--",
                   "/bin/sh", "-c",
                   'mount --bind "$0" /etc/resolv.conf && exec "$@"',
                   str(resolv)] + cmd
        # the planted home is the caller's, in both modes
        env = {"HOME": str(self.sb.home), "ESCAPE_API_TOKEN": MARKER,
               "ESCAPE_CRED_TOKEN": MARKER}
        # a descriptor of the caller's, which must not reach inside
        leaked = os.open(self.outside, os.O_RDONLY | os.O_DIRECTORY)
        # stdin a terminal: the sandbox gets a pty of its own
        master, slave = pty.openpty()
        self.sb.chown_tree()
        try:
            r = subprocess.run(cmd, cwd=self.sb.workspace,
                               env=self.sb.env(env), stdin=slave,
                               capture_output=True, text=True, timeout=240,
                               pass_fds=(leaked,))
        finally:
            for fd in (leaked, master, slave):
                os.close(fd)
        lines = [ln.rstrip("\r") for ln in r.stdout.splitlines()]
        return r, lines

    def stop(self):
        if self.sentinel.poll() is None:
            self.sentinel.kill()
        self.sentinel.wait()
        for stop in reversed(self.stoppers):
            stop()
        for pid in processes_with(self.daemon_marker):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(params=["no-network", "gateway"])
def outside(request, sb):
    box = Outside(sb, request.param == "gateway")
    yield box
    box.stop()


def verdicts(lines):
    """Maps probe id to (verdict, line)."""
    found = {}
    for line in lines:
        verdict, _, rest = line.partition(" ")
        pid = rest.strip().split(": ", 1)[0]
        found[pid] = (verdict, line)
    return found


# Probes that must have run and held in every configuration: a probe that
# silently stops running fails the suite.
ALWAYS_HELD = [
    "secrets/proc-environ", "secrets/environment", "secrets/kallsyms",
    "proc/self-mem", "priv/capabilities", "priv/nosuid",
    "proc/host-visible", "proc/kill-host", "proc/ptrace-host",
    "proc/init /proc/1/mem", "proc/pidfd-getfd-init", "syscall/mount",
    "syscall/unshare CLONE_NEWUSER", "syscall/keyctl", "syscall/bpf",
    "syscall/perf_event_open", "syscall/userfaultfd",
    "syscall/io_uring_setup", "syscall/open_by_handle_at",
    "syscall/clone3", "net/socket raw IPv4", "net/socket packet",
    "net/socket Unix stream", "tty/tiocsti stdin", "tty/tioclinux",
    "fd/inherited", "limits/fork-bomb", "limits/memory",
    "fs/symlink-write", "fs/hardlink", "net/metadata-http 2852039166",
    "net/metadata-connect [::ffff:169.254.169.254]",
    "net/metadata-socks 169.254.169.254", "dns/denied example.com@8.8.8.8",
    "net/direct host-loopback 127.0.0.1:{loop}",
    "net/udp host-udp",
]
GATEWAY_HELD = [
    "net/sni-connect", "net/sni-transparent", "net/host-in-connect",
    "net/host-header", "net/connect-port 22", "net/socks-port 25",
    "http/smuggling cl-and-te proxy", "http/smuggling cl-and-te capture",
    "http/smuggling obs-fold proxy", "http/smuggling bare-cr capture",
    "net/rebinding", "net/pinned-private meta.test",
    "cred/placeholder-elsewhere header", "cred/placeholder-elsewhere query",
    "cred/placeholder-elsewhere path",
    "dns/allowed-is-synthetic",
]


def test_escape_suite(sb, outside):
    r, lines = outside.run()
    report = "\n".join(lines) + "\n--- stderr ---\n" + r.stderr
    print(f"\n[{sb.mode}, {'gateway' if outside.origin else 'no network'}]")
    print("\n".join(lines))

    found = verdicts(lines)
    bad = [line for v, line in found.values() if v in ("ESCAPED", "ERROR")]
    assert not bad, "\n".join(bad) + "\n\n" + report
    assert r.returncode == 0, report
    assert lines and lines[-1] == "summary: 0 escaped", report
    must = [p.format(loop=outside.loopback.port) for p in ALWAYS_HELD]
    if outside.origin:
        must += GATEWAY_HELD
    for pid in must:
        assert found.get(pid, ("missing",))[0] == "held", \
            f"{pid}: {found.get(pid)}\n\n{report}"
    for pid in must:
        assert MARKER not in found[pid][1]
    assert len([v for v, _ in found.values() if v == "held"]) >= 150, report

    # what only the host can see
    assert MARKER not in r.stdout + r.stderr
    sentinels = [outside.loopback, outside.any] + outside.unix
    if outside.origin:
        sentinels.append(outside.rebind_bad)
        assert outside.sni.received == 0, \
            f"a disagreeing request reached its target\n\n{report}"
    for s in sentinels:
        assert s.accepted == 0, f"{s.name} was reached\n\n{report}"
    assert outside.udp.received == 0, "the UDP service was reached"
    assert outside.signals.read_text() == "", "a host process got a signal"
    assert processes_with(outside.daemon_marker) == [], \
        "a daemon outlived the sandbox"
    time.sleep(0.5)
    assert processes_with(outside.daemon_marker) == []
    assert outside._snapshot() == outside.before
    for rel in outside.protected_missing:
        assert not os.path.lexists(sb.workspace / rel), rel
    leftovers = [p.name for p in sb.workspace.iterdir()
                 if p.name.startswith("escape-")]
    assert sorted(leftovers) == ["escape-probes.py",
                                 "escape-targets.json"], leftovers
    if outside.origin:
        paths = [q["path"] for q in outside.origin.requests]
        assert not [p for p in paths if "smuggled" in p or "disagree" in
                    p], paths
        # the name was rebound for real: asked more than once, and both
        # answers handed out
        assert outside.dns.queries >= 3, outside.dns.queries
        audit = [json.loads(x) for x in
                 (sb.base / "audit.jsonl").read_text().splitlines()]
        assert audit and MARKER not in json.dumps(audit)
        assert any(x.get("event") == "deny" for x in audit)
