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
    ab_builds.py [--rounds N] cached OLD NEW FILTER.c
        a launch from the compile cache (each build its own, filled
        first) that starts true: wall ms

With -v, the first two with --dry-run (nothing is started); needs root
(loads eBPF).
"""
import argparse
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

FIGURES = {
    "cold": {"compile": r"compiled .* in ([0-9.]+) ms"},
    "cached": {},
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
    caches = tempfile.TemporaryDirectory(prefix="ab-builds-")
    tails = {}
    for name in builds:
        if args.mode == "cold":
            tails[name] = ["--no-cache", "--port", port, args.input, "--dry-run", "--", "true"]
        elif args.mode == "cached":
            tails[name] = ["--cache-dir", f"{caches.name}/{name}", "--port", port, args.input, "--", "true"]
            subprocess.run([builds[name]] + tails[name], check=True)
        else:
            tails[name] = ["--port", port, "--rules-file", args.input, "--dry-run", "--", "true"]
    figures = {name: {"wall": []} | {f: [] for f in FIGURES[args.mode]} for name in builds}
    for round_ in range(args.rounds):
        order = list(builds) if round_ % 2 == 0 else list(reversed(list(builds)))
        for name in order:
            start = time.monotonic()
            run = subprocess.run([builds[name], "-v"] + tails[name], capture_output=True, text=True)
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
              " | ".join(f"{statistics.median(figures[name][c]):.{2 if args.mode == 'cached' else 1}f}"
                         for c in columns) + " |")


if __name__ == "__main__":
    main()
