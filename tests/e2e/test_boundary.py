# SPDX-License-Identifier: Apache-2.0
"""The boundary of `airlock run`, tried from inside, as root and as an
unprivileged user: files, masks, protected paths, privileges, syscalls,
processes, limits, exit statuses, signals and clean-up."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from airlock_harness import SYSTEM_PYTHON, NOBODY


# ---- files ----

def test_workspace_writable_and_lands_on_host(sb):
    r = sb.sh("echo hello > made.txt && mkdir d && mv made.txt d/")
    assert r.returncode == 0, r.stderr
    assert (sb.workspace / "d" / "made.txt").read_text() == "hello\n"
    owner = (sb.workspace / "d" / "made.txt").stat().st_uid
    assert owner == (0 if sb.mode == "root" else NOBODY)


@pytest.mark.parametrize("target", ["/etc/airlock-e2e", "/usr/airlock-e2e",
                                    "/var/airlock-e2e"])
def test_writes_outside_fail_and_create_nothing(sb, target):
    r = sb.py(f"""
import errno, os
try:
    open({target!r}, "w")
    print("WROTE")
except OSError as e:
    print(errno.errorcode[e.errno])
""")
    assert r.stdout.strip() in ("EROFS", "EACCES"), r.stdout + r.stderr
    assert not os.path.exists(target)


def test_tmp_is_private_and_tmpdir_points_at_it(sb):
    marker = Path("/tmp") / f"airlock-e2e-marker-{os.getpid()}"
    marker.write_text("host")
    try:
        r = sb.sh(f'echo "$TMPDIR"; test -e {marker} && echo SEEN; '
                  'echo x > /tmp/inside && echo wrote')
        assert r.stdout.split() == ["/tmp", "wrote"], r.stdout + r.stderr
        assert not Path("/tmp/inside").exists()
    finally:
        marker.unlink()


def test_minimal_dev_and_readonly_kernel_knobs(sb):
    r = sb.sh("ls /dev; for f in /proc/sys/kernel/hostname "
              "/proc/sysrq-trigger /sys/kernel/uevent_helper; do "
              "(echo x > $f) 2>/dev/null && echo WROTE $f; done; true")
    names = set(r.stdout.split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "pts",
            "ptmx", "shm"} <= names
    assert not names & {"sda", "vda", "mem", "kmsg", "WROTE"}, r.stdout


def test_mounts_are_nosuid_nodev(sb):
    r = sb.sh("cat /proc/self/mountinfo")
    for line in r.stdout.splitlines():
        fields = line.split()
        mount_point, options = fields[4], fields[5]
        if mount_point.startswith("/dev/") and mount_point != "/dev/shm":
            continue  # device nodes: noexec instead of nodev
        if mount_point.startswith("/dev/pts"):
            continue
        assert "nosuid" in options, line
        if not mount_point.startswith("/proc") and mount_point != "/sys":
            assert "nodev" in options, line


def test_cwd_kept(sb):
    sub = sb.workspace / "a" / "b"
    sub.mkdir(parents=True)
    r = sb.run(["run", "--workspace", str(sb.workspace), "--", "pwd"],
               cwd=sub)
    assert r.stdout.strip() == str(sub)


def test_symlink_toward_outside_cannot_write(sb):
    os.symlink("/etc", sb.workspace / "etc-link")
    r = sb.sh("echo x > etc-link/airlock-e2e; echo $?")
    assert r.stdout.strip() != "0"
    assert not os.path.exists("/etc/airlock-e2e")


def test_hard_link_to_outside_fails(sb):
    r = sb.py("""
import errno, os
try:
    os.link("/etc/hostname", "h")
    print("LINKED")
except OSError as e:
    print(errno.errorcode[e.errno])
