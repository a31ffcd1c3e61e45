// The rule maps' memory as rule_tables.cpp and rule_edits.cpp reach it:
// array maps mapped into the process, and the wait that makes a slot safe to
// write after packets stopped reading it.
#pragma once

#include "inputs/rule_tables.hpp"
#include "inputs/rules.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace alf {

struct ArrayGeometry {
    std::uint32_t value_size = 0, max_entries = 0, id = 0;
};
ArrayGeometry array_geometry(int map_fd, const char *what);

// A shared, writable mapping of an array map's values (BPF_F_MMAPABLE).
// Mapping a map costs for every page at once (the kernel inserts them all),
// so a lazy mapping reserves the addresses and maps pieces as ensure() asks
// for them: a change that reads a few pages of a large table pays for those.
class MappedArray {
public:
    MappedArray(int map_fd, const char *what, bool lazy = false);
    ~MappedArray();
    MappedArray(const MappedArray &) = delete;
    MappedArray &operator=(const MappedArray &) = delete;

    // The values; of a lazy mapping, only what ensure() mapped is readable.
    std::uint8_t *bytes() const { return bytes_; }
    std::size_t size() const { return size_; }
    void ensure(std::size_t offset, std::size_t length);
    // Whether [offset, offset + length) is readable now, without ensure().
    bool mapped(std::size_t offset, std::size_t length) const;
    int fd() const { return fd_; }
    template <typename T>
    T *at(std::size_t offset, std::size_t count = 1) {
        ensure(offset, count * sizeof(T));
        return reinterpret_cast<T *>(bytes_ + offset);
    }

private:
    static constexpr std::size_t piece = 16384;
    int fd_;
    const char *what_;
    std::size_t size_ = 0;
    std::uint8_t *bytes_ = nullptr;
    std::vector<bool> mapped_;  // lazy: which pieces are mapped
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
