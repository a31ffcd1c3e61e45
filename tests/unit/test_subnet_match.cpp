// The whitelist filter's subnet match (<alfwrapper/addr.h>) in the kernel,
// against a plain bit-by-bit reference: random subnets of every prefix
// length, sources inside, just outside and far from them, both families
// and IPv4-mapped IPv6 sources, and both of the headers' codes (as root,
// and as a delegated alfwrapper loads them); the filter built in, and
// compiled from its source as alfwrapper compiles it (split in two, its
// callbacks compiled beside its program, and linked).
#include "bpf/filter_object.hpp"
#include "common/net_address.hpp"
#include "common/util.hpp"
#include "compile/builtin_filters.hpp"
#include "compile/compiler.hpp"
#include "compile/headers.hpp"
#include "compile/log_library.hpp"
#include "inputs/map_entries.hpp"
#include "workbench/test_run.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace alf;

namespace {

struct Net {
    IpAddress address;
    unsigned length;
};

// filters/whitelist.c compiled as alfwrapper compiles a source; none where
// the process may not use two CPUs (no compile is split there).
std::vector<std::uint8_t> whitelist_compiled_split() {
    if (!can_run_here(may_run_on_two_cpus(), "this process may not use two CPUs: no compile is split")) return {};
    CompileRequest request{.source_path = std::string(ALF_SOURCE_DIR) + "/filters/whitelist.c",
                           .runtime_headers = runtime_headers(),
                           .precompiled_log = true,
                           .optimization = Optimization::fast,
                           .split_functions = true};
    CompileResult result = compile_filter(request);
    REQUIRE_MESSAGE(result.ok, result.diagnostics);
    REQUIRE(result.more_objects.size() == 1);
    CHECK(std::set<std::string>(result.hidden_functions.begin(), result.hidden_functions.end()) ==
          std::set<std::string>{"search_allow4", "search_allow6"});
    return link_compiled_objects(result.object, result.more_objects, result.hidden_functions, "whitelist.c");
}

bool bit(const IpAddress &a, unsigned i) { return (a.bytes[i / 8] >> (7 - i % 8)) & 1; }

void flip(IpAddress &a, unsigned i) { a.bytes[i / 8] ^= static_cast<std::uint8_t>(0x80 >> (i % 8)); }

bool covers(const Net &net, const IpAddress &a) {
    if (net.address.family != a.family) return false;
    for (unsigned i = 0; i < net.length; ++i)
        if (bit(net.address, i) != bit(a, i)) return false;
    return true;
}

// Host bits cleared, as the map holds a subnet.
Net random_net(std::mt19937_64 &random, Family family) {
    Net net{random_ip(random, family), 1 + static_cast<unsigned>(random() % (family == Family::ipv4 ? 32 : 128))};
    for (unsigned i = net.length; i < net.address.max_prefix(); ++i)
        if (bit(net.address, i)) flip(net.address, i);
    return net;
}

// The address a source is judged as: an IPv4-mapped IPv6 source as its
// IPv4 address.
IpAddress judged_as(const IpAddress &a) {
    if (a.family != Family::ipv6 || a.bytes[10] != 0xff || a.bytes[11] != 0xff ||
        std::any_of(a.bytes.begin(), a.bytes.begin() + 10, [](std::uint8_t b) { return b != 0; }))
        return a;
    IpAddress v4;
    std::copy(a.bytes.begin() + 12, a.bytes.begin() + 16, v4.bytes.begin());
    return v4;
}

// a (IPv4) as an IPv4-mapped IPv6 address.
IpAddress mapped(const IpAddress &a) {
    IpAddress v6;
    v6.family = Family::ipv6;
    v6.bytes[10] = v6.bytes[11] = 0xff;
    std::copy(a.bytes.begin(), a.bytes.begin() + 4, v6.bytes.begin() + 12);
    return v6;
}

}  // namespace

TEST_CASE("the whitelist filter admits exactly the sources its subnets hold (needs root)" * root_suite) {
    require_root("loading the whitelist filter needs root (CAP_BPF)");
    std::mt19937_64 random(7);
    std::vector<Net> nets;
    for (int i = 0; i < 24; ++i) nets.push_back(random_net(random, i % 3 == 0 ? Family::ipv4 : Family::ipv6));

    // Sources in each subnet, out of it by its prefix's last bit or an
    // earlier one, in it with its first host bit flipped, and anywhere.
    std::vector<IpAddress> sources;
    for (const Net &net : nets) {
        IpAddress in = net.address;
        for (unsigned i = net.length; i < in.max_prefix(); ++i)
            if (random() & 1) flip(in, i);
        sources.push_back(in);
        IpAddress last_bit_out = in;
        flip(last_bit_out, net.length - 1);
        sources.push_back(last_bit_out);
        IpAddress early_bit_out = in;
        flip(early_bit_out, static_cast<unsigned>(random() % net.length));
        sources.push_back(early_bit_out);
        if (net.length < in.max_prefix()) {
            IpAddress first_host_bit = in;  // still in
            flip(first_host_bit, net.length);
            sources.push_back(first_host_bit);
        }
    }
    for (int i = 0; i < 200; ++i) sources.push_back(random_ip(random, i % 2 ? Family::ipv6 : Family::ipv4));
    // IPv4 sources arriving IPv4-mapped in IPv6, judged by allow4.
    for (std::size_t i = 0, n = sources.size(); i < n; ++i)
        if (sources[i].family == Family::ipv4) sources.push_back(mapped(sources[i]));

    std::vector<MapSetting> settings;
    int index4 = 0, index6 = 0;
    for (const Net &net : nets) {
        bool ipv4 = net.address.family == Family::ipv4;
        settings.push_back({ipv4 ? "allow4" : "allow6", std::to_string(ipv4 ? index4++ : index6++),
                            format_ip(net.address) + "/" + std::to_string(net.length), true, "test"});
    }

    auto builtin = *find_builtin_filter("whitelist");
    std::vector<std::pair<std::string, std::vector<std::uint8_t>>> objects = {
        {"built in", std::vector<std::uint8_t>(builtin.begin(), builtin.end())},
        {"compiled split", whitelist_compiled_split()}};
    if (objects.back().second.empty()) objects.pop_back();
    for (std::size_t run = 0; run < objects.size() * 2; ++run) {
        const std::string &how = objects[run / 2].first;
        bool guarded = run % 2 != 0;
        auto filter = FilterObject::open(objects[run / 2].second, "whitelist");
        auto encoded = encode_map_settings(filter, settings, {});
        filter.assume_stack_stores_guarded(guarded);
        filter.load();
        write_map_entries(filter, encoded);
        int admitted_count = 0;
        for (const IpAddress &source : sources) {
            bool expected = false;
            for (const Net &net : nets) expected |= covers(net, judged_as(source));
            IpAddress destination = source.family == Family::ipv4 ? *parse_ip("192.0.2.1") : *parse_ip("2001:db8::1");
            bool admitted = test_run_filter(filter.program_fd(), synthetic_tcp_syn(source, destination)).verdict != 0;
            INFO("source " << format_ip(source) << " (" << how << (guarded ? ", guarded)" : ")"));
            REQUIRE(admitted == expected);
            admitted_count += admitted;
        }
        // Both outcomes occur.
        CHECK(admitted_count > 40);
        CHECK(admitted_count < static_cast<int>(sources.size()) - 40);
    }
}