""")
    assert r.stdout.strip() in ("EXDEV", "EPERM", "EACCES"), r.stdout


def test_symlinked_write_path_is_refused(sb):
    outside = sb.base / "outside"
    outside.mkdir()
    os.symlink(outside, sb.workspace / "linked")
    settings = sb.base / "s.json"
    settings.write_text('{"filesystem": {"allowWrite": ["%s"]}}'
                        % (sb.workspace / "linked"))
    r = sb.run(["run", "--settings", str(settings), "--", "/bin/sh", "-c",
                "echo x > linked/f"])
    assert r.returncode == 125, r.stderr
    assert "symlink" in r.stderr
    assert not (outside / "f").exists()


# ---- masks ----

SECRETS = [".env", ".env.local", ".envrc", ".git-credentials", ".netrc",
           ".npmrc", ".pypirc", "x.pem", "x.key", "gcp-service-account.json",
           "sub/.env", "sub/.netrc", "sub/deeper/.env", "sub/deeper/x.pem"]


def test_credential_files_in_workspace_read_empty(sb):
    for name in SECRETS:
        p = sb.workspace / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("TOPSECRET\n")
    r = sb.sh("cat " + " ".join(SECRETS) + " 2>&1; true")
    assert "TOPSECRET" not in r.stdout + r.stderr
    for name in SECRETS:
        assert (sb.workspace / name).read_text() == "TOPSECRET\n"


def test_credential_folders_in_home_are_empty(sb):
    if sb.mode == "root":
        pytest.skip("root's home is a throwaway tmpfs inside")
    for rel in [".ssh/id_rsa", ".aws/credentials", ".config/gcloud/x.json",
                ".docker/config.json", ".kube/config"]:
        p = sb.home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("TOPSECRET\n")
    r = sb.sh("find ~/.ssh ~/.aws ~/.kube ~/.config/gcloud -mindepth 1")
    assert r.returncode == 0 and r.stdout.split() == [], r.stdout + r.stderr
    r = sb.sh("cat ~/.ssh/id_rsa ~/.aws/credentials ~/.config/gcloud/x.json "
              "~/.docker/config.json ~/.kube/config 2>&1; true")
    assert "TOPSECRET" not in r.stdout


def test_mask_and_unmask_from_settings(sb):
    (sb.workspace / "notes.txt").write_text("TOPSECRET\n")
    (sb.workspace / ".env").write_text("VISIBLE\n")
    settings = sb.base / "s.json"
    settings.write_text('{"filesystem": {"mask": ["notes.txt"], '
                        '"unmask": [".env"]}}')
    r = sb.run(["run", "--settings", str(settings), "--", "/bin/sh", "-c",
                "cat notes.txt .env"])
    assert "TOPSECRET" not in r.stdout
    assert "VISIBLE" in r.stdout


# ---- protected paths ----

PROTECTED_FILES = [".bashrc", ".gitconfig", ".gitmodules",
                   ".git/hooks/pre-commit", ".git/config",
                   ".vscode/settings.json", ".idea/x", ".claude/commands/x.md",
                   ".claude/agents/x.md", ".mcp.json", ".airlock.json",
                   ".srt-settings.json"]


def test_existing_protected_files_cannot_change(sb):
    for name in PROTECTED_FILES:
        p = sb.workspace / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("original\n")
    script = "; ".join(
        f"(echo evil > {n}) 2>/dev/null; rm -f {n} 2>/dev/null; "
        f"mv {n} {n}.moved 2>/dev/null; "
        f"(echo evil > t && mv -f t {n}) 2>/dev/null"
        for n in PROTECTED_FILES)
    sb.sh(script + "; true")
    for name in PROTECTED_FILES:
        assert (sb.workspace / name).read_text() == "original\n", name
        assert not (sb.workspace / (name + ".moved")).exists()


def test_missing_protected_paths_cannot_be_created(sb):
    (sb.workspace / ".git").mkdir()
    before = sorted(str(p) for p in sb.workspace.rglob("*"))
    r = sb.py("""
import errno, os
def attempt(what, fn):
    try:
        fn()
        print(what, "CREATED")
    except OSError as e:
        print(what, errno.errorcode[e.errno])
