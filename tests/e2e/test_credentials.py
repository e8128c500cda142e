# SPDX-License-Identifier: Apache-2.0
"""Credentials the agent never sees, TLS termination, request rules and
base-URL routes, end to end. Real clients in the sandbox (curl, python,
node, the Anthropic SDK) talk to HTTPS origins on loopback whose
certificates come from a throwaway test CA; the gateway is told to trust
that CA upstream, and the clients trust airlock's own CA on their own.
Each test checks what the origin received, what the client saw, the audit
log, and that no real value shows anywhere the agent or a log can reach.
"""
import base64
import json
import shutil
import stat
import string
from pathlib import Path
from secrets import choice

import pytest

from airlock_harness import NOBODY, ROOT, SYSTEM_PYTHON
from netfixtures import PKI, Origin, _Handler, read_audit, write_settings

CRED = "anthropic-key"       # the placeholder credential's name
MARK = "@@"                  # starts the line curl() prints after a body
SDK = ROOT / "tests/e2e/node/node_modules/@anthropic-ai/sdk"
PROXY_VARS = ("http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy "
              "ALL_PROXY")
ALNUM = string.ascii_letters + string.digits


def new_key(prefix="sk-ant-api03-", n=40):
    """A realistic API key: a kind prefix, then random letters/digits."""
    return prefix + "".join(choice(ALNUM) for _ in range(n))


# ---- origins ----

class _AllHeaders(_Handler):
    """Also keeps every header line in order, repeats included."""

    def _record(self, body=b""):
        super()._record(body)
        self.server.requests[-1]["lines"] = [
            (k.lower(), v) for k, v in self.headers.items()]


