// Rules at scale: what the rules filter costs per packet and what loading
// its rules costs, side by side with an empty filter and an LPM trie.
//
//   rule_bench packet [--sizes 20,10000,1000000] [--rounds 7] [--repeat 1000000] [--clustered]
//   rule_bench load --alfwrapper PATH [--sizes 10000,100000,1000000] [--rounds 3]
//   rule_bench generate N FILE [SEED]
//   rule_bench filters [--sizes 20] FILE.c...   (any filter; rule maps filled if it has them)
//   rule_bench compare [--sizes 20] [--rounds 7] [--repeat 1000000] [--log-rate N] [--socket-protocol tcp]
//                      [--rule-hits on|off] A.c [--log-rate N] [--socket-protocol tcp] [--rule-hits on|off] B.c
//       (two filters side by side, B - A a packet; --log-rate applies to the files after it, as
//       alfwrapper --log-rate would; before it a filter keeps its drop log as compiled: off;
//       --socket-protocol tcp, to the files after it, as alfwrapper gives a service whose
//       sockets are all TCP)
//   rule_bench classic [--sizes 20,1000] [--rounds 7] [--repeat 1000000] [--clustered]
//   rule_bench classic-limits      (how many rules of several shapes fit classic BPF, as the kernel accepts them)
//
// Rule sets are random IPv4 and IPv6 prefixes (half each) around a chain of
// nested rules that decide for the probe addresses 198.51.100.7 and
// 2001:db8:1234:5678::7 ("deep in the trie": /8 ... /32 and /16 ... /128,
// allow and deny alternating). Per-packet figures are the kernel's own
// (BPF_PROG_TEST_RUN, average of `repeat` runs), variants run alternately,
// medians of `rounds` runs reported. Needs root (loads eBPF).
#include "bench_support.hpp"
#include "compile/builtin_filters.hpp"
#include "classic/classic_rules.hpp"
#include "classic/classic_to_ebpf.hpp"
#include "compile_source.hpp"
#include "common/error.hpp"
#include "bpf/filter_object.hpp"
#include "inputs/filter_inputs.hpp"
#include "inputs/rule_tables.hpp"
#include "inputs/rules.hpp"
#include "temp_files.hpp"
#include "workbench/test_run.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using alf::bench::ChildRun;
using alf::bench::chain_count;
using alf::bench::figure_after;
using alf::bench::median;
using alf::bench::parse_sizes;
using alf::bench::run_program;
using Clock = std::chrono::steady_clock;

// Where the benchmark writes its rules files; removed when it ends.
const alf::TempDir &scratch() {
    static alf::TempDir dir("rule-bench");
    return dir;
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// --- rule sets --------------------------------------------------------------

// --clustered: the random prefixes crowded into two allocations (bench_support.hpp).
bool clustered = false;

void generate_rules(std::size_t n, const std::string &path) { alf::bench::generate_rules(n, path, {clustered}); }

// --- filters ----------------------------------------------------------------

const char *lpm_filter_source = R"(
#include <alfwrapper/filter.h>
#include <alfwrapper/rules.h>   /* ALF_RULE_*, alf_ld_abs_word */

struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __type(key, struct alf_ipv4_subnet); __type(value, __u32);
         __uint(max_entries, 1); __uint(map_flags, BPF_F_NO_PREALLOC); } lpm4 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __type(key, struct alf_ipv6_subnet); __type(value, __u32);
         __uint(max_entries, 1); __uint(map_flags, BPF_F_NO_PREALLOC); } lpm6 SEC(".maps");

/* Reads the source as the rules filter does, so only the lookup differs. */
SEC("socket") int filter(struct __sk_buff *skb)
{
	__u32 *verdict;

	if (skb->protocol == ALF_SKB_PROTOCOL_IPV4) {
		struct alf_ipv4_subnet key = { .prefixlen = 32 };
		__u32 addr = bpf_htonl((__u32)alf_ld_abs_word(skb, ALF_NET_OFFSET + 12));

		__builtin_memcpy(key.addr, &addr, 4);
		verdict = bpf_map_lookup_elem(&lpm4, &key);
	} else if (skb->protocol == ALF_SKB_PROTOCOL_IPV6) {
		struct alf_ipv6_subnet key = { .prefixlen = 128 };

		if (alf_load_net(skb, 8, key.addr, 16) < 0)
			return ALF_DROP;
		verdict = bpf_map_lookup_elem(&lpm6, &key);
	} else {
		return ALF_DROP;
	}
	return verdict && *verdict == ALF_RULE_ALLOW ? ALF_PASS : ALF_DROP;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
)";

