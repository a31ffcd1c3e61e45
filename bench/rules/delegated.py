#!/usr/bin/env python3
"""Each built-in filter's cost a packet as root and as a delegated alfwrapper
loads it (CAP_BPF alone, no CAP_PERFMON: the verifier then guards the
program against Spectre), side by side.

    bench/rules/delegated.py --rule-bench PATH --copy DIR [--rounds N] [--repeat N] FILTER.c...

DIR holds a copy of rule_bench carrying cap_bpf (bench/rules/run makes it);
the filters are copied there too, readable by nobody. Each round runs
`rule_bench filters` once as root and once from the copy as nobody, in turn,
so that a busy neighbour hurts both alike; the table gives each side's
median over the rounds and the median of the rounds' ratios. Prints
Markdown.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys


def run_filters(command, filters, repeat):
    """rule_bench filters ... --rounds 1: {filter name: (IPv4 ns, IPv6 ns)}."""
    out = subprocess.run(command + ["filters", *filters, "--sizes", "20", "--rounds", "1", "--repeat", str(repeat)],
                         capture_output=True, text=True, check=False, cwd="/")
    if out.returncode != 0:
        sys.exit(f"bench/rules/delegated.py: {' '.join(command)} failed:\n{out.stderr[-2000:]}")
    found = {}
    for line in out.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].endswith(".c"):
            found[os.path.basename(cells[0])[:-2]] = (float(cells[3]), float(cells[4]))
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rule-bench", required=True)
    parser.add_argument("--copy", required=True)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1000000)
    parser.add_argument("filters", nargs="+")
    args = parser.parse_args()

    # Both sides compile the same copies, which nobody can read, beside each
    # other (whitelist-private.c includes private.c).
    sources = os.path.join(args.copy, "filters")
    os.makedirs(sources, exist_ok=True)
    os.chmod(sources, 0o755)
    copied = []
    for path in args.filters:
        target = os.path.join(sources, os.path.basename(path))
        shutil.copyfile(path, target)
        os.chmod(target, 0o644)
        copied.append(target)
    root = [os.path.abspath(args.rule_bench)]
    delegated = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                 os.path.join(args.copy, "rule_bench")]

    runs = {"root": [], "cap": []}
    for _ in range(args.rounds):
        runs["root"].append(run_filters(root, copied, args.repeat))
        runs["cap"].append(run_filters(delegated, copied, args.repeat))

    print("| filter | IPv4 root ns | IPv4 CAP_BPF ns | IPv4 ratio | IPv6 root ns | IPv6 CAP_BPF ns | IPv6 ratio |")
    print("|---|---|---|---|---|---|---|")
    for name in [os.path.basename(f)[:-2] for f in args.filters]:
        row = [name]
        for family in (0, 1):
            medians = [statistics.median(run[name][family] for run in runs[side]) for side in ("root", "cap")]
            # Each round's two runs are neighbours in time: the median of
            # their ratios is less moved by a busy spell than the ratio of
            # the medians.
            ratio = statistics.median(cap[name][family] / root[name][family]
                                      for root, cap in zip(runs["root"], runs["cap"]))
            row += [f"{medians[0]:.1f}", f"{medians[1]:.1f}", f"{ratio:.2f}"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
