#!/usr/bin/env python3
"""The goals table of bench/RESULTS.md, derived from the sections the
benchmarks wrote there (alfbench, rules, launch): every figure is read from
a table of those sections, none is typed in. bench/run calls it last.

    bench/goals.py RESULTS.md

Fails when a section or a row it needs is missing: the sections' format and
this script go together.
"""
import os
import re
import sys

SECTION = re.compile(r"<!-- (\w+):begin -->\n(.*?)<!-- \1:end -->\n?", re.S)


class Missing(Exception):
    pass


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


class Section:
    """One generated section: its date and its tables, each under the
    `###` heading it follows (the section's title for the first ones)."""

    def __init__(self, name, text):
        self.name = name
        date = re.search(r"^Date: (.*?)\s*$", text, re.M)
        load = re.search(r"^Load: 1-minute load average (\S+) at the start, (\S+) at the end", text, re.M)
        self.date = date.group(1) if date else "no date"
        cpus = re.search(r"^Machine: ([0-9]+) x", text, re.M)
        self.cpus = int(cpus.group(1)) if cpus else None
        self.loads = [float(x) for x in load.groups()] if load else []
        self.run = self.date + (f", load {load.group(1)}-{load.group(2)}" if load else ", load not recorded")
        self.tables = []  # (heading, header, rows)
        heading, lines = "", text.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
            if line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
                header, rows = cells(line), []
                i += 2
                while i < len(lines) and lines[i].startswith("|"):
                    rows.append(dict(zip(header, cells(lines[i]))))
                    i += 1
                self.tables.append((heading, header, rows))
                continue
            i += 1

    def table(self, heading_start, column):
        """The rows of the first table under a heading starting with
        `heading_start` that has `column`."""
        for heading, header, rows in self.tables:
            if heading.startswith(heading_start) and column in header:
                return rows
        raise Missing(f"section {self.name}: no table with a '{column}' column under '{heading_start}'")

    def tables_under(self, heading_start, column):
        return [(h, rows) for h, header, rows in self.tables if h.startswith(heading_start) and column in header]


def pick(rows, what, **match):
    found = [r for r in rows if all(test(r.get(k, "")) for k, test in match.items())]
    if not found:
        raise Missing(f"no row for {what}")
    return found


def number(text):
    m = re.match(r"-?[0-9.]+", text.replace(",", ""))
    if not m:
        raise Missing(f"not a number: {text!r}")
    return float(m.group(0))


def fmt(v):
    return f"{v:.0f}"


def ratio_goal(traffic, scenario, minimum, rate=False, rules="1000000"):
    row = pick(traffic.table("Traffic", "B/A"), f"'{scenario}' at {rules} rules",
               scenario=lambda s: s.startswith(scenario), rules=lambda r: r == rules)[0]
    ratio = row["B/A"]
    median = number(ratio)
    pairs = ratio[ratio.find("(") + 1:ratio.find(")")]
    measured = f"{median:.3f} (pairs {pairs})"
    if rate:
        measured += f", {row['filtered (B)']} filtered"
    return measured, "met" if median >= minimum else f"missed by {minimum - median:.3f}"


def per_packet(rules, size, limit):
    rows = rules.table("Per packet: rules filter", "rules filter ns")
    at = [r for r in rows if r["rules"] == str(size)]
    if not at:
        raise Missing(f"section rules: no per-packet rows at {size} rules")

    def worst(family, column):
        return max(number(r[column]) for r in at if family in r["packets"])

    v4, v6 = worst("IPv4", "rules filter ns"), worst("IPv6", "rules filter ns")
    floor = max(number(r["empty filter ns"]) for r in at)
    lpm4, lpm6 = worst("IPv4", "LPM trie ns"), worst("IPv6", "LPM trie ns")
    measured = (f"IPv4 {fmt(v4)} ns, IPv6 {fmt(v6)} ns (the slower of probe and 16 sources; "
                f"empty filter {fmt(floor)} ns; LPM trie {fmt(lpm4)} / {fmt(lpm6)} ns)")
    clustered = rules.tables_under("Per packet, rules crowded", "rules filter ns")
    if clustered and size == 1000000:
        crowd = [r for r in clustered[0][1] if r["rules"] == str(size)]
        c4 = max(number(r["rules filter ns"]) for r in crowd if "IPv4" in r["packets"])
        c6 = max(number(r["rules filter ns"]) for r in crowd if "IPv6" in r["packets"])
        measured += f"; crowded rule set: IPv4 {fmt(c4)}, IPv6 {fmt(c6)} ns"
    over = [f"{name} by {fmt(v - limit)} ns" for name, v in (("IPv4", v4), ("IPv6", v6)) if v > limit]
    status = "met" if not over else "missed: " + ", ".join(over)
    return measured, status + f"; above the empty filter: IPv4 +{fmt(v4 - floor)}, IPv6 +{fmt(v6 - floor)} ns"


def launch_goal(launch, scenario, limit):
    figures = []
    for heading, rows in launch.tables_under("", "median"):
        row = pick(rows, f"'{scenario}' for {heading}", scenario=lambda s: s.startswith(scenario))[0]
        figures.append((heading.rsplit("/", 1)[-1], number(row["median"])))
    if not figures:
        raise Missing("section launch: no launch table")
    measured = ", ".join(f"{v:.1f} ms ({name})" for name, v in figures)
    within = [name for name, v in figures if v <= limit]
    if len(within) == len(figures):
        status = "met"
    elif within:
        status = "met for " + ", ".join(within) + " only"
    else:
        status = "missed"
    return measured, status


