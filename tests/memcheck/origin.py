# SPDX-License-Identifier: Apache-2.0
"""Origin servers on 127.0.0.1 for tests/memcheck.sh: one plain HTTP and
one HTTPS (with the certificate and key given), each on a port the kernel
picks. Writes "http PORT" and "https PORT" to PORTS_FILE once both
listen, then serves until it is killed.

GET /hello answers a greeting; GET /headers answers the request's header
fields as JSON; GET /bytes/N answers N bytes; GET /auth answers 200 when
the Authorization field is "Bearer $ORIGIN_TOKEN" and GET /key when
x-api-key is $ORIGIN_KEY, 401 otherwise (so the caller learns whether the
gateway put the real values in, which the gateway hides in what it
returns); POST and PUT echo their body.

usage: origin.py PORTS_FILE CERT KEY
"""
import http.server
import json
import os
import ssl
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/hello":
            self.reply(200, b"hello\n")
        elif path.startswith("/bytes/"):
            self.reply(200, b"x" * int(path.split("/")[2]))
        elif path in ("/auth", "/key"):
            field, want = (("Authorization",
                            "Bearer " + os.environ.get("ORIGIN_TOKEN", ""))
                           if path == "/auth" else
                           ("x-api-key", os.environ.get("ORIGIN_KEY", "")))
            ok = self.headers.get(field) == want
            self.reply(200 if ok else 401, b"ok\n" if ok else b"no\n")
        elif path == "/headers":
            fields = {k.lower(): v for k, v in self.headers.items()}
            self.reply(200, json.dumps(fields).encode(), "application/json")
        else:
            self.reply(404, b"not found\n")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length",
                                                        "0")))
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline()

    def do_POST(self):
        self.reply(200, self.read_body(), "application/octet-stream")

    do_PUT = do_POST


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that vanish on purpose are no news


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def main():
    ports_file, cert, key = sys.argv[1:4]
    plain = Server(("127.0.0.1", 0), Handler)
    secure = Server(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    secure.socket = ctx.wrap_socket(secure.socket, server_side=True)
    ports = f"http {serve(plain)}\nhttps {serve(secure)}\n"
    with open(ports_file + ".tmp", "w") as f:
        f.write(ports)
    os.rename(ports_file + ".tmp", ports_file)
    threading.Event().wait()


if __name__ == "__main__":
    main()
