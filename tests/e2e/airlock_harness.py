# SPDX-License-Identifier: Apache-2.0
"""Runs the real airlock binary as root or as an unprivileged user.

Each test gets a fresh workspace (and, for the unprivileged user, a home)
under a temp folder that the test removes; nothing else on the host is
written.
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AIRLOCK_BIN", str(ROOT / "build" / "airlock"))
SYSTEM_PYTHON = "/usr/bin/python3"
NOBODY = 65534
RUN_TIMEOUT_S = 60


def binary_reachable_by(uid):
    """True when every folder above the binary lets uid search it."""
    path = Path(BIN).resolve()
    for parent in list(path.parents)[:-1]:
        st = parent.stat()
        if not st.st_mode & 0o001 and st.st_uid != uid:
            return False
    return True


def assert_no_sanitizer_report(stderr):
    """A sanitized airlock reports memory errors and leaks on stderr, also
    for processes (the gateway) whose exit status nobody sees."""
    assert "Sanitizer" not in stderr, stderr


class Sandbox:
    """One mode of running airlock: 'root' or 'user' (uid 65534)."""

    def __init__(self, mode, base):
        self.mode = mode
        self.base = Path(base)
        self.workspace = self.base / "ws"
        self.home = self.base / "home"
        self.workspace.mkdir()
        self.home.mkdir()
        if mode == "user":
            os.chown(self.base, NOBODY, NOBODY)
            os.chown(self.workspace, NOBODY, NOBODY)
            os.chown(self.home, NOBODY, NOBODY)

    def chown_tree(self):
        """Gives files written by the test to the unprivileged user."""
        if self.mode != "user":
            return
        for dirpath, dirnames, filenames in os.walk(self.base):
            for name in dirnames + filenames:
                os.lchown(os.path.join(dirpath, name), NOBODY, NOBODY)

    def command(self, args):
        if self.mode == "root":
            return [BIN] + args
        return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                "--clear-groups", "--", BIN] + args

    def env(self, extra=None):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "HOME": str(self.home) if self.mode == "user" else "/root",
               # the default audit log goes here, not under /root
               "XDG_STATE_HOME": str(self.base / "state")}
        # a sanitized airlock reads its options from its environment
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if name in os.environ:
                env[name] = os.environ[name]
        env.update(extra or {})
        return env

    def run(self, args, *, env=None, input=None, timeout=RUN_TIMEOUT_S,
            cwd=None):
        """Runs `airlock ARGS`; returns the CompletedProcess (text)."""
        self.chown_tree()
        r = subprocess.run(self.command(args), cwd=cwd or self.workspace,
                           env=self.env(env), input=input,
                           capture_output=True, text=True, timeout=timeout)
        assert_no_sanitizer_report(r.stderr)
        return r

    def sh(self, script, *options, **kw):
        return self.run(["run", *options, "--", "/bin/sh", "-c", script], **kw)

    def py(self, code, *options, **kw):
        return self.run(["run", *options, "--", SYSTEM_PYTHON, "-c", code],
                        **kw)

    def popen(self, args, **kw):
        self.chown_tree()
        return subprocess.Popen(self.command(args), cwd=self.workspace,
                                env=self.env(), **kw)


def make_sandbox(mode):
    # not under /tmp: the sandbox has a private /tmp, and the home must show
    base = tempfile.mkdtemp(prefix=f"airlock-e2e-{mode}-", dir="/var/tmp")
    os.chmod(base, 0o755)
    return Sandbox(mode, base)


def remove_sandbox(sb):
    shutil.rmtree(sb.base, ignore_errors=True)
