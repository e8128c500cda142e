# SPDX-License-Identifier: Apache-2.0
"""`airlock ca`, end to end: the real binary makes the user's CA under the
test's own state folder with private modes, shows and exports its
certificate (which openssl parses), replaces it on rotate, and refuses a
key that others could read or that is a symlink. Each test runs as root
and as an unprivileged user."""
import os
import re
import stat
import subprocess

from airlock_harness import NOBODY

FINGERPRINT = re.compile(r"^sha256:\s+((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$",
                         re.M)


def ca_dir(sb):
    return sb.base / "state" / "airlock" / "ca"


def ca(sb, *args):
    return sb.run(["ca", *args])


def fingerprint(stdout):
    m = FINGERPRINT.search(stdout)
    assert m, stdout
    return m.group(1)


def openssl(*args, input=None):
    r = subprocess.run(["openssl", *args], input=input, capture_output=True,
                       text=True, check=True)
    return r.stdout


def test_show_makes_a_private_ca(sb):
    r = ca(sb)
    assert r.returncode == 0, r.stderr
    d = ca_dir(sb)
    lines = r.stdout.splitlines()
    assert lines[0] == f"certificate: {d / 'ca.pem'}"
    assert re.match(r"^subject:\s+O = airlock, CN = airlock CA \(.+@.+\)$",
                    lines[1]), lines[1]
    assert re.match(r"^not before:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$",
                    lines[3]), lines[3]
    assert lines[4].startswith("not after:")
    assert "PRIVATE KEY" not in r.stdout + r.stderr

    owner = 0 if sb.mode == "root" else NOBODY
    for path, mode in ((d, 0o700), (d / "ca.key", 0o600),
                       (d / "ca.pem", 0o644)):
        st = path.lstat()
        assert stat.S_IMODE(st.st_mode) == mode, (path, oct(st.st_mode))
        assert st.st_uid == owner, path
    assert sorted(os.listdir(d)) == ["ca.key", "ca.pem"]

    # made once, then kept
    again = ca(sb, "show")
    assert again.returncode == 0, again.stderr
    assert fingerprint(again.stdout) == fingerprint(r.stdout)


def test_path_prints_the_certificate_path(sb):
    r = ca(sb, "path")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{ca_dir(sb) / 'ca.pem'}\n"
    assert (ca_dir(sb) / "ca.key").exists()


def test_export_writes_a_certificate_openssl_reads(sb):
    shown = fingerprint(ca(sb).stdout)
    r = ca(sb, "export")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("-----BEGIN CERTIFICATE-----\n")
    assert r.stdout.endswith("-----END CERTIFICATE-----\n")
    assert r.stdout.count("-----BEGIN") == 1
    fp = openssl("x509", "-noout", "-fingerprint", "-sha256",
                 input=r.stdout)
    assert fp.strip().split("=", 1)[1].upper() == shown
    text = openssl("x509", "-noout", "-text", input=r.stdout)
    assert re.search(r"Basic Constraints: critical\s+CA:TRUE, pathlen:0",
                     text), text
    assert re.search(r"Key Usage: critical\s+Certificate Sign, CRL Sign",
                     text), text
    assert "ASN1 OID: prime256v1" in text
    assert "Signature Algorithm: ecdsa-with-SHA256" in text

    out = sb.base / "exported.pem"
    sb.chown_tree()
    r = ca(sb, "export", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert out.read_text() == ca(sb, "export").stdout


def test_rotate_replaces_the_ca(sb):
    before = fingerprint(ca(sb).stdout)
    old_pem = (ca_dir(sb) / "ca.pem").read_text()
    r = ca(sb, "rotate")
    assert r.returncode == 0, r.stderr
    after = fingerprint(r.stdout)
    assert after != before
    assert "keep the old CA until they end" in r.stdout
    assert fingerprint(ca(sb, "show").stdout) == after
    assert (ca_dir(sb) / "ca.pem").read_text() != old_pem
    assert stat.S_IMODE((ca_dir(sb) / "ca.key").stat().st_mode) == 0o600
    assert sorted(os.listdir(ca_dir(sb))) == ["ca.key", "ca.pem"]


def test_exposed_or_linked_key_is_refused(sb):
    assert ca(sb).returncode == 0
    key = ca_dir(sb) / "ca.key"
    key.chmod(0o640)
    r = ca(sb, "show")
    assert r.returncode == 1
    assert "refusing it" in r.stderr and "0640" in r.stderr
    assert r.stdout == ""

    moved = sb.base / "moved.key"
    key.chmod(0o600)
    key.rename(moved)
    key.symlink_to(moved)
    r = ca(sb, "path")
    assert r.returncode == 1
    assert "is a symlink" in r.stderr
    # refused, not replaced
    assert key.is_symlink()

    # rotate makes a fresh pair in its place
    r = ca(sb, "rotate")
    assert r.returncode == 0, r.stderr
    assert not key.is_symlink()
    assert ca(sb, "show").returncode == 0


def test_first_uses_at_once_agree_on_one_ca(sb):
    sb.chown_tree()
    procs = [sb.popen(["ca"], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True) for _ in range(8)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    assert len({fingerprint(o) for o, _ in outs}) == 1
    assert sorted(os.listdir(ca_dir(sb))) == ["ca.key", "ca.pem"]


def test_usage(sb):
    for args in (["bogus"], ["path", "extra"], ["export", "a", "b"],
                 ["--bogus"]):
        r = ca(sb, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stdout == ""
    r = ca(sb, "--help")
    assert r.returncode == 0
    assert "airlock ca [show | path | export [FILE] | rotate]" in r.stdout
    # a usage error makes no CA
    assert not ca_dir(sb).exists()
