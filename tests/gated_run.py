#!/usr/bin/env python3
"""Runs a test program that needs root as a test of the harness: its one
gate (harness.require) skips it without root, with the reason, like every
integration test, and under ALF_TESTS_MUST_RUN=1 (as in CI) fails it
instead. As root the program runs, its output passes through, and the test
fails unless it exits 0.

    tests/gated_run.py REASON PROGRAM [ARGUMENT...]
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "integration"))
from harness import require  # noqa: E402

if len(sys.argv) < 3:
    sys.exit(__doc__)
REASON, COMMAND = sys.argv[1], sys.argv[2:]


class GatedProgram(unittest.TestCase):
    def test_program_passes(self):
        require(os.geteuid() == 0, REASON)
        sys.stdout.flush()
        status = subprocess.run(COMMAND).returncode
        self.assertEqual(status, 0, f"{' '.join(COMMAND)} exited with {status}")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
