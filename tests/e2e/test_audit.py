# SPDX-License-Identifier: Apache-2.0
"""`airlock audit` and the default audit log, end to end: the real binary
reads hand-written logs whose records are known, and a real run writes its
records to the default file under the test's own state folder."""
import json
import os
import re
import stat

import pytest

from airlock_harness import make_sandbox, remove_sandbox
from netfixtures import write_settings

T = "2026-12-04T07:01:0{}.000Z"

# A short session: an allowed HTTP request, a denied one, a CONNECT tunnel
# (allowed, then closed with its byte counts), a refused DNS name and one
# record from another run.
RECORDS = [
    {"time": T.format(1), "run": "r1", "event": "request", "proto": "http",
     "host": "web.test", "port": 8080, "method": "GET", "path": "/hello",
     "decision": "allow", "rule": "web.test:8080", "status": 200,
     "bytes_up": 78, "bytes_down": 512, "duration_ms": 4},
    {"time": T.format(2), "run": "r1", "event": "deny", "proto": "http",
     "host": "other.test", "port": 80, "method": "GET", "path": "/hello",
     "decision": "deny", "rule": "allowedDomains",
     "reason": "not in the allowed domains"},
    {"time": T.format(3), "run": "r1", "event": "allow", "proto": "connect",
     "host": "web.test", "port": 443, "decision": "allow",
     "rule": "web.test", "addr": "127.0.0.1:443"},
    {"time": T.format(4), "run": "r1", "event": "close", "proto": "connect",
     "host": "web.test", "port": 443, "bytes_up": 1200,
     "bytes_down": 54000, "duration_ms": 320},
    {"time": T.format(5), "run": "r1", "event": "dns", "proto": "dns",
     "host": "other.test", "decision": "deny", "rule": "dns",
     "reason": "not in the allowed domains"},
    {"time": T.format(6), "run": "r2", "event": "request", "proto": "http",
     "host": "web.test", "port": 8080, "method": "POST", "path": "/echo",
     "decision": "allow", "status": 201, "bytes_up": 10,
     "bytes_down": 20, "duration_ms": 1},
]


@pytest.fixture
def box():
    """A temp folder to hold logs; `airlock audit` needs no privilege."""
    b = make_sandbox("root")
    yield b
    remove_sandbox(b)


