# SPDX-License-Identifier: Apache-2.0
"""The gateway, end to end: real clients inside the sandbox (curl, git,
python, node) against real servers on loopback, through the explicit
proxies and through transparent capture, as root and as an unprivileged
user. Names are pinned to 127.0.0.1 by the policy (network.hosts)."""
import hashlib
import json
import os
import re
import socket
import subprocess
import threading

import pytest

from airlock_harness import SYSTEM_PYTHON
from netfixtures import (Origin, SilentServer, PKI, read_audit,
                         web_settings, write_settings)



@pytest.fixture
def origin():
    server = Origin("web")
    yield server
    server.stop()


@pytest.fixture
def pki(sb):
    return PKI(sb.base / "pki")


@pytest.fixture
def tls_origin(pki):
    server = Origin("tls", tls=pki.server_cert("web.test", "a.web.test"))
    yield server
    server.stop()


def run_in(sb, settings, script, *options, timeout=60):
    """Runs script with sh inside the sandbox, auditing to audit.jsonl."""
    path = write_settings(sb, settings)
    audit = sb.base / "audit.jsonl"
    return sb.sh(script, "--settings", str(path), "--audit", str(audit),
                 *options, timeout=timeout)


def audit_of(sb):
    return read_audit(sb.base / "audit.jsonl")


def curl(url, *args):
    quoted = " ".join(f"'{a}'" for a in args)
    return (f"curl -sS -m 20 -o /dev/null -w '%{{http_code}}\\n' {quoted} "
            f"'{url}'")


# ---- the explicit HTTP proxy ----

def test_http_allowed_and_denied(sb, origin):
    r = run_in(sb, web_settings(origin.port),
               curl(f"http://web.test:{origin.port}/hello") + "; " +
               curl("http://other.test/hello") + "; " +
               curl(f"http://web.test:{origin.port + 1}/hello"))
    assert r.stdout.split() == ["200", "403", "403"], r.stderr
    assert origin.requests[0]["path"] == "/hello"
    # the proxy's own header is not forwarded
    assert "proxy-connection" not in origin.requests[0]["headers"]
    records = audit_of(sb)
    assert [x["event"] for x in records] == ["request", "deny", "deny"]
    assert records[0]["status"] == 200 and records[0]["rule"] == \
        f"web.test:{origin.port}"
    assert records[1]["host"] == "other.test"
    assert records[1]["reason"] == "not in the allowed domains"


def test_refusal_says_why(sb, origin):
    settings = web_settings(origin.port, deniedDomains=["evil.test"],
                            deniedDomainReasons={"evil.test": "known bad"})
    r = run_in(sb, settings, "curl -sS -i -m 20 http://evil.test/x")
    assert r.stdout.startswith("HTTP/1.1 403"), r.stdout
    assert "X-Airlock-Reason: known bad" in r.stdout
    assert "airlock: evil.test: known bad" in r.stdout


def test_empty_allow_list_means_no_network(sb, origin):
    r = run_in(sb, {"network": {"allowedDomains": [],
                                "hosts": {"web.test": "127.0.0.1"}}},
               curl(f"http://web.test:{origin.port}/hello"))
    assert r.stdout.split() == ["403"]
    assert not origin.requests
    assert audit_of(sb)[0]["reason"] == "no network: the allow list is empty"


def test_query_never_in_the_audit_log(sb, origin):
    run_in(sb, web_settings(origin.port),
           curl(f"http://web.test:{origin.port}/hello?token=s3cr3t"))
    text = (sb.base / "audit.jsonl").read_text()
    assert "s3cr3t" not in text
    assert audit_of(sb)[0]["path"] == "/hello"