std::vector<std::uint8_t> compile_source(const char *source, const std::string &name) {
    alf::TempDir dir("rule-bench");
    alf::CompileResult result = alf::compile_source_file(dir.file(name), source);
    if (!result.ok) throw std::runtime_error("compiling " + name + ":\n" + result.diagnostics);
    return result.object;
}

// In place, as alfwrapper compiles a .c file: its own includes ("private.c"
// of whitelist-private.c) are found beside it.
std::vector<std::uint8_t> compile_file(const std::string &path) {
    alf::CompileResult result = alf::compile_file_in_place(path);
    if (!result.ok) throw std::runtime_error("compiling " + path + ":\n" + result.diagnostics);
    return result.object;
}

struct LoadedFilter {
    std::string name;
    alf::FilterObject object;
    double load_ms;  // putting the rules into the kernel
};

// `log_rate`: as alfwrapper --log-rate gives it (nullopt: the drop log as
// compiled, i.e. off).
LoadedFilter load_with_rules(std::span<const std::uint8_t> elf, const std::string &name, const std::string &rules_path,
                             const std::optional<std::string> &log_rate = std::nullopt, int socket_protocol = 0,
                             bool rule_hits = false) {
    auto start = Clock::now();
    alf::RuleSet rules;
    alf::read_rules_file(rules, rules_path);
    alf::CompiledRules compiled = alf::compile_rules(rules, rule_hits);
    auto filter = alf::FilterObject::open(elf, name);
    bool takes_rules = alf::filter_takes_rules(filter);
    if (takes_rules) alf::size_rule_tables(filter, compiled, {}, rule_hits);
    if (log_rate) alf::set_log_rate(filter, name, *log_rate);
    alf::set_socket_protocol(filter, socket_protocol);
    filter.load();
    if (takes_rules) alf::write_rule_tables(filter, rules, compiled);
    return {name, std::move(filter), ms_since(start)};
}

LoadedFilter load_subnets(const std::string &rules_path) {
    return load_with_rules(*alf::find_builtin_filter("subnets"), "subnets", rules_path);
}

LoadedFilter load_lpm(const std::vector<std::uint8_t> &elf, const std::string &rules_path) {
    // Parse and order the same rules (duplicates resolved as the rules filter does: deny wins).
    alf::RuleSet rules;
    alf::read_rules_file(rules, rules_path);
    alf::CompiledRules compiled = alf::compile_rules(rules);
    auto filter = alf::FilterObject::open(elf, "lpm");
    filter.set_map_size("lpm4", static_cast<std::uint32_t>(std::max<std::size_t>(compiled.ipv4_rules, 1)));
    filter.set_map_size("lpm6", static_cast<std::uint32_t>(std::max<std::size_t>(compiled.ipv6_rules, 1)));
    filter.load();
    int fd4 = bpf_map__fd(filter.find_map("lpm4")), fd6 = bpf_map__fd(filter.find_map("lpm6"));
    auto start = Clock::now();
    const auto &all = rules.rules;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const alf::Rule &rule = all[i];
        std::uint32_t verdict = static_cast<std::uint32_t>(rule.verdict);
        // Sorted, so equal prefixes are neighbours: a tie denies.
        for (; i + 1 < all.size() && all[i + 1].hi == rule.hi && all[i + 1].lo == rule.lo &&
               all[i + 1].prefix_len == rule.prefix_len;
             ++i)
            if (all[i + 1].verdict == alf::Verdict::deny) verdict = static_cast<std::uint32_t>(alf::Verdict::deny);
        std::uint8_t key[20] = {};
        if (rule.is_ipv4()) {
            std::uint32_t len = rule.prefix_len - 96u;
            std::memcpy(key, &len, 4);
            for (int b = 0; b < 4; ++b) key[4 + b] = static_cast<std::uint8_t>(rule.lo >> (24 - 8 * b));
        } else {
            std::uint32_t len = rule.prefix_len;
            std::memcpy(key, &len, 4);
            for (int b = 0; b < 8; ++b) {
                key[4 + b] = static_cast<std::uint8_t>(rule.hi >> (56 - 8 * b));
                key[12 + b] = static_cast<std::uint8_t>(rule.lo >> (56 - 8 * b));
            }
        }
        int fd = rule.is_ipv4() ? fd4 : fd6;
        if (bpf_map_update_elem(fd, key, &verdict, BPF_ANY) != 0)
            throw std::runtime_error("LPM insert failed: " + std::string(std::strerror(errno)));
    }
    return {"lpm trie", std::move(filter), ms_since(start)};
}

