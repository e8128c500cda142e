# SPDX-License-Identifier: Apache-2.0
"""`airlock runs`, `diff`, `apply` and `discard`, end to end.

Most tests build a run's folder by hand, as the supervisor leaves it: a
record, a lock, a policy and an upper layer written by a real overlayfs
(mounted with userxattr in a user namespace of its own, as the sandbox's
init does), with the agent's changes made through the overlay. The last
tests use real `airlock run --workspace-mode overlay` runs.

A run's changes are told apart from later edits of the workspace by
ctime, so nothing here touches the workspace between a run's start and
the review, except on purpose; that is why the review commands are run
without the harness's chown of the whole tree (see review()).
"""
import fcntl
import json
import os
import secrets
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from airlock_harness import NOBODY, SYSTEM_PYTHON

# Coarse file system clocks can lag by a tick; this is well above one.
CLOCK_SETTLE_S = 0.05
REVIEW_TIMEOUT_S = 120

# Writes a tree as JSON: each path below argv[1] with its kind, mode and
# content (hex) or symlink target.
DUMP_PY = r"""
import json, os, stat, sys
root = sys.argv[1]
out = {}
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        path = os.path.join(dirpath, name)
        st = os.lstat(path)
        rel = os.path.relpath(path, root)
        if stat.S_ISDIR(st.st_mode):
            out[rel] = ["dir", stat.S_IMODE(st.st_mode)]
        elif stat.S_ISLNK(st.st_mode):
            out[rel] = ["link", os.readlink(path)]
        else:
            with open(path, "rb") as f:
                out[rel] = ["file", stat.S_IMODE(st.st_mode), f.read().hex()]
json.dump(out, sys.stdout, sort_keys=True)
"""


# ---- helpers ----

def runs_dir(sb):
    return sb.base / "state" / "airlock" / "runs"


def new_run_id(offset_s=0):
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() +
                                                       offset_s))
    return f"{stamp}-{secrets.token_hex(4)}"