def test_keep_alive_and_post_bodies(sb, origin):
    url = f"http://web.test:{origin.port}"
    r = run_in(sb, web_settings(origin.port),
               f"curl -sS -m 20 {url}/hello {url}/hello "
               f"--next -sS -m 20 --data-binary 0123456789 {url}/echo")
    assert r.stdout == "hello from web\nhello from web\n0123456789", r.stderr
    assert origin.requests[2]["body"] == b"0123456789"
    assert len([x for x in audit_of(sb) if x["event"] == "request"]) == 3


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_large_upload_through_proxy(sb, origin, framing):
    # without Expect: 100-continue the body follows the head at once: its
    # first part joins the head upstream, the rest follows
    data = sb.workspace / "upload.bin"
    data.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    chunked = "-H 'Transfer-Encoding: chunked' " if framing == "chunked" \
        else ""
    r = run_in(sb, web_settings(origin.port),
               f"curl -sS -m 60 -H Expect: {chunked}--data-binary @{data} "
               f"http://web.test:{origin.port}/echo | sha256sum")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert r.stdout.split()[0] == digest, r.stderr
    assert origin.requests[0]["body"] == data.read_bytes()
    [record] = [x for x in audit_of(sb) if x["event"] == "request"]
    assert record["bytes_up"] > data.stat().st_size


def test_large_download_through_proxy(sb, origin):
    n = 20 * 1024 * 1024
    r = run_in(sb, web_settings(origin.port),
               f"curl -sS -m 60 http://web.test:{origin.port}/bytes/{n} | wc -c")
    assert r.stdout.strip() == str(n), r.stderr


def test_proxy_variables_for_common_tools(sb, origin):
    r = run_in(sb, web_settings(origin.port), "env")
    env = dict(line.split("=", 1) for line in r.stdout.splitlines()
               if "=" in line)
    http = "http://127.0.0.1:3128"
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                 "npm_config_proxy", "npm_config_https_proxy", "PIP_PROXY",
                 "grpc_proxy", "CARGO_HTTP_PROXY"):
        assert env.get(name) == http, name
    assert env["ALL_PROXY"] == "socks5h://127.0.0.1:1080"
    assert env["CLOUDSDK_PROXY_PORT"] == "3128"
    assert "-Dhttps.proxyPort=3128" in env["JAVA_TOOL_OPTIONS"]
    assert env["NO_PROXY"].split(",") == ["localhost", "127.0.0.1", "::1"]


def test_allowed_loopback_name_still_goes_through_the_proxy(sb, origin):
    """An allow-listed localhost must not be left to NO_PROXY, which would
    send it around the gateway into the sandbox's empty loopback."""
    settings = {"network": {"allowedDomains": [f"localhost:{origin.port}"],
                            "allowAddresses": ["127.0.0.1"],
                            "hosts": {"localhost": "127.0.0.1"}}}
    r = run_in(sb, settings, "echo $NO_PROXY; " +
               curl(f"http://localhost:{origin.port}/hello"))
    no_proxy, status = r.stdout.split()
    assert "localhost" not in no_proxy.split(",")
    assert status == "200", r.stderr
    assert origin.requests[0]["path"] == "/hello"


# ---- CONNECT ----

def test_https_connect_allowed_and_denied(sb, origin, tls_origin, pki):
    port = tls_origin.port
    cafile = sb.base / "pki" / "ca.pem"
    r = run_in(sb, web_settings(port),
               curl(f"https://web.test:{port}/hello", "--cacert", cafile) +
               "; " + curl(f"https://other.test:{port}/hello", "--cacert",
                           cafile) + " 2>&1")
    lines = r.stdout.split("\n")
    assert lines[0] == "200", r.stdout + r.stderr
    assert "403" in r.stdout.split("\n", 1)[1]
    records = audit_of(sb)
    assert records[0]["event"] == "allow" and records[0]["proto"] == "connect"
    # the server name is known once the ClientHello went by: at the close
    close = [x for x in records if x["event"] == "close"][0]
    assert close["sni"] == "web.test"
    assert close["bytes_down"] > 0 and close["bytes_up"] > 0
    assert any(x["event"] == "deny" and x["host"] == "other.test"
               for x in records)


def test_connect_to_other_port_refused(sb, origin):
    r = run_in(sb, web_settings(origin.port),
               curl(f"https://web.test:{origin.port + 1}/", "-k") + " 2>&1")
    assert "403" in r.stdout