int empty_filter() {
    struct bpf_insn program[] = {
        {0xb7, 0, 0, 0, -1},  // r0 = -1 (keep the packet)
        {0x95, 0, 0, 0, 0},   // exit
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "empty", "GPL", program, 2, nullptr);
    if (fd < 0) throw std::runtime_error("loading the empty filter: " + std::string(std::strerror(errno)));
    return fd;
}

// --- packets ----------------------------------------------------------------

std::vector<std::uint8_t> probe_packet(const char *source, const char *destination) {
    return alf::synthetic_tcp_syn(*alf::parse_ip(source), *alf::parse_ip(destination));
}

std::vector<std::uint8_t> tcp_syn_ipv4() { return probe_packet("198.51.100.7", "192.0.2.1"); }
std::vector<std::uint8_t> tcp_syn_ipv6() { return probe_packet("2001:db8:1234:5678::7", "2001:db8::1"); }

struct RunResult {
    double ns;
    std::uint32_t retval;
};

RunResult test_run(int prog_fd, const std::vector<std::uint8_t> &packet, int repeat) {
    alf::TestRunResult result = alf::test_run_filter(prog_fd, packet, repeat);
    return {result.ns_per_run, result.verdict};
}

// Sources under 16 of the random rules (spread over the file), one packet each.
std::vector<std::vector<std::uint8_t>> random_sources(const std::string &rules_path, bool ipv4) {
    alf::RuleSet rules;
    alf::read_rules_file(rules, rules_path);
    std::vector<const alf::Rule *> candidates;
    for (std::size_t i = chain_count; i < rules.rules.size(); ++i)
        if (rules.rules[i].is_ipv4() == ipv4) candidates.push_back(&rules.rules[i]);
    std::vector<std::vector<std::uint8_t>> packets;
    for (std::size_t k = 0; k < 16 && !candidates.empty(); ++k) {
        const alf::Rule &rule = *candidates[k * candidates.size() / 16];
        alf::IpAddress source{ipv4 ? alf::Family::ipv4 : alf::Family::ipv6, {}};
        for (int i = 0; i < 8; ++i) {
            source.bytes[i] = static_cast<std::uint8_t>(rule.hi >> (56 - 8 * i));
            source.bytes[8 + i] = static_cast<std::uint8_t>(rule.lo >> (56 - 8 * i));
        }
        if (ipv4) std::copy(source.bytes.begin() + 12, source.bytes.end(), source.bytes.begin());
        source.bytes[ipv4 ? 3 : 15] |= rule.prefix_len < 128 ? 1 : 0;  // inside the prefix, not its first address
        packets.push_back(alf::synthetic_tcp_syn(source, *alf::parse_ip(ipv4 ? "192.0.2.1" : "2001:db8::1")));
    }
    return packets;
}

using Packets = std::vector<std::vector<std::uint8_t>>;

// The kernel's average over `repeat` runs in all, shared among the packets.
// With `must_pass` (naming the probe), a drop is an error: the chain
// probes' most specific rule allows them, so a drop means a wrong measurement.
double mean_run_ns(int fd, const Packets &packets, int repeat, const std::string &must_pass = "") {
    int each = std::max(1, repeat / static_cast<int>(packets.size()));
    double total = 0;
    for (const auto &packet : packets) {
        RunResult r = test_run(fd, packet, each);
        if (!must_pass.empty() && r.retval == 0)
            throw std::runtime_error("a filter dropped the " + must_pass + ": the measurement would be wrong");
        total += r.ns;
    }
    return total / static_cast<double>(packets.size());
}

