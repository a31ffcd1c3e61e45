#include "live/traffic.hpp"

#include "common/error.hpp"
#include "common/net_address.hpp"
#include "common/util.hpp"
#include "live/service.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace alf {

namespace {

// The layout of <alfwrapper/stats.h>.
constexpr std::uint32_t packet_keys = 18, logged_key = 18, suppressed_key = 19, stats_keys = 20;
struct CounterValue {
    std::uint64_t packets, bytes;
};
constexpr std::size_t log_header_bytes = 72, log_slots = 256;
struct EventValue {
    std::uint64_t seq, time_ns;
    std::uint8_t verdict, family, protocol, header_len;
    std::uint16_t sport, dport;
    std::uint8_t bytes[log_header_bytes];  // saddr and daddr when parsed, else the packet's first header_len bytes
};
using LogRing = std::array<EventValue, log_slots>;
static_assert(sizeof(CounterValue) == 16 && sizeof(EventValue) == 96 && sizeof(LogRing) == 96 * 256,
              "the layout of <alfwrapper/stats.h>");
constexpr int af_inet = 2, af_inet6 = 10;
constexpr std::uint8_t verdict_drop = 0;  // ALF_DROP; ALF_PASS is -1

const char *const family_names[] = {"IPv4", "IPv6", "other"};
const char *const protocol_names[] = {"TCP", "UDP", "other"};

// A per-CPU map of the service: its descriptor and the size of one CPU's value.
UniqueFd open_per_cpu(const RunningFilter &service, const char *map, std::size_t value_size, std::uint32_t entries,
                      const std::string &missing) {
    UniqueFd fd = open_service_map(service, map);
    if (!fd) throw Error(describe_service(service) + ": " + missing);
    bpf_map_info info{};
    std::uint32_t length = sizeof info;
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0)
        throw system_error(describe_service(service) + ": map " + map, errno);
    if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.value_size != value_size || info.max_entries < entries)
        throw Error(describe_service(service) + ": map " + map + " is not as <alfwrapper/stats.h> of this alfctl " +
                    "declares it (a filter compiled with other runtime headers, e.g. of another alfwrapper version: " +
                    "restart the service with this version to read it)");
    return fd;
}

// One key of a per-CPU array, as each CPU holds it.
template <typename Value>
std::vector<Value> per_cpu(int map, std::uint32_t key) {
    static_assert(sizeof(Value) % 8 == 0, "the kernel copies each CPU's value 8-byte aligned");
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) throw system_error("counting the CPUs", -cpus);
    std::vector<Value> values(static_cast<std::size_t>(cpus));
    if (bpf_map_lookup_elem(map, &key, values.data()) != 0) throw system_error("reading a per-CPU map", errno);
    return values;
}

std::string format_decimal(double value, int digits) {
    char text[32];
    std::snprintf(text, sizeof text, "%.*f", digits, value);
    return text;
}

std::string format_bytes(std::uint64_t bytes) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? std::to_string(bytes) + " B" : format_decimal(value, 1) + " " + units[unit];
}

std::string amount(std::uint64_t packets, std::uint64_t bytes) {
    return std::to_string(packets) + " (" + format_bytes(bytes) + ")";
}

std::string address_text(int family, const std::uint8_t *bytes) {
    IpAddress address;
    address.family = family == af_inet6 ? Family::ipv6 : Family::ipv4;
    std::memcpy(address.bytes.data(), bytes, family == af_inet6 ? 16 : 4);
    return format_ip(address);
}

std::string endpoint(int family, const std::uint8_t *address, std::uint16_t port) {
    std::string text = address_text(family, address);
    return (family == af_inet6 ? "[" + text + "]" : text) + ":" + std::to_string(port);
}

std::string protocol_text(std::uint8_t protocol) {
    switch (protocol) {
    case 6: return "tcp";
    case 17: return "udp";
    default: return "ip-proto-" + std::to_string(protocol);
    }
}

// CLOCK_MONOTONIC nanoseconds as local wall-clock time.
std::string wall_time(std::uint64_t monotonic_ns, bool iso) {
    timespec now_mono{}, now_real{};
    clock_gettime(CLOCK_MONOTONIC, &now_mono);
    clock_gettime(CLOCK_REALTIME, &now_real);
    std::int64_t mono = std::int64_t(now_mono.tv_sec) * 1000000000 + now_mono.tv_nsec;
    std::int64_t real = std::int64_t(now_real.tv_sec) * 1000000000 + now_real.tv_nsec;
    std::int64_t at = real - (mono - static_cast<std::int64_t>(monotonic_ns));
    std::time_t seconds = static_cast<std::time_t>(at / 1000000000);
    std::tm tm{};
    char text[64], micros[16];
    if (iso) {
        gmtime_r(&seconds, &tm);
        std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
        std::snprintf(micros, sizeof micros, ".%06lldZ", static_cast<long long>(at % 1000000000 / 1000));
    } else {
        localtime_r(&seconds, &tm);
        std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
        std::snprintf(micros, sizeof micros, ".%06lld", static_cast<long long>(at % 1000000000 / 1000));
    }
    return std::string(text) + micros;
}

}  // namespace