def test_sni_must_match_connect_target(sb, tls_origin, pki):
    port = tls_origin.port
    code = f"""
import socket, ssl
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall(b"CONNECT web.test:{port} HTTP/1.1\\r\\nHost: web.test:{port}\\r\\n\\r\\n")
head = s.recv(4096)
print(head.split(b"\\r\\n")[0].decode())
ctx = ssl.create_default_context(cafile="{sb.base}/pki/ca.pem")
ctx.check_hostname = False
try:
    t = ctx.wrap_socket(s, server_hostname="evil.test")
    print("handshake done")
except (ssl.SSLError, OSError) as e:
    print("refused", type(e).__name__)
"""
    r = run_in(sb, web_settings(port), f"{SYSTEM_PYTHON} -c '{code}'")
    out = r.stdout.splitlines()
    assert out[0] == "HTTP/1.1 200 Connection established", r.stdout
    assert out[1].startswith("refused"), r.stdout
    assert not tls_origin.requests
    deny = [x for x in audit_of(sb) if x["event"] == "deny"]
    assert deny and deny[0]["rule"] == "sni-mismatch"
    assert deny[0]["sni"] == "evil.test"


def test_host_header_must_match_target(sb, origin):
    url = f"http://web.test:{origin.port}/hello"
    r = run_in(sb, web_settings(origin.port),
               curl(url, "-H", "Host: evil.test") + "; " +
               curl(url, "-H", f"Host: WEB.test.:{origin.port}"))
    assert r.stdout.split() == ["403", "200"], r.stderr


# ---- SOCKS5 ----

def test_socks5_allowed_and_denied(sb, origin):
    r = run_in(sb, web_settings(origin.port),
               curl(f"http://web.test:{origin.port}/hello", "--socks5-hostname",
                    "127.0.0.1:1080", "--noproxy", "") + "; " +
               curl("http://other.test/", "--socks5-hostname",
                    "127.0.0.1:1080") + " 2>&1")
    lines = r.stdout.splitlines()
    assert lines[0] == "200", r.stdout
    assert "not allowed" in r.stdout or "connection not allowed" in r.stdout \
        or "000" in lines[-1], r.stdout
    records = audit_of(sb)
    assert records[0]["proto"] == "socks5" and records[0]["event"] == "allow"
    assert any(x["event"] == "deny" and x["proto"] == "socks5"
               for x in records)


# ---- host names and addresses ----

def test_wildcards(sb, origin):
    port = origin.port
    settings = {"network": {
        "allowedDomains": [f"*.web.test:{port}"],
        "hosts": {"a.web.test": "127.0.0.1", "b.a.web.test": "127.0.0.1",
                  "web.test": "127.0.0.1",
                  "evilweb.test": "127.0.0.1",
                  "web.test.evil.test": "127.0.0.1"},
        "allowAddresses": ["127.0.0.1"]}}
    r = run_in(sb, settings, "; ".join(
        curl(f"http://{h}:{port}/hello")
        for h in ("a.web.test", "B.A.WEB.TEST", "web.test", "evilweb.test",
                  "web.test.evil.test")))
    assert r.stdout.split() == ["200", "200", "403", "403", "403"], r.stderr


@pytest.mark.parametrize("spelling", [
    "2130706433", "127.1", "0x7f.1", "0177.0.0.1", "127.0.0.1.",
    "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
])
def test_numeric_forms_of_loopback_refused(sb, origin, spelling):
    """127.0.0.1 is allowed on another port only; every spelling of it on
    the origin's port is refused."""
    settings = {"network": {"allowedDomains": ["127.0.0.1:1"],
                            "allowAddresses": ["127.0.0.1"]}}
    r = run_in(sb, settings, curl(f"http://{spelling}:{origin.port}/hello"))
    assert r.stdout.split() == ["403"], r.stdout + r.stderr
    assert not origin.requests