// The probes of a rule set: the chain's two, and 16 sources of each family.
std::vector<std::pair<std::string, Packets>> probes_for(const std::string &rules_path) {
    return {
        {"IPv4 probe", {tcp_syn_ipv4()}},
        {"IPv6 probe", {tcp_syn_ipv6()}},
        {"16 IPv4 sources", random_sources(rules_path, true)},
        {"16 IPv6 sources", random_sources(rules_path, false)},
    };
}

int run_packet(const std::vector<std::size_t> &sizes, int rounds, int repeat) {
    auto lpm_elf = compile_source(lpm_filter_source, "lpm.c");
    int empty = empty_filter();
    std::cout << "| rules | packets | empty filter ns | rules filter ns | LPM trie ns | rules filter load ms | "
                 "LPM trie insert ms |\n|---|---|---|---|---|---|---|\n";
    for (std::size_t size : sizes) {
        std::string path = scratch().file("rules");
        generate_rules(size, path);
        LoadedFilter subnets = load_subnets(path);
        LoadedFilter lpm = load_lpm(lpm_elf, path);
        auto probes = probes_for(path);
        std::remove(path.c_str());
        for (const auto &[label, packets] : probes) {
            if (packets.empty()) continue;
            bool chain = label.find("probe") != std::string::npos;
            auto mean_ns = [&](int fd, bool must_pass) {
                return mean_run_ns(fd, packets, repeat, must_pass ? label + " at " + std::to_string(size) + " rules" : "");
            };
            std::vector<double> e, s, l;
            for (int round = 0; round < rounds; ++round) {
                e.push_back(mean_ns(empty, true));
                s.push_back(mean_ns(subnets.object.program_fd(), chain));
                l.push_back(mean_ns(lpm.object.program_fd(), chain));
            }
            char row[256];
            std::snprintf(row, sizeof row, "| %zu | %s | %.1f | %.1f | %.1f | %.0f | %.0f |\n", size, label.c_str(),
                          median(e), median(s), median(l), subnets.load_ms, lpm.load_ms);
            std::cout << row << std::flush;
        }
    }
    close(empty);
    return 0;
}

int run_filters(const std::vector<std::string> &sources, const std::vector<std::size_t> &sizes, int rounds,
                int repeat) {
    int empty = empty_filter();
    auto v4 = tcp_syn_ipv4(), v6 = tcp_syn_ipv6();
    std::cout << "| filter | rules | empty IPv4 ns | IPv4 ns | IPv6 ns | instructions |\n|---|---|---|---|---|---|\n";
    for (std::size_t size : sizes) {
        std::string path = scratch().file("rules");
        generate_rules(size, path);
        for (const auto &source : sources) {
            LoadedFilter filter = load_with_rules(compile_file(source), source, path);
            std::vector<double> e, a, b;
            for (int round = 0; round < rounds; ++round) {
                e.push_back(test_run(empty, v4, repeat).ns);
                a.push_back(test_run(filter.object.program_fd(), v4, repeat).ns);
                b.push_back(test_run(filter.object.program_fd(), v6, repeat).ns);
            }
            char row[512];
            std::snprintf(row, sizeof row, "| %s | %zu | %.1f | %.1f | %.1f | %u |\n", source.c_str(), size, median(e),
                          median(a), median(b), filter.object.program_instructions());
            std::cout << row << std::flush;
        }
        std::remove(path.c_str());
    }
    close(empty);
    return 0;
}

// --- two filters side by side --------------------------------------------------

// A filter of `rule_bench compare`: its source and its drop log's rate.
struct Side {
    std::string source;
    std::optional<std::string> log_rate;  // as alfwrapper --log-rate; nullopt: as compiled
    int socket_protocol = 0;              // as alfwrapper sets it for its sockets; 0: read from each packet
    bool rule_hits = false;               // as alfwrapper --rule-hits

    std::string describe() const {
        return "`" + source + "`" + (log_rate ? ", --log-rate " + *log_rate : ", drop log as compiled (off)") +
               (socket_protocol == 6 ? ", sockets all TCP" : "") + (rule_hits ? ", --rule-hits" : "");
    }
};

// The packets of a comparison: the chain's probes, which the most specific
// rule admits, and a source beside each that a deny one level up refuses
// (as deep in the chain), each with the verdict both filters must give.
struct ComparedPacket {
    const char *label, *source, *destination;
    bool passes;
};
constexpr ComparedPacket compared_packets[] = {
    {"IPv4 probe", "198.51.100.7", "192.0.2.1", true},
    {"IPv6 probe", "2001:db8:1234:5678::7", "2001:db8::1", true},
    {"IPv4 refused", "198.51.100.6", "192.0.2.1", false},
    {"IPv6 refused", "2001:db8:1234:5678::6", "2001:db8::1", false},
};