bool decode_logged_header(const std::uint8_t *header, std::size_t length, LogEvent &event) {
    auto be16 = [&](std::size_t at) { return static_cast<std::uint16_t>(header[at] << 8 | header[at + 1]); };
    std::size_t transport = 0;  // 0: no ports to read (a protocol without them, a later fragment)
    std::uint8_t protocol;
    if (length >= 20 && header[0] >> 4 == 4) {
        std::size_t header_length = static_cast<std::size_t>(header[0] & 0x0f) * 4;
        if (header_length < 20) return false;
        event.family = af_inet;
        std::memcpy(event.saddr.data(), header + 12, 4);
        std::memcpy(event.daddr.data(), header + 16, 4);
        protocol = header[9];
        if ((be16(6) & 0x1fff) == 0) transport = header_length;
    } else if (length >= 40 && header[0] >> 4 == 6) {
        event.family = af_inet6;
        std::memcpy(event.saddr.data(), header + 8, 16);
        std::memcpy(event.daddr.data(), header + 24, 16);
        protocol = header[6];
        transport = 40;
        // The extension headers the filters' parse skips (<alfwrapper/packet.h>).
        for (int skipped = 0; skipped < 4 && (protocol == IPPROTO_HOPOPTS || protocol == IPPROTO_ROUTING ||
                                              protocol == IPPROTO_DSTOPTS);
             ++skipped) {
            if (transport + 2 > length) {  // cut inside them: no transport protocol, no ports
                event.protocol = protocol;
                return true;
            }
            protocol = header[transport];
            transport += (static_cast<std::size_t>(header[transport + 1]) + 1) * 8;
        }
    } else {
        return false;
    }
    event.protocol = protocol;
    bool has_ports = protocol == IPPROTO_TCP || protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE ||
                     protocol == IPPROTO_SCTP;
    if (has_ports && transport != 0 && transport + 4 <= length) {
        event.sport = be16(transport);
        event.dport = be16(transport + 2);
    }
    return true;
}

TrafficCounters read_counters(const RunningFilter &service) {
    UniqueFd map = open_per_cpu(service, "alf_stats", sizeof(CounterValue), stats_keys,
                                "its filter (" + service.metadata.filter + ") keeps no counters: a filter counts by "
                                "returning its verdicts through alf_verdict() of <alfwrapper/filter.h>");
    TrafficCounters counters;
    for (std::uint32_t key = 0; key < stats_keys; ++key) {
        TrafficCounter sum;
        for (const auto &value : per_cpu<CounterValue>(map.get(), key)) {
            sum.packets += value.packets;
            sum.bytes += value.bytes;
        }
        if (key < packet_keys) counters.packets[key / 6][key / 2 % 3][key % 2] = sum;
        else if (key == logged_key) counters.logged = sum.packets;
        else if (key == suppressed_key) counters.suppressed = sum.packets;
    }
    return counters;
}

std::string format_counters(const RunningFilter &service, const TrafficCounters &counters,
                            const TrafficCounters *previous, double seconds) {
    std::string text = describe_service(service) + ", filter " + service.metadata.filter +
                       (previous ? ", in the last " + format_decimal(seconds, 1) + " s" : ", since it was loaded") +
                       ":\n";
    auto row = [](std::string a, std::string b, std::string c) {
        a.resize(std::max<std::size_t>(a.size(), 12), ' ');
        b.resize(std::max<std::size_t>(b.size(), 24), ' ');
        return a + b + c + "\n";
    };
    text += row("", "passed", "dropped");
    for (int family = 0; family < 3; ++family)
        for (int protocol = 0; protocol < 3; ++protocol) {
            auto now = counters.packets[family][protocol];
            TrafficCounter cells[2];
            for (int dropped = 0; dropped < 2; ++dropped) {
                cells[dropped] = now[dropped];
                if (previous) {
                    const auto &before = previous->packets[family][protocol][dropped];
                    cells[dropped].packets -= std::min(before.packets, cells[dropped].packets);
                    cells[dropped].bytes -= std::min(before.bytes, cells[dropped].bytes);
                }
            }
            if (!cells[0].packets && !cells[1].packets && (family == 2 || protocol == 2)) continue;
            text += row(std::string(family_names[family]) + " " + protocol_names[protocol],
                        amount(cells[0].packets, cells[0].bytes), amount(cells[1].packets, cells[1].bytes));
        }
    std::uint64_t logged = counters.logged - (previous ? std::min(previous->logged, counters.logged) : 0);
    std::uint64_t suppressed = counters.suppressed - (previous ? std::min(previous->suppressed, counters.suppressed) : 0);
    text += "drop log: " + std::to_string(logged) + " logged, " + std::to_string(suppressed) +
            " over its rate and not logged (alfctl log " + service.metadata.name + ")\n";
    return text;
}