def test_denied_forms_match_case_and_numbers(sb, origin):
    port = origin.port
    settings = web_settings(port, names=("web.test", "evil.test"),
                            deniedDomains=["EVIL.test", "127.0.0.1"])
    r = run_in(sb, settings, "; ".join([
        curl(f"http://Evil.TEST.:{port}/hello"),
        curl(f"http://2130706433:{port}/hello"),
        curl(f"http://web.test:{port}/hello")]))
    assert r.stdout.split() == ["403", "403", "200"], r.stderr
    denies = [x for x in audit_of(sb) if x["event"] == "deny"]
    assert [d["rule"] for d in denies] == ["EVIL.test", "127.0.0.1"]


@pytest.mark.parametrize("address,what", [
    ("169.254.169.254", "metadata"), ("10.1.2.3", "private"),
    ("127.0.0.1", "loopback"), ("100.64.1.1", "cgnat"),
])
def test_names_resolving_to_private_addresses_refused(sb, origin, address,
                                                      what):
    settings = {"network": {"allowedDomains": ["inside.test"],
                            "hosts": {"inside.test": address}}}
    r = run_in(sb, settings, curl("http://inside.test/"))
    assert r.stdout.split() == ["403"]
    deny = audit_of(sb)[0]
    assert deny["rule"] == "address-check"
    assert what in deny["reason"]


def test_denied_resolved_addresses(sb, origin):
    """srt's deniedResolvedAddresses: an allowed name that resolves into a
    listed range is refused, even where allowAddresses would admit it."""
    settings = web_settings(origin.port, names=("web.test", "ok.test"),
                            deniedResolvedAddresses=["127.0.0.2/32"])
    settings["network"]["hosts"]["web.test"] = "127.0.0.2"
    settings["network"]["allowAddresses"] = ["127.0.0.0/8"]
    r = run_in(sb, settings,
               curl(f"http://web.test:{origin.port}/hello") + "; " +
               curl(f"http://ok.test:{origin.port}/hello"))
    assert r.stdout.split() == ["403", "200"], r.stderr
    deny = [x for x in audit_of(sb) if x["event"] == "deny"]
    assert deny[0]["rule"] == "address-check"
    assert deny[0]["reason"] == "resolves to deny-listed addresses only"


def test_unreachable_allowed_host_is_502(sb):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens
    r = run_in(sb, web_settings(port), curl(f"http://web.test:{port}/"))
    assert r.stdout.split() == ["502"]


# ---- transparent capture and the DNS stub ----

def test_dns_stub_answers_only_allowed_names(sb, origin):
    code = """
import socket
for name in ("web.test", "denied.test"):
    try:
        print(name, socket.getaddrinfo(name, 80, socket.AF_INET)[0][4][0])
    except socket.gaierror:
        print(name, "no answer")
"""
    r = run_in(sb, web_settings(origin.port), f"{SYSTEM_PYTHON} -c '{code}'")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("web.test 198.18."), r.stdout
    assert lines[1] == "denied.test no answer"
    dns = [x for x in audit_of(sb) if x["event"] == "dns"]
    assert {x["host"]: x["decision"] for x in dns} == {
        "web.test": "allow", "denied.test": "deny"}


def test_direct_dns_to_any_server_is_answered_inside(sb, origin):
    """A query sent to 8.8.8.8 is answered by the stub, not the internet."""
    code = r"""
import socket, struct
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l for l in b"denied.test".split(b".")) + b"\0"
q += struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.connect(("8.8.8.8", 53))
s.send(q)
a = s.recv(512)
print(hex(struct.unpack(">H", a[:2])[0]), a[3] & 15)
"""
    r = run_in(sb, web_settings(origin.port), f"{SYSTEM_PYTHON} -c '{code}'")
    assert r.stdout.split() == ["0x1234", "3"], r.stdout + r.stderr