// What B costs a packet more than A: each round runs both on a packet, one
// after the other, A first in even rounds and B first in odd ones; the
// difference is the median of the rounds' differences, with their range.
int run_compare(const std::vector<Side> &sides, const std::vector<std::size_t> &sizes, int rounds, int repeat) {
    if (sides.size() != 2) throw std::runtime_error("compare takes two filters, A.c and B.c");
    std::vector<std::vector<std::uint8_t>> objects;
    for (const auto &side : sides) objects.push_back(compile_file(side.source));
    bool described = false;
    for (std::size_t size : sizes) {
        std::string path = scratch().file("rules");
        generate_rules(size, path);
        std::vector<LoadedFilter> loaded;
        for (std::size_t i = 0; i < sides.size(); ++i)
            loaded.push_back(
                load_with_rules(objects[i], sides[i].source, path, sides[i].log_rate, sides[i].socket_protocol,
                                sides[i].rule_hits));
        std::remove(path.c_str());
        if (!described) {
            for (std::size_t i = 0; i < sides.size(); ++i) {
                alf::LoadedProgramInfo info = loaded[i].object.loaded_program_info();
                std::cout << (i ? "B: " : "A: ") << sides[i].describe() << "; " << info.translated_bytes / 8
                          << " instructions as loaded (after the verifier), " << info.jited_bytes
                          << " bytes of machine code  \n";
            }
            std::cout << "\n| rules | packet | verdict | A ns | B ns | B - A ns |\n|---|---|---|---|---|---|\n";
            described = true;
        }
        for (const auto &p : compared_packets) {
            auto packet = probe_packet(p.source, p.destination);
            for (const auto &filter : loaded)
                if ((test_run(filter.object.program_fd(), packet, 1).retval != 0) != p.passes)
                    throw std::runtime_error(filter.name + " " + (p.passes ? "drops" : "passes") + " the " + p.label +
                                             " at " + std::to_string(size) + " rules: the measurement would be wrong");
            std::vector<double> a, b, difference;
            for (int round = 0; round < rounds; ++round) {
                double ns[2];
                for (int k = 0; k < 2; ++k) {
                    int which = round % 2 ? 1 - k : k;
                    int fd = loaded[static_cast<std::size_t>(which)].object.program_fd();
                    ns[which] = test_run(fd, packet, repeat).ns;
                }
                a.push_back(ns[0]);
                b.push_back(ns[1]);
                difference.push_back(ns[1] - ns[0]);
            }
            auto [least, most] = std::minmax_element(difference.begin(), difference.end());
            char row[256];
            std::snprintf(row, sizeof row, "| %zu | %s | %s | %.1f | %.1f | %.1f (%.0f to %.0f) |\n", size, p.label,
                          p.passes ? "pass" : "drop", median(a), median(b), median(difference), *least, *most);
            std::cout << row << std::flush;
        }
    }
    return 0;
}

// --- classic BPF --------------------------------------------------------------

struct ClassicFit {
    std::size_t rules = 0;
    alf::ClassicRules program;
    std::string one_more;  // why one rule more does not fit
};

using Generator = void (*)(std::size_t, const std::string &);

// The rules as classic BPF, attached to a socket (SO_ATTACH_FILTER) as
// alfwrapper attaches them: a set fits when the compiler builds its program
// and the kernel accepts that program. A program the compiler builds but the
// kernel refuses is an error, not a smaller figure. `refusal` gets the
// compiler's reason when the rules do not fit.
std::optional<alf::ClassicRules> classic_for(std::size_t size, const std::string &path,
                                             Generator generate = generate_rules, std::string *refusal = nullptr) {
    generate(size, path);
    alf::RuleSet rules;
    alf::read_rules_file(rules, path);
    alf::CompiledRules compiled = alf::compile_rules(rules);
    std::optional<alf::ClassicRules> classic;
    try {
        classic = alf::compile_rules_classic(rules, compiled);
    } catch (const alf::Error &e) {
        if (refusal) {  // "rules: N IPv4 and M IPv6 rules: the rules need K classic BPF instructions; advice"
            std::string reason = std::string(e.what()).substr(0, std::string(e.what()).find("; "));
            *refusal = reason.substr(reason.rfind(": ") == std::string::npos ? 0 : reason.rfind(": ") + 2);
        }
        return std::nullopt;
    }
    alf::with_context(std::to_string(size) + " rules, " + std::to_string(classic->program.instructions.size()) +
                          " instructions",
                      [&] { alf::check_classic(classic->program); });
    return classic;
}