nlohmann::json counters_json(const RunningFilter &service, const TrafficCounters &counters) {
    nlohmann::json rows = nlohmann::json::array();
    for (int family = 0; family < 3; ++family)
        for (int protocol = 0; protocol < 3; ++protocol) {
            const auto &cells = counters.packets[family][protocol];
            rows.push_back({{"family", family_names[family]},
                            {"protocol", protocol_names[protocol]},
                            {"passed", {{"packets", cells[0].packets}, {"bytes", cells[0].bytes}}},
                            {"dropped", {{"packets", cells[1].packets}, {"bytes", cells[1].bytes}}}});
        }
    return {{"name", service.metadata.name},
            {"pid", service.metadata.pid},
            {"filter", service.metadata.filter},
            {"counters", rows},
            {"log", {{"logged", counters.logged}, {"suppressed", counters.suppressed}}}};
}

DropLog::DropLog(const RunningFilter &service)
    : service_(service),
      map_(open_per_cpu(service, "alf_log", sizeof(LogRing), 1,
                        "its filter (" + service.metadata.filter + ") keeps no drop log: a filter logs by returning "
                        "its verdicts through alf_verdict() of <alfwrapper/filter.h>, and alfwrapper --log-rate 0 "
                        "turns the log off")) {}

std::vector<LogEvent> DropLog::read_new() {
    std::vector<LogEvent> events;
    std::map<unsigned, std::uint64_t> newest = seen_;
    auto rings = per_cpu<LogRing>(map_.get(), 0);
    for (unsigned cpu = 0; cpu < rings.size(); ++cpu)
        for (const EventValue &v : rings[cpu]) {
            if (v.seq == 0 || v.seq <= seen_[cpu]) continue;
            LogEvent event;
            event.cpu = cpu;
            event.seq = v.seq;
            event.time_ns = v.time_ns;
            event.verdict = v.verdict;
            if (v.family == af_inet || v.family == af_inet6) {
                event.family = v.family;
                event.protocol = v.protocol;
                event.sport = v.sport;
                event.dport = v.dport;
                std::memcpy(event.saddr.data(), v.bytes, 16);
                std::memcpy(event.daddr.data(), v.bytes + 16, 16);
            } else {
                decode_logged_header(v.bytes, std::min<std::size_t>(v.header_len, log_header_bytes), event);
            }
            newest[cpu] = std::max(newest[cpu], v.seq);
            events.push_back(event);
        }
    seen_ = newest;
    std::sort(events.begin(), events.end(), [](const LogEvent &a, const LogEvent &b) {
        return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.seq < b.seq;
    });
    return events;
}

std::string DropLog::deciding_rule(const LogEvent &event) {
    if (event.family != af_inet && event.family != af_inet6) return "";
    std::uint32_t generation = rules_generation(service_);
    if (generation == 0) return "";
    if (!rules_ || generation != rules_generation_) {
        auto running = running_rules(service_);
        if (!running) return "";
        rules_ = std::make_shared<const RunningRules>(std::move(*running));
        rules_generation_ = generation;
    }
    return alf::deciding_rule(*rules_, event.family == af_inet6, event.saddr.data());
}

std::string format_event(const LogEvent &event, const std::string &rule) {
    std::string text = wall_time(event.time_ns, false) + "  " + (event.verdict == verdict_drop ? "drop" : "pass") + "  ";
    if (event.family != af_inet && event.family != af_inet6) return text + "a packet that could not be parsed\n";
    text += protocol_text(event.protocol) + " " + endpoint(event.family, event.saddr.data(), event.sport) + " > " +
            endpoint(event.family, event.daddr.data(), event.dport);
    if (!rule.empty()) text += "  " + rule;
    return text + "\n";
}

nlohmann::json event_json(const LogEvent &event, const std::string &rule) {
    nlohmann::json j = {{"time", wall_time(event.time_ns, true)},
                        {"monotonic_ns", event.time_ns},
                        {"verdict", event.verdict == verdict_drop ? "drop" : "pass"}};
    if (event.family == af_inet || event.family == af_inet6) {
        j["protocol"] = protocol_text(event.protocol);
        j["peer"] = {{"address", address_text(event.family, event.saddr.data())}, {"port", event.sport}};
        j["local"] = {{"address", address_text(event.family, event.daddr.data())}, {"port", event.dport}};
    }
    if (!rule.empty()) j["rule"] = rule;
    return j;
}

}  // namespace alf