def test_capture_without_proxy_variables(sb, origin, tls_origin):
    port, tport = origin.port, tls_origin.port
    settings = web_settings(port, extra_allow=[f"web.test:{tport}"])
    script = ("unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY "
              "all_proxy ALL_PROXY; " +
              curl(f"http://web.test:{port}/hello") + "; " +
              curl(f"https://web.test:{tport}/hello", "--cacert",
                   sb.base / "pki" / "ca.pem") + "; " +
              curl(f"http://web.test:{port + 2}/hello") + " 2>/dev/null")
    r = run_in(sb, settings, script)
    assert r.stdout.split()[:2] == ["200", "200"], r.stdout + r.stderr
    assert r.stdout.split()[2] == "000"  # nothing listens on that port
    records = audit_of(sb)
    assert any(x["proto"] == "capture" and x["event"] == "request"
               for x in records)
    assert any(x["proto"] == "capture" and x.get("sni") == "web.test"
               for x in records)


def test_node_fetch_transparent(sb, origin):
    code = (f"fetch('http://web.test:{origin.port}/hello')"
            ".then(r => r.text()).then(t => console.log('ok', t.trim()))"
            ".catch(e => console.log('err', e.cause && e.cause.code));"
            "fetch('http://other.test/')"
            ".then(r => console.log('status', r.status))"
            ".catch(e => console.log('err', e.cause && e.cause.code))")
    r = run_in(sb, web_settings(origin.port), f"node -e \"{code}\"")
    lines = sorted(r.stdout.splitlines())
    assert lines == ["err ENOTFOUND", "ok hello from web"], r.stdout + r.stderr


def test_python_urllib_with_proxy_variables(sb, origin):
    code = f"""
import urllib.request, urllib.error
print(urllib.request.urlopen("http://web.test:{origin.port}/hello").read().decode().strip())
try:
    urllib.request.urlopen("http://other.test/")
except urllib.error.HTTPError as e:
    print(e.code, e.headers["X-Airlock-Reason"])
"""
    r = run_in(sb, web_settings(origin.port), f"{SYSTEM_PYTHON} -c '{code}'")
    assert r.stdout.splitlines() == ["hello from web",
                                     "403 not in the allowed domains"]


# ---- git ----

def make_repo(sb):
    src = sb.base / "src-repo"
    srv = sb.base / "served"
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(sb.base),
           "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True,
                   env=env)
    (src / "README").write_text("served by the test\n")
    subprocess.run(["git", "-C", str(src), "add", "README"], check=True,
                   env=env)
    subprocess.run(["git", "-C", str(src), "-c", "user.name=t", "-c",
                    "user.email=t@t", "commit", "-qm", "one"], check=True,
                   env=env)
    subprocess.run(["git", "clone", "-q", "--bare", str(src),
                    str(srv / "repo.git")], check=True, env=env)
    subprocess.run(["git", "-C", str(srv / "repo.git"), "update-server-info"],
                   check=True, env=env)
    return srv


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_git_clone(sb, pki, scheme):
    served = make_repo(sb)
    tls = pki.server_cert("git.test") if scheme == "https" else None
    server = Origin("git", tls=tls, static_root=served)
    try:
        settings = web_settings(server.port, names=("git.test",))
        r = run_in(sb, settings,
                   f"GIT_SSL_CAINFO={sb.base}/pki/ca.pem git clone -q "
                   f"{scheme}://git.test:{server.port}/repo.git clone && "
                   "cat clone/README")
    finally:
        server.stop()
    assert r.stdout == "served by the test\n", r.stderr


# ---- robustness ----

@pytest.mark.parametrize("request_bytes", [
    b"GET http://web.test:PORT/ HTTP/1.1\r\nHost: web.test:PORT\r\n"
    b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET http://web.test:PORT/ HTTP/1.1\r\nHost: web.test:PORT\r\n"
    b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"GET http://web.test:PORT/ HTTP/1.1\r\nHost: web.test:PORT\r\n"
    b"X-A: 1\r\n folded\r\n\r\n",
    b"GET http://web.test:PORT/ HTTP/1.1\rHost: web.test:PORT\r\n\r\n",
    b"GET http://web.test:PORT/ HTTP/1.1\nHost: web.test:PORT\n\n",
    b"\x16\x03\x01\x00\x05hello\r\n\r\n",
    b"GET /relative HTTP/1.1\r\nHost: web.test\r\n\r\n",
    b"GET http://web.test:PORT/ HTTP/9.9\r\nHost: web.test:PORT\r\n\r\n",
])
def test_malformed_requests_get_400_and_gateway_stays_up(sb, origin,
                                                         request_bytes):
    raw = request_bytes.replace(b"PORT", str(origin.port).encode())
    code = f"""
import socket
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall({raw!r})
print(s.recv(4096).split(b"\\r\\n")[0].decode() or "closed")
"""
    (sb.workspace / "probe.py").write_text(code)
    script = (f"{SYSTEM_PYTHON} probe.py; " +
              curl(f"http://web.test:{origin.port}/hello"))
    r = run_in(sb, web_settings(origin.port), script)
    first, second = r.stdout.splitlines()
    assert first.split()[1] in ("400", "505"), first
    assert second == "200"
    assert not [q for q in origin.requests if q["path"] != "/hello"]