attempt("open .bashrc", lambda: open(".bashrc", "w"))
attempt("open .mcp.json", lambda: os.open(".mcp.json", os.O_CREAT | os.O_WRONLY))
attempt("mkdir .vscode", lambda: os.mkdir(".vscode"))
attempt("mkdir .git/hooks", lambda: os.mkdir(".git/hooks"))
attempt("open .git/config", lambda: open(".git/config", "w"))
attempt("symlink .gitconfig", lambda: os.symlink("/tmp", ".gitconfig"))
os.mkdir("staging"); open("staging/pre-commit", "w").close()
attempt("rename onto .git/hooks", lambda: os.rename("staging", ".git/hooks"))
open("plain", "w").close()
attempt("link .zshrc", lambda: os.link("plain", ".zshrc"))
attempt("rename onto .profile", lambda: os.rename("plain", ".profile"))
attempt("symlink .git", lambda: os.symlink("/tmp", ".claude"))
os.symlink(".bashrc", "dangling")
attempt("create through dangling symlink", lambda: open("dangling", "w"))
""")
    lines = r.stdout.splitlines()
    assert len(lines) == 11, r.stdout + r.stderr
    for line in lines:
        assert not line.endswith("CREATED"), line
    for name in [".bashrc", ".mcp.json", ".vscode", ".git/hooks",
                 ".git/config", ".gitconfig", ".zshrc", ".profile",
                 ".claude"]:
        assert not os.path.lexists(sb.workspace / name), name
    after = sorted(str(p) for p in sb.workspace.rglob("*"))
    made = {os.path.relpath(p, sb.workspace) for p in set(after) - set(before)}
    assert made == {"staging", "staging/pre-commit", "plain", "dangling"}


def test_allow_git_config_makes_it_writable(sb):
    (sb.workspace / ".git").mkdir()
    (sb.workspace / ".git" / "config").write_text("[core]\n")
    settings = sb.base / "s.json"
    settings.write_text('{"filesystem": {"allowGitConfig": true}}')
    r = sb.run(["run", "--settings", str(settings), "--", "/bin/sh", "-c",
                "echo '[x]' >> .git/config"])
    assert r.returncode == 0, r.stderr
    assert "[x]" in (sb.workspace / ".git" / "config").read_text()


def test_ordinary_work_still_works(sb):
    r = sb.sh("mkdir -p proj && cd proj && git init -q && "
              "git -c user.name=a -c user.email=a@b commit -q --allow-empty "
              "-m one && git log --oneline | wc -l && ls .git/hooks 2>&1 "
              "| wc -l")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "1"


def test_airlock_creates_nothing_in_the_tree(sb):
    before = sorted(p.name for p in sb.workspace.iterdir())
    proc = sb.popen(["run", "--", "/bin/sh", "-c", "sleep 30"])
    try:
        time.sleep(0.5)
        during = sorted(p.name for p in sb.workspace.iterdir())
    finally:
        proc.kill()
        proc.wait()
    assert before == during == []


# ---- privileges and syscalls ----

def test_no_capabilities_no_new_privs_seccomp(sb):
    r = sb.sh("grep -E '^(Cap[A-Za-z]+|NoNewPrivs|Seccomp):' /proc/self/status")
    fields = dict(line.split(":\t") for line in r.stdout.splitlines())
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert fields[cap].strip() == "0000000000000000", cap
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Seccomp"].strip() == "2"


def test_uid_inside(sb):
    r = sb.sh("id -u")
    uid = int(r.stdout)
    assert uid != 0
    if sb.mode == "user":
        assert uid == NOBODY


def test_setuid_gives_nothing(sb):
    r = sb.sh("su -c id root </dev/null 2>&1; "
              "/usr/bin/newgrp 2>&1 </dev/null; id -u")
    assert r.stdout.strip().splitlines()[-1] != "0"


SYSCALL_PROBE = r"""
import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def sys(name, nr, *args):
    r = libc.syscall(nr, *[ctypes.c_long(a) if isinstance(a, int) else a
                           for a in args])
    e = ctypes.get_errno()
    print(name, "OK" if r >= 0 else errno.errorcode.get(e, e))
sys("mount", 165, b"none", b"/tmp", b"tmpfs", 0, None)
sys("umount2", 166, b"/proc", 2)
sys("unshare_user", 272, 0x10000000)
sys("unshare_mount", 272, 0x00020000)
sys("setns", 308, 0, 0)
sys("keyctl", 250, 0, 0, 0, 0, 0)
sys("add_key", 248, b"user", b"x", b"y", 1, -3)
sys("bpf", 321, 0, 0, 0)
sys("perf_event_open", 298, 0, 0, -1, -1, 0)
sys("io_uring_setup", 425, 1, 0)
sys("userfaultfd", 323, 0)
sys("ptrace_attach", 101, 16, 1, 0, 0)
for fam, typ, name in [(socket.AF_UNIX, socket.SOCK_STREAM, "sock_unix"),
                       (socket.AF_PACKET, socket.SOCK_RAW, "sock_packet"),
                       (socket.AF_INET, socket.SOCK_RAW, "sock_raw")]:
    try:
        socket.socket(fam, typ); print(name, "OK")
    except OSError as e:
        print(name, errno.errorcode[e.errno])