// The largest rule set of a generator's that fits (bisection: a set of n
// rules is a prefix of the set of n + 1), with the reason n + 1 does not.
ClassicFit largest_classic(const std::string &path, Generator generate = generate_rules) {
    std::size_t fits = 1, fails = 16384;
    while (fails - fits > 1) {
        std::size_t mid = (fits + fails) / 2;
        (classic_for(mid, path, generate) ? fits : fails) = mid;
    }
    ClassicFit fit{fits, *classic_for(fits, path, generate), ""};
    if (classic_for(fits + 1, path, generate, &fit.one_more))
        throw std::runtime_error(std::to_string(fits + 1) + " rules fit after all: the bisection is wrong");
    return fit;
}

// The kernel's own limit, asked the same way: a program of
// classic_max_instructions attaches, one instruction more is refused. With
// the fits above, the figures say what the kernel takes, not what the
// compiler assumes.
std::string kernel_limit() {
    const std::size_t limit = alf::classic_max_instructions;
    alf::ClassicProgram program{std::vector<sock_filter>(limit, sock_filter{BPF_RET | BPF_K, 0, 0, 0})};
    alf::check_classic(program);
    program.instructions.push_back(program.instructions.back());
    try {
        alf::check_classic(program);
    } catch (const alf::Error &) {
        return "the kernel's limit (SO_ATTACH_FILTER on a UDP socket): " + std::to_string(limit) +
               " instructions accepted, " + std::to_string(limit + 1) + " refused";
    }
    throw std::runtime_error("the kernel accepted " + std::to_string(limit + 1) +
                             " classic instructions: the compiler's limit is not the kernel's");
}

// Rule sets of one shape for the classic limit: random prefixes, a quarter deny.
template <int Ipv4Len, int Ipv6Len, bool Mixed>
void generate_shape(std::size_t n, const std::string &path) {
    std::ofstream out(path);
    std::mt19937_64 random(7);
    char line[96];
    for (std::size_t i = 0; i < n; ++i) {
        const char *verb = random() % 4 == 0 ? "deny" : "allow";
        bool ipv4 = Mixed ? i % 2 == 0 : Ipv4Len > 0;
        std::uint64_t r = random();
        if (ipv4) {
            std::uint32_t a = static_cast<std::uint32_t>(r) & static_cast<std::uint32_t>(~0ull << (32 - Ipv4Len));
            std::snprintf(line, sizeof line, "%s %u.%u.%u.%u/%d\n", verb, a >> 24, (a >> 16) & 255, (a >> 8) & 255,
                          a & 255, Ipv4Len);
        } else if (Ipv6Len == 128) {  // hosts in one /32, as a service's clients might be
            std::snprintf(line, sizeof line, "%s 2001:db8:%x:%x:%x::%x\n", verb, unsigned(r >> 48) & 0xffff,
                          unsigned(r >> 32) & 0xffff, unsigned(r >> 16) & 0xffff, unsigned(r) & 0xffff);
        } else {
            std::snprintf(line, sizeof line, "%s %x:%x:%x::/48\n", verb, 0x2000 | (unsigned(r >> 36) & 0xfff),
                          unsigned(r >> 16) & 0xffff, unsigned(r) & 0xffff);
        }
        out << line;
    }
}

