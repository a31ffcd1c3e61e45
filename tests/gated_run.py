#!/usr/bin/env python3
"""Runs a test program that needs root through the test harness's one gate
(harness.require): without root the ctest entry is skipped with the reason
(exit status 77, ctest's SKIP_RETURN_CODE), and under ALF_TESTS_MUST_RUN=1
(as in CI) that fails it instead.

    tests/gated_run.py REASON PROGRAM [ARGUMENT...]
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "integration"))
from harness import require  # noqa: E402

SKIPPED = 77

if len(sys.argv) < 3:
    sys.exit(__doc__)
reason, command = sys.argv[1], sys.argv[2:]
try:
    require(os.geteuid() == 0, reason)
except unittest.SkipTest as e:
    print(f"skipped: {e} (ALF_TESTS_MUST_RUN=1 makes this a failure)")
    sys.exit(SKIPPED)
os.execv(command[0], command)