a, b = socket.socketpair(); a.send(b"x"); print("socketpair", b.recv(1).decode())
"""

REFUSED = {"EPERM", "EACCES", "ENOSYS", "EAFNOSUPPORT"}


def test_dangerous_syscalls_refused(sb):
    r = sb.py(SYSCALL_PROBE)
    results = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert results.pop("socketpair") == "x"
    assert len(results) == 15, r.stdout + r.stderr
    for name, outcome in results.items():
        assert outcome in REFUSED, f"{name}: {outcome}"


def test_unix_sockets_allowed_by_policy(sb):
    settings = sb.base / "s.json"
    settings.write_text('{"network": {"allowAllUnixSockets": true}}')
    r = sb.run(["run", "--settings", str(settings), "--", SYSTEM_PYTHON,
                "-c", "import socket; socket.socket(socket.AF_UNIX); "
                "print('ok')"])
    assert r.stdout.strip() == "ok", r.stderr


def test_host_processes_invisible_and_unreachable(sb):
    host = subprocess.Popen(["sleep", "60"])
    try:
        r = sb.py(f"""
import errno, os
print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
try:
    os.kill({host.pid}, 0); print("REACHED")
except OSError as e:
    print(errno.errorcode[e.errno])
""")
        lines = r.stdout.splitlines()
        pids = eval(lines[0])  # a list of ints printed by the probe
        assert max(pids) < 20 and host.pid not in pids or host.pid < 20
        assert lines[1] == "ESRCH"
    finally:
        host.kill()
        host.wait()


def test_only_loopback(sb):
    r = sb.sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
    assert r.stdout.split() == ["lo"]


def test_new_namespaces(sb):
    names = ["user", "mnt", "pid", "net", "ipc", "uts", "cgroup"]
    host = {n: os.readlink(f"/proc/self/ns/{n}") for n in names}
    r = sb.sh("for n in " + " ".join(names) +
              "; do readlink /proc/self/ns/$n; done")
    inside = r.stdout.split()
    assert len(inside) == len(names)
    for n, value in zip(names, inside):
        assert value != host[n], n


# ---- limits ----

def test_fork_bomb_stopped(sb):
    r = sb.py("""
import os, time
children = []
try:
    for _ in range(500):
        pid = os.fork()
        if pid == 0:
            time.sleep(3)
            os._exit(0)
        children.append(pid)
    print("UNLIMITED")