class StallingOrigin:
    """Answers one request with a head, a part of the body, then nothing;
    notes when the gateway closes its side."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n"
                         b"\r\n" + b"x" * 1000)
            conn.settimeout(30)
            try:
                while conn.recv(4096):
                    pass
                self.closed.set()
            except OSError:
                self.closed.set()

    def stop(self):
        self.sock.close()
        self.thread.join(timeout=35)


def test_client_leaving_mid_response_frees_the_server_side(sb):
    # the server stalls; the client gives up: the gateway lets the
    # server's side go at once and records the request as cut short
    server = StallingOrigin()
    try:
        code = f"""
import socket
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall(b"GET http://web.test:{server.port}/big HTTP/1.1\\r\\n"
          b"Host: web.test:{server.port}\\r\\n\\r\\n")
got = b""
while len(got) < 1000:
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
s.close()
print(got.split(b"\\r\\n")[0].decode())
"""
        r = run_in(sb, web_settings(server.port), f"{SYSTEM_PYTHON} -c "
                   f"'{code}'")
        assert r.stdout.strip() == "HTTP/1.1 200 OK", r.stderr
        assert server.closed.wait(10), "the server's side was held"
    finally:
        server.stop()
    (record,) = [x for x in audit_of(sb) if x["event"] == "request"]
    assert record["status"] == 200 and record["path"] == "/big"
    assert record["error"] == "the client left before the response ended"


class ScriptedOrigin:
    """Answers one request with the given pieces, a pause before each,
    then closes."""

    def __init__(self, *pieces, pause=0.2):
        self.pieces = pieces
        self.pause = pause
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                got += chunk
            for piece in self.pieces:
                threading.Event().wait(self.pause)
                conn.sendall(piece)

    def stop(self):
        self.sock.close()
        self.thread.join(timeout=10)


def raw_exchange(sb, port):
    """Sends one GET through the proxy from inside; returns every byte
    that came back before the gateway closed."""
    code = f"""
import socket, sys
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall(b"GET http://web.test:{port}/x HTTP/1.1\\r\\n"
          b"Host: web.test:{port}\\r\\nConnection: close\\r\\n\\r\\n")
s.settimeout(20)
got = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
sys.stdout.write(got.hex())
"""
    r = run_in(sb, web_settings(port), f"{SYSTEM_PYTHON} -c '{code}'")
    assert r.returncode == 0, r.stderr
    return bytes.fromhex(r.stdout.strip())


def test_response_in_pieces_and_interim_heads_pass_whole(sb):
    # an interim head, then the final head and its body each on their
    # own: the gateway clears and forwards every byte, in order
    pieces = (b"HTTP/1.1 100 Continue\r\n\r\n",
              b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
              b"01234", b"56789")
    server = ScriptedOrigin(*pieces)
    try:
        out = raw_exchange(sb, server.port)
    finally:
        server.stop()
    assert out == b"".join(pieces)
    (record,) = [x for x in audit_of(sb) if x["event"] == "request"]
    assert record["status"] == 200 and "error" not in record


def test_malformed_head_after_an_interim_one_ends_the_response(sb):
    # the interim head is on its way when the final one turns out bad:
    # the client gets the interim head, then the end, never a made-up 502
    server = ScriptedOrigin(b"HTTP/1.1 100 Continue\r\n\r\n",
                            b"HTTP/1.1 2x0 Nope\r\n\r\n")
    try:
        out = raw_exchange(sb, server.port)
    finally:
        server.stop()
    assert out == b"HTTP/1.1 100 Continue\r\n\r\n"
    (record,) = [x for x in audit_of(sb) if x["event"] == "request"]
    assert record["error"] == "malformed response from the server"


def test_silent_clients_do_not_hold_others(sb, origin):
    code = f"""
