# SPDX-License-Identifier: Apache-2.0
"""--workspace-mode, end to end: where CMD's writes go in each mode, and
the run's folder that every run leaves under the state folder (its
record, its policy, its lock and, in overlay mode, its upper layer)."""
import fcntl
import json
import os
import stat
import subprocess
import time

import pytest

SCRIPT = ("echo changed > kept.txt; echo new > added.txt; rm gone.txt; "
          "mkdir made; cat kept.txt")


def seed(sb):
    (sb.workspace / "kept.txt").write_text("original\n")
    (sb.workspace / "gone.txt").write_text("to be removed\n")


def tree(root):
    """Every path below root with its content (None for folders)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            out[os.path.relpath(os.path.join(dirpath, name), root)] = None
        for name in filenames:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = open(path, "rb").read()
    return out


def runs(sb):
    folder = sb.base / "state" / "airlock" / "runs"
    return sorted(folder.iterdir()) if folder.exists() else []


def record(run):
    return json.loads((run / "run.json").read_text())


def test_live_writes_land_and_the_run_is_recorded(sb):
    seed(sb)
    r = sb.sh(SCRIPT, "--workspace-mode", "live")
    assert r.returncode == 0, r.stderr
    assert (sb.workspace / "kept.txt").read_text() == "changed\n"
    assert not (sb.workspace / "gone.txt").exists()
    [run] = runs(sb)
    rec = record(run)
    assert rec["id"] == run.name and rec["mode"] == "live"
    assert rec["argv"] == ["/bin/sh", "-c", SCRIPT]
    assert rec["workspace"] == str(sb.workspace)
    assert rec["workspace_ino"] == os.stat(sb.workspace).st_ino
    assert rec["status"] == 0 and rec["finished"] >= rec["started"]
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    assert json.loads((run / "policy.json").read_text())["workspace"] == \
        str(sb.workspace)
    assert not (run / "upper").exists()
    # the lock is free once the run is over
    with open(run / "lock") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_overlay_keeps_the_real_tree_untouched(sb):
    seed(sb)
    before = tree(sb.workspace)
    r = sb.sh(SCRIPT, "--workspace-mode", "overlay")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "changed\n"  # CMD saw its own writes
    assert tree(sb.workspace) == before
    assert "kept its changes for review" in r.stderr
    [run] = runs(sb)
    assert record(run)["mode"] == "overlay"
    upper = run / "upper"
    assert (upper / "kept.txt").read_text() == "changed\n"
    assert (upper / "added.txt").read_text() == "new\n"
    assert (upper / "made").is_dir()
    whiteout = os.lstat(upper / "gone.txt")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0


def test_overlay_without_changes_says_so(sb):
    seed(sb)
    r = sb.sh("cat kept.txt", "--workspace-mode", "overlay", "-v")
    assert r.returncode == 0, r.stderr
    assert "changed nothing in the workspace" in r.stderr
    assert "kept its changes" not in r.stderr


def test_tmpfs_leaves_nothing(sb):
    seed(sb)
    before = tree(sb.workspace)
    r = sb.sh(SCRIPT, "--workspace-mode", "tmpfs")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "changed\n"
    assert tree(sb.workspace) == before
    [run] = runs(sb)
    assert record(run)["mode"] == "tmpfs"
    assert sorted(p.name for p in run.iterdir()) == \
        ["lock", "policy.json", "run.json"]


def test_ro_refuses_every_write(sb):
    seed(sb)
    before = tree(sb.workspace)
    r = sb.sh("echo x > kept.txt; echo $?; touch new.txt; echo $?",
              "--workspace-mode", "ro")
    assert r.stdout.split() == ["2", "1"], r.stderr
    assert "Read-only file system" in r.stderr
    assert tree(sb.workspace) == before


def test_overlay_needs_its_folder_outside_the_workspace(sb):
    seed(sb)
    before = tree(sb.workspace)
    r = sb.sh("echo ran", "--workspace-mode", "overlay",
              env={"XDG_STATE_HOME": str(sb.workspace / "state")})
    assert r.returncode == 125
    assert r.stdout == ""
    assert "lies in the workspace it would overlay" in r.stderr
    # its record says it never ran; nothing else changed in the tree
    after = {k: v for k, v in tree(sb.workspace).items()
             if not k.startswith("state")}
    assert after == before


def test_state_folder_is_read_only_inside(sb):
    """With the state folder in the workspace, CMD cannot rewrite the run
    records (live mode: overlay refuses that layout)."""
    state = sb.workspace / "state"
    r = sb.sh("for f in state/airlock/runs/*/run.json; do "
              "echo forged > $f || echo refused; done",
              env={"XDG_STATE_HOME": str(state)})
    assert r.stdout.strip() == "refused", r.stdout + r.stderr
    [run] = sorted((state / "airlock" / "runs").iterdir())
    assert record(run)["status"] == 0


def test_dry_run_shows_the_overlay_and_records_nothing(sb):
    r = sb.run(["run", "--dry-run", "--workspace-mode", "overlay", "--",
                "true"])
    assert r.returncode == 0, r.stderr
    assert f"overlay  {sb.workspace}" in r.stdout
    assert runs(sb) == []


@pytest.mark.parametrize("mode", ["bogus", ""])
def test_unknown_mode_is_a_usage_error(sb, mode):
    r = sb.run(["run", "--workspace-mode", mode, "--", "true"])
    assert r.returncode == 2
    assert "is not one of live, overlay, tmpfs, ro" in r.stderr


def test_a_running_command_is_recorded_while_it_runs(sb):
    """The record is written once CMD has run for a moment (a command that
    ends sooner gets it only at the end): `airlock runs` shows it active."""
    proc = sb.popen(["run", "--", "/bin/sh", "-c", "echo up; read _; exit 0"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"up\n"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = runs(sb)
            if found and (found[0] / "run.json").exists():
                break
            time.sleep(0.05)
        [run] = runs(sb)
        rec = record(run)
        assert "finished" not in rec and rec["mode"] == "live"
        listing = sb.run(["runs"])
        assert listing.returncode == 0, listing.stdout + listing.stderr
        assert run.name in listing.stdout and "active" in listing.stdout
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert record(run)["status"] == 0