class _MessagesAPI(_AllHeaders):
    """Just enough of the Messages API for the SDK: POST /v1/messages
    answers when x-api-key is the real key, 401 otherwise."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._record(body)
        if self.path.split("?", 1)[0] != "/v1/messages":
            self._send(404, b"{}", "application/json")
        elif self.headers.get("x-api-key") != self.server.api_key:
            self._send(401, json.dumps({
                "type": "error", "error": {
                    "type": "authentication_error",
                    "message": "invalid x-api-key"}}).encode(),
                "application/json")
        else:
            self._send(200, json.dumps({
                "id": "msg_1", "type": "message", "role": "assistant",
                "model": "claude-test",
                "content": [{"type": "text", "text": "hello"}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1},
            }).encode(), "application/json")


class RecordingOrigin(Origin):
    """An Origin (see netfixtures) with its own request handler."""

    def __init__(self, name, tls=None, handler=_AllHeaders, api_key=None):
        super().__init__(name, tls=tls)
        # no client has connected yet: every request meets this handler
        self.server.RequestHandlerClass = handler
        self.server.api_key = api_key


@pytest.fixture
def pki(sb):
    return PKI(sb.base / "pki")


@pytest.fixture
def api(pki):
    server = RecordingOrigin("api", tls=pki.server_cert("api.test"))
    yield server
    server.stop()


@pytest.fixture
def other(pki):
    server = RecordingOrigin("other", tls=pki.server_cert("other.test"))
    yield server
    server.stop()


@pytest.fixture
def plain():
    """A plain HTTP origin."""
    server = RecordingOrigin("plain")
    yield server
    server.stop()


# ---- settings ----

def policy(pki, *hosts, secrets=(), env_vars=(), rules=(), routes=(),
           plaintext=None):
    """Allows each "name:port" in hosts, every name pinned to 127.0.0.1,
    and trusts the test CA for upstream certificates."""
    names = sorted({h.split(":")[0] for h in hosts})
    net = {"allowedDomains": list(hosts),
           "hosts": {n: "127.0.0.1" for n in names},
           "allowAddresses": ["127.0.0.1"],
           "tlsTerminate": {"upstreamCaCertPaths": [str(pki.ca_cert)]}}
    if rules:
        net["requestRules"] = list(rules)
    if routes:
        net["routes"] = list(routes)
    creds = {}
    if secrets:
        creds["secrets"] = list(secrets)
    if env_vars:
        creds["envVars"] = list(env_vars)
    if plaintext is not None:
        creds["allowPlaintextInject"] = plaintext
    settings = {"network": net}
    if creds:
        settings["credentials"] = creds
    return settings


def placeholder(*hosts, name=CRED, var="TEST_API_KEY", **more):
    """A credential read from $var and shown inside as a placeholder."""
    return {"name": name, "from": {"env": var}, "hosts": list(hosts),
            "use": "placeholder", "env": var, **more}


def inject(source, *hosts, name="tok", header="Authorization",
           scheme="bearer"):
    """A credential the gateway adds as a header; the agent sees nothing."""
    return {"name": name, "from": source, "hosts": list(hosts),
            "use": "inject", "header": header, "scheme": scheme}


def secret_file(sb, name, value):
    """A file holding value, outside the workspace; returns its path."""
    path = sb.base / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


# ---- running and reading the results ----

def run_in(sb, settings, script, *options, env=None):
    """Runs script with sh inside the sandbox, auditing to audit.jsonl."""
    path = write_settings(sb, settings)
    return sb.sh(script, "--settings", str(path), "--audit",
                 str(sb.base / "audit.jsonl"), *options, env=env)


def audit_of(sb):
    return read_audit(sb.base / "audit.jsonl")


def _curl_request(url, args):
    opts = " ".join(f'"{a}"' for a in args)
    return (f'-sS -m 20 {opts} -w "\\n{MARK} %{{http_code}} '
            f'%header{{x-airlock-reason}}\\n" "{url}"')


def curl(url, *args):
    """A curl command that prints the body, then a line
    '@@ STATUS X-AIRLOCK-REASON'. Arguments go in double quotes, so
    that $VARIABLES expand inside the sandbox."""
    return "curl " + _curl_request(url, args)


def curl_reusing(*requests):
    """Like curl(), for several (url, *args) in one curl process, which
    sends them on one connection where it can."""
    return "curl " + " --next ".join(_curl_request(url, args)
                                     for url, *args in requests)


class Reply:
    def __init__(self, status, reason, body):
        self.status, self.reason, self.body = status, reason, body

    def __repr__(self):
        return f"Reply({self.status}, {self.reason!r}, {self.body[:200]!r})"


def replies(out):
    """Every curl() answer in out, in order; lines after the last are
    not part of any."""
    found, body = [], []
    for line in out.split("\n"):
        if line.startswith(MARK + " "):
            _, status, reason = (line + " ").split(" ", 2)
            found.append(Reply(int(status), reason.strip(),
                               "\n".join(body)))
            body = []
        else:
            body.append(line)
    return found


def value_after(out, label):
    """The text after 'label=' on the first line that starts so."""
    for line in out.splitlines():
        if line.startswith(label + "="):
            return line[len(label) + 1:]
    raise AssertionError(f"no {label}= line in {out!r}")


def assert_never_shown(sb, r, *values):
    """No real value in the command's output, airlock's stderr, the audit
    log or anything airlock keeps in its state folder."""
    places = {"the sandbox's output": r.stdout, "airlock's stderr": r.stderr}
    for f in [sb.base / "audit.jsonl", *(sb.base / "state").rglob("*")]:
        if f.is_file():
            places[str(f)] = f.read_bytes().decode("latin-1")
    for where, text in places.items():
        for v in values:
            assert v not in text, f"a real credential value is in {where}"


def assert_stands_in(ph, real):
    """ph is a placeholder for real: same length and kind prefix, rest
    drawn afresh."""
    cut = real.rfind("-", 0, len(real) // 4)
    cut = max(cut, real.rfind("_", 0, len(real) // 4)) + 1
    assert len(ph) == len(real), (ph, len(real))
    assert ph[:cut] == real[:cut], ph
    assert ph != real and ph[cut:] != real[cut:]
    assert all(c in ALNUM for c in ph[cut:]), ph


def requests_of(audit, host):
    return [x for x in audit if x["event"] == "request" and
            x.get("host") == host]


# ---- 1. placeholders: what the sandbox holds ----

def test_environment_holds_a_placeholder_never_the_value(sb, api, pki):
    key = new_key()
    settings = policy(pki, f"api.test:{api.port}",
                      secrets=[placeholder(f"api.test:{api.port}")])
    r = run_in(sb, settings,
               'echo "placeholder=$TEST_API_KEY"; env; '
               "cat /proc/[0-9]*/environ | tr '\\0' '\\n'",
               env={"TEST_API_KEY": key})
    assert r.returncode == 0, r.stderr
    assert_stands_in(value_after(r.stdout, "placeholder"), key)
    assert_never_shown(sb, r, key)


def test_placeholder_shown_as_a_file(sb, api, pki):
    key = new_key()
    a = f"api.test:{api.port}"
    cred = placeholder(a, file="/tmp/api-key")
    del cred["env"]
    r = run_in(sb, policy(pki, a, secrets=[cred]),
               'echo "placeholder=$(cat /tmp/api-key)"; ' +
               curl(f"https://{a}/hello", "-H",
                    "x-api-key: $(cat /tmp/api-key)"),
               env={"TEST_API_KEY": key})
    assert_stands_in(value_after(r.stdout, "placeholder"), key)
    assert api.requests[0]["headers"]["x-api-key"] == key, r.stderr
    assert_never_shown(sb, r, key)


def test_source_file_hidden_from_the_sandbox(sb, api, pki):
    """A credential read from a file must not be readable in the sandbox
    at the file's own path. (What a command source reads, airlock cannot
    know: that is left to the user.)"""
    token = new_key("tok_", 40)
    a = f"api.test:{api.port}"
    path = secret_file(sb, "token", token)
    r = run_in(sb, policy(pki, a, secrets=[inject({"file": str(path)}, a)]),
               f'cat "{path}"; echo ran')
    assert r.stdout.splitlines()[-1] == "ran", r.stderr
    assert token not in r.stdout, "the sandbox reads the file credential"


def test_sandbox_trusts_airlocks_ca_through_every_bundle_path(sb, api, pki):
    settings = policy(pki, f"api.test:{api.port}",
                      secrets=[placeholder(f"api.test:{api.port}")])
    names = ("SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE",
             "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO")
    script = "".join(f'echo "=== {n} ${n}"; cat "${n}"; ' for n in names)
    script += 'echo "=== system"; cat /etc/ssl/certs/ca-certificates.crt'
    r = run_in(sb, settings, script, env={"TEST_API_KEY": new_key()})
    assert r.returncode == 0, r.stderr
    ca = (sb.base / "state/airlock/ca/ca.pem").read_text().strip()
    sections = r.stdout.split("=== ")[1:]
    assert [s.split()[0] for s in sections] == [*names, "system"]
    for s in sections:
        assert ca in s, f"airlock's CA is not in {s.splitlines()[0]}"
    host_bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if host_bundle.exists():  # the system's roots stay trusted too
        first = host_bundle.read_text().split("-----END CERTIFICATE-----")[0]
        assert first.strip() in sections[-1]


# ---- 1 and 4. the placeholder replaced on the way out ----

CLIENT_CODE = {
    "python": """
