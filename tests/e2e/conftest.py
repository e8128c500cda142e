# SPDX-License-Identifier: Apache-2.0
"""Fixtures shared by the end-to-end tests.

`sb` runs each test twice: once with airlock started by root and once by
an unprivileged user (uid 65534), each in a fresh workspace that the
fixture removes afterwards.
"""
import os

import pytest

from airlock_harness import (binary_reachable_by, make_sandbox,
                             remove_sandbox, NOBODY)

MODES = ["root", "user"]


@pytest.fixture(params=MODES)
def sb(request):
    if os.geteuid() != 0:
        pytest.skip("the suite starts as root to test both modes")
    if request.param == "user" and not binary_reachable_by(NOBODY):
        pytest.skip("the binary's folder is not searchable by uid 65534")
    box = make_sandbox(request.param)
    yield box
    remove_sandbox(box)
