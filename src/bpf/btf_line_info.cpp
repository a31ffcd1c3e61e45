#include "bpf/btf_line_info.hpp"

#include "bpf/elf_object.hpp"

#include <elf.h>
#include <linux/bpf.h>
#include <linux/btf.h>

#include <string_view>

namespace alf {

std::optional<SourceLine> source_line_of(std::span<const std::uint8_t> elf, const std::string &program,
                                         std::uint32_t index) {
    ElfObject object(elf);
    if (!object.valid()) return std::nullopt;
    const ElfSection *btf = object.find(".BTF");
    const ElfSection *btf_ext = object.find(".BTF.ext");
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