import os, urllib.request
req = urllib.request.Request(URL, headers={
    "Authorization": "Bearer " + os.environ["TEST_API_KEY"]})
print(urllib.request.urlopen(req, timeout=20).read().decode())
""",
    "node-https": """
require('https').get(URL, {headers: {
    'x-api-key': process.env.TEST_API_KEY}}, res => {
  let body = '';
  res.on('data', d => body += d);
  res.on('end', () => console.log(body));
}).on('error', e => console.log('error', e.code || e.message));
""",
    "node-fetch": """
fetch(URL, {headers: {'x-api-key': process.env.TEST_API_KEY}})
  .then(r => r.text()).then(t => console.log(t))
  .catch(e => console.log('error', e.cause ? e.cause.code : e.message));
""",
}

# client: (the header it sends, the way it reaches the gateway, command)
CLIENTS = {
    "curl-proxy": ("x-api-key", "connect", 'curl -sS -m 20 -H "x-api-key: '
                   '$TEST_API_KEY" "$URL"'),
    "curl-capture": ("authorization", "capture", f"unset {PROXY_VARS}; "
                     'curl -sS -m 20 -H "Authorization: Bearer '
                     '$TEST_API_KEY" "$URL"'),
    "curl-socks5": ("x-api-key", "socks5", 'curl -sS -m 20 --noproxy "" '
                    "--socks5-hostname 127.0.0.1:1080 "
                    '-H "x-api-key: $TEST_API_KEY" "$URL"'),
    "python": ("authorization", "connect", f"{SYSTEM_PYTHON} client.py"),
    "node-https": ("x-api-key", "capture", "node client.js"),
    "node-fetch": ("x-api-key", "capture", "node client.js"),
}


@pytest.mark.parametrize("client", CLIENTS)
def test_placeholder_becomes_the_value_at_the_bound_host(sb, api, pki,
                                                         client):
    key = new_key()
    url = f"https://api.test:{api.port}/headers"
    header, proto, command = CLIENTS[client]
    if client in CLIENT_CODE:
        ext = "py" if client == "python" else "js"
        code = f"URL = {json.dumps(url)}\n" if ext == "py" else \
            f"const URL = {json.dumps(url)};\n"
        (sb.workspace / f"client.{ext}").write_text(
            code + CLIENT_CODE[client])
    settings = policy(pki, f"api.test:{api.port}",
                      secrets=[placeholder(f"api.test:{api.port}")])
    r = run_in(sb, settings, f'URL="{url}"; {command}; '
               'echo; echo "placeholder=$TEST_API_KEY"',
               env={"TEST_API_KEY": key})
    ph = value_after(r.stdout, "placeholder")
    assert_stands_in(ph, key)
    sent = "Bearer " if header == "authorization" else ""

    # the origin got the real value, once
    assert len(api.requests) == 1, r.stdout + r.stderr
    assert [v for k, v in api.requests[0]["lines"] if k == header] == \
        [sent + key]

    # its echo of the value comes back to the client as the placeholder
    echoed = json.loads(r.stdout.splitlines()[0])
    assert echoed[header] == sent + ph

    records = requests_of(audit_of(sb), "api.test")
    assert len(records) == 1 and records[0]["credential"] == CRED
    assert records[0]["status"] == 200
    assert records[0]["proto"] == proto
    assert_never_shown(sb, r, key)


def test_body_placeholder_only_where_the_policy_says(sb, api, pki):
    """A placeholder in a body is left alone and refused unless the
    credential has "body": true; then it is replaced there too."""
    key = new_key()
    url = f"https://api.test:{api.port}/echo"
    post = (curl(url, "--data-binary", "key=$TEST_API_KEY") +
            '; echo "placeholder=$TEST_API_KEY"')
    bound = f"api.test:{api.port}"
    r = run_in(sb, policy(pki, bound, secrets=[placeholder(bound)]), post,
               env={"TEST_API_KEY": key})
    (refused,) = replies(r.stdout)
    assert refused.status == 403, r.stdout + r.stderr
    ph = value_after(r.stdout, "placeholder").encode()
    assert not [q for q in api.requests
                if ph in q["body"] or key.encode() in q["body"]]
    deny = [x for x in audit_of(sb) if x["event"] == "deny"]
    assert [x["rule"] for x in deny] == ["credential"]

    r = run_in(sb, policy(pki, bound,
                          secrets=[placeholder(bound, body=True)]),
               post, env={"TEST_API_KEY": key})
    (sent,) = replies(r.stdout)
    assert sent.status == 200, r.stdout + r.stderr
    assert api.requests[-1]["body"] == f"key={key}".encode()
    assert sent.body == "key=" + value_after(r.stdout, "placeholder")
    assert_never_shown(sb, r, key)


def test_long_body_replaced_across_reads(sb, api, pki):
    """A megabyte of placeholders arrives in many reads: each is replaced
    on the way out and put back in the echo, wherever the reads cut."""
    key = new_key()
    a = f"api.test:{api.port}"
    make = ('import os, sys; k = os.environ["TEST_API_KEY"]; '
            'sys.stdout.write(("ab" + k + "\\n") * 20000)')
    r = run_in(sb, policy(pki, a, secrets=[placeholder(a, body=True)]),
               f"{SYSTEM_PYTHON} -c '{make}' > body; " +
               curl(f"https://{a}/echo", "--data-binary", "@body", "-o",
                    "echoed") + '; cmp -s body echoed; echo "same=$?"',
               env={"TEST_API_KEY": key})
    (got,) = replies(r.stdout)
    assert got.status == 200, (got, r.stderr)
    assert api.requests[0]["body"] == (("ab" + key + "\n") * 20000).encode()
    assert value_after(r.stdout, "same") == "0"
    assert_never_shown(sb, r, key)


def test_each_request_on_a_connection_judged_alone(sb, api, pki):
    """Keep-alive through a terminated connection: every request is
    matched against the credentials' paths on its own."""
    key, token = new_key(), new_key("tok_", 40)
    a = f"api.test:{api.port}"
    settings = policy(pki, a, secrets=[
        placeholder(f"{a}/v1/"),
        inject({"file": str(secret_file(sb, "token", token))}, f"{a}/v1/")])
    base, hdr = f"https://{a}", ("-H", "x-api-key: $TEST_API_KEY")
    r = run_in(sb, settings, curl_reusing(
        (f"{base}/v1/a", *hdr), (f"{base}/headers",), (f"{base}/v1/b",),
        (f"{base}/admin", *hdr)), env={"TEST_API_KEY": key})
    got = replies(r.stdout)
    assert [x.status for x in got] == [404, 200, 404, 403], \
        (got, r.stderr)
    first, second, third = api.requests
    assert first["headers"]["x-api-key"] == key
    assert first["headers"]["authorization"] == f"Bearer {token}"
    assert "authorization" not in second["headers"]
    assert third["headers"]["authorization"] == f"Bearer {token}"
    assert "x-api-key" not in third["headers"]
    connects = [x for x in audit_of(sb)
                if x["event"] == "allow" and x["host"] == "api.test"]
    assert len(connects) == 1, "curl did not keep the connection"
    assert_never_shown(sb, r, key, token)


