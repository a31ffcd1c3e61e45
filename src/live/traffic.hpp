// alfctl stats and alfctl log: what a running filter counted and the drops
// it logged, read from the maps of <alfwrapper/stats.h> (alf_stats,
// alf_log). Both are per CPU: the counters are summed, the logs merged by
// time. Nothing here writes to the filter.
#pragma once

#include "bpf/program_metadata.hpp"
#include "live/live_rules.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace alf {

struct TrafficCounter {
    std::uint64_t packets = 0, bytes = 0;
};

// The counters of <alfwrapper/stats.h>, summed over the CPUs: [family]
// [protocol][dropped], family IPv4, IPv6, other; protocol TCP, UDP, other.
struct TrafficCounters {
    std::array<std::array<std::array<TrafficCounter, 2>, 3>, 3> packets{};
    std::uint64_t logged = 0, suppressed = 0;
};

// Throws Error when the filter keeps no counters (it does not return its
// verdicts through alf_verdict()).
TrafficCounters read_counters(const RunningFilter &service);

std::string format_counters(const RunningFilter &service, const TrafficCounters &counters,
                            const TrafficCounters *previous = nullptr, double seconds = 0);
nlohmann::json counters_json(const RunningFilter &service, const TrafficCounters &counters);

struct LogEvent {
    unsigned cpu = 0;
    std::uint64_t seq = 0, time_ns = 0;  // CLOCK_MONOTONIC
    std::uint8_t verdict = 0, family = 0, protocol = 0;
    std::uint16_t sport = 0, dport = 0;
    std::array<std::uint8_t, 16> saddr{}, daddr{};
};

// Fills event's family, protocol, addresses and ports from a logged packet's
// first `length` bytes from its IP header (<alfwrapper/stats.h>: an event of
// a packet the filter did not parse), as the filters' parse of
// <alfwrapper/packet.h> reads them; ports stay 0 where the bytes end before
// them. false (event unchanged) when they hold no IPv4 or IPv6 header.
bool decode_logged_header(const std::uint8_t *header, std::size_t length, LogEvent &event);

// Reads the log of a running filter: the events newer than `seen` (per CPU,
// the last seq already shown; updated), oldest first.
class DropLog {
public:
    explicit DropLog(const RunningFilter &service);
    std::vector<LogEvent> read_new();

    // "deny 10.0.0.0/8", "no rule: default deny", or "" when the filter
    // takes no rules: the rule that decides for the event's peer now.
    std::string deciding_rule(const LogEvent &event);

private:
    const RunningFilter &service_;
    UniqueFd map_;
    std::uint32_t value_size_ = 0;
    std::map<unsigned, std::uint64_t> seen_;
    std::uint32_t rules_generation_ = 0;
    std::shared_ptr<const RunningRules> rules_;
};

std::string format_event(const LogEvent &event, const std::string &rule);
nlohmann::json event_json(const LogEvent &event, const std::string &rule);

}  // namespace alf
