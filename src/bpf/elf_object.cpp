#include "bpf/elf_object.hpp"

namespace alf {

std::string_view string_at(std::span<const std::uint8_t> table, std::uint64_t offset) {
    if (offset >= table.size()) return {};
    const char *start = reinterpret_cast<const char *>(table.data() + offset);
    return std::string_view(start, strnlen(start, table.size() - offset));
}

ElfObject::ElfObject(std::span<const std::uint8_t> data) : bytes_(data) {
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
    for (const auto &table : sections_) {
        if (table.header.sh_type != SHT_SYMTAB || table.header.sh_link >= sections_.size()) continue;
        auto strings = sections_[table.header.sh_link].data;
        Bytes symbols(table.data);
        for (std::uint64_t off = 0; off + sizeof(Elf64_Sym) <= table.data.size(); off += sizeof(Elf64_Sym)) {
            auto sym = symbols.read<Elf64_Sym>(off);
            symbols_.push_back({string_at(strings, sym->st_name), *sym});
        }
        break;
    }
    valid_ = true;
}

const ElfSection *ElfObject::find(std::string_view name) const {
    for (const auto &s : sections_)
        if (name_of(s) == name) return &s;
    return nullptr;
}

std::optional<std::size_t> ElfObject::index_of(std::string_view name) const {
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < sections_.size(); ++i) {
        if (name_of(sections_[i]) != name) continue;
        if (found) return std::nullopt;
        found = i;
    }
    return found;
}

std::vector<Elf64_Rel> ElfObject::relocations_of(std::size_t index) const {
    std::vector<Elf64_Rel> result;
    for (const auto &s : sections_) {
        if (s.header.sh_type != SHT_REL || s.header.sh_info != index) continue;
        Bytes records(s.data);
        for (std::uint64_t off = 0; off + sizeof(Elf64_Rel) <= s.data.size(); off += sizeof(Elf64_Rel))
            result.push_back(*records.read<Elf64_Rel>(off));
    }
    return result;
}

std::optional<std::pair<std::string_view, std::uint64_t>> ElfObject::function(std::string_view name) const {
    for (const auto &[symbol_name, sym] : symbols_) {
        if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || symbol_name != name || sym.st_shndx >= sections_.size())
            continue;
        return std::pair{name_of(sections_[sym.st_shndx]), sym.st_value};
    }
    return std::nullopt;
}

}  // namespace alf