# ---- 2. the placeholder anywhere else ----

def test_placeholder_to_another_host_is_refused(sb, api, other, plain, pki):
    """other.test is terminated for a credential of its own; plain.test is
    plain HTTP. Neither may receive the api credential's placeholder, in
    a header or in the URL."""
    key, other_key = new_key(), new_key("ghp_", 36)
    a, o, p = (f"api.test:{api.port}", f"other.test:{other.port}",
               f"plain.test:{plain.port}")
    settings = policy(pki, a, o, p, secrets=[
        placeholder(a),
        placeholder(o, name="other-key", var="OTHER_KEY")])
    hdr = "x-api-key: $TEST_API_KEY"
    r = run_in(sb, settings, "; ".join([
        curl(f"https://other.test:{other.port}/headers", "-H", hdr),
        curl(f"https://other.test:{other.port}/hello?k=$TEST_API_KEY"),
        curl(f"http://plain.test:{plain.port}/headers", "-H", hdr),
        curl(f"https://api.test:{api.port}/headers", "-H", hdr)]),
        env={"TEST_API_KEY": key, "OTHER_KEY": other_key})
    got = replies(r.stdout)
    assert [x.status for x in got] == [403, 403, 403, 200], got
    for x in got[:3]:
        assert CRED in x.reason, x
    assert not other.requests and not plain.requests
    assert len(api.requests) == 1

    denies = [x for x in audit_of(sb) if x["event"] == "deny"]
    assert [(x["host"], x["rule"]) for x in denies] == [
        ("other.test", "credential"), ("other.test", "credential"),
        ("plain.test", "credential")]
    assert_never_shown(sb, r, key, other_key)