def load_goal(rules):
    row = pick(rules.table("Loading", "alfwrapper wall ms"), "1000000 rules loaded",
               rules=lambda r: r == "1000000")[0]
    wall = number(row["alfwrapper wall ms"])
    measured = (f"{wall:.0f} ms for the whole alfwrapper run (read {row['read ms']}, compile {row['compile ms']}, "
                f"write {row['write ms']}); peak RSS +{row['RSS above 20 rules MiB']} MiB "
                f"(rules x 24 B: {row['rules x 24 B MiB']} MiB)")
    return measured, "met" if wall <= 500 else f"missed by {wall - 500:.0f} ms"


def classic_goal(rules):
    mix = pick(rules.table("Classic BPF: how many rules fit", "instructions"), "the benchmark's mix",
               rules=lambda r: r.startswith("the benchmark's mix"))[0]
    fits = int(number(mix["largest that fits (kernel accepted)"]))
    ratios = [number(r["classic / eBPF"]) for r in rules.table("Classic BPF per packet, next to", "classic / eBPF")]
    measured = (f"{fits} of the benchmark's mixed prefixes fit (the kernel accepted the program); "
                f"{min(ratios):.2f}-{max(ratios):.2f}x the eBPF filter")
    ok = fits >= 1000 and max(ratios) <= 2
    return measured, "met" if ok else "missed"


def flood_note(traffic):
    rows = traffic.table("Traffic", "B/A")
    p50 = pick(rows, "the p50 under flood", scenario=lambda s: s.startswith("Admitted client p50"))[0]
    p99 = pick(rows, "the p99 under flood", scenario=lambda s: s.startswith("Admitted client p99"))[0]
    syns = re.search(r"([0-9]+) refused SYNs", p99["note"])
    return (f"Refused traffic (no goal): while two threads send SYNs from refused sources "
            f"({syns.group(1) if syns else '?'} in the run, none reached the accept queue), the admitted client's "
            f"p50 latency goes from {p50['unfiltered (A)']} to {p50['filtered (B)']} and its p99 from "
            f"{p99['unfiltered (A)']} to {p99['filtered (B)']} (section \"Traffic\", {traffic.date}).")


def goals_section(sections):
    for name in ("alfbench", "rules", "launch"):
        if name not in sections:
            raise Missing(f"no section {name}: run bench/run")
    traffic, rules, launch = sections["alfbench"], sections["rules"], sections["launch"]
    t, r, la = (f"traffic, {traffic.run}", f"rules, {rules.run}", f"launch, {launch.run}")
    goals = [
        ("TCP bulk filtered/unfiltered >= 0.99 at 1M rules", *ratio_goal(traffic, "TCP bulk", 0.99), t),
        ("TCP connection rate >= 0.99 at 1M rules", *ratio_goal(traffic, "TCP connections", 0.99, rate=True), t),
        ("UDP 64 B request/response >= 0.97 at 1M rules", *ratio_goal(traffic, "UDP 64 B", 0.97), t),
        ("rules filter <= 50 ns a packet at 20 rules", *per_packet(rules, 20, 50), r),
        ("rules filter <= 80 ns a packet at 1M rules", *per_packet(rules, 1000000, 80), r),
        ("launch cold <= 15 ms", *launch_goal(launch, "cold:", 15), la),
        ("launch cached <= 5 ms", *launch_goal(launch, "cached:", 5), la),
        ("1M prefixes loaded <= 0.5 s", *load_goal(rules), r),
        ("classic BPF: >= 1,000 IPv4+IPv6 prefixes within 2x of eBPF", *classic_goal(rules), r),
    ]
    out = ["## The goals, and where we stand", "",
           "Written by `bench/goals.py` (the last step of `bench/run`) from the tables of the sections below; "
           "\"from\" names the section, the date of its run and the 1-minute load average at its start and end. "
           "A ratio is the median of the filtered/unfiltered pairs (their range in brackets); a status compares "
           "the median, or the slower of a row's figures, with the goal, on a machine other work shares.", "",
           "| goal | measured | status | from |", "|---|---|---|---|"]
    out += [f"| {g} | {m} | {s} | {f} |" for g, m, s, f in goals]
    out += ["", flood_note(traffic), ""]
    named = (("traffic", traffic), ("rules", rules), ("launch", launch))
    busy = [(name, max(sec.loads), sec.cpus) for name, sec in named if sec.cpus and sec.loads and max(sec.loads) > sec.cpus]
    if busy:
        out += ["Busy machine: the load average exceeded the CPU count during the runs of "
                + ", ".join(f"{name} (up to {load:.2f} on {cpus} CPUs)" for name, load, cpus in busy)
                + ". Other work then takes CPU time from the benchmark and from only one side of a pair as often as "
                "not, so a status there says little about the filter; a run on a quiet machine decides.", ""]
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench/goals.py RESULTS.md")
    path = sys.argv[1]
    with open(path) as f:
        text = f.read()
    sections = {m.group(1): Section(m.group(1), m.group(2)) for m in SECTION.finditer(text) if m.group(1) != "goals"}
    try:
        body = goals_section(sections)
    except Missing as e:
        sys.exit(f"bench/goals.py: {e}")
    block = f"<!-- goals:begin -->\n{body}<!-- goals:end -->\n"
    existing = re.search(r"<!-- goals:begin -->\n.*?<!-- goals:end -->\n?", text, re.S)
    if existing:
        text = text[:existing.start()] + block + text[existing.end():]
    else:
        first = re.search(r"<!-- \w+:begin -->", text)
        at = first.start() if first else len(text)
        text = text[:at] + block + "\n" + text[at:]
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    print(body, end="")


if __name__ == "__main__":
    main()