// How many rules of each shape fit classic BPF's 4096 instructions.
int run_classic_limits() {
    std::string path = scratch().file("rules");
    const std::pair<const char *, Generator> shapes[] = {
        {"the benchmark's mix (see packet)", generate_rules},
        {"random IPv4 /24 and IPv6 /48, half each", generate_shape<24, 48, true>},
        {"random IPv4 /24", generate_shape<24, 0, false>},
        {"random IPv4 hosts", generate_shape<32, 0, false>},
        {"random IPv6 /48", generate_shape<0, 48, false>},
        {"random IPv6 hosts in 2001:db8::/32", generate_shape<0, 128, false>},
    };
    std::cout << kernel_limit() << "\n\n"
              << "| rules | largest that fits (kernel accepted) | instructions | one rule more |\n|---|---|---|---|\n";
    for (const auto &[label, generate] : shapes) {
        ClassicFit fit = largest_classic(path, generate);
        std::cout << "| " << label << " | " << fit.rules << " | " << fit.program.program.instructions.size() << " | "
                  << fit.one_more << " |\n"
                  << std::flush;
    }
    std::remove(path.c_str());
    return 0;
}

// Per packet: the rules as a classic program (translated to eBPF as the
// kernel converts it, then test-run) next to the eBPF rules filter and an
// empty filter, at the given sizes and at the largest that fits.
int run_classic(std::vector<std::size_t> sizes, int rounds, int repeat) {
    std::string path = scratch().file("rules");
    ClassicFit largest = largest_classic(path);
    std::cout << kernel_limit() << "\n\n";
    std::cout << "largest rule set that fits (kernel accepted): " << largest.rules << " rules ("
              << largest.program.program.instructions.size() << " classic instructions, "
              << alf::classic_to_ebpf(largest.program.program.instructions).size() << " after conversion; "
              << largest.program.ipv4_segments << " IPv4 + " << largest.program.ipv6_segments
              << " IPv6 segments); one rule more: " << largest.one_more << "\n\n";
    sizes.push_back(largest.rules);
    int empty = empty_filter();
    std::cout << "| rules | packets | empty filter ns | eBPF rules filter ns | classic ns | classic / eBPF | "
                 "classic instructions |\n|---|---|---|---|---|---|---|\n";
    for (std::size_t size : sizes) {
        auto classic = classic_for(size, path);
        if (!classic) throw std::runtime_error(std::to_string(size) + " rules do not fit classic BPF");
        alf::UniqueFd classic_fd = std::move(alf::load_classic_as_ebpf(classic->program.instructions).fd);
        LoadedFilter subnets = load_subnets(path);
        for (const auto &[label, packets] : probes_for(path)) {
            if (packets.empty()) continue;
            for (const auto &packet : packets)
                if ((test_run(classic_fd.get(), packet, 1).retval != 0) !=
                    (test_run(subnets.object.program_fd(), packet, 1).retval != 0))
                    throw std::runtime_error("classic and eBPF verdicts differ for the " + label);
            bool chain = label.find("probe") != std::string::npos;
            std::string must_pass = chain ? label + " at " + std::to_string(size) + " rules" : "";
            std::vector<double> e, s, c;
            for (int round = 0; round < rounds; ++round) {
                e.push_back(mean_run_ns(empty, packets, repeat, must_pass));
                s.push_back(mean_run_ns(subnets.object.program_fd(), packets, repeat, must_pass));
                c.push_back(mean_run_ns(classic_fd.get(), packets, repeat, must_pass));
            }
            char row[256];
            std::snprintf(row, sizeof row, "| %zu | %s | %.1f | %.1f | %.1f | %.2f | %zu |\n", size, label.c_str(),
                          median(e), median(s), median(c), median(c) / median(s),
                          classic->program.instructions.size());
            std::cout << row << std::flush;
        }
    }
    std::remove(path.c_str());
    close(empty);
    return 0;
}

// --- loading through alfwrapper ---------------------------------------------

int free_port() {
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    socklen_t len = sizeof address;
    bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address);
    getsockname(fd, reinterpret_cast<sockaddr *>(&address), &len);
    close(fd);
    return ntohs(address.sin6_port);
}