def test_placeholder_bound_to_a_path(sb, api, pki):
    """Bound to api.test:PORT/v1/: replaced under /v1/ only, and a path
    that climbs out of /v1/ is not under it."""
    key = new_key()
    base = f"https://api.test:{api.port}"
    settings = policy(pki, f"api.test:{api.port}", secrets=[
        placeholder(f"api.test:{api.port}/v1/")])
    hdr = "x-api-key: $TEST_API_KEY"
    r = run_in(sb, settings, "; ".join([
        curl(f"{base}/v1/models", "-H", hdr),
        curl(f"{base}/admin", "-H", hdr),
        curl(f"{base}/v1/../admin", "--path-as-is", "-H", hdr),
        curl(f"{base}/v1/%2e%2e/admin", "--path-as-is", "-H", hdr)]),
        env={"TEST_API_KEY": key})
    got = replies(r.stdout)
    # /v1/models is not a page of the origin: 404, but it got there
    assert [x.status for x in got] == [404, 403, 403, 403], got
    assert [q["path"] for q in api.requests] == ["/v1/models"]
    assert api.requests[0]["headers"]["x-api-key"] == key
    assert_never_shown(sb, r, key)


# ---- 3. injection ----

def test_injected_only_on_bound_hosts_and_paths(sb, api, other, plain, pki):
    bearer, raw = new_key("tok_", 40), new_key("sk-test-", 40)
    a = f"api.test:{api.port}"
    settings = policy(pki, a, f"other.test:{other.port}",
                      f"plain.test:{plain.port}", secrets=[
        inject({"file": str(secret_file(sb, "token", bearer))}, a),
        inject({"command": ["/bin/cat", str(secret_file(sb, "raw", raw))]},
               f"{a}/v1/", name="cmd", header="x-api-key", scheme="raw")])
    base = f"https://api.test:{api.port}"
    r = run_in(sb, settings, "; ".join([
        curl(f"{base}/headers"),
        curl(f"{base}/v1/x", "-H", "AUTHORIZATION: Bearer agent-made",
             "-H", "X-Api-Key: agent-made"),
        curl(f"{base}/v1/../headers", "--path-as-is"),
        curl(f"https://other.test:{other.port}/headers", "--cacert",
             pki.ca_cert),
        curl(f"http://plain.test:{plain.port}/headers")]))
    got = replies(r.stdout)
    assert [x.status for x in got] == [200, 404, 404, 200, 200], \
        (got, r.stderr)

    def sent(q, name):
        return [v for k, v in q["lines"] if k == name]

    first, second, climbed = api.requests
    assert sent(first, "authorization") == [f"Bearer {bearer}"]
    assert sent(first, "x-api-key") == []
    # what the agent sent under those names is gone, not doubled
    assert sent(second, "authorization") == [f"Bearer {bearer}"]
    assert sent(second, "x-api-key") == [raw]
    assert sent(climbed, "x-api-key") == []
    for q in other.requests + plain.requests:
        assert not sent(q, "authorization") and not sent(q, "x-api-key")
    assert len(other.requests) == 1 and len(plain.requests) == 1

    records = requests_of(audit_of(sb), "api.test")
    assert [x.get("credential") for x in records] == \
        ["tok", "tok,cmd", "tok"]
    assert_never_shown(sb, r, bearer, raw)


def test_injected_with_the_basic_scheme(sb, api, pki):
    value = "svc-user:" + new_key("", 32)
    a = f"api.test:{api.port}"
    cred = inject({"file": str(secret_file(sb, "basic", value))}, a,
                  scheme="basic")
    r = run_in(sb, policy(pki, a, secrets=[cred]),
               curl(f"https://{a}/headers"))
    (got,) = replies(r.stdout)
    assert got.status == 200, (got, r.stderr)
    encoded = base64.b64encode(value.encode()).decode()
    assert api.requests[0]["headers"]["authorization"] == f"Basic {encoded}"
    assert_never_shown(sb, r, value, encoded)


