// A read-only view of an ELF object for the BPF target: its sections, its
// symbols and relocations, and the head of .BTF.ext. Every read is bounds
// checked; a malformed object reads as one without the part asked for.
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace alf {

// The head of .BTF.ext (kernel ABI, Documentation/bpf/btf.rst): offsets of
// its sections count from the end of the header.
struct BtfExtHeader {
    std::uint16_t magic;
    std::uint8_t version;
    std::uint8_t flags;
    std::uint32_t hdr_len;
    std::uint32_t func_info_off;
    std::uint32_t func_info_len;
    std::uint32_t line_info_off;
    std::uint32_t line_info_len;
};

class Bytes {
public:
    explicit Bytes(std::span<const std::uint8_t> data) : data_(data) {}

    template <typename T>
    std::optional<T> read(std::uint64_t offset) const {
        if (offset > data_.size() || data_.size() - offset < sizeof(T)) return std::nullopt;
        T value;
        std::memcpy(&value, data_.data() + offset, sizeof(T));
        return value;
    }
    std::optional<std::span<const std::uint8_t>> slice(std::uint64_t offset, std::uint64_t size) const {
        if (offset > data_.size() || data_.size() - offset < size) return std::nullopt;
        return data_.subspan(offset, size);
    }

private:
    std::span<const std::uint8_t> data_;
};

// The NUL-terminated string at `offset` of a string table; empty when out of range.
std::string_view string_at(std::span<const std::uint8_t> table, std::uint64_t offset);

struct ElfSection {
    Elf64_Shdr header;
    std::span<const std::uint8_t> data;
};

struct ElfSymbol {
    std::string_view name;
    Elf64_Sym symbol;
};

class ElfObject {
public:
    explicit ElfObject(std::span<const std::uint8_t> data);

    bool valid() const { return valid_; }
    const std::vector<ElfSection> &sections() const { return sections_; }
    std::string_view name_of(const ElfSection &s) const { return string_at(names_, s.header.sh_name); }
    std::string_view name_of(std::size_t index) const {
        return index < sections_.size() ? name_of(sections_[index]) : std::string_view();
    }
    const ElfSection *find(std::string_view name) const;
    // The index of the only section of that name; none when there are none or several.
    std::optional<std::size_t> index_of(std::string_view name) const;
    // Every symbol of the symbol table, in order (the first, the null symbol, included).
    const std::vector<ElfSymbol> &symbols() const { return symbols_; }
    // The relocations that apply to section `index` (its SHT_REL section).
    std::vector<Elf64_Rel> relocations_of(std::size_t index) const;

    // The section holding function `name` and its offset in it.
    std::optional<std::pair<std::string_view, std::uint64_t>> function(std::string_view name) const;

private:
    Bytes bytes_;
    std::vector<ElfSection> sections_;
    std::vector<ElfSymbol> symbols_;
    std::span<const std::uint8_t> names_;
    bool valid_ = false;
};

}  // namespace alf
