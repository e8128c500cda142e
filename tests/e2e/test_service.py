# SPDX-License-Identifier: Apache-2.0
"""`airlock gateway` as a service: runs attached to it over a Unix socket
under its settings as a ceiling, the TCP proxy for containers and VMs with
and without client tokens, and a parent proxy for onward connections.
Every service a test starts is stopped by PID before the test ends."""
import base64
import json
import os
import resource
import signal
import socket
import subprocess
import time

import pytest

from netfixtures import Origin, read_audit, web_settings, write_settings

SERVICE_START_S = 10


@pytest.fixture
def origin():
    server = Origin("web")
    yield server
    server.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """One `airlock gateway` process, started as the sandbox's user."""

    def __init__(self, sb, settings, *args, name="service.json",
                 open_files=None):
        self.sb = sb
        path = write_settings(sb, settings, name)
        self.audit = sb.base / "service-audit.jsonl"

        def limit():
            if open_files:
                resource.setrlimit(resource.RLIMIT_NOFILE,
                                   (open_files, open_files))
        self.proc = sb.popen(["gateway", "--settings", str(path),
                              "--no-user-settings", "--audit",
                              str(self.audit), *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=limit)

    def wait_ready(self, ready):
        deadline = time.monotonic() + SERVICE_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("the service exited: " +
                                     self.proc.stderr.read().decode())
            if ready():
                return self
            time.sleep(0.05)
        raise AssertionError("the service did not start in time")

    def stop(self):
        """SIGTERM, then the exit status; the service must end cleanly."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def tcp_ready(port):
    def ready():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    return ready


def curl(url, *args):
    quoted = " ".join(f"'{a}'" for a in args)
    return (f"curl -sS -m 20 -o /dev/null -w '%{{http_code}}\\n' {quoted} "
            f"'{url}'")


def host_curl(url, *args):
    """curl on the host (outside any sandbox); returns the HTTP status."""
    r = subprocess.run(["curl", "-sS", "-m", "20", "-o", "/dev/null", "-w",
                        "%{http_code}", "--noproxy", "", *args, url],
                       capture_output=True, text=True, timeout=30,
                       env={"PATH": "/usr/bin:/bin"})
    return r.stdout


# ---- runs attached over a Unix socket ----

@pytest.fixture
def attached(sb, origin):
    """A service on a socket whose ceiling allows web.test and up.test."""
    sock = sb.base / "gw.sock"
    ceiling = web_settings(origin.port, names=("web.test", "up.test"))
    service = Service(sb, ceiling, "--socket", str(sock))
    service.wait_ready(lambda: sock.exists())
    yield service, sock
    assert service.stop() == 0
    assert not sock.exists(), "the service left its socket behind"


def test_attached_run_is_served_under_the_ceiling(sb, origin, attached):
    service, sock = attached
    # the run allows web.test and other.test; the ceiling has no other.test
    settings = web_settings(origin.port, names=("web.test", "other.test"))
    path = write_settings(sb, settings)
    r = sb.sh(curl(f"http://web.test:{origin.port}/hello") + "; " +
              curl(f"http://other.test:{origin.port}/hello") + "; " +
              curl(f"http://up.test:{origin.port}/hello"),
              "--settings", str(path), "--gateway", str(sock))
    # up.test: the ceiling allows it, the run does not
    assert r.stdout.split() == ["200", "403", "403"], r.stderr
    records = read_audit(service.audit)
    runs = {x["run"] for x in records}
    assert len(runs) == 1 and "listen" not in runs
    denies = [x for x in records if x["event"] == "deny"]
    assert [d["host"] for d in denies] == ["other.test", "up.test"]
    assert denies[0]["reason"] == "not allowed by the shared gateway"


def test_attached_runs_keep_their_own_policy(sb, origin, attached):
    _, sock = attached
    only_web = write_settings(sb, web_settings(origin.port), "web.json")
    only_up = write_settings(sb, web_settings(origin.port,
                                              names=("up.test",)), "up.json")
    both = (curl(f"http://web.test:{origin.port}/hello") + "; " +
            curl(f"http://up.test:{origin.port}/hello"))
    first = sb.popen(["run", "--settings", str(only_web), "--gateway",
                      str(sock), "--", "/bin/sh", "-c", "sleep 1; " + both],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    second = sb.sh(both, "--settings", str(only_up), "--gateway", str(sock))
    out, err = first.communicate(timeout=60)
    assert out.decode().split() == ["200", "403"], err
    assert second.stdout.split() == ["403", "200"], second.stderr


def test_run_refused_when_no_service(sb):
    r = sb.sh("true", "--gateway", str(sb.base / "absent.sock"))
    assert r.returncode == 125
    assert "is `airlock gateway --socket" in r.stderr


def test_second_service_does_not_steal_the_socket(sb, attached):
    _, sock = attached
    second = Service(sb, {"network": {"allowedDomains": []}}, "--socket",
                     str(sock), name="second.json")
    assert second.proc.wait(timeout=10) != 0
    assert "another gateway serves" in second.proc.stderr.read().decode()
    assert sock.exists()


# ---- the TCP proxy ----

def test_listen_on_loopback_serves_http_and_socks5(sb, origin):
    port = free_port()
    service = Service(sb, web_settings(origin.port), "--listen",
                      f"127.0.0.1:{port}").wait_ready(tcp_ready(port))
    try:
        url = f"http://web.test:{origin.port}/hello"
        assert host_curl(url, "-x", f"http://127.0.0.1:{port}") == "200"
        assert host_curl(url, "--socks5-hostname",
                         f"127.0.0.1:{port}") == "200"
        assert host_curl("http://other.test/", "-x",
                         f"http://127.0.0.1:{port}") == "403"
    finally:
        assert service.stop() == 0
    records = read_audit(service.audit)
    assert all(x["run"] == "listen" for x in records)
    assert records[0]["event"] == "request" and records[0]["proto"] == "http"
    # SOCKS5: the tunnel is allowed, then its plain HTTP is read request by
    # request (the Host must agree with the target)
    socks = [x for x in records if x["proto"] == "socks5"]
    assert [x["event"] for x in socks] == ["allow", "request"]
    assert records[-1]["event"] == "deny"
    assert records[-1]["host"] == "other.test"


def test_out_of_descriptors_pauses_and_recovers(sb, origin):
    # with too few descriptors accept() fails while the listener stays
    # readable: the service must pause (not spin, not flood its log) and
    # serve again once tunnels close
    port = free_port()
    service = Service(sb, web_settings(origin.port), "--listen",
                      f"127.0.0.1:{port}", open_files=40)
    service.wait_ready(tcp_ready(port))
    target = f"web.test:{origin.port}"
    held = []
    try:
        for _ in range(40):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
                      "\r\n".encode())
            held.append(s)
        time.sleep(1)  # the queued ones keep the listener readable
        answered = 0
        for s in held:
            s.settimeout(0.2)
            try:
                answered += s.recv(64).startswith(b"HTTP/1.1 200")
            except OSError:
                pass
        assert 0 < answered < len(held), answered
        for s in held:
            s.close()
        held = []
        url = f"http://{target}/hello"
        assert host_curl(url, "-x", f"http://127.0.0.1:{port}") == "200"
    finally:
        for s in held:
            s.close()
        assert service.stop() == 0
    log = service.proc.stderr.read().decode()
    assert 1 <= log.count("cannot accept") <= 3, log


def test_listen_beyond_loopback_needs_tokens(sb):
    service = Service(sb, {"network": {"allowedDomains": []}}, "--listen",
                      f"0.0.0.0:{free_port()}")
    assert service.proc.wait(timeout=10) != 0
    assert "give --tokens FILE" in service.proc.stderr.read().decode()


@pytest.mark.parametrize("extra", [
    {"network": {"requestRules": [{"host": "web.test", "methods": ["GET"]}]}},
    {"credentials": {"secrets": [{"name": "k", "from": {"env": "HOME"},
                                  "use": "inject", "hosts": ["web.test"]}]}},
])
def test_service_refuses_what_only_a_run_applies(sb, extra):
    # the service would pass what these settings mean to rule
    settings = {"network": {"allowedDomains": ["web.test"]}}
    for key, value in extra.items():
        settings.setdefault(key, {}).update(value)
    service = Service(sb, settings, "--listen", f"127.0.0.1:{free_port()}")
    assert service.proc.wait(timeout=10) == 2
    assert "only by a run's own gateway" in \
        service.proc.stderr.read().decode()


def test_listen_with_tokens_authenticates_clients(sb, origin):
    tokens = sb.base / "tokens"
    tokens.write_text("# name token\nci-runner s3cret-token-1\n")
    tokens.chmod(0o600)
    port = free_port()
    service = Service(sb, web_settings(origin.port), "--listen",
                      f"127.0.0.1:{port}", "--tokens",
                      str(tokens)).wait_ready(tcp_ready(port))
    url = f"http://web.test:{origin.port}/hello"
    proxy = f"http://127.0.0.1:{port}"
    try:
        assert host_curl(url, "-x", proxy) == "407"
        assert host_curl(url, "-x", proxy, "--proxy-user",
                         "ci-runner:wrong") == "407"
        assert host_curl(url, "-x", proxy, "--proxy-user",
                         "ci-runner:s3cret-token-1") == "200"
        assert host_curl(url, "--socks5-hostname", f"127.0.0.1:{port}",
                         "--proxy-user", "ci-runner:s3cret-token-1") == "200"
        assert host_curl(url, "--socks5-hostname", f"127.0.0.1:{port}") \
            != "200"
    finally:
        assert service.stop() == 0
    text = service.audit.read_text()
    assert "s3cret" not in text
    served = [json.loads(line) for line in text.splitlines()]
    assert any(x.get("who") == "ci-runner" and x.get("status") == 200
               for x in served)


def test_proxy_authorization_never_forwarded(sb, origin):
    tokens = sb.base / "tokens"
    tokens.write_text("client tok-abc\n")
    port = free_port()
    service = Service(sb, web_settings(origin.port), "--listen",
                      f"127.0.0.1:{port}", "--tokens",
                      str(tokens)).wait_ready(tcp_ready(port))
    try:
        basic = base64.b64encode(b"client:tok-abc").decode()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(f"GET http://web.test:{origin.port}/hello HTTP/1.1\r\n"
                      f"Host: web.test:{origin.port}\r\n"
                      f"Proxy-Authorization: Basic {basic}\r\n"
                      "Connection: close\r\n\r\n".encode())
            answer = s.makefile("rb").read()
    finally:
        service.stop()
    assert answer.startswith(b"HTTP/1.1 200")
    assert "proxy-authorization" not in origin.requests[0]["headers"]


# ---- a parent proxy ----

def test_parent_proxy_carries_onward_connections(sb, origin):
    """The run's own gateway sends its connections through a parent: here
    another airlock gateway on loopback, whose audit log shows them. The
    parent is asked for the name, which it filters on; names it does not
    allow stay refused even though the run allows them."""
    port = free_port()
    parent = Service(sb, web_settings(origin.port), "--listen",
                     f"127.0.0.1:{port}",
                     name="parent.json").wait_ready(tcp_ready(port))
    try:
        settings = web_settings(origin.port, names=("web.test", "more.test"),
                                parentProxy={
                                    "http": f"http://127.0.0.1:{port}"})
        path = write_settings(sb, settings)
        r = sb.sh(curl(f"http://web.test:{origin.port}/hello") + "; " +
                  curl(f"http://more.test:{origin.port}/hello"),
                  "--settings", str(path))
    finally:
        assert parent.stop() == 0
    assert r.stdout.split() == ["200", "502"], r.stderr
    hops = read_audit(parent.audit)
    assert hops[0]["event"] == "allow" and hops[0]["proto"] == "connect"
    assert hops[0]["host"] == "web.test"
    assert any(x["event"] == "deny" and x["host"] == "more.test"
               for x in hops)


def test_service_stops_on_sigterm_and_ends_its_runs(sb, origin, attached):
    service, sock = attached
    path = write_settings(sb, web_settings(origin.port))
    run = sb.popen(["run", "--settings", str(path), "--gateway", str(sock),
                    "--", "/bin/sh", "-c",
                    "echo started; read _; " +
                    curl(f"http://web.test:{origin.port}/hello") + " 2>&1"],
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    try:
        assert run.stdout.readline() == b"started\n"
        assert service.stop() == 0
        run.stdin.write(b"go\n")
        run.stdin.close()
        out = run.stdout.read().decode()
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    # the way out went with the service: nothing reaches the origin
    assert "200" not in out, out
    assert not origin.requests
    assert os.path.exists(sb.base) and not sock.exists()