def test_short_value_can_be_injected(sb, api, pki):
    # too short for a placeholder, which is why injection is the way for
    # it; its echo is still masked
    value = "pin-" + new_key("", 8)
    a = f"api.test:{api.port}"
    cred = inject({"file": str(secret_file(sb, "short", value))}, a,
                  header="x-pin", scheme="raw")
    r = run_in(sb, policy(pki, a, secrets=[cred]),
               f"curl -sS -m 20 https://{a}/headers")
    assert r.returncode == 0, r.stderr
    assert api.requests[0]["headers"]["x-pin"] == value
    assert value not in r.stdout
    assert_never_shown(sb, r, value)


def test_debug_log_never_shows_values(sb, api, other, pki):
    key, token = new_key(), new_key("tok_", 40)
    a, o = f"api.test:{api.port}", f"other.test:{other.port}"
    settings = policy(pki, a, o, secrets=[
        placeholder(a),
        inject({"file": str(secret_file(sb, "token", token))}, a),
        placeholder(o, name="other-key", var="OTHER_KEY")])
    hdr = "x-api-key: $TEST_API_KEY"
    r = run_in(sb, settings, "; ".join([
        curl(f"https://{a}/headers", "-H", hdr),
        curl(f"https://{o}/headers", "-H", hdr)]), "-v", "-v",
        env={"TEST_API_KEY": key, "OTHER_KEY": new_key()})
    assert [x.status for x in replies(r.stdout)] == [200, 403], r.stderr
    assert "debug" in r.stderr.lower(), "no debug lines to look through"
    assert_never_shown(sb, r, key, token)


# ---- 5. request rules ----

@pytest.mark.parametrize("via", ["proxy", "capture"])
def test_request_rules(sb, api, pki, via):
    """A rule alone (no credential) has the gateway look into TLS."""
    a = f"api.test:{api.port}"
    reason = "only the Messages API"
    settings = policy(pki, a, rules=[{
        "host": a, "methods": ["POST"], "paths": ["/v1/messages"],
        "reason": reason}])
    base = f"https://api.test:{api.port}"
    post = ("-X", "POST", "--data-binary", "{}")
    script = "; ".join([
        curl(f"{base}/v1/messages", *post),
        curl(f"{base}/v1/messages?beta=true", *post),
        curl(f"{base}/v1/messages"),
        curl(f"{base}/v1/other", *post),
        curl(f"{base}/v1/messagesX", *post),
        curl(f"{base}/v1/messages/../admin", "--path-as-is", *post),
        curl(f"{base}/v1/messages/%2e%2e/admin", "--path-as-is", *post)])
    if via == "capture":
        script = f"unset {PROXY_VARS}; {script}"
    r = run_in(sb, settings, script)
    got = replies(r.stdout)
    assert [x.status for x in got] == [200, 200] + [403] * 5, \
        (got, r.stderr)
    assert got[2].reason == reason
    assert [q["path"] for q in api.requests] == \
        ["/v1/messages", "/v1/messages?beta=true"]
    denies = [x for x in audit_of(sb) if x["event"] == "deny"]
    assert len(denies) == 5 and all(x["host"] == "api.test" for x in denies)
    assert denies[0]["reason"] == reason and denies[0]["method"] == "GET"


# ---- 6. upstream certificates ----

@pytest.mark.parametrize("fault", ["untrusted-ca", "wrong-name"])
def test_upstream_certificate_errors_refused(sb, pki, fault):
    if fault == "untrusted-ca":
        tls = PKI(sb.base / "rogue-pki").server_cert("api.test")
    else:
        tls = pki.server_cert("wrong.test")
    server = RecordingOrigin("bad", tls=tls)
    try:
        a = f"api.test:{server.port}"
        key = new_key()
        r = run_in(sb, policy(pki, a, secrets=[placeholder(a)]),
                   curl(f"https://api.test:{server.port}/headers", "-H",
                        "x-api-key: $TEST_API_KEY"),
                   env={"TEST_API_KEY": key})
    finally:
        server.stop()
    (got,) = replies(r.stdout)
    assert got.status == 502, (got, r.stderr)
    assert "certificate" in got.reason, got
    assert not server.requests
    denies = [x for x in audit_of(sb) if x["event"] == "deny"]
    assert [x["rule"] for x in denies] == ["upstream-tls"], denies
    assert_never_shown(sb, r, key)


# ---- 7. base-URL routes ----

ROUTE_PORT = 3300


def route(api):
    return {"name": "anthropic", "upstream": f"https://api.test:{api.port}",
            "env": "ANTHROPIC_BASE_URL", "port": ROUTE_PORT}


