#!/usr/bin/env python3
"""Two builds of alfwrapper side by side (e.g. a commit and the one before it,
built in a git worktree): the same launch, in turn, round after round (each
round beginning with the other build), so that a noisy neighbour hurts both
alike. Prints the median of each figure for each build: the wall time of the
whole process and alfwrapper's own -v figures.

    ab_builds.py [--rounds N] cold OLD NEW FILTER.c
        a cold launch (--no-cache): wall and compile ms
    ab_builds.py [--rounds N] rules OLD NEW RULES-FILE
        a launch of the rules filter: wall, read, compile and write ms

Both with --dry-run (nothing is started) and -v; needs root (loads eBPF).
"""
import argparse
import re
import socket
import statistics
import subprocess
import sys
import time

FIGURES = {
    "cold": {"compile": r"compiled .* in ([0-9.]+) ms"},
    "rules": {
        "read": r"read in ([0-9.]+) ms",
        "compile": r"address ranges in ([0-9.]+) ms",
        "write": r"tables written in ([0-9.]+) ms",
    },
}


def free_port():
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::", 0))
        return str(s.getsockname()[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("mode", choices=FIGURES)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("input")
    args = parser.parse_args()
    builds = {"old": args.old, "new": args.new}
    port = free_port()
    if args.mode == "cold":
        tail = ["--no-cache", "--port", port, args.input, "--dry-run", "--", "true"]
    else:
        tail = ["--port", port, "--rules-file", args.input, "--dry-run", "--", "true"]
    figures = {name: {"wall": []} | {f: [] for f in FIGURES[args.mode]} for name in builds}
    for round_ in range(args.rounds):
        order = list(builds) if round_ % 2 == 0 else list(reversed(list(builds)))
        for name in order:
            start = time.monotonic()
            run = subprocess.run([builds[name], "-v"] + tail, capture_output=True, text=True)
            wall = (time.monotonic() - start) * 1000
            if run.returncode != 0:
                sys.exit(f"{builds[name]} failed:\n{run.stderr}")
            figures[name]["wall"].append(wall)
            for figure, pattern in FIGURES[args.mode].items():
                found = re.search(pattern, run.stderr)
                if not found:
                    sys.exit(f"{builds[name]}: no {figure} figure in:\n{run.stderr}")
                figures[name][figure].append(float(found.group(1)))
    columns = list(figures["old"])
    print(f"{args.rounds} rounds, medians in ms: {args.mode} {args.input}")
    print("| build | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name in builds:
        print(f"| {name} ({builds[name]}) | " +
              " | ".join(f"{statistics.median(figures[name][c]):.1f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
