# SPDX-License-Identifier: Apache-2.0
"""Clients for tests/memcheck.sh that curl cannot play: malformed and
smuggling requests, clients that vanish half way, raw SOCKS5 and DNS.
Each case prints one line saying what the client got (an HTTP status, a
SOCKS5 reply code, a DNS answer, or "closed"), which the script compares
with what it expects.

usage: clients.py CASE PROXY_PORT [ARGS...]
"""
import socket
import struct
import sys
import time

TIMEOUT_S = 60


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_head(s):
    """Reads up to the end of a response head; returns it, or b""."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data


def status_of(head):
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        return "closed"
    return parts[1].decode()


def vanish(s):
    """Closes with a reset rather than a FIN: the peer just disappears."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 struct.pack("ii", 1, 0))
    s.close()


def one_request(port, raw):
    with connect(port) as s:
        s.sendall(raw)
        return status_of(read_head(s))


def get(target, extra=b""):
    host = target.split("/", 3)[2].encode()
    return (b"GET " + target.encode() + b" HTTP/1.1\r\nHost: " + host +
            b"\r\n" + extra + b"\r\n")


# ---- the cases; each returns the line to print ----

def case_garbage(port, origin):
    return one_request(port, b"HELLO THERE\x01\x02\r\n\r\n")


def case_oversized_head(port, origin):
    return one_request(port, get(f"http://{origin}/hello",
                                 b"X-Big: " + b"a" * 40000 + b"\r\n"))


def case_length_and_chunked(port, origin):
    body = b"5\r\nhello\r\n0\r\n\r\n"
    return one_request(port, (
        f"POST http://{origin}/echo HTTP/1.1\r\nHost: {origin}\r\n"
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n").encode() +
        body)


def case_two_lengths(port, origin):
    return one_request(port, (
        f"POST http://{origin}/echo HTTP/1.1\r\nHost: {origin}\r\n"
        "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!").encode())


def case_bare_cr(port, origin):
    return one_request(port, get(f"http://{origin}/hello",
                                 b"X-A: one\rX-B: two\r\n"))


def case_obs_fold(port, origin):
    return one_request(port, get(f"http://{origin}/hello",
                                 b"X-A: one\r\n  folded\r\n"))


def case_pipelined(port, origin):
    """Two requests in one write, answered in order on one connection."""
    with connect(port) as s:
        s.sendall(get(f"http://{origin}/hello") * 2)
        got, data = [], b""
        while len(got) < 2:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            while b"\r\n\r\n" in data:
                head, data = data.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(data) < length:
                    data += s.recv(65536)
                data = data[length:]
                got.append(status_of(head))
        return " ".join(got) or "closed"


def case_chunked_upload(port, origin):
    """A chunked body: the echo must come back whole."""
    body = b"x" * 70000
    chunks = b"".join(b"%x\r\n" % len(body[i:i + 7000]) + body[i:i + 7000] +
                      b"\r\n" for i in range(0, len(body), 7000))
    with connect(port) as s:
        s.sendall((f"POST http://{origin}/echo HTTP/1.1\r\nHost: {origin}\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks +
                  b"0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and data.endswith(b"x" * 10):
                head, _, got = data.partition(b"\r\n\r\n")
                if len(got) >= len(body):
                    break
        head, _, got = data.partition(b"\r\n\r\n")
        return f"{status_of(head)} {len(got)}"


def case_vanish_in_head(port, origin):
    s = connect(port)
    s.sendall(f"GET http://{origin}/hello HTTP/1.1\r\nHost: ".encode())
    time.sleep(0.2)
    vanish(s)
    return "gone"


def case_vanish_in_body(port, origin):
    s = connect(port)
    s.sendall((f"POST http://{origin}/echo HTTP/1.1\r\nHost: {origin}\r\n"
               "Content-Length: 100000\r\n\r\n").encode() + b"y" * 5000)
    time.sleep(0.5)
    vanish(s)
    return "gone"


def case_vanish_in_download(port, origin):
    """Reads the start of a large answer, then disappears."""
    s = connect(port)
    s.sendall(get(f"http://{origin}/bytes/8000000"))
    head = read_head(s)
    vanish(s)
    return status_of(head)


def case_vanish_in_tls(port, target):
    """A tunnel (or terminated TLS) whose client sends half a
    ClientHello and disappears."""
    s = connect(port)
    s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"
              .encode())
    status = status_of(read_head(s))
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40)
    time.sleep(0.5)
    vanish(s)
    return status


def socks5_connect(port, host, dport, greeting=b"\x05\x01\x00"):
    """A SOCKS5 CONNECT by name; returns (socket, reply code or None)."""
    s = connect(port)
    s.sendall(greeting)
    if s.recv(2) != b"\x05\x00":
        return s, None
    name = host.encode()
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name +
              struct.pack("!H", dport))
    reply = s.recv(4)
    if len(reply) < 2:
        return s, None
    return s, reply[1]


def case_socks5(port, host, dport):
    s, code = socks5_connect(port, host, int(dport))
    with s:
        return "closed" if code is None else f"reply {code}"


def case_socks5_vanish(port, host, dport):
    """Asks for a tunnel, then disappears half way through the request."""
    s = connect(port)
    s.sendall(b"\x05\x01\x00")
    s.recv(2)
    s.sendall(b"\x05\x01\x00\x03\x20" + host.encode()[:5])
    time.sleep(0.2)
    vanish(s)
    return "gone"


def case_socks5_bad(port, *unused):
    """A version byte of 5, then nonsense: no method offered, bad
    request."""
    s = connect(port)
    with s:
        s.sendall(b"\x05\x00")
        first = s.recv(2)
        s.sendall(b"\x05\x09\x00\x07junk")
        try:
            rest = s.recv(16)
        except ConnectionResetError:
            rest = b""
        return f"answer {(first + rest).hex() or 'none'}"


def dns_query(name, qtype=1, ident=0x4d43):
    labels = b"".join(bytes([len(x)]) + x.encode() for x in name.split("."))
    return (struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels +
            b"\x00" + struct.pack("!HH", qtype, 1))


def dns_ask(port, packet):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(TIMEOUT_S)
        s.sendto(packet, ("127.0.0.1", port))
        return s.recv(4096)


def case_dns(port, name):
    """The rcode, then the first A record's address if there is one."""
    answer = dns_ask(port, dns_query(name))
    rcode = answer[3] & 0x0f
    count = struct.unpack("!H", answer[6:8])[0]
    if rcode or not count:
        return f"rcode {rcode}"
    return f"rcode 0 {socket.inet_ntoa(answer[-4:])}"


def case_dns_garbage(port):
    answer = dns_ask(port, b"\x12\x34\x01\x00\x00\x01" + b"\xff" * 20)
    return f"rcode {answer[3] & 0x0f}"


CASES = {name[5:].replace("_", "-"): fn for name, fn in globals().items()
         if name.startswith("case_")}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in CASES:
        sys.exit("usage: clients.py CASE PORT [ARGS...]; cases: " +
                 " ".join(sorted(CASES)))
    try:
        print(CASES[sys.argv[1]](int(sys.argv[2]), *sys.argv[3:]))
    except OSError as e:
        print(f"error {e.__class__.__name__}")


if __name__ == "__main__":
    main()