def dump(root):
    out = subprocess.run([SYSTEM_PYTHON, "-c", DUMP_PY, str(root)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def seed(sb, files):
    """Writes files ({path: text or bytes}) into the workspace."""
    for rel, data in files.items():
        path = sb.workspace / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        path.write_bytes(data)


def chown_all(root, uid):
    """lchown -R, keeping the setuid and setgid bits chown clears."""
    paths = [root] + [os.path.join(d, n) for d, dns, fns in os.walk(root)
                      for n in dns + fns]
    for path in paths:
        st = os.lstat(path)
        os.lchown(path, uid, uid)
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(path, stat.S_IMODE(st.st_mode))


def review(sb, args, *, cwd=None, timeout=REVIEW_TIMEOUT_S):
    """Runs `airlock ARGS` as sb's user, leaving ctimes alone."""
    return subprocess.run(sb.command(args), cwd=cwd or sb.workspace,
                          env=sb.env(), capture_output=True, text=True,
                          timeout=timeout)


def review_popen(sb, args):
    return subprocess.Popen(sb.command(args), cwd=sb.workspace,
                            env=sb.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def make_run(sb, agent_script=None, *, mode="overlay", finished=True,
             status=0, protect=(), run_id=None, started_ns=None):
    """A run's folder as the supervisor leaves it.

    agent_script runs in a shell in the overlay's merged view; the view
    it leaves is dumped as the run's snapshot. Returns (id, snapshot).
    """
    owner = NOBODY if sb.mode == "user" else 0
    run_id = run_id or new_run_id()
    folder = runs_dir(sb) / run_id
    folder.mkdir(parents=True)
    for d in (sb.base / "state", sb.base / "state" / "airlock",
              runs_dir(sb), folder):
        os.chmod(d, 0o700)
    (folder / "lock").touch()
    (folder / "policy.json").write_text(json.dumps(
        {"workspace": str(sb.workspace),
         "filesystem": {"protect": [".bashrc", ".git/hooks", *protect]}}))

    # the workspace is final before the run starts
    sb.chown_tree()
    time.sleep(CLOCK_SETTLE_S)
    start = started_ns or time.time_ns()
    time.sleep(CLOCK_SETTLE_S)

    snapshot = None
    if mode == "overlay":
        upper, work = folder / "upper", folder / "work"
        merged = sb.base / f"merged-{run_id}"
        for d in (upper, work, merged):
            d.mkdir()
        snap = sb.base / f"snapshot-{run_id}.json"
        script = (f"mount -t overlay ov -o lowerdir={sb.workspace},"
                  f"upperdir={upper},workdir={work},userxattr {merged} && "
                  f"cd {merged} && ({agent_script or 'true'}) && "
                  f"{SYSTEM_PYTHON} -c '{DUMP_PY}' {merged} > {snap}")
        # the user's own runs: its namespace's root is the user outside
        if sb.mode == "user":
            chown_all(sb.base / "state", NOBODY)
            os.chown(merged, NOBODY, NOBODY)
        subprocess.run(sb.command([])[:-1] + ["unshare", "-Urm", "sh", "-c",
                                              script], check=True)
        merged.rmdir()
        snapshot = json.loads(snap.read_text())
        snap.unlink()
        # a run started by root leaves its layer to the sandbox's host id
        chown_all(upper, NOBODY)
        chown_all(work, NOBODY)

    st = os.stat(sb.workspace)
    rec = {"id": run_id, "argv": ["/bin/sh", "-c", agent_script or "true"],
           "workspace": str(sb.workspace), "workspace_dev": st.st_dev,
           "workspace_ino": st.st_ino, "mode": mode,
           "started": "2026-12-04T07:04:01.123Z", "started_ns": start,
           "pid": os.getpid()}
    if finished:
        rec.update(finished="2026-12-04T07:05:01.123Z", status=status)
    (folder / "run.json").write_text(json.dumps(rec))
    if sb.mode == "user":
        chown_all(sb.base / "state", NOBODY)
    return run_id, snapshot


def record(sb, run_id):
    return json.loads((runs_dir(sb) / run_id / "run.json").read_text())


def stray_temps(root):
    return [os.path.join(d, n) for d, dns, fns in os.walk(root)
            for n in dns + fns if n.startswith(".airlock-apply.")]


# ---- the scenario, on a hand-made run ----

SEED = {
    "keep.txt": "same\n",
    "edit.txt": "one\ntwo\n",
    "gone.txt": "bye\n",
    "old-name.txt": "moving\n",
    "tool.sh": "#!/bin/sh\necho tool\n",
    "src/main.c": "int main(void) { return 0; }\n",
    "olddir/a": "a\n",
    "olddir/b": "b\n",
    "build/x.o": "x\n",
    "build/sub/y.o": "y\n",
    "data.bin": b"bin\0ary",
}

AGENT = ("echo new > added.txt && printf 'one\\nTWO\\nthree\\n' > edit.txt && "
         "rm gone.txt && mv old-name.txt new-name.txt && chmod 755 tool.sh && "
         "ln -s src/main.c link && mkdir empty && mv olddir newdir && "
         "rm -rf build && echo 'alias ls=rm' > .bashrc && "
         "printf 'bin\\0arX' > data.bin")

LIST = """\
A  .bashrc  (protected: apply needs --force)
A  added.txt
D  build/
M  data.bin
M  edit.txt
A  empty/
D  gone.txt
A  link -> src/main.c
A  new-name.txt
A  newdir/
A  newdir/a
A  newdir/b
D  old-name.txt
D  olddir/
M  tool.sh  (mode 644 -> 755)
"""


def scenario(sb):
    seed(sb, SEED)
    return make_run(sb, AGENT)


def test_diff_lists_each_change(sb):
    run_id, _ = scenario(sb)
    before = dump(sb.workspace)

    out = review(sb, ["diff"])
    assert out.returncode == 0, out.stderr
    assert out.stdout == LIST
    assert f"airlock: run {run_id} (started " in out.stderr
    assert dump(sb.workspace) == before


def test_diff_stat_and_patch(sb):
    run_id, _ = scenario(sb)

    out = review(sb, ["diff", run_id, "--stat"])
    assert out.returncode == 0, out.stderr
    rows = {line.split("|")[0].strip(): line.split("|")[1].strip()
            for line in out.stdout.splitlines()[:-1]}
    assert rows["edit.txt"] == "3 ++-"
    assert rows["data.bin"] == "Bin 7 -> 7 bytes"
    assert rows["build/sub/y.o"] == "1 -"
    assert rows["tool.sh"] == "0"
    assert out.stdout.splitlines()[-1] == \
        " 15 files changed, 8 insertions(+), 7 deletions(-)"

    out = review(sb, ["diff", run_id[-8:], "-p"])
    assert out.returncode == 0, out.stderr
    assert ("--- a/edit.txt\n+++ b/edit.txt\n@@ -1,2 +1,3 @@\n one\n-two\n"
            "+TWO\n+three\n") in out.stdout
    assert "Binary files a/data.bin and b/data.bin differ\n" in out.stdout
    assert "diff a/tool.sh b/tool.sh\nold mode 100644\nnew mode 100755\n" \
        in out.stdout
    assert "--- a/build/x.o\n+++ /dev/null\n" in out.stdout
    assert "+symlink -> src/main.c\n" in out.stdout


def test_apply_makes_the_agents_tree_but_the_protected_file(sb):
    run_id, snapshot = scenario(sb)

    out = review(sb, ["apply"])
    assert out.returncode == 1, out.stderr
    assert "not applied, protected" in out.stderr
    assert "  .bashrc\n" in out.stderr
    expected = {k: v for k, v in snapshot.items() if k != ".bashrc"}
    assert dump(sb.workspace) == expected
    # files belong to whoever applied them, not to the sandbox's id
    applier = NOBODY if sb.mode == "user" else os.geteuid()
    for dirpath, dirnames, filenames in os.walk(sb.workspace):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            assert os.lstat(path).st_uid == applier, path
    assert review(sb, ["diff"]).stdout == \
        "A  .bashrc  (protected: apply needs --force)\n"
    assert "applied" not in record(sb, run_id)

    out = review(sb, ["apply", "--force", ".bashrc"])
    assert out.returncode == 0, out.stderr
    assert dump(sb.workspace) == snapshot
    assert "applied" in record(sb, run_id)
    assert not (runs_dir(sb) / run_id / "upper").exists()
    assert stray_temps(sb.workspace) == []
    listing = review(sb, ["runs"]).stdout
    assert f"{run_id}  applied" in listing


def test_conflicting_edit_stops_apply_with_nothing_changed(sb):
    seed(sb, {"edit.txt": "one\n", "sub/k": "k\n", "other.txt": "o\n"})
    run_id, snapshot = make_run(sb, "echo agent > edit.txt && "
                                    "echo new > sub/new && rm other.txt")
    time.sleep(CLOCK_SETTLE_S)
    (sb.workspace / "edit.txt").write_text("user\n")
    (sb.workspace / "sub" / "mine").write_text("user\n")
    before = dump(sb.workspace)

    out = review(sb, ["apply", run_id])
    assert out.returncode == 1
    assert "nothing was changed" in out.stderr
    assert "  edit.txt: changed in the workspace since the run started" \
        in out.stderr
    assert "  sub/new: its folder changed in the workspace since the run " \
        "started" in out.stderr
    assert "other.txt" not in out.stderr
    assert dump(sb.workspace) == before

    # what does not conflict can still go in alone
    out = review(sb, ["apply", run_id, "other.txt"])
    assert out.returncode == 0, out.stderr
    assert not (sb.workspace / "other.txt").exists()


def test_discard_leaves_the_tree_as_it_was(sb):
    run_id, _ = scenario(sb)
    before = dump(sb.workspace)

    out = review(sb, ["discard"])
    assert out.returncode == 0, out.stderr
    assert dump(sb.workspace) == before
    assert "discarded" in record(sb, run_id)
    assert not (runs_dir(sb) / run_id / "upper").exists()
    assert not (runs_dir(sb) / run_id / "work").exists()

    out = review(sb, ["discard", run_id])
    assert out.returncode == 1
    assert "already discarded" in out.stderr
    assert review(sb, ["diff"]).returncode == 2


def test_apply_paths_then_the_rest(sb):
    seed(sb, {"a.txt": "a\n", "lib/b.txt": "b\n"})
    run_id, snapshot = make_run(sb, "echo A > a.txt && mkdir -p new/deep && "
                                    "echo n > new/deep/n && echo B > "
                                    "lib/b.txt")

    out = review(sb, ["apply", run_id, "new/deep/n", "./a.txt"])
    assert out.returncode == 0, out.stderr
    assert (sb.workspace / "new" / "deep" / "n").read_text() == "n\n"
    assert (sb.workspace / "a.txt").read_text() == "A\n"
    assert (sb.workspace / "lib" / "b.txt").read_text() == "b\n"
    assert review(sb, ["diff", run_id]).stdout == "M  lib/b.txt\n"

    out = review(sb, ["apply", run_id, "nowhere"])
    assert out.returncode == 2
    assert "  nowhere\n" in out.stderr

    out = review(sb, ["apply", run_id])
    assert out.returncode == 0, out.stderr
    assert dump(sb.workspace) == snapshot
    assert "applied" in record(sb, run_id)


def test_types_folders_and_modes(sb):
    seed(sb, {"f2link": "f\n", "f2dir": "f\n", "dir2f/x": "x\n",
              "wiped/a/b": "b\n", "wiped/c": "c\n",
              "replaced/old1": "1\n", "replaced/keep": "k\n"})
    os.symlink("f2link", sb.workspace / "link2f")
    run_id, snapshot = make_run(sb, (
        "rm f2link && ln -s elsewhere f2link && "
        "rm link2f && echo now-a-file > link2f && "
        "rm f2dir && mkdir f2dir && echo in > f2dir/in && "
        "rm -rf dir2f && echo file > dir2f && "
        "rm -rf wiped && "
        "rm -rf replaced && mkdir replaced && echo k2 > replaced/keep && "
        "echo new > replaced/new && "
        "echo s > suid && chmod 4755 suid"))

    listing = review(sb, ["diff", run_id]).stdout
    assert listing == (
        "T  dir2f  (folder -> file)\n"
        "T  f2dir/  (file -> folder)\n"
        "A  f2dir/in\n"
        "T  f2link -> elsewhere  (file -> symlink)\n"
        "T  link2f  (symlink -> file)\n"
        "M  replaced/keep\n"
        "A  replaced/new\n"
        "D  replaced/old1\n"
        "A  suid  (setuid/setgid bits not applied)\n"
        "D  wiped/\n")

    out = review(sb, ["apply", run_id])
    assert out.returncode == 0, out.stderr
    expected = dict(snapshot)
    expected["suid"] = ["file", 0o755, b"s\n".hex()]
    assert dump(sb.workspace) == expected
    assert stray_temps(sb.workspace) == []


def test_refusals(sb):
    seed(sb, {"a": "a\n"})
    live_id, _ = make_run(sb, mode="live", run_id=new_run_id(-20))
    run_id, _ = make_run(sb, "echo b > a", run_id=new_run_id(-10))

    out = review(sb, ["apply", "20990101T000000Z-deadbeef"])
    assert out.returncode == 2
    assert "airlock runs" in out.stderr

    out = review(sb, ["diff", live_id])
    assert out.returncode == 1
    assert "not overlay" in out.stderr

    # a run whose lock is held is active
    with open(runs_dir(sb) / run_id / "lock") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = review(sb, ["apply", run_id])
        assert out.returncode == 1
        assert "still active" in out.stderr
        assert f"{run_id}  active" in review(sb, ["runs"]).stdout
        assert review(sb, ["runs", "--prune", "--force"]).returncode == 0
        assert (runs_dir(sb) / run_id).exists()

    # a workspace replaced since the run is never written into
    moved = sb.base / "ws.moved"
    os.rename(sb.workspace, moved)
    sb.workspace.mkdir()
    if sb.mode == "user":
        os.chown(sb.workspace, NOBODY, NOBODY)
    out = review(sb, ["apply", run_id])
    assert out.returncode == 1
    assert "moved or replaced" in out.stderr
    assert os.listdir(sb.workspace) == []
    sb.workspace.rmdir()
    os.rename(moved, sb.workspace)

    # a run left without "finished" and without its lock was killed
    killed_id, _ = make_run(sb, "echo c > a", finished=False)
    assert f"{killed_id}  killed" in review(sb, ["runs"]).stdout
    out = review(sb, ["diff"])
    assert f"run {killed_id}" in out.stderr
    assert out.stdout == "M  a\n"


def test_runs_and_prune(sb):
    seed(sb, {"a": "a\n"})
    old_ns = time.time_ns() - 3 * 86400 * 10**9
    empty_id, _ = make_run(sb, "true", run_id=new_run_id(-40))
    live_id, _ = make_run(sb, mode="live", status=3, run_id=new_run_id(-30),
                          started_ns=old_ns)
    pending_id, _ = make_run(sb, "echo b > a", run_id=new_run_id(-20))

    out = review(sb, ["runs"])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "MODE", "CHANGES", "STARTED",
                                "COMMAND"]
    assert lines[1].split()[:4] == [empty_id, "exit", "0", "overlay"]
    assert lines[2].split()[:5] == [live_id, "exit", "3", "live", "-"]
    assert lines[3].split()[:5] == [pending_id, "exit", "0", "overlay", "1"]
    assert lines[3].endswith("/bin/sh -c echo b > a")

    out = review(sb, ["runs", "--prune", "--older-than", "2"])
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"removed {live_id}\n"

    out = review(sb, ["runs", "--prune"])
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"removed {empty_id}\n"
    assert f"kept run {pending_id}: 1 change waiting" in out.stderr

    out = review(sb, ["runs", "--prune", "--force"])
    assert out.stdout == f"removed {pending_id}\n"
    assert os.listdir(runs_dir(sb)) == []
    assert review(sb, ["runs", "--older-than", "2"]).returncode == 2


def test_apply_killed_half_way_leaves_whole_files(sb):
    count = 3000
    seed(sb, {f"many/f{i:04d}": f"old {i}\n" * 64 for i in range(count)})
    run_id, snapshot = make_run(
        sb, f"for i in $(seq -w 0 {count - 1}); do "
            f"printf 'new %s\\n' $i > many/f$i; done")
    old = {f"f{i:04d}": (f"old {i}\n" * 64).encode() for i in range(count)}
    new = {f"f{i:04d}": f"new {i:04d}\n".encode() for i in range(count)}

    mixed = False
    for delay in (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2):
        proc = review_popen(sb, ["apply", run_id])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        names = set()
        for name in os.listdir(sb.workspace / "many"):
            if name.startswith(".airlock-apply."):
                continue
            data = (sb.workspace / "many" / name).read_bytes()
            assert data in (old[name], new[name]), name
            names.add(name)
        assert names == set(old)
        n_new = sum((sb.workspace / "many" / n).read_bytes() == new[n]
                    for n in names)
        mixed |= 0 < n_new < count
        if n_new == count:
            break
    assert mixed, "no kill landed in the middle of the apply"

    # the apply that finishes the work sweeps what the others left
    if "applied" not in record(sb, run_id):
        out = review(sb, ["apply", run_id])
        assert out.returncode == 0, out.stderr
    assert "applied" in record(sb, run_id)
    assert dump(sb.workspace) == snapshot
    assert stray_temps(sb.workspace) == []


# ---- real runs ----

AGENT_PY = """
import os, shutil
open("added.txt", "w").write("new\\n")
open("edit.txt", "w").write("one\\nTWO\\nthree\\n")
os.remove("gone.txt")
os.rename("old-name.txt", "new-name.txt")
os.chmod("tool.sh", 0o755)
os.symlink("src/main.c", "link")
os.mkdir("empty")
shutil.move("olddir", "newdir")
shutil.rmtree("build")
try:
    open(".bashrc", "w").write("alias ls=rm\\n")
except OSError:
    pass
open("data.bin", "wb").write(b"bin\\0arX")
import sys
sys.argv = ["", "."]
""" + DUMP_PY


def real_run(sb, mode, code):
    out = sb.py(code, "--workspace-mode", mode)
    if out.returncode == 2 and "workspace-mode" in out.stderr:
        pytest.skip("this airlock has no --workspace-mode")
    assert out.returncode == 0, out.stderr
    ids = sorted(os.listdir(runs_dir(sb)))
    return ids[-1], out.stdout


def test_real_overlay_run_then_review(sb):
    seed(sb, SEED)
    before = dump(sb.workspace)
    run_id, seen = real_run(sb, "overlay", AGENT_PY)
    seen = json.loads(seen)
    assert dump(sb.workspace) == before

    listing = review(sb, ["diff"]).stdout
    expected = LIST.replace("A  .bashrc  (protected: apply needs --force)\n",
                            "")
    assert listing.replace(LIST.splitlines()[0] + "\n", "") == expected

    out = review(sb, ["apply"])
    assert out.returncode in (0, 1), out.stderr
    assert dump(sb.workspace) == {k: v for k, v in seen.items()
                                  if k != ".bashrc"}
    assert not (sb.workspace / ".bashrc").exists()


def test_real_overlay_conflict_then_discard(sb):
    seed(sb, SEED)
    run_id, _ = real_run(sb, "overlay", AGENT_PY)
    time.sleep(CLOCK_SETTLE_S)
    (sb.workspace / "edit.txt").write_text("mine\n")
    before = dump(sb.workspace)

    out = review(sb, ["apply", run_id])
    assert out.returncode == 1
    assert "edit.txt: changed in the workspace" in out.stderr
    assert dump(sb.workspace) == before

    out = review(sb, ["discard", run_id])
    assert out.returncode == 0, out.stderr
    assert dump(sb.workspace) == before
    assert "discarded" in record(sb, run_id)


def test_real_tmpfs_run_leaves_nothing(sb):
    seed(sb, SEED)
    before = dump(sb.workspace)
    run_id, _ = real_run(sb, "tmpfs", AGENT_PY)
    assert dump(sb.workspace) == before
    assert not (runs_dir(sb) / run_id / "upper").exists()
    out = review(sb, ["diff", run_id])
    assert out.returncode == 1
    assert "tmpfs mode" in out.stderr