def test_route_adds_the_credential_to_plain_http(sb, api, pki):
    key = new_key()
    a = f"api.test:{api.port}"
    settings = policy(pki, a, routes=[route(api)], secrets=[
        inject({"file": str(secret_file(sb, "key", key))}, a,
               header="x-api-key", scheme="raw")])
    settings["network"]["routes"].append({
        "name": "under-v1", "upstream": f"https://{a}/v1",
        "port": ROUTE_PORT + 1})
    r = run_in(sb, settings, 'echo "base=$ANTHROPIC_BASE_URL"; ' +
               curl("$ANTHROPIC_BASE_URL/headers") + "; " +
               curl(f"http://127.0.0.1:{ROUTE_PORT + 1}/models?x=1"))
    assert value_after(r.stdout, "base") == f"http://127.0.0.1:{ROUTE_PORT}"
    got = replies(r.stdout)
    assert [x.status for x in got] == [200, 404], (got, r.stderr)
    first, based = api.requests
    assert first["path"] == "/headers"
    assert first["headers"]["x-api-key"] == key
    assert first["headers"]["host"] == a
    assert based["path"] == "/v1/models?x=1"
    assert based["headers"]["x-api-key"] == key
    assert_never_shown(sb, r, key)


SDK_CALL = """
const sdk = require(%s);
const Anthropic = sdk.default || sdk;
const client = new Anthropic({apiKey: process.env.ANTHROPIC_API_KEY});
client.messages.create({model: 'claude-test', max_tokens: 16,
                        messages: [{role: 'user', content: 'hi'}]})
  .then(m => console.log(m.content[0].text))
  .catch(e => console.log('error', e.status, e.message));
"""


@pytest.mark.parametrize("use", ["placeholder", "inject"])
def test_anthropic_sdk_through_a_route(sb, pki, use):
    if not SDK.is_dir():
        pytest.skip("npm ci --prefix tests/e2e/node installs the SDK")
    key = new_key()
    server = RecordingOrigin("messages", tls=pki.server_cert("api.test"),
                        handler=_MessagesAPI, api_key=key)
    try:
        a = f"api.test:{server.port}"
        if use == "placeholder":
            cred, options = placeholder(a, var="ANTHROPIC_API_KEY"), ()
        else:
            cred = inject({"env": "REAL_ANTHROPIC_KEY"}, a,
                          header="x-api-key", scheme="raw")
            options = ("--env", "ANTHROPIC_API_KEY=sk-ant-agent-made")
        # a copy in the workspace: the repository may lie under /tmp,
        # which the sandbox replaces with its own
        shutil.copytree(SDK.parents[1], sb.workspace / "node_modules",
                        symlinks=True)
        (sb.workspace / "sdk.js").write_text(
            SDK_CALL % json.dumps("./node_modules/@anthropic-ai/sdk"))
        r = run_in(sb, policy(pki, a, routes=[route(server)], secrets=[cred]),
                   "node sdk.js", *options,
                   env={"ANTHROPIC_API_KEY" if use == "placeholder" else
                        "REAL_ANTHROPIC_KEY": key})
    finally:
        server.stop()
    assert r.stdout == "hello\n", r.stdout + r.stderr
    (q,) = server.requests
    assert q["path"] == "/v1/messages"
    assert json.loads(q["body"])["model"] == "claude-test"
    assert_never_shown(sb, r, key)


# ---- 8. the CA ----

def test_ca_key_private_to_the_user(sb, api, pki):
    settings = policy(pki, f"api.test:{api.port}",
                      secrets=[placeholder(f"api.test:{api.port}")])
    ca_dir = sb.base / "state/airlock/ca"
    r = run_in(sb, settings, "true", env={"TEST_API_KEY": new_key()})
    assert r.returncode == 0, r.stderr
    owner = 0 if sb.mode == "root" else NOBODY
    for path, mode in ((ca_dir, 0o700), (ca_dir / "ca.key", 0o600)):
        st = path.stat()
        assert stat.S_IMODE(st.st_mode) == mode, (path, oct(st.st_mode))
        assert st.st_uid == owner, path

    # made once, then kept
    cert = (ca_dir / "ca.pem").read_bytes()
    run_in(sb, settings, "true", env={"TEST_API_KEY": new_key()})
    assert (ca_dir / "ca.pem").read_bytes() == cert


def test_ca_key_unreadable_inside(sb, api, pki):
    """The key that signs what the sandbox trusts stays out of it."""
    settings = policy(pki, f"api.test:{api.port}",
                      secrets=[placeholder(f"api.test:{api.port}")])
    key = sb.base / "state/airlock/ca/ca.key"
    r = run_in(sb, settings, f'cat "{key}"; echo done',
               env={"TEST_API_KEY": new_key()})
    assert r.stdout.splitlines()[-1] == "done", r.stderr
    assert "PRIVATE KEY" not in r.stdout, "the sandbox reads the CA key"


# ---- 9. srt's credentials.envVars ----

