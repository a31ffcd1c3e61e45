#include "bpf/btf_line_info.hpp"

#include <elf.h>
#include <linux/bpf.h>
#include <linux/btf.h>

#include <cstring>
#include <string_view>
#include <vector>

namespace alf {

namespace {

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

std::string_view string_at(std::span<const std::uint8_t> table, std::uint64_t offset) {
    if (offset >= table.size()) return {};
    const char *start = reinterpret_cast<const char *>(table.data() + offset);
    return std::string_view(start, strnlen(start, table.size() - offset));
}

struct Section {
    Elf64_Shdr header;
    std::span<const std::uint8_t> data;
};

class ElfObject {
public:
    explicit ElfObject(std::span<const std::uint8_t> data) : bytes_(data) {
        auto ehdr = bytes_.read<Elf64_Ehdr>(0);
        if (!ehdr || std::memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0 || ehdr->e_ident[EI_CLASS] != ELFCLASS64 ||
            ehdr->e_ident[EI_DATA] != ELFDATA2LSB || ehdr->e_shentsize != sizeof(Elf64_Shdr))
            return;
        for (std::uint16_t i = 0; i < ehdr->e_shnum; ++i) {
            auto shdr = bytes_.read<Elf64_Shdr>(ehdr->e_shoff + std::uint64_t(i) * sizeof(Elf64_Shdr));
            if (!shdr) return;
            std::span<const std::uint8_t> contents;
            if (shdr->sh_type != SHT_NOBITS) contents = bytes_.slice(shdr->sh_offset, shdr->sh_size).value_or(contents);
            sections_.push_back({*shdr, contents});
        }
        if (ehdr->e_shstrndx < sections_.size()) names_ = sections_[ehdr->e_shstrndx].data;
        valid_ = true;
    }

    bool valid() const { return valid_; }
    const std::vector<Section> &sections() const { return sections_; }
    std::string_view name_of(const Section &s) const { return string_at(names_, s.header.sh_name); }
    const Section *find(std::string_view name) const {
        for (const auto &s : sections_)
            if (name_of(s) == name) return &s;
        return nullptr;
    }

    // The section holding function `name` and its offset in it.
    std::optional<std::pair<std::string_view, std::uint64_t>> function(const std::string &name) const {
        for (const auto &table : sections_) {
            if (table.header.sh_type != SHT_SYMTAB || table.header.sh_link >= sections_.size()) continue;
            auto strings = sections_[table.header.sh_link].data;
            Bytes symbols(table.data);
            for (std::uint64_t off = 0; off + sizeof(Elf64_Sym) <= table.data.size(); off += sizeof(Elf64_Sym)) {
                auto sym = symbols.read<Elf64_Sym>(off);
                if (ELF64_ST_TYPE(sym->st_info) != STT_FUNC || string_at(strings, sym->st_name) != name ||
                    sym->st_shndx >= sections_.size())
                    continue;
                return std::pair{name_of(sections_[sym->st_shndx]), sym->st_value};
            }
        }
        return std::nullopt;
    }

private:
    Bytes bytes_;
    std::vector<Section> sections_;
    std::span<const std::uint8_t> names_;
    bool valid_ = false;
};

}  // namespace

std::optional<SourceLine> source_line_of(std::span<const std::uint8_t> elf, const std::string &program,
                                         std::uint32_t index) {
    ElfObject object(elf);
    if (!object.valid()) return std::nullopt;
    const Section *btf = object.find(".BTF");
    const Section *btf_ext = object.find(".BTF.ext");
    auto function = object.function(program);
    if (!btf || !btf_ext || !function) return std::nullopt;

    Bytes btf_bytes(btf->data);
    auto btf_header = btf_bytes.read<struct btf_header>(0);
    if (!btf_header) return std::nullopt;
    auto strings = btf_bytes.slice(std::uint64_t(btf_header->hdr_len) + btf_header->str_off, btf_header->str_len);
    Bytes ext(btf_ext->data);
    auto ext_header = ext.read<BtfExtHeader>(0);
    if (!strings || !ext_header || ext_header->magic != BTF_MAGIC) return std::nullopt;

    // line_info: a record size, then per section: name, count, records.
    const std::uint64_t begin = std::uint64_t(ext_header->hdr_len) + ext_header->line_info_off;
    const std::uint64_t end = begin + ext_header->line_info_len;
    auto record_size = ext.read<std::uint32_t>(begin);
    if (!record_size || *record_size < sizeof(bpf_line_info)) return std::nullopt;
    const std::uint64_t wanted = function->second + std::uint64_t(index) * sizeof(bpf_insn);
    std::optional<bpf_line_info> best;
    for (std::uint64_t pos = begin + 4; pos + 8 <= end;) {
        auto name_off = ext.read<std::uint32_t>(pos);
        auto count = ext.read<std::uint32_t>(pos + 4);
        if (!name_off || !count) return std::nullopt;
        pos += 8;
        bool ours = string_at(*strings, *name_off) == function->first;
        for (std::uint32_t i = 0; i < *count && pos + *record_size <= end; ++i, pos += *record_size) {
            auto info = ext.read<bpf_line_info>(pos);
            if (ours && info && info->insn_off <= wanted && (!best || info->insn_off >= best->insn_off)) best = info;
        }
    }
    if (!best) return std::nullopt;
    std::string text(string_at(*strings, best->line_off));
    auto first = text.find_first_not_of(" \t");
    return SourceLine{std::string(string_at(*strings, best->file_name_off)), BPF_LINE_INFO_LINE_NUM(best->line_col),
                      first == std::string::npos ? std::string() : text.substr(first)};
}

}  // namespace alf