def write_log(box, lines, name="audit.jsonl"):
    path = box.base / name
    path.write_text("".join(
        (x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def audit(box, *args, **kw):
    return box.run(["audit", *args], **kw)


def summary_rows(stdout):
    """The summary as {host: [five counts]}, the header checked."""
    lines = stdout.splitlines()
    assert lines[0].split() == ["HOST", "CONNECTIONS", "REQUESTS", "DENIED",
                                "BYTES", "UP", "BYTES", "DOWN"]
    rows = {}
    for line in lines[1:]:
        host, *counts = line.split()
        rows[host] = [int(c) for c in counts]
    return rows


# ---- reading ----

def test_each_record_is_one_readable_line(box):
    r = audit(box, str(write_log(box, RECORDS)))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(RECORDS)
    deny = lines[1]
    for part in ("2026-12-04 07:01:02", "deny", "http", "other.test:80",
                 "GET /hello", "not in the allowed domains",
                 "rule=allowedDomains"):
        assert part in deny, deny
    assert re.search(r"status=200\s+up=78\s+down=512\s+4ms", lines[0])
    assert "up=1200  down=54000  320ms" in lines[3]
    # the columns line up: each target starts at the same place
    starts = {line.index(x["host"]) for line, x in zip(lines, RECORDS)}
    assert len(starts) == 1, r.stdout


def test_summary_counts_are_exact(box):
    r = audit(box, "--summary", str(write_log(box, RECORDS)))
    assert r.returncode == 0, r.stderr
    assert summary_rows(r.stdout) == {
        "other.test": [0, 0, 1, 0, 0],
        "other.test:80": [0, 0, 1, 0, 0],
        "web.test:443": [1, 0, 0, 1200, 54000],
        "web.test:8080": [0, 2, 0, 88, 532],
        "(total)": [1, 2, 2, 1288, 54532],
    }
    hosts = [line.split()[0] for line in r.stdout.splitlines()[1:-1]]
    assert hosts == sorted(hosts)


def test_filters(box):
    log = str(write_log(box, RECORDS))
    r = audit(box, "--denied", log)
    assert [line.split()[2] for line in r.stdout.splitlines()] == \
        ["deny", "dns"], r.stdout
    r = audit(box, "--run", "r2", "--summary", log)
    assert summary_rows(r.stdout) == {"web.test:8080": [0, 1, 0, 10, 20],
                                      "(total)": [0, 1, 0, 10, 20]}


def test_standard_input(box):
    log = write_log(box, RECORDS)
    r = audit(box, "-", input=log.read_text())
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == len(RECORDS)


def test_malformed_lines_are_reported_and_skipped(box):
    lines = [RECORDS[0], RECORDS[1], "{not json", RECORDS[2],
             {"time": T.format(9), "event": "deny", "port": "80"},
             "", '["an array"]', RECORDS[3]]
    path = write_log(box, lines)
    r = audit(box, str(path))
    assert r.returncode == 1
    assert len(r.stdout.splitlines()) == 4, r.stdout
    assert f"{path}:3: " in r.stderr
    assert f'{path}:5: "port": expected a whole number' in r.stderr
    assert f"{path}:7: not a JSON object" in r.stderr
    assert f"{path}:6:" not in r.stderr  # a blank line is not an error
    assert "3 malformed lines skipped" in r.stderr


def test_control_bytes_never_reach_the_terminal(box):
    evil = dict(RECORDS[1], host="evil\x1b[2J\x07.test",
                path="/\x1b]0;owned\x07", reason="bad\r\nfake line")
    path = write_log(box, [evil, "\x1b[31m{broken\x07"])
    for args in ([], ["--summary"]):
        r = audit(box, *args, str(path))
        for out in (r.stdout, r.stderr):
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out), repr(out)
        assert "evil\\x1b[2J\\x07.test" in r.stdout
    assert r.stdout.count("\n") == 3  # header, one host, total


@pytest.mark.parametrize("args", [["missing.jsonl"], ["."], ["a", "b"],
                                  ["--no-such-option"]])
def test_unreadable_file_or_usage_error_is_status_2(box, args):
    r = audit(box, *args)
    assert r.returncode == 2
    assert r.stdout == ""
    if args[0] == "missing.jsonl":
        assert "cannot read the audit log missing.jsonl" in r.stderr


def test_default_file_is_read(box):
    state = box.base / "xdg"
    (state / "airlock").mkdir(parents=True)
    write_log(box, RECORDS[:2], name="xdg/airlock/audit.jsonl")
    env = {"XDG_STATE_HOME": str(state), "HOME": str(box.home)}
    r = audit(box, env=env)
    assert r.returncode == 0, r.stderr
    assert "other.test:80" in r.stdout
    # without XDG_STATE_HOME: the home's .local/state
    (box.home / ".local/state/airlock").mkdir(parents=True)
    write_log(box, RECORDS[2:3], name="home/.local/state/airlock/audit.jsonl")
    r = audit(box, env={"XDG_STATE_HOME": "", "HOME": str(box.home)})
    assert r.returncode == 0, r.stderr
    assert "web.test:443" in r.stdout and "other.test" not in r.stdout


# ---- writing: a real run ----

DENIED_CURL = ("curl -sS -m 20 -o /dev/null -w '%{http_code}\\n' "
               "http://other.test/hello")


def run_denied_curl(sb, *options):
    settings = write_settings(sb, {"network": {"allowedDomains":
                                               ["web.test"]}})
    return sb.sh(DENIED_CURL, "--settings", str(settings), *options)


def test_run_writes_the_default_log(sb):
    r = run_denied_curl(sb)
    assert r.stdout.split() == ["403"], r.stderr
    folder = sb.base / "state" / "airlock"
    log = folder / "audit.jsonl"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    records = [json.loads(x) for x in log.read_text().splitlines()]
    assert [(x["event"], x["host"]) for x in records] == \
        [("deny", "other.test")]

    r = sb.run(["audit", "--summary"])
    assert r.returncode == 0, r.stderr
    assert summary_rows(r.stdout)["other.test:80"] == [0, 0, 1, 0, 0]


def test_default_log_in_a_writable_tree_is_read_only_inside(sb):
    """With the state folder inside the workspace, CMD still cannot alter,
    remove or replace the records the gateway appends."""
    state = sb.workspace / "state"
    settings = write_settings(sb, {"network": {"allowedDomains":
                                               ["web.test"]}})
    r = sb.sh(DENIED_CURL + "; log=state/airlock/audit.jsonl; "
              "echo forged >> $log || echo append refused; "
              "rm -f $log || echo remove refused; "
              "mv state/airlock state/moved || echo rename refused",
              "--settings", str(settings),
              env={"XDG_STATE_HOME": str(state)})
    assert r.stdout.split("\n")[1:4] == ["append refused", "remove refused",
                                        "rename refused"], r.stdout
    records = (state / "airlock" / "audit.jsonl").read_text().splitlines()
    assert [json.loads(x)["host"] for x in records] == ["other.test"]


def test_audit_none_writes_nothing(sb):
    r = run_denied_curl(sb, "--audit", "none")
    assert r.stdout.split() == ["403"], r.stderr
    assert not (sb.base / "state" / "airlock" / "audit.jsonl").exists()


def test_unusable_default_folder_warns_and_runs(sb):
    elsewhere = sb.base / "elsewhere"
    elsewhere.mkdir()
    (sb.base / "state").mkdir()
    os.symlink(elsewhere, sb.base / "state" / "airlock")
    r = run_denied_curl(sb)
    assert r.returncode == 0 and r.stdout.split() == ["403"], r.stderr
    assert "no audit log for this run" in r.stderr
    assert not list(elsewhere.iterdir())