import socket, urllib.request
idle = [socket.create_connection(("127.0.0.1", p)) for p in (3128, 1080) for _ in range(100)]
half = socket.create_connection(("127.0.0.1", 3128))
half.sendall(b"GET http://web.test:{origin.port}/ HTTP/1.1\\r\\nHo")
print(urllib.request.urlopen("http://web.test:{origin.port}/hello", timeout=20).read().decode().strip())
"""
    r = run_in(sb, web_settings(origin.port), f"{SYSTEM_PYTHON} -c '{code}'")
    assert r.stdout.strip() == "hello from web", r.stderr


def test_silent_upstream_then_other_requests(sb, origin):
    silent = SilentServer()
    try:
        settings = web_settings(origin.port, names=("web.test", "slow.test"),
                                extra_allow=[f"slow.test:{silent.port}"])
        script = (f"(curl -s -m 30 http://slow.test:{silent.port}/ &) ; "
                  "sleep 0.5; " + curl(f"http://web.test:{origin.port}/hello"))
        r = run_in(sb, settings, script)
    finally:
        silent.stop()
    assert r.stdout.split() == ["200"]


def test_every_audit_record_is_well_formed(sb, origin):
    run_in(sb, web_settings(origin.port), "; ".join([
        curl(f"http://web.test:{origin.port}/hello"),
        curl("http://x.test/"),
        f"{SYSTEM_PYTHON} -c 'import socket; socket.gethostbyname(\"web.test\")'"]))
    lines = (sb.base / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        rec = json.loads(line)
        for key in ("time", "run", "event", "proto", "client", "host",
                    "decision"):
            assert key in rec, (key, rec)
        assert rec["time"].endswith("Z")
    runs = {json.loads(line)["run"] for line in lines}
    assert len(runs) == 1 and re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}",
                                           runs.pop()), lines


def test_gateway_gone_means_no_way_out(sb, origin):
    """Killing the gateway leaves the sandbox with no network at all."""
    script = ("for p in /proc/[0-9]*; do :; done; " +
              curl(f"http://web.test:{origin.port}/hello") +
              "; kill -0 1; echo waiting; read _; " +
              curl(f"http://web.test:{origin.port}/hello") + " 2>&1; "
              f"{SYSTEM_PYTHON} -c 'import socket; socket.create_connection"
              f"((\"198.18.0.1\", {origin.port}), timeout=5)' 2>&1 | tail -1")
    path = write_settings(sb, web_settings(origin.port))
    proc = sb.popen(["run", "--settings", str(path), "--", "/bin/sh", "-c",
                     script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"200\n"
        assert proc.stdout.readline() == b"waiting\n"
        gateways = gateway_pids(proc.pid)
        assert len(gateways) == 1
        os.kill(gateways[0], 9)
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        out = proc.stdout.read().decode()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "200" not in out
    assert "refused" in out.lower() or "000" in out, out


def gateway_pids(airlock_pid):
    """Children of airlock_pid (or of its setpriv) named airlock that are
    not in a new pid namespace: the gateway."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            with open(f"/proc/{entry}/status") as f:
                status = f.read()
        except OSError:
            continue
        nspid = [l for l in status.splitlines() if l.startswith("NSpid:")]
        if ppid == airlock_pid and nspid and len(nspid[0].split()) == 2 \
                and os.readlink(f"/proc/{entry}/exe").endswith("airlock") \
                and int(entry) != airlock_pid:
            sid = int(fields[3])
            if sid == int(entry):  # the gateway leads its own session
                found.append(int(entry))
    return found
