# SPDX-License-Identifier: Apache-2.0
"""Servers on loopback for the gateway's end-to-end tests.

Every server listens on 127.0.0.1 on a port the kernel picks, runs in a
thread of the test process (outside any sandbox) and is stopped by the test
that started it. Names are pointed at 127.0.0.1 through the policy's
network.hosts, never through the machine's /etc/hosts.
"""
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path


class PKI:
    """A throwaway CA and server certificates, made with the openssl CLI."""

    def __init__(self, folder):
        self.dir = Path(folder)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_key = self.dir / "ca-key.pem"
        self.ca_cert = self.dir / "ca.pem"
        self._run("req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                  "-subj", "/CN=airlock e2e test CA",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign",
                  "-keyout", str(self.ca_key), "-out", str(self.ca_cert))

    def _run(self, *args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    def server_cert(self, name, *more_names):
        """Returns (cert, key) paths for a certificate naming the hosts."""
        key = self.dir / f"{name}-key.pem"
        csr = self.dir / f"{name}.csr"
        cert = self.dir / f"{name}.pem"
        ext = self.dir / f"{name}.ext"
        sans = ",".join(f"DNS:{n}" for n in (name, *more_names))
        ext.write_text(f"subjectAltName={sans}\n"
                       "extendedKeyUsage=serverAuth\n")
        self._run("req", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-subj",
                  f"/CN={name}", "-keyout", str(key), "-out", str(csr))
        self._run("x509", "-req", "-in", str(csr), "-CA", str(self.ca_cert),
                  "-CAkey", str(self.ca_key), "-CAcreateserial", "-days", "2",
                  "-extfile", str(ext), "-out", str(cert))
        return cert, key


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _record(self, body=b""):
        self.server.requests.append({
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        })

    def _send(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _static(self):
        root = self.server.static_root
        rel = self.path.split("?", 1)[0].lstrip("/")
        target = (root / rel).resolve() if root else None
        if not root or not str(target).startswith(str(root)) or \
                not target.is_file():
            self._send(404, b"not found\n")
            return
        self._send(200, target.read_bytes(), "application/octet-stream")

    def do_GET(self):
        self._record()
        path = self.path.split("?", 1)[0]
        if path == "/hello":
            self._send(200, f"hello from {self.server.name}\n".encode())
        elif path == "/headers":
            self._send(200, json.dumps(self.server.requests[-1]["headers"])
                       .encode(), "application/json")
        elif path.startswith("/bytes/"):
            self._send(200, b"x" * int(path.split("/")[2]))
        else:
            self._static()

    do_HEAD = do_GET

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length",
                                                        "0")))
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def do_POST(self):
        body = self._body()
        self._record(body)
        self._send(200, body, "application/octet-stream")

    do_PUT = do_POST


class _QuietServer(http.server.ThreadingHTTPServer):
    """Drops the traceback of a client that went away: tests that cut
    requests short (the gateway closing on a refused one) make many."""
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Origin:
    """An HTTP or HTTPS origin server on loopback (127.0.0.1 unless
    address names another), in a thread."""

    def __init__(self, name="origin", tls=None, static_root=None,
                 address="127.0.0.1"):
        self.server = _QuietServer((address, 0), _Handler)
        self.server.name = name
        self.server.requests = []
        self.server.static_root = Path(static_root).resolve() \
            if static_root else None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket,
                                                 server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    @property
    def requests(self):
        return self.server.requests

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class SilentServer:
    """Accepts connections and never answers (for timeouts and holds)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def stop(self):
        self.stopping = True
        self.sock.close()
        for c in self.conns:
            c.close()
        self.thread.join(timeout=10)


def write_settings(sb, settings, name="settings.json"):
    """Writes a settings file beside the workspace; returns its path."""
    path = sb.base / name
    path.write_text(json.dumps(settings, indent=2))
    return path


def web_settings(port, *, names=("web.test",), extra_allow=(), **network):
    """Settings that allow names on port, all pinned to 127.0.0.1."""
    allowed = [f"{n}:{port}" for n in names] + list(extra_allow)
    net = {"allowedDomains": allowed,
           "hosts": {n.lstrip("*."): "127.0.0.1" for n in names},
           "allowAddresses": ["127.0.0.1"]}
    net.update(network)
    return {"network": net}


def read_audit(path):
    """The audit log as a list of records (every line must be JSON)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
