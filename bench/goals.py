#!/usr/bin/env python3
"""The goals table of bench/RESULTS.md, derived from the sections the
benchmarks wrote there (alfbench, rules, launch, live): every figure is read from
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


def delegated_goal(rules):
    rows = rules.table("Each built-in filter, as root and with CAP_BPF alone", "IPv4 ratio")
    worst = []
    for row in rows:
        # The table's ratios (the median of each round's ratio), not the
        # ratio of its medians.
        worst.append((round(max(number(row["IPv4 ratio"]), number(row["IPv6 ratio"])), 2), row["filter"]))
    worst.sort()
    over = [f"{name} {ratio:.2f}" for ratio, name in worst if ratio > 1.1]
    measured = (f"{worst[0][0]:.2f}-{worst[-1][0]:.2f}x (the slower family of each filter); "
                + (f"over 1.1: {', '.join(over)}" if over else "all within 1.1"))
    # The rules as classic BPF, which a delegated alfwrapper attaches to TCP
    # sockets translated to eBPF (--classic), against the rules filter as
    # root: the same run, 20 rules, the slower of probe and 16 sources.
    classic = [r for r in rules.table("Classic BPF per packet, loaded with CAP_BPF alone", "classic ns")
               if r["rules"] == "20"]
    as_root = [r for r in rules.table("Per packet: rules filter", "rules filter ns") if r["rules"] == "20"]
    if classic and as_root:
        ratios = []
        for family in ("IPv4", "IPv6"):
            cap = max(number(r["classic ns"]) for r in classic if family in r["packets"])
            root = max(number(r["rules filter ns"]) for r in as_root if family in r["packets"])
            ratios.append(f"{family} {cap / root:.2f}")
        measured += (f"; the rules with --classic (no counters, log or live changes), with CAP_BPF alone over the "
                     f"rules filter as root at 20 rules: {', '.join(ratios)}")
    return measured, "met" if not over else "missed"


def change_goal(live):
    rows = live.table("One rule added and removed", "alfctl / ipset")

    def at(size, verb):
        return pick(rows, f"'{verb}' at {size} rules", rules=lambda r: r == str(size),
                    change=lambda c: c.startswith(verb))[0]

    add, remove = at(1000000, "add"), at(1000000, "remove")
    small_add, small_remove = at(20, "add"), at(20, "remove")
    measured = (f"alfctl deny {number(add['alfctl ms']):.1f} ms, remove {number(remove['alfctl ms']):.1f} ms; "
                f"ipset add {number(add['ipset ms']):.1f} ms, del {number(remove['ipset ms']):.1f} ms "
                f"(alfctl/ipset {number(add['alfctl / ipset']):.1f}x, {number(remove['alfctl / ipset']):.1f}x); "
                f"at 20 rules alfctl {number(small_add['alfctl ms']):.1f} / {number(small_remove['alfctl ms']):.1f} ms")
    steps = live.table("One rule added and removed", "compile")
    deny = pick(steps, "alfctl's steps for deny at 1000000 rules", rules=lambda r: r == "1000000",
                command=lambda c: c == "deny")[0]
    if number(deny.get("edit", "0")) > 0:
        measured += (f"; deny's time: find {deny['find']}, edit in place {deny['edit']}, "
                     f"start and exit {deny['start and exit']} ms")
    else:
        measured += (f"; deny's time: read {deny['read']}, compile {deny['compile']}, publish {deny['publish']}, "
                     f"start and exit {deny['start and exit']} ms")
    slower = max(number(add["alfctl / ipset"]), number(remove["alfctl / ipset"]))
    return measured, "met" if slower <= 1 else f"missed: {slower:.1f}x ipset's time (median of the rounds' ratios)"


def replace_goal(live):
    rows = live.table("A million rules replaced", "wall ms")
    replace = pick(rows, "the replace", command=lambda c: "replace" in c)[0]
    start = pick(rows, "the start", command=lambda c: c.startswith("`alfwrapper"))[0]
    wall = number(replace["wall ms"])
    measured = (f"{wall:.0f} ms for the whole alfctl run (read {replace['read ms']}, compile {replace['compile ms']}, "
                f"publish {replace['write ms']}); a start with the same rules {number(start['wall ms']):.0f} ms")
    return measured, "met" if wall <= 500 else f"missed by {wall - 500:.0f} ms"


def admitted_goal(live):
    rows = live.table("Admitted clients while", "failed")
    def attempts(when):
        return pick(rows, f"the attempts {when}", **{"admitted connections": lambda c: c.startswith(when)})[0]

    during, between = attempts("during"), attempts("between")
    failed = int(number(during["failed"])) + int(number(between["failed"]))
    resent = int(number(during["with a retransmission"]))
    measured = (f"{during['failed']} of {during['attempts']} admitted connections during the replaces failed, "
                f"{between['failed']} of {between['attempts']} between them; {resent} during needed a retransmission")
    if failed:
        return measured, f"missed: {failed} failed"
    return measured, "met" if resent == 0 else f"met, but {resent} waited for a retransmission"


def difference_goal(live, heading, limit, packets=lambda p: True):
    rows = [r for r in live.table(heading, "B - A ns") if packets(r["packet"])]
    if not rows:
        raise Missing(f"section live: no rows under '{heading}'")
    worst = max(rows, key=lambda r: number(r["B - A ns"]))
    value = number(worst["B - A ns"])
    measured = (f"+{value:.0f} ns at worst ({worst['packet']}, {worst['rules']} rules; per row "
                + ", ".join(f"{number(r['B - A ns']):.0f}" for r in rows) + ")")
    return measured, value, "met" if value <= limit else f"missed by {value - limit:.0f} ns"


def counters_goal(live):
    measured, _, status = difference_goal(live, "Counters: the rules filter", 5)
    protocol = live.table("Where the counters' cost goes", "B - A ns")
    v4 = max(number(r["B - A ns"]) for r in protocol if "IPv4" in r["packet"])
    v6 = max(number(r["B - A ns"]) for r in protocol if "IPv6" in r["packet"])
    mixed = live.table("Counters on a service of TCP and UDP sockets", "B - A ns")
    worst_mixed = max(number(r["B - A ns"]) for r in mixed)
    return (measured + " with the sockets' protocol known (a service on TCP alone)"
            + f"; on TCP and UDP sockets (the protocol read from each packet) +{worst_mixed:.0f} ns at worst"
            + f"; reading the protocol byte alone: IPv4 +{v4:.0f}, IPv6 +{v6:.0f} ns", status)


def log_goal(live):
    measured, _, status = difference_goal(live, "The drop log under a refused flood", 10,
                                          packets=lambda p: "refused" in p)
    return measured, status


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
    for name in ("alfbench", "rules", "launch", "live"):
        if name not in sections:
            raise Missing(f"no section {name}: run bench/run")
    traffic, rules, launch, live = sections["alfbench"], sections["rules"], sections["launch"], sections["live"]
    t, r, la, li = (f"traffic, {traffic.run}", f"rules, {rules.run}", f"launch, {launch.run}", f"live, {live.run}")
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
        ("delegated (CAP_BPF alone): every built-in filter within 1.1x its cost as root", *delegated_goal(rules), r),
        ("one rule added or removed live at 1M rules no slower than ipset add/del (whole command)",
         *change_goal(live), li),
        ("1M rules replaced live <= 0.5 s (whole command)", *replace_goal(live), li),
        ("no admitted connection fails while 1M rules are replaced", *admitted_goal(live), li),
        ("counters <= 5 ns a packet (rules filter)", *counters_goal(live), li),
        ("drop log on <= 10 ns more a refused packet", *log_goal(live), li),
    ]
    out = ["## The goals, and where we stand", "",
           "Written by `bench/goals.py` (the last step of `bench/run`) from the tables of the sections below; "
           "\"from\" names the section, the date of its run and the 1-minute load average at its start and end. "
           "A ratio is the median of the filtered/unfiltered pairs (their range in brackets); a status compares "
           "the median, or the slower of a row's figures, with the goal, on a machine other work shares.", "",
           "| goal | measured | status | from |", "|---|---|---|---|"]
    out += [f"| {g} | {m} | {s} | {f} |" for g, m, s, f in goals]
    out += ["", flood_note(traffic), ""]
    named = (("traffic", traffic), ("rules", rules), ("launch", launch), ("live", live))
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
