# SPDX-License-Identifier: Apache-2.0
"""The command line of the real binary: sandbox-runtime settings files run
unchanged, settings errors are reported with their positions and stop
the run, and a command without `run` is refused with a hint."""
import json

from airlock_harness import ROOT

SRT_FILE = ROOT / "tests" / "unit" / "data" / "srt-settings.json"


def test_srt_settings_file_runs_unchanged(sb):
    settings = json.loads(SRT_FILE.read_text())
    # the file names a parent proxy "proxy:3128" that does not exist here;
    # a proxy that cannot be reached stops the run (fail closed), tested
    # below, so this copy leaves it out and keeps every other key
    del settings["network"]["parentProxy"]
    path = sb.base / "srt.json"
    path.write_text(json.dumps(settings))
    r = sb.sh("echo inside", "--settings", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "inside\n"


def test_unreachable_parent_proxy_fails_closed(sb):
    path = sb.base / "srt.json"
    path.write_text(SRT_FILE.read_text())
    r = sb.sh("echo inside", "--settings", str(path))
    assert r.returncode == 125
    assert r.stdout == ""
    assert "network.parentProxy" in r.stderr


BAD = """{
  "network": {
    "allowedDomain": ["example.com"],
    "deniedDomains": ["ok.test", 7]
  },
  "filesystem": {"denyRaed": []}
}
"""


def test_settings_errors_name_file_line_column_and_key(sb):
    path = sb.base / "bad.json"
    path.write_text(BAD)
    for args in (["check", "--settings", str(path)],
                 ["run", "--settings", str(path), "--", "/bin/true"]):
        r = sb.run(args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stdout == ""
        lines = r.stderr.splitlines()
        assert f"{path}:3:5: network.allowedDomain: unknown key; did you " \
            'mean "allowedDomains"?' in lines
        assert any(line.startswith(f"{path}:4:34: network.deniedDomains[1]: expected a string")
                   for line in lines), lines
        assert any(line.startswith(f"{path}:6:18: filesystem.denyRaed")
                   and "denyRead" in line for line in lines), lines


def test_syntax_error_has_a_position(sb):
    path = sb.base / "broken.json"
    path.write_text('{"network": {"allowedDomains": ["a.test",]}}\n')
    r = sb.run(["check", "--settings", str(path)])
    assert r.returncode == 2
    assert r.stderr.startswith(f"{path}:1:"), r.stderr


def test_command_without_run_is_refused_with_a_hint(sb):
    r = sb.run(["bash", "-c", "true"])
    assert r.returncode == 2
    assert "write: airlock run -- bash" in r.stderr
