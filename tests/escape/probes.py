#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The escape suite's probes: run inside an airlock sandbox, each tries one
known way out and prints one line saying what it tried and what happened:

    held      ID: tried WHAT -> WHAT HAPPENED
    ESCAPED   ID: tried WHAT -> WHAT HAPPENED
    pending   ID: tried WHAT -> only the host can tell (it checks after)
    skipped   ID: why not

Usage: probes.py [TARGETS.json]. The targets file, written by the driver
(tests/e2e/test_escape.py), names what lies outside: planted secrets,
folders that must stay untouched, host processes, host services that
answer with a sentinel banner, and the gateway's allowed names. Without it,
only the probes that need no target run.

Exit status: 0 when nothing escaped, 1 when a probe escaped, 2 on a usage
error. Standard library only: it runs under the system python3.
"""
import ctypes
import errno
import json
import mmap
import os
import platform
import resource
import signal
import socket
import ssl
import struct
import subprocess
import sys

TIMEOUT_S = 5
QUICK_S = 1  # where silence is the expected answer
BANNER = b"AIRLOCK-SENTINEL"

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long

# The syscalls probed by number; x86_64 and aarch64, the architectures
# airlock builds for. None: the call does not exist there.
SYSCALLS = {  # name: (x86_64, aarch64)
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41),
    "chroot": (161, 51), "unshare": (272, 97), "setns": (308, 268),
    "open_tree": (428, 428), "fsopen": (430, 430),
    "mount_setattr": (442, 442), "keyctl": (250, 219),
    "add_key": (248, 217), "request_key": (249, 218), "bpf": (321, 280),
    "perf_event_open": (298, 241), "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425), "ptrace": (101, 117),
    "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "pidfd_open": (434, 434), "pidfd_getfd": (438, 438),
    "kexec_load": (246, 104), "init_module": (175, 105),
    "finit_module": (313, 273), "open_by_handle_at": (304, 265),
    "name_to_handle_at": (303, 264), "reboot": (169, 142),
    "swapon": (167, 224), "acct": (163, 89), "syslog": (103, 116),
    "settimeofday": (164, 170), "iopl": (172, None),
    "ioperm": (173, None), "fanotify_init": (300, 262),
    "mknodat": (259, 33), "clone3": (435, 435), "kcmp": (312, 272),
    "sethostname": (170, 161),
}
ARCH = {"x86_64": 0, "aarch64": 1}.get(platform.machine())

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
PTRACE_ATTACH = 16

escaped = 0


def report(verdict, pid, tried, happened=""):
    global escaped
    if verdict == "ESCAPED":
        escaped += 1
    text = f"{verdict:<9} {pid}: "
    text += f"tried {tried} -> {happened}" if tried else happened
    print(text, flush=True)


def held(pid, tried, happened):
    report("held", pid, tried, happened)


def escape(pid, tried, happened):
    report("ESCAPED", pid, tried, happened)


def skipped(pid, why):
    report("skipped", pid, "", why)


def err_name(e):
    return errno.errorcode.get(e, str(e))


def expect_oserror(pid, tried, action, ok_text="it worked"):
    """Held when action raises OSError; escaped when it returns."""
    try:
        result = action()
    except OSError as e:
        held(pid, tried, f"refused ({err_name(e.errno)})")
        return
    escape(pid, tried, ok_text if result is None else f"{ok_text}: {result}")


def syscall(name, *args):
    """Calls name by number; returns (result, errno name or None)."""
    nr = SYSCALLS[name][ARCH] if ARCH is not None else None
    if nr is None:
        return None, "absent"
    conv = [ctypes.c_char_p(a) if isinstance(a, bytes) else
            ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    r = LIBC.syscall(ctypes.c_long(nr), *conv)
    return r, None if r >= 0 else err_name(ctypes.get_errno())


def expect_syscall_refused(pid, name, *args, note=""):
    tried = f"{name}({note})" if note else f"{name}()"
    r, e = syscall(name, *args)
    if e == "absent":
        skipped(pid, f"{name} does not exist on {platform.machine()}")
    elif e is not None:
        held(pid, tried, f"refused ({e})")
    else:
        escape(pid, tried, f"returned {r}")
        if r > 2:
            try:
                os.close(r)
            except OSError:
                pass


def secret_marker(t):
    return "".join(t.get("secret_marker_parts", ["AIRLOCK", "ESCAPE-SECRET"]))


# ---- secrets ----

def probe_secrets_by_path(t):
    marker = secret_marker(t)
    for path in t.get("secret_paths", []):
        pid = "secrets/path " + path
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            held(pid, f"read {path}", f"refused ({err_name(e.errno)})")
            continue
        if marker.encode() in data:
            escape(pid, f"read {path}", "the secret's bytes")
        else:
            held(pid, f"read {path}", f"{len(data)} bytes, no secret")
        via_root = "/proc/1/root" + path
        try:
            with open(via_root, "rb") as f:
                data = f.read()
            verdict = escape if marker.encode() in data else held
            verdict(pid + " via /proc/1/root", f"read {via_root}",
                    f"{len(data)} bytes" + (", the secret" if
                                            verdict is escape else ""))
        except OSError as e:
            held(pid + " via /proc/1/root", f"read {via_root}",
                 f"refused ({err_name(e.errno)})")


def probe_secrets_by_proc(t):
    """Looks for the secret in every process's environ and cmdline."""
    marker = secret_marker(t).encode()
    seen, hits = 0, []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        for part in ("environ", "cmdline"):
            try:
                with open(f"/proc/{entry}/{part}", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            seen += 1
            if marker in data:
                hits.append(f"/proc/{entry}/{part}")
    tried = "every /proc/PID/environ and cmdline for the secret"
    if hits:
        escape("secrets/proc-environ", tried, "found in " + ", ".join(hits))
    else:
        held("secrets/proc-environ", tried, f"{seen} files read, no secret")
    names = [n for n in os.environ if any(
        w in n.upper() for w in ("TOKEN", "SECRET", "PASSWORD", "API_KEY"))]
    leaked = [n for n in names if marker in os.environ[n].encode()]
    tried = "this process's environment for secret-looking variables"
    if leaked:
        escape("secrets/environment", tried, "real values in " +
               ", ".join(leaked))
    else:
        held("secrets/environment", tried,
             f"{len(names)} such names, none with a real value")


def probe_kernel_addresses(t):
    tried = "read kernel addresses from /proc/kallsyms"
    try:
        with open("/proc/kallsyms") as f:
            lines = [next(f) for _ in range(200)]
    except (OSError, StopIteration) as e:
        held("secrets/kallsyms", tried, f"unreadable ({e})")
        return
    real = [ln for ln in lines if int(ln.split()[0], 16) != 0]
    if real:
        escape("secrets/kallsyms", tried, f"{len(real)} real addresses")
    else:
        held("secrets/kallsyms", tried, "every address reads as zero")


# ---- the file system ----

def try_create(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"probe\n")
    os.close(fd)


def probe_writes_outside(t):
    for path in ["/etc/airlock-escape-probe", "/usr/airlock-escape-probe",
                 "/var/airlock-escape-probe"]:
        expect_oserror("fs/write-outside " + path, f"create {path}",
                       lambda p=path: try_create(p), "created")
    # a folder of the host's may show inside as a private tmpfs (root's
    # home, say): a file made there is a copy the host never sees
    for path in [f"{d}/airlock-escape-probe" for d in
                 t.get("outside_dirs", [])]:
        try:
            try_create(path)
        except OSError as e:
            held("fs/write-outside " + path, f"create {path}",
                 f"refused ({err_name(e.errno)})")
            continue
        report("pending", "fs/write-outside " + path, f"create {path}",
               "created inside; the host checks it is not there")
    for path in t.get("outside_files", []):
        expect_oserror("fs/append-outside " + path, f"append to {path}",
                       lambda p=path: open(p, "ab").write(b"probe\n"),
                       "appended")
        expect_oserror("fs/chmod-outside " + path, f"chmod 0777 {path}",
                       lambda p=path: os.chmod(p, 0o777), "changed")
        via = "/proc/1/root" + path
        expect_oserror("fs/append-outside-proc-root " + path,
                       f"append to {via}",
                       lambda p=via: open(p, "ab").write(b"probe\n"),
                       "appended")


def probe_link_tricks(t):
    ws = os.getcwd()
    for out_dir in t.get("outside_dirs", [])[:1]:
        link = os.path.join(ws, "escape-link-dir")
        try:
            os.symlink(out_dir, link)
        except OSError as e:
            skipped("fs/symlink-write", f"cannot make a symlink here "
                    f"({err_name(e.errno)})")
            break
        target = os.path.join(link, "via-symlink")
        expect_oserror("fs/symlink-write", f"create {target} "
                       f"(symlink to {out_dir})",
                       lambda: try_create(target), "created outside")
        os.unlink(link)
    for out_file in t.get("outside_files", [])[:1]:
        hard = os.path.join(ws, "escape-hardlink")
        expect_oserror("fs/hardlink", f"link {out_file} into the workspace",
                       lambda: os.link(out_file, hard), "linked")
        if os.path.lexists(hard):
            os.unlink(hard)
        moved = os.path.join(ws, "escape-moved")
        expect_oserror("fs/rename-in", f"rename {out_file} into the "
                       "workspace", lambda: os.rename(out_file, moved),
                       "moved")


def probe_protected(t):
    ws = os.getcwd()
    for rel in t.get("protected_existing", []):
        path = os.path.join(ws, rel)
        expect_oserror("fs/protected-write " + rel, f"append to {path}",
                       lambda p=path: open(p, "ab").write(b"probe\n"),
                       "appended")
        expect_oserror("fs/protected-replace " + rel,
                       f"rename a new file over {path}",
                       lambda p=path: replace_with_new(p), "replaced")
    for rel in t.get("protected_missing", []):
        path = os.path.join(ws, rel)
        expect_oserror("fs/protected-create " + rel, f"create {path}",
                       lambda p=path: create_with_parents(p), "created")


def replace_with_new(path):
    tmp = os.path.join(os.getcwd(), "escape-replacement")
    with open(tmp, "w") as f:
        f.write("probe\n")
    try:
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def create_with_parents(path):
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    try_create(path)


def probe_proc_self_mem(t):
    """A write through /proc/self/mem into a private read-only mapping
    of a file must copy the page, never reach the file."""
    path = next((p for p in ("/etc/services", "/usr/bin/true",
                             "/etc/ld.so.cache")
                 if os.path.exists(p) and os.path.getsize(p) >= 4096), None)
    if path is None:
        skipped("proc/self-mem", "no file of a page or more to map")
        return
    tried = f"write via /proc/self/mem into a read-only mapping of {path}"
    with open(path, "rb") as f:
        before = f.read(4096)
        m = mmap.mmap(f.fileno(), 4096, flags=mmap.MAP_PRIVATE,
                      prot=mmap.PROT_READ)
    # the mapping's address: the last r--p line naming the file
    start = None
    with open("/proc/self/maps") as maps:
        for line in maps:
            if line.rstrip().endswith(" " + path) and " r--p " in line:
                start = int(line.split("-")[0], 16)
    if start is None:
        skipped("proc/self-mem", f"could not find the mapping of {path}")
        m.close()
        return
    try:
        fd = os.open("/proc/self/mem", os.O_RDWR)
        try:
            os.pwrite(fd, b"ESCAPED!", start)
        finally:
            os.close(fd)
        how = "the write went to a private copy"
        if m[:8] != b"ESCAPED!":
            how = "the write landed elsewhere in our memory"
    except OSError as e:
        how = f"refused ({err_name(e.errno)})"
    m.close()
    with open(path, "rb") as f:
        after = f.read(4096)
    if after != before:
        escape("proc/self-mem", tried, f"{path} changed on disk")
    else:
        held("proc/self-mem", tried, f"{how}; {path} unchanged")


def probe_proc_knobs(t):
    for path, data in [("/proc/sys/kernel/core_pattern", b"|/tmp/x\n"),
                       ("/proc/sysrq-trigger", b"h"),
                       ("/proc/sys/kernel/modprobe", b"/tmp/x\n"),
                       ("/proc/sys/vm/drop_caches", b"1\n"),
                       ("/sys/kernel/uevent_helper", b"/tmp/x\n"),
                       ("/proc/self/uid_map", b"0 0 1\n"),
                       ("/proc/self/setgroups", b"allow\n")]:
        def write(p=path, d=data):
            with open(p, "wb", buffering=0) as f:
                f.write(d)
        expect_oserror("proc/knob " + path, f"write {path}", write,
                       "written")
    for path in ["/dev/mem", "/dev/kmem", "/dev/port", "/dev/sda",
                 "/dev/vda", "/proc/kcore", "/dev/kmsg"]:
        expect_oserror("dev/open " + path, f"open {path}",
                       lambda p=path: os.close(os.open(p, os.O_RDONLY)),
                       "opened")
    expect_syscall_refused("dev/mknod", "mknodat", -100,
                           b"/tmp/escape-mem", 0o20600, os.makedev(1, 1),
                           note="/tmp/escape-mem, char 1:1 like /dev/mem")


# ---- privileges and processes ----

def probe_privileges(t):
    with open("/proc/self/status") as f:
        status = dict(line.rstrip("\n").split(":\t", 1) for line in f
                      if ":\t" in line)
    caps = {k: status.get(k, "?").strip() for k in
            ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
    nnp = status.get("NoNewPrivs", "?").strip()
    some = [k for k, v in caps.items() if v != "0000000000000000"]
    tried = "read our capability sets and no_new_privs"
    if some or nnp != "1":
        escape("priv/capabilities", tried, f"{caps} NoNewPrivs={nnp}")
    else:
        held("priv/capabilities", tried, "all five sets empty, "
             "NoNewPrivs 1")
    uid = os.getuid()
    for prog, script in [("/usr/bin/su", None), ("/usr/bin/newgrp", None)]:
        if not os.path.exists(prog):
            skipped("priv/setuid " + prog, f"{prog} is not installed")
            continue
        mode = os.stat(prog).st_mode
        args = [prog, "root", "-c", "id -u"] if prog.endswith("su") \
            else [prog]
        try:
            r = subprocess.run(args, input="id -u\n", capture_output=True,
                               text=True, timeout=TIMEOUT_S)
            out = (r.stdout + r.stderr).strip().replace("\n", " | ")
        except subprocess.TimeoutExpired:
            out = "timed out"
        tried = f"run {prog} (mode {oct(mode & 0o7777)}) to become root"
        lines = out.split(" | ")
        if "0" in lines:
            escape("priv/setuid " + prog, tried, f"printed uid 0: {out}")
        else:
            held("priv/setuid " + prog, tried,
                 f"still uid {uid}: {out[:100]}")
    st = os.statvfs("/usr/bin")
    tried = "look for a mount that honours setuid bits (/usr/bin)"
    if st.f_flag & os.ST_NOSUID:
        held("priv/nosuid", tried, "/usr/bin is mounted nosuid")
    else:
        escape("priv/nosuid", tried, "/usr/bin honours setuid bits")


def sentinel_pid_visible(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return None


def probe_other_processes(t):
    host_pid = t.get("host_pid")
    if not host_pid:
        skipped("proc/host-pid", "no host process named")
    else:
        seen = sentinel_pid_visible(host_pid)
        if seen is not None and b"sentinel" in seen:
            escape("proc/host-visible", f"look up host pid {host_pid}",
                   "its /proc entry is visible")
        elif seen is not None:
            skipped("proc/host-pid", f"pid {host_pid} is a sandbox "
                    "process here; the host pid cannot be told apart")
            host_pid = None
        else:
            held("proc/host-visible", f"look up host pid {host_pid}",
                 "no such process here")
    if host_pid:
        expect_oserror("proc/kill-host", f"kill({host_pid}, SIGURG)",
                       lambda: os.kill(host_pid, signal.SIGURG),
                       "delivered")
        expect_syscall_refused("proc/ptrace-host", "ptrace", PTRACE_ATTACH,
                               host_pid, 0, 0,
                               note=f"PTRACE_ATTACH, {host_pid}")
        expect_syscall_refused("proc/pidfd-host", "pidfd_open", host_pid, 0,
                               note=str(host_pid))
    # everyone we may signal: only the sandbox's own processes
    try:
        os.kill(-1, signal.SIGURG)
        how = "sent to this sandbox's processes"
    except OSError as e:
        how = f"refused ({err_name(e.errno)})"
    report("pending", "proc/kill-everyone", "kill(-1, SIGURG)",
           how + "; the host checks its sentinel got nothing")
    # init (pid 1) runs with more than we have: its memory, its
    # descriptors and its tracing must be out of reach
    for path in ["/proc/1/mem", "/proc/1/fd/0", "/proc/1/environ",
                 "/proc/1/root/", "/proc/1/ns/user", "/proc/1/map_files"]:
        flags = os.O_RDWR if path.endswith("mem") else os.O_RDONLY
        expect_oserror("proc/init " + path, f"open {path}",
                       lambda p=path, fl=flags: os.close(os.open(p, fl)),
                       "opened")
    expect_syscall_refused("proc/ptrace-init", "ptrace", PTRACE_ATTACH, 1,
                           0, 0, note="PTRACE_ATTACH, 1")
    r, e = syscall("pidfd_open", 1, 0)
    if e:
        held("proc/pidfd-getfd-init", "pidfd_open(1)", f"refused ({e})")
    else:
        stolen = []
        for fd in range(64):
            got, e2 = syscall("pidfd_getfd", r, fd, 0)
            if got >= 0:
                stolen.append(fd)
                os.close(got)
        os.close(r)
        if stolen:
            escape("proc/pidfd-getfd-init", "pidfd_getfd(init, 0..63)",
                   f"took init's descriptors {stolen}")
        else:
            held("proc/pidfd-getfd-init", "pidfd_getfd(init, 0..63)",
                 "every one refused")
    buf = ctypes.create_string_buffer(8)
    iov = struct.pack("PL", ctypes.addressof(buf), 8)
    iov_buf = ctypes.create_string_buffer(iov)
    expect_syscall_refused("proc/vm-read-init", "process_vm_readv", 1,
                           iov_buf, 1, iov_buf, 1, 0, note="1, ...")


def probe_syscalls(t):
    for name, args, note in [
            ("mount", (b"none", b"/tmp", b"tmpfs", 0, 0), "tmpfs on /tmp"),
            ("umount2", (b"/proc", 2), "/proc, MNT_DETACH"),
            ("pivot_root", (b"/tmp", b"/tmp"), "/tmp, /tmp"),
            ("chroot", (b"/tmp",), "/tmp"),
            ("unshare", (CLONE_NEWUSER,), "CLONE_NEWUSER"),
            ("unshare", (CLONE_NEWNS,), "CLONE_NEWNS"),
            ("unshare", (CLONE_NEWNET,), "CLONE_NEWNET"),
            ("setns", (0, CLONE_NEWNS), "fd 0, CLONE_NEWNS"),
            ("open_tree", (-100, b"/", 1), "/, OPEN_TREE_CLONE"),
            ("fsopen", (b"tmpfs", 0), "tmpfs"),
            ("mount_setattr", (-100, b"/", 0, 0, 0), "/"),
            ("keyctl", (0, -3, 0, 0, 0), "KEYCTL_GET_KEYRING_ID"),
            ("add_key", (b"user", b"escape", b"x", 1, -3), "user key"),
            ("request_key", (b"user", b"escape", 0, 0), "user key"),
            ("bpf", (0, 0, 0), "BPF_MAP_CREATE"),
            ("perf_event_open", (0, 0, -1, -1, 0), "this process"),
            ("userfaultfd", (0,), ""),
            ("io_uring_setup", (1, 0), "1 entry"),
            ("kexec_load", (0, 0, 0, 0), ""),
            ("init_module", (0, 0, b""), ""),
            ("finit_module", (0, b"", 0), "fd 0"),
            ("open_by_handle_at", (-100, 0, 0), "the shocker way out"),
            ("name_to_handle_at", (-100, b"/", 0, 0, 0), "/"),
            ("reboot", (0xfee1dead, 0x28121969, 0x1234567, 0),
             "LINUX_REBOOT_CMD_CAD_ON"),
            ("swapon", (b"/tmp", 0), "/tmp"),
            ("acct", (b"/tmp/acct",), "/tmp/acct"),
            ("syslog", (10, 0, 0), "SYSLOG_ACTION_SIZE_BUFFER"),
            ("settimeofday", (0, 0), "no change"),
            ("sethostname", (b"escape", 6), "escape"),
            ("iopl", (3,), "level 3"),
            ("ioperm", (0x80, 1, 1), "port 0x80"),
            ("fanotify_init", (0, 0), ""),
            ("kcmp", (1, os.getpid(), 0, 0, 0), "init and us")]:
        expect_syscall_refused(f"syscall/{name}" +
                               (f" {note}" if name == "unshare" else ""),
                               name, *args, note=note)
    # clone3 carries its flags in memory, where a filter cannot look: it
    # must be refused outright (libc then falls back to clone)
    args = ctypes.create_string_buffer(struct.pack("QQQQQQQQ",
                                                   CLONE_NEWUSER, 0, 0,
                                                   0, 17, 0, 0, 0), 88)
    r, e = syscall("clone3", args, 88)
    if r == 0:
        os._exit(0)  # the child: leave at once
    if e:
        held("syscall/clone3", "clone3(CLONE_NEWUSER)", f"refused ({e})")
    else:
        os.waitpid(r, 0)
        escape("syscall/clone3", "clone3(CLONE_NEWUSER)",
               f"made child {r} in a new user namespace")


def probe_sockets(t):
    for fam, typ, name in [
            (socket.AF_INET, socket.SOCK_RAW, "raw IPv4"),
            (socket.AF_INET6, socket.SOCK_RAW, "raw IPv6"),
            (socket.AF_PACKET, socket.SOCK_RAW, "packet"),
            (socket.AF_UNIX, socket.SOCK_STREAM, "Unix stream"),
            (socket.AF_UNIX, socket.SOCK_DGRAM, "Unix datagram"),
            (getattr(socket, "AF_VSOCK", 40), socket.SOCK_STREAM, "vsock"),
            (getattr(socket, "AF_ALG", 38), socket.SOCK_SEQPACKET,
             "AF_ALG"),
            (getattr(socket, "AF_KEY", 15), socket.SOCK_RAW, "AF_KEY")]:
        expect_oserror("net/socket " + name, f"socket({name})",
                       lambda f=fam, ty=typ: socket.socket(f, ty).close(),
                       "made")
    a, b = socket.socketpair()
    a.sendall(b"ok")
    works = b.recv(2) == b"ok"
    a.close()
    b.close()
    print(f"{'note':<9} net/socketpair: stream socketpairs still work: "
          f"{works}", flush=True)
    for path in t.get("unix_paths", []):
        expect_oserror("net/unix-host " + path, f"connect to {path}",
                       lambda p=path: unix_connect(p), "connected")
    for name in t.get("unix_abstract", []):
        expect_oserror("net/unix-abstract " + name,
                       f"connect to abstract @{name}",
                       lambda n=name: unix_connect("\0" + n), "connected")


def unix_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(TIMEOUT_S)
        s.connect(path)
        return s.recv(64)
    finally:
        s.close()


def probe_terminal(t):
    char = ctypes.c_char(b"#")
    for fd, name in [(0, "stdin"), (1, "stdout"), (2, "stderr")]:
        r = LIBC.ioctl(fd, TIOCSTI, ctypes.byref(char))
        e = ctypes.get_errno()
        tried = f"TIOCSTI on {name} (a tty: {os.isatty(fd)})"
        if r < 0:
            held("tty/tiocsti " + name, tried, f"refused ({err_name(e)})")
        else:
            escape("tty/tiocsti " + name, tried, "a character was pushed")
    sub = ctypes.c_char(b"\x06")  # TIOCL_SELLOADLUT-style subcode
    r = LIBC.ioctl(0, TIOCLINUX, ctypes.byref(sub))
    e = ctypes.get_errno()
    if r < 0:
        held("tty/tioclinux", "TIOCLINUX on stdin", f"refused ({err_name(e)})")
    else:
        escape("tty/tioclinux", "TIOCLINUX on stdin", "accepted")
    try:
        fd = os.open("/dev/tty", os.O_RDWR)
    except OSError as e:
        held("tty/controlling", "open /dev/tty", f"none ({err_name(e.errno)})")
        return
    r = LIBC.ioctl(fd, TIOCSTI, ctypes.byref(char))
    e = ctypes.get_errno()
    os.close(fd)
    if r < 0:
        held("tty/controlling", "TIOCSTI on /dev/tty",
             f"refused ({err_name(e)})")
    else:
        escape("tty/controlling", "TIOCSTI on /dev/tty",
               "a character was pushed")


def probe_descriptors(t):
    mine = set()
    dir_fd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    extra = []
    for name in os.listdir(dir_fd):
        fd = int(name)
        if fd in (0, 1, 2, dir_fd) or fd in mine:
            continue
        try:
            extra.append(f"{fd} -> {os.readlink(name, dir_fd=dir_fd)}")
        except OSError:
            pass
    os.close(dir_fd)
    tried = "list the descriptors we were started with"
    if extra:
        escape("fd/inherited", tried, "; ".join(extra))
    else:
        held("fd/inherited", tried, "only 0, 1 and 2")


# ---- limits and lifetime ----

def read_limit(rlimit, cgroup_file):
    """The sandbox's limit: the cgroup's when it has one, else the rlimit;
    None when there is neither."""
    try:
        with open("/sys/fs/cgroup/" + cgroup_file) as f:
            text = f.read().strip()
        if text != "max":
            return int(text)
    except OSError:
        pass
    soft = resource.getrlimit(rlimit)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def probe_fork_bomb(t):
    limit = read_limit(resource.RLIMIT_NPROC, "pids.max")
    if limit is None:
        escape("limits/fork-bomb", "find the process limit", "there is none")
        return
    ceiling = 2 * limit
    r, w = os.pipe()
    leader = os.fork()
    if leader == 0:
        os.close(r)
        os.setpgid(0, 0)
        count, why = 0, "stopped at the probe's ceiling"
        while count < ceiling:
            try:
                pid = os.fork()
            except OSError as e:
                why = f"fork failed ({err_name(e.errno)})"
                break
            if pid == 0:
                signal.pause()
                os._exit(0)
            count += 1
        os.write(w, f"{count} {why}".encode())
        os.killpg(0, signal.SIGKILL)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    os.waitpid(leader, 0)
    count, why = text.split(" ", 1) if text else ("?", "leader killed")
    tried = f"fork until refused (limit {limit}, ceiling {ceiling})"
    if count.isdigit() and int(count) >= ceiling:
        escape("limits/fork-bomb", tried, f"{count} processes, {why}")
    else:
        held("limits/fork-bomb", tried, f"{count} children, then {why}")


def probe_memory(t):
    limit = read_limit(resource.RLIMIT_DATA, "memory.max")
    if limit is None:
        escape("limits/memory", "find the memory limit", "there is none")
        return
    ceiling = 2 * limit
    chunk = 32 << 20
    pid = os.fork()
    if pid == 0:
        keep = []
        try:
            while len(keep) * chunk < ceiling:
                block = bytearray(chunk)
                for i in range(0, chunk, 4096):
                    block[i] = 1
                keep.append(block)
        except MemoryError:
            os._exit(3)
        os._exit(4)
    _, status = os.waitpid(pid, 0)
    tried = f"allocate and touch up to {ceiling >> 20} MiB " \
            f"(limit {limit >> 20} MiB)"
    if os.WIFSIGNALED(status):
        held("limits/memory", tried, "killed by signal "
             f"{signal.Signals(os.WTERMSIG(status)).name}")
    elif os.WEXITSTATUS(status) == 3:
        held("limits/memory", tried, "allocation refused (MemoryError)")
    else:
        escape("limits/memory", tried, "got all of it")


def probe_daemon(t):
    marker = t.get("daemon_marker")
    if not marker:
        skipped("life/daemon", "no marker named")
        return
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.execv(sys.executable, [sys.executable, "-c",
                                      "import time; time.sleep(120)",
                                      marker])
        os._exit(0)
    os.waitpid(pid, 0)
    report("pending", "life/daemon", "leave a setsid, double-forked daemon "
           "that ignores SIGTERM and SIGHUP",
           "started; the host checks it dies with the sandbox")


# ---- the network ----

class Net:
    """The gateway's addresses inside, from the proxy variables."""

    def __init__(self):
        self.http = self._addr(os.environ.get("HTTP_PROXY", ""), 3128)
        self.socks = self._addr(os.environ.get("ALL_PROXY", ""), 1080)

    @staticmethod
    def _addr(url, default):
        if not url:
            return None
        rest = url.split("://", 1)[-1].rstrip("/")
        host, _, port = rest.rpartition(":")
        return (host or "127.0.0.1", int(port or default))


def exchange(addr, data, *, want=4096, timeout=TIMEOUT_S):
    """Sends data to addr; returns what came back (b"" when closed)."""
    with socket.create_connection(addr, timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while len(out) < want:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out:
                    break
        except socket.timeout:
            pass
        return out


def status_of(reply):
    if BANNER in reply:
        return "sentinel"
    if not reply:
        return "closed"
    first = reply.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = first.split(" ")
    return parts[1] if len(parts) > 1 and first.startswith("HTTP/") \
        else f"other: {first[:40]!r}"


def judge_http(pid, tried, reply, ok=("403",)):
    st = status_of(reply)
    if st in ok:
        held(pid, tried, f"refused with {st}")
    elif st == "sentinel":
        escape(pid, tried, "the host sentinel answered")
    else:
        escape(pid, tried, f"expected {'/'.join(ok)}, got {st}")


def http_get(net, url, host_header=None):
    host = host_header or url.split("/")[2]
    return exchange(net.http, f"GET {url} HTTP/1.1\r\nHost: {host}\r\n"
                    "Connection: close\r\n\r\n".encode())


def connect_tunnel(net, target):
    """Opens a CONNECT tunnel; returns (socket or None, status)."""
    s = socket.create_connection(net.http, timeout=TIMEOUT_S)
    s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"
              .encode())
    head = b""
    try:
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
    except socket.timeout:
        pass
    st = status_of(head)
    if st != "200":
        s.close()
        return None, st
    return s, st


def socks_connect(net, host, port):
    """SOCKS5 CONNECT by name or address; returns the reply code."""
    with socket.create_connection(net.socks, timeout=TIMEOUT_S) as s:
        s.sendall(b"\x05\x01\x00")
        if s.recv(2) != b"\x05\x00":
            return "no method"
        try:
            packed = socket.inet_pton(socket.AF_INET, host)
            addr = b"\x01" + packed
        except OSError:
            try:
                addr = b"\x04" + socket.inet_pton(socket.AF_INET6, host)
            except OSError:
                addr = b"\x03" + bytes([len(host)]) + host.encode()
        s.sendall(b"\x05\x01\x00" + addr + struct.pack(">H", port))
        reply = s.recv(10)
        return reply[1] if len(reply) >= 2 else "closed"


def dns_query(server, name, timeout=QUICK_S):
    """One A query over UDP; returns ('answers', [addrs]) or (why, [])."""
    qid = os.getpid() & 0xffff
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(q, server)
            reply = s.recv(4096)
        except OSError as e:
            return ("no reply" if isinstance(e, socket.timeout)
                    else f"refused ({err_name(e.errno)})"), []
    if BANNER in reply:
        return "sentinel", []
    rcode, ancount = reply[3] & 0xf, struct.unpack(">H", reply[6:8])[0]
    addrs = []
    pos = len(q)
    for _ in range(ancount):
        while reply[pos] and reply[pos] < 0xc0:
            pos += reply[pos] + 1
        pos += 2 if reply[pos] >= 0xc0 else 1
        rtype, _, _, rdlen = struct.unpack(">HHIH", reply[pos:pos + 10])
        pos += 10
        if rtype == 1:
            addrs.append(socket.inet_ntop(socket.AF_INET,
                                          reply[pos:pos + 4]))
        pos += rdlen
    return f"rcode {rcode}", addrs


METADATA_SPELLINGS = [
    "169.254.169.254", "2852039166", "0xa9fea9fe", "0251.0376.0251.0376",
    "169.254.43518", "0xa9.0xfe.0xa9.0xfe", "169.254.169.254.",
    "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]", "[64:ff9b::a9fe:a9fe]",
    "[fd00:ec2::254]", "[fe80::a9fe:a9fe]", "metadata.google.internal",
    "169.254.170.2", "100.100.100.200", "[::1]", "127.1", "2130706433",
    "0x7f000001", "0.0.0.0", "localhost",
]


def probe_metadata(t, net):
    if not net.http:
        skipped("net/metadata", "no HTTP proxy in this sandbox")
        return
    for spelling in METADATA_SPELLINGS:
        url = f"http://{spelling}/latest/meta-data/"
        judge_http(f"net/metadata-http {spelling}", f"GET {url} via the "
                   "proxy", http_get(net, url))
        port = 443
        _, st = connect_tunnel(net, f"{spelling}:{port}")
        if st == "403":
            held(f"net/metadata-connect {spelling}",
                 f"CONNECT {spelling}:{port}", "refused with 403")
        else:
            escape(f"net/metadata-connect {spelling}",
                   f"CONNECT {spelling}:{port}", f"got {st}")
    for host in ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254",
                 "metadata.google.internal"]:
        code = socks_connect(net, host, 80)
        tried = f"SOCKS5 CONNECT {host}:80"
        if code == 2:
            held("net/metadata-socks " + host, tried,
                 "refused: not allowed by ruleset")
        else:
            escape("net/metadata-socks " + host, tried, f"reply {code}")
    for name in t.get("gateway", {}).get("pinned_private", []):
        judge_http(f"net/pinned-private {name}", f"GET http://{name}/ "
                   "(allowed, pinned to a private address)",
                   http_get(net, f"http://{name}/"))


def probe_host_services(t, net):
    for svc in t.get("tcp_sentinels", []):
        host, port = svc["host"], svc["port"]
        pid = f"net/direct {svc['name']} {host}:{port}"
        try:
            got = exchange((host, port), b"", want=64, timeout=QUICK_S)
        except OSError as e:
            held(pid, f"connect to {host}:{port}",
                 f"refused ({err_name(e.errno)})")
        else:
            if BANNER in got:
                escape(pid, f"connect to {host}:{port}", "reached it")
            else:
                held(pid, f"connect to {host}:{port}",
                     f"connected inside, got {got[:30]!r}, not the host's")
        if net.http:
            _, st = connect_tunnel(net, f"{host}:{port}")
            tried = f"CONNECT {host}:{port} via the proxy"
            (held if st == "403" else escape)(
                f"net/proxy {svc['name']}", tried, f"got {st}")
            code = socks_connect(net, host, port)
            (held if code == 2 else escape)(
                f"net/socks {svc['name']}", f"SOCKS5 CONNECT {host}:{port}",
                f"reply {code}")
    for svc in t.get("udp_sentinels", []):
        why, _ = dns_query((svc["host"], svc["port"]), "example.com")
        tried = f"UDP to {svc['host']}:{svc['port']}"
        (escape if why == "sentinel" else held)(
            f"net/udp {svc['name']}", tried, why)
    for addr in [("1.1.1.1", 443), ("8.8.8.8", 53), ("10.0.0.1", 80),
                 ("192.168.0.1", 80)]:
        pid = f"net/direct-ip {addr[0]}:{addr[1]}"
        try:
            got = exchange(addr, b"GET / HTTP/1.0\r\n\r\n", want=64,
                           timeout=QUICK_S)
            held(pid, f"connect to {addr[0]}:{addr[1]}",
                 f"only the gateway's capture answered: {status_of(got)}")
        except OSError as e:
            held(pid, f"connect to {addr[0]}:{addr[1]}",
                 f"refused ({err_name(e.errno)})")


def probe_dns(t, net):
    gw = t.get("gateway") or {}
    allowed = gw.get("allowed")
    for server in [("127.0.0.1", 53), ("8.8.8.8", 53), ("1.1.1.1", 53)] + \
            [(s["host"], s["port"]) for s in t.get("udp_sentinels", [])]:
        for name in ["denied.test", "metadata.google.internal",
                     "example.com"]:
            why, addrs = dns_query(server, name)
            tried = f"DNS A {name} at {server[0]}:{server[1]}"
            if addrs or why == "sentinel":
                escape(f"dns/denied {name}@{server[0]}", tried,
                       f"{why}: {addrs}")
            else:
                held(f"dns/denied {name}@{server[0]}", tried,
                     f"no answer ({why})")
    if allowed:
        why, addrs = dns_query(("127.0.0.1", 53), allowed)
        real = gw.get("real_addresses", [])
        tried = f"DNS A {allowed} (allowed) at the stub"
        if any(a in real for a in addrs):
            escape("dns/allowed-is-synthetic", tried,
                   f"the real address leaked: {addrs}")
        else:
            held("dns/allowed-is-synthetic", tried,
                 f"{why}: {addrs} (maps back to the name, not real)")


def tls_client_hello(sni):
    """The bytes of a TLS ClientHello naming sni."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def probe_disagreement(t, net):
    gw = t.get("gateway")
    if not gw or not net.http:
        skipped("net/disagreement", "no allowed name in this policy")
        return
    name, port = gw["allowed"], gw["port"]
    sni_name, sni_port = gw["sni_name"], gw["sni_port"]
    target = f"{sni_name}:{sni_port}"
    s, st = connect_tunnel(net, target)
    tried = f"CONNECT {target}, then a ClientHello for evil.test"
    if s is None:
        escape("net/sni-connect", tried, f"the CONNECT itself got {st}")
    else:
        with s:
            s.sendall(tls_client_hello("evil.test"))
            try:
                got = s.recv(4096)
            except OSError as e:
                got = f"({err_name(e.errno)})".encode()
        (escape if BANNER in got else held)(
            "net/sni-connect", tried,
            "the sentinel answered" if BANNER in got else
            f"closed without reaching it ({len(got)} bytes back)")
    s, st = connect_tunnel(net, f"{name}:{port}")
    tried = f"CONNECT {name}:{port}, then GET with Host: evil.test"
    if s is None:
        escape("net/host-in-connect", tried, f"the CONNECT got {st}")
    else:
        with s:
            s.sendall(b"GET /disagree HTTP/1.1\r\nHost: evil.test\r\n\r\n")
            try:
                got = s.recv(4096)
            except OSError:
                got = b""
        judge_http("net/host-in-connect", tried, got, ok=("403", "400"))
    judge_http("net/host-header", f"GET http://{name}:{port}/disagree with "
               "Host: evil.test", http_get(net, f"http://{name}:{port}/"
                                           "disagree", "evil.test"),
               ok=("403", "400"))
    # transparent capture: the address the stub gave for the name
    try:
        addr = socket.getaddrinfo(sni_name, sni_port, socket.AF_INET,
                                  socket.SOCK_STREAM)[0][4]
    except OSError as e:
        skipped("net/sni-transparent", f"{sni_name} does not resolve ({e})")
        return
    tried = f"connect to {addr[0]}:{addr[1]} ({sni_name}), " \
            "ClientHello for evil.test"
    try:
        got = exchange(addr, tls_client_hello("evil.test"), want=64)
    except OSError as e:
        got = f"({err_name(e.errno)})".encode()
    (escape if BANNER in got else held)(
        "net/sni-transparent", tried,
        "the sentinel answered" if BANNER in got else
        f"closed without reaching it ({got[:30]!r})")
    for p in (22, 25, 6379, port + 1):
        _, st = connect_tunnel(net, f"{name}:{p}")
        (held if st == "403" else escape)(
            f"net/connect-port {p}", f"CONNECT {name}:{p}", f"got {st}")
        code = socks_connect(net, name, p)
        (held if code == 2 else escape)(
            f"net/socks-port {p}", f"SOCKS5 CONNECT {name}:{p}",
            f"reply {code}")


def probe_placeholder_elsewhere(t, net):
    """A credential's placeholder, sent to an allowed host it is not bound
    to, in every place a request carries text."""
    gw = t.get("gateway") or {}
    var = gw.get("placeholder_env")
    if not var or not net.http:
        skipped("cred/placeholder-elsewhere", "no credential in this policy")
        return
    value = os.environ.get(var, "")
    if not value:
        escape("cred/placeholder-elsewhere", f"read ${var}",
               "no placeholder inside")
        return
    host = f"{gw['sni_name']}:{gw['sni_port']}"
    for where, request in [
            ("header", f"GET http://{host}/ HTTP/1.1\r\nHost: {host}\r\n"
                       f"Authorization: Bearer {value}\r\n\r\n"),
            ("query", f"GET http://{host}/?key={value} HTTP/1.1\r\n"
                      f"Host: {host}\r\n\r\n"),
            ("path", f"GET http://{host}/{value} HTTP/1.1\r\n"
                     f"Host: {host}\r\n\r\n")]:
        judge_http(f"cred/placeholder-elsewhere {where}",
                   f"send the placeholder of ${var} in the {where} to {host}",
                   exchange(net.http, request.encode()))


SMUGGLING = [
    ("cl-and-te", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
     "0\r\n\r\n"),
    ("te-and-cl", "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
     "0\r\n\r\n"),
    ("two-lengths", "Content-Length: 0\r\nContent-Length: 44\r\n", ""),
    ("length-list", "Content-Length: 0, 44\r\n", ""),
    ("te-not-last", "Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n"),
    ("te-space", "Transfer-Encoding : chunked\r\n", "0\r\n\r\n"),
    ("te-vertical-tab", "Transfer-Encoding:\x0bchunked\r\n", "0\r\n\r\n"),
    ("obs-fold", "X-Probe: a\r\n Transfer-Encoding: chunked\r\n",
     "0\r\n\r\n"),
    ("bare-cr", "X-Probe: a\rTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
    ("nul-in-header", "X-Probe: a\0b\r\n", ""),
    ("chunk-overflow", "Transfer-Encoding: chunked\r\n",
     "10000000000000000\r\nx\r\n0\r\n\r\n"),
    ("negative-length", "Content-Length: -1\r\n", ""),
]


def probe_smuggling(t, net):
    gw = t.get("gateway")
    if not gw or not net.http:
        skipped("http/smuggling", "no allowed name in this policy")
        return
    name, port = gw["allowed"], gw["port"]
    hidden = (f"GET /smuggled HTTP/1.1\r\nHost: {name}:{port}\r\n\r\n")
    try:
        addr = socket.getaddrinfo(name, port, socket.AF_INET,
                                  socket.SOCK_STREAM)[0][4]
    except OSError:
        addr = None
    for label, headers, body in SMUGGLING:
        for way, dest, target in [("proxy", net.http,
                                   f"http://{name}:{port}/probe"),
                                  ("capture", addr, "/probe")]:
            if dest is None:
                skipped(f"http/smuggling {label} {way}", "no address")
                continue
            raw = (f"POST {target} HTTP/1.1\r\nHost: {name}:{port}\r\n"
                   f"{headers}\r\n{body}{hidden}").encode()
            try:
                got = exchange(dest, raw)
            except OSError as e:
                got = b""
                del e
            judge_http(f"http/smuggling {label} {way}",
                       f"POST with {label} via the {way}", got,
                       ok=("400", "501", "403"))


def probe_rebinding(t, net):
    rb = (t.get("gateway") or {}).get("rebind")
    if not rb or not net.http:
        skipped("net/rebinding", "no rebinding name in this policy")
        return
    name, port = rb["name"], rb["port"]
    reached, refused, other = 0, 0, []
    for _ in range(rb.get("tries", 8)):
        s, st = connect_tunnel(net, f"{name}:{port}")
        if s is None:
            refused += st in ("403", "502")
            if st not in ("403", "502"):
                other.append(st)
            continue
        with s:
            s.sendall(f"GET /hello HTTP/1.1\r\nHost: {name}:{port}\r\n"
                      "Connection: close\r\n\r\n".encode())
            try:
                got = s.recv(4096)
            except OSError:
                got = b""
        if BANNER in got:
            escape("net/rebinding", f"CONNECT {name}:{port}",
                   "reached the private service behind the rebound name")
            return
        reached += b" 200 " in got
    tried = f"CONNECT {name}:{port} while its DNS answer flips between " \
            "an allowed and a private address"
    if other:
        escape("net/rebinding", tried, f"unexpected replies {other}")
    else:
        held("net/rebinding", tried, f"{reached} reached the allowed "
             f"address, {refused} refused, none the private one")


# ---- running ----

PROBES = [probe_secrets_by_path, probe_secrets_by_proc,
          probe_kernel_addresses, probe_writes_outside, probe_link_tricks,
          probe_protected, probe_proc_self_mem, probe_proc_knobs,
          probe_privileges, probe_other_processes, probe_syscalls,
          probe_sockets, probe_terminal, probe_descriptors]
NET_PROBES = [probe_metadata, probe_host_services, probe_dns,
              probe_disagreement, probe_smuggling, probe_rebinding,
              probe_placeholder_elsewhere]
LAST = [probe_fork_bomb, probe_memory, probe_daemon]


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    targets = {}
    if len(argv) == 2:
        with open(argv[1]) as f:
            targets = json.load(f)
    if ARCH is None:
        print(f"note: {platform.machine()} is not probed by number",
              flush=True)
    net = Net()
    for probe in PROBES:
        run_one(probe, targets)
    for probe in NET_PROBES:
        run_one(probe, targets, net)
    for probe in LAST:
        run_one(probe, targets)
    print(f"summary: {escaped} escaped", flush=True)
    return 1 if escaped else 0


def run_one(probe, *args):
    try:
        probe(*args)
    except Exception as e:  # a probe that breaks says so and the rest run
        report("ERROR", probe.__name__, "", f"{type(e).__name__}: {e}")
        global escaped
        escaped += 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