def test_srt_env_vars_mask_and_deny(sb, api, pki):
    key = new_key("ghp_", 36)
    a = f"api.test:{api.port}"
    env = {"SRT_KEY": key, "SRT_DENIED": "kept-out"}
    script = ('echo "denied=${SRT_DENIED-unset}"; ' +
              curl(f"https://{a}/headers", "-H", "x-api-key: $SRT_KEY") +
              '; echo "placeholder=$SRT_KEY"')
    masked = {"name": "SRT_KEY", "mode": "mask", "injectHosts": [a]}
    denied = {"name": "SRT_DENIED", "mode": "deny"}

    # without the deny entry, --env lets the variable in: the control
    r = run_in(sb, policy(pki, a, env_vars=[masked]), script,
               "--env", "SRT_DENIED", env=env)
    assert value_after(r.stdout, "denied") == "kept-out", r.stderr

    r = run_in(sb, policy(pki, a, env_vars=[masked, denied]), script,
               "--env", "SRT_DENIED", env=env)
    assert value_after(r.stdout, "denied") == "unset"
    assert_stands_in(value_after(r.stdout, "placeholder"), key)
    (got,) = replies(r.stdout)
    assert got.status == 200, (got, r.stderr)
    assert api.requests[-1]["headers"]["x-api-key"] == key
    assert_never_shown(sb, r, key)


# ---- 10. plain HTTP ----

@pytest.mark.parametrize("allowed", [False, True])
def test_placeholder_over_plain_http(sb, plain, pki, allowed):
    key = new_key()
    a = f"api.test:{plain.port}"
    r = run_in(sb, policy(pki, a, secrets=[placeholder(a)],
                          plaintext=allowed),
               curl(f"http://{a}/headers", "-H", "x-api-key: $TEST_API_KEY"),
               env={"TEST_API_KEY": key})
    (got,) = replies(r.stdout)
    if allowed:
        assert got.status == 200, (got, r.stderr)
        assert plain.requests[0]["headers"]["x-api-key"] == key
    else:
        assert got.status == 403, (got, r.stderr)
        assert "TLS" in got.reason, got
        assert not plain.requests
        (deny,) = [x for x in audit_of(sb) if x["event"] == "deny"]
        assert deny["rule"] == "credential"
    assert_never_shown(sb, r, key)


def test_injection_over_plain_http_only_when_allowed(sb, plain, pki):
    token = new_key("tok_", 40)
    a = f"api.test:{plain.port}"
    cred = inject({"file": str(secret_file(sb, "token", token))}, a)
    for allowed in (False, True):
        r = run_in(sb, policy(pki, a, secrets=[cred], plaintext=allowed),
                   curl(f"http://{a}/headers"))
        (got,) = replies(r.stdout)
        assert got.status == 200, (got, r.stderr)
        assert_never_shown(sb, r, token)
    no, yes = plain.requests
    assert "authorization" not in no["headers"]
    assert yes["headers"]["authorization"] == f"Bearer {token}"


# ---- 11. a credential that cannot be read ----

SOURCES = {
    "env": lambda sb: {"env": "NOT_SET_ANYWHERE"},
    "file": lambda sb: {"file": str(sb.base / "no-such-file")},
    "command": lambda sb: {"command": ["/bin/false"]},
}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("optional", [False, True])
def test_missing_credential_fails_closed(sb, api, pki, source, optional):
    a = f"api.test:{api.port}"
    cred = {"name": "missing-one", "from": SOURCES[source](sb), "hosts": [a],
            "use": "placeholder", "env": "SOME_KEY"}
    if optional:
        cred["optional"] = True
    r = run_in(sb, policy(pki, a, secrets=[cred]),
               'echo "ran with ${SOME_KEY-nothing}"')
    if optional:
        assert r.returncode == 0, r.stderr
        assert r.stdout == "ran with nothing\n"
    else:
        assert r.returncode != 0 and "ran" not in r.stdout, r.stdout
        assert "missing-one" in r.stderr, r.stderr


# ---- 12. hosts with nothing to do stay opaque ----

def test_other_hosts_stay_tunnels(sb, api, other, pki):
    """Only api.test is terminated: trusting the test CA alone, curl
    reaches other.test (its own certificate) and fails on api.test
    (airlock's)."""
    a, o = f"api.test:{api.port}", f"other.test:{other.port}"
    r = run_in(sb, policy(pki, a, o, secrets=[placeholder(a)]), "; ".join([
        curl(f"https://{o}/hello", "--cacert", pki.ca_cert),
        curl(f"https://{a}/hello", "--cacert", pki.ca_cert)]),
        env={"TEST_API_KEY": new_key()})
    got = replies(r.stdout)
    assert [x.status for x in got] == [200, 0], (got, r.stderr)
    assert got[0].body == "hello from other\n"
    assert not api.requests
    records = [x for x in audit_of(sb) if x.get("host") == "other.test"]
    assert not [x for x in records if x["event"] == "request"]
    assert [x.get("sni") for x in records if x["event"] == "close"] == \
        ["other.test"]
