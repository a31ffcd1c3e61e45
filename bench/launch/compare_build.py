#!/usr/bin/env python3
"""Launch latency of any alfwrapper build (one without the options
launch_bench passes, e.g. an older commit), measured as launch_bench measures:
from the spawn to the first instruction of the stamp program it starts
(CLOCK_MONOTONIC). The stamp program's own line calibrates the Python loop.

    compare_build.py ALFWRAPPER STAMP RUNS FILTER.c...
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::", 0))
        return s.getsockname()[1]


def latency_ms(command, stamp_file):
    start = time.monotonic_ns()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    with open(stamp_file) as f:
        stamped = int(f.read())
    os.remove(stamp_file)
    return (stamped - start) / 1e6


def main():
    alfwrapper, stamp, runs, filters = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    stamp_file = os.path.join(tempfile.mkdtemp(prefix="alf-compare-"), "stamp")
    port = str(free_port())
    print("| filter | median | p10 | p90 |\n|---|---:|---:|---:|")
    cases = [("(the stamp program alone)", [stamp, stamp_file])]
    cases += [(os.path.basename(f), [alfwrapper, "--port", port, f, stamp, stamp_file]) for f in filters]
    for name, command in cases:
        v = sorted(latency_ms(command, stamp_file) for _ in range(runs))
        print(f"| {name} | {statistics.median(v):.1f} | {v[len(v) // 10]:.1f} | {v[(9 * len(v)) // 10]:.1f} |")
    os.rmdir(os.path.dirname(stamp_file))


if __name__ == "__main__":
    main()
