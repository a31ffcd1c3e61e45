// The rule maps' memory as rule_tables.cpp and rule_edits.cpp reach it:
// array maps mapped into the process, and the wait that makes a slot safe to
// write after packets stopped reading it.
#pragma once

#include "inputs/rule_tables.hpp"
#include "inputs/rules.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace alf {

struct ArrayGeometry {
    std::uint32_t value_size = 0, max_entries = 0, id = 0;
};
ArrayGeometry array_geometry(int map_fd, const char *what);

// A shared, writable mapping of an array map's values (BPF_F_MMAPABLE).
class MappedArray {
public:
    MappedArray(int map_fd, const char *what);
    ~MappedArray();
    MappedArray(const MappedArray &) = delete;
    MappedArray &operator=(const MappedArray &) = delete;

    std::uint8_t *bytes() const { return bytes_; }
    std::size_t size() const { return size_; }

private:
    std::size_t size_ = 0;
    std::uint8_t *bytes_ = nullptr;
};

template <typename T>
std::span<T> view(std::uint8_t *base, std::size_t offset, std::size_t count) {
    return {reinterpret_cast<T *>(base + offset), count};
}

// Returns once every packet that was being judged when it was called has
// been judged: a filter runs inside an RCU read-side section, and this waits
// for a grace period (membarrier MEMBARRIER_CMD_GLOBAL). After a slot stops
// being the active one, this is what makes writing into it safe. Falls back
// to a pause far longer than any one packet's judgement where membarrier is
// unavailable.
void wait_for_packets_in_flight();

// Makes `slot` the active one, with `fallback` for addresses no rule
// covers, by one store; returns the new generation.
std::uint32_t switch_rules_slot(RulesState &state, std::uint32_t slot, Verdict fallback);

}  // namespace alf
