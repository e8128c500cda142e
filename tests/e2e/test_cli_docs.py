# SPDX-License-Identifier: Apache-2.0
"""The manual page and `airlock --help` describe the same options."""
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AIRLOCK_BIN", str(ROOT / "build" / "airlock"))


def help_options():
    out = subprocess.run([BIN, "--help"], capture_output=True, text=True,
                         check=True).stdout
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-z])\b", out))


def man_options():
    text = (ROOT / "man" / "airlock.1").read_text()
    # roff writes "--opt" as "\-\-opt"
    text = text.replace("\\-", "-")
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-z])\b", text))


def test_every_help_option_is_in_the_man_page():
    missing = help_options() - man_options()
    assert not missing, f"in --help but not in man/airlock.1: {missing}"


def test_every_man_option_is_in_help():
    extra = man_options() - help_options()
    assert not extra, f"in man/airlock.1 but not in --help: {extra}"


def test_exit_statuses_agree():
    out = subprocess.run([BIN, "--help"], capture_output=True, text=True,
                         check=True).stdout
    text = (ROOT / "man" / "airlock.1").read_text()
    for status in ("124", "125", "126", "127"):
        assert status in out and status in text