except OSError as e:
    print("stopped after", len(children), e.errno)
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
""", "--processes", "64")
    assert r.stdout.startswith("stopped after"), r.stdout + r.stderr
    assert int(r.stdout.split()[2]) < 64


def test_memory_hog_stopped(sb):
    r = sb.py("x = bytearray(1 << 30); print('ALLOCATED')", "--memory", "256M")
    assert "ALLOCATED" not in r.stdout
    assert "MemoryError" in r.stderr or r.returncode >= 128


def test_file_size_limit(sb):
    r = sb.sh("head -c 2000000 /dev/zero > big; echo $?", "--file-size", "1M")
    assert r.stdout.strip() != "0"
    assert (sb.workspace / "big").stat().st_size <= 1 << 20


def test_timeout(sb):
    r = sb.run(["run", "--timeout", "1", "--", "sleep", "30"])
    assert r.returncode == 124


def test_verbose_says_which_limits(sb):
    r = sb.run(["run", "-v", "--", "true"])
    assert "rlimit" in r.stderr or "cgroup" in r.stderr
    assert "landlock" in r.stderr


# ---- status, signals, clean-up ----

@pytest.mark.parametrize("script,status", [("exit 0", 0), ("exit 7", 7),
                                           ("kill -TERM $$", 143),
                                           ("kill -KILL $$", 137)])
def test_exit_status_passes_through(sb, script, status):
    assert sb.sh(script).returncode == status


def test_not_found_and_not_executable(sb):
    (sb.workspace / "noexec").write_text("#!/bin/sh\n")
    assert sb.run(["run", "--", "no-such-command"]).returncode == 127
    assert sb.run(["run", "--", "./noexec"]).returncode == 126


def test_output_passes_through_exactly(sb):
    data = bytes(range(256)) * 64
    r = subprocess.run(sb.command(["run", "--", "/bin/cat"]),
                       cwd=sb.workspace, env=sb.env(), input=data,
                       capture_output=True, timeout=60)
    assert r.stdout == data


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                                 signal.SIGUSR1])
def test_signals_forwarded(sb, sig):
    proc = sb.popen(["run", "--", "/bin/sh", "-c",
                     f"trap 'echo caught; exit 42' {sig.name[3:]}; "
                     "echo ready; while :; do sleep 0.1; done"],
                    stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 42
    assert "caught" in out


def sandbox_processes(marker):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(pid))
    return found


def test_sigkill_of_airlock_leaves_nothing(sb):
    marker = f"airlock-e2e-{os.getpid()}-{sb.mode}"
    mounts_before = Path("/proc/self/mountinfo").read_text()
    tmp_before = set(os.listdir("/tmp"))
    proc = sb.popen(["run", "--", "/bin/sh", "-c",
                     f"sleep 1000 {marker} & setsid sleep 1001 {marker} & "
                     "echo started; wait"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 10
    while len(sandbox_processes(marker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while sandbox_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_processes(marker) == []
    assert Path("/proc/self/mountinfo").read_text() == mounts_before
    new_in_tmp = {n for n in set(os.listdir("/tmp")) - tmp_before
                  if not n.startswith("pytest")}
    assert not new_in_tmp
    assert list(sb.workspace.iterdir()) == []


# ---- environment ----

def test_environment_clean_and_secrets_dropped(sb):
    secrets = {"FOO_API_KEY": "s1", "GITHUB_TOKEN": "s2",
               "AWS_SECRET_ACCESS_KEY": "s3", "MY_PASSWORD": "s4",
               "RANDOM_SETTING": "x"}
    r = sb.run(["run", "--", "env"], env=secrets)
    names = {line.split("=", 1)[0] for line in r.stdout.splitlines()}
    assert not names & set(secrets)
    assert "TMPDIR=/tmp" in r.stdout.splitlines()
    assert "PATH" in names


def test_env_option_passes_and_sets(sb):
    r = sb.run(["run", "--env", "GITHUB_TOKEN", "--env", "X=1", "--", "env"],
               env={"GITHUB_TOKEN": "tok"})
    lines = r.stdout.splitlines()
    assert "GITHUB_TOKEN=tok" in lines and "X=1" in lines


def test_inherited_descriptors_stay_outside(sb):
    # a folder descriptor left open by whoever starts airlock would let
    # CMD walk out of its root with openat; none may reach CMD
    outside = os.open(sb.base, os.O_RDONLY | os.O_DIRECTORY)
    pipe_r, pipe_w = os.pipe()
    try:
        sb.chown_tree()
        r = subprocess.run(sb.command(["run", "--", "ls", "/proc/self/fd"]),
                           cwd=sb.workspace, env=sb.env(),
                           pass_fds=(outside, pipe_w), capture_output=True,
                           text=True, timeout=60)
    finally:
        for fd in (outside, pipe_r, pipe_w):
            os.close(fd)
    assert r.returncode == 0, r.stderr
    # ls's own folder descriptor is 3
    assert r.stdout.split() == ["0", "1", "2", "3"]


# ---- terminal ----

def run_under_pty(sb, argv):
    """Runs airlock with a terminal as its standard streams; returns what
    the terminal showed and airlock's exit code."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(sb.workspace)
        cmd = sb.command(argv)
        os.execvpe(cmd[0], cmd, sb.env())
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return out, os.waitstatus_to_exitcode(status)


def test_tiocsti_does_not_reach_outer_terminal(sb):
    probe = ("import fcntl, termios\n"
             "try:\n"
             "    fcntl.ioctl(0, termios.TIOCSTI, b'Z')\n"
             "    print('INJECTED')\n"
             "except OSError as e:\n"
             "    print('refused', e.errno)\n")
    out, code = run_under_pty(sb, ["run", "--", SYSTEM_PYTHON, "-c", probe])
    assert b"refused" in out, out
    assert code == 0


def test_terminal_output_passes_whole_before_the_exit_status(sb):
    # the command's last output is still in the terminal when it ends:
    # airlock relays all of it before it exits with the command's status
    n = 1 << 20
    out, code = run_under_pty(sb, ["run", "--", "/bin/sh", "-c",
                                   f"head -c {n} /dev/zero | tr '\\0' x; "
                                   "exit 7"])
    assert out.count(b"x") == n
    assert code == 7