int run_load(const std::string &alfwrapper, const std::vector<std::size_t> &sizes, int rounds) {
    std::cout << "| rules | alfwrapper wall ms | read ms | compile ms | write ms | peak RSS MiB | "
                 "RSS above 20 rules MiB | rules x 24 B MiB |\n|---|---|---|---|---|---|---|---|\n";
    auto measure = [&](std::size_t size) {
        std::string path = scratch().file("rules");
        generate_rules(size, path);
        std::vector<double> wall, read, compile, write, rss;
        for (int round = 0; round < rounds; ++round) {
            ChildRun run = run_program(alfwrapper, {"-v", "--port", std::to_string(free_port()), "--rules-file", path,
                                                    "--dry-run", "--", "true"},
                                       scratch().path().string());
            if (!run.succeeded()) throw std::runtime_error(run.failure("alfwrapper"));
            wall.push_back(run.wall_ms);
            read.push_back(figure_after(run.stderr_text, "read in "));
            compile.push_back(figure_after(run.stderr_text, "address ranges in "));
            write.push_back(figure_after(run.stderr_text, "tables written in "));
            rss.push_back(static_cast<double>(run.max_rss_kb) / 1024.0);
        }
        std::remove(path.c_str());
        return std::vector<double>{median(wall), median(read), median(compile), median(write), median(rss)};
    };
    double base_rss = measure(20)[4];
    for (std::size_t size : sizes) {
        auto m = measure(size);
        char row[256];
        std::snprintf(row, sizeof row, "| %zu | %.0f | %.0f | %.0f | %.0f | %.1f | %.1f | %.1f |\n", size, m[0], m[1],
                      m[2], m[3], m[4], m[4] - base_rss, static_cast<double>(size) * 24 / 1048576.0);
        std::cout << row << std::flush;
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << "usage: rule_bench packet|load|filters|compare|classic|classic-limits|generate ... "
                     "(see the source's header)\n";
        return 2;
    }
    std::string mode = args[0];
    std::vector<std::size_t> sizes;
    int rounds = mode == "load" ? 3 : 7, repeat = 1000000;
    std::string alfwrapper;
    try {
        if (mode == "generate") {
            if (args.size() != 3 && args.size() != 4)
                throw std::runtime_error("usage: rule_bench generate N FILE [SEED]");
            std::uint64_t seed = args.size() == 4 ? std::stoull(args[3]) : 42;
            alf::bench::generate_rules(std::stoul(args[1]), args[2], {false, seed});
            return 0;
        }
        std::vector<Side> sources;
        std::optional<std::string> log_rate;
        int socket_protocol = 0;
        bool rule_hits = false;
        for (std::size_t i = 1; i < args.size(); i += 2) {
            if (args[i] == "--clustered") {
                clustered = true;
                --i;
                continue;
            }
            if (args[i].ends_with(".c")) {
                sources.push_back({args[i--], log_rate, socket_protocol, rule_hits});
                continue;
            }
            if (i + 1 >= args.size()) throw std::runtime_error("missing value after " + args[i]);
            if (args[i] == "--sizes") sizes = parse_sizes(args[i + 1]);
            else if (args[i] == "--log-rate") log_rate = args[i + 1];
            else if (args[i] == "--socket-protocol" && args[i + 1] == "tcp") socket_protocol = 6;
            else if (args[i] == "--rule-hits") rule_hits = args[i + 1] == "on";
            else if (args[i] == "--rounds") rounds = std::stoi(args[i + 1]);
            else if (args[i] == "--repeat") repeat = std::stoi(args[i + 1]);
            else if (args[i] == "--alfwrapper") alfwrapper = args[i + 1];
            else throw std::runtime_error("unknown argument " + args[i]);
        }
        if (mode == "packet") {
            if (sizes.empty()) sizes = {20, 10000, 1000000};
            return run_packet(sizes, rounds, repeat);
        }
        if (mode == "filters") {
            if (sizes.empty()) sizes = {20};
            std::vector<std::string> files;
            for (const auto &side : sources) files.push_back(side.source);
            return run_filters(files, sizes, rounds, repeat);
        }
        if (mode == "compare") {
            if (sizes.empty()) sizes = {20};
            return run_compare(sources, sizes, rounds, repeat);
        }
        if (mode == "classic-limits") return run_classic_limits();
        if (mode == "classic") {
            if (sizes.empty()) sizes = {20, 1000};
            return run_classic(sizes, rounds, repeat);
        }
        if (mode == "load") {
            if (sizes.empty()) sizes = {10000, 100000, 1000000};
            if (alfwrapper.empty()) throw std::runtime_error("load needs --alfwrapper PATH");
            return run_load(alfwrapper, sizes, rounds);
        }
        throw std::runtime_error("unknown mode " + mode);
    } catch (const std::exception &e) {
        std::cerr << "rule_bench: " << e.what() << "\n";
        if (auto *error = dynamic_cast<const alf::Error *>(&e)) std::cerr << error->detail();
        return 1;
    }
}
