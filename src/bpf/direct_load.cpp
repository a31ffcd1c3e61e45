#include "bpf/direct_load.hpp"

#include "bpf/bpf_syscall.hpp"
#include "bpf/elf_object.hpp"
#include "common/unique_fd.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

namespace alf {

namespace {

constexpr std::uint8_t load_imm64 = BPF_LD | BPF_IMM | BPF_DW;
constexpr std::uint8_t call = BPF_JMP | BPF_CALL;
constexpr std::uint32_t relocation_imm64 = 1;  // R_BPF_64_64: an ld_imm64's address
constexpr std::uint32_t relocation_call = 10;  // R_BPF_64_32: a call's target

// Why this object is left to libbpf.
struct NotHere {
    std::string why;
};

// One kind of .BTF.ext record (func or line info): the record size and
// each section's records, as the compiler wrote them (offsets in bytes).
struct ExtInfo {
    std::uint32_t record_size = 0;
    std::map<std::string_view, std::span<const std::uint8_t>> sections;
};

ExtInfo read_ext_info(const Bytes &ext, std::uint64_t begin, std::uint64_t length,
                      std::span<const std::uint8_t> strings, std::uint32_t smallest_record) {
    ExtInfo info;
    if (length == 0) return info;
    const std::uint64_t end = begin + length;
    auto record_size = ext.read<std::uint32_t>(begin);
    if (!record_size || *record_size < smallest_record || *record_size % 4) throw NotHere{".BTF.ext is malformed"};
    info.record_size = *record_size;
    for (std::uint64_t pos = begin + 4; pos < end;) {
        auto name = ext.read<std::uint32_t>(pos);
        auto count = ext.read<std::uint32_t>(pos + 4);
        if (!name || !count || pos + 8 > end) throw NotHere{".BTF.ext is malformed"};
        pos += 8;
        std::uint64_t size = std::uint64_t(*count) * info.record_size;
        auto records = ext.slice(pos, size);
        if (!records || pos + size > end) throw NotHere{".BTF.ext is malformed"};
        info.sections[string_at(strings, *name)] = *records;
        pos += size;
    }
    return info;
}

// A name as the kernel takes it: letters, digits, '_' and '.', others made '_'
// (as libbpf makes them).
std::string with_name_characters(std::string name) {
    for (char &c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') c = '_';
    return name;
}

// The kernel's name of an internal map: libbpf's (libbpf.c, internal_map_name):
// as much of the object's name as fits before a section name of at least
// seven characters, or the section's name alone when it has a second dot.
std::string internal_map_name(std::string_view object, std::string_view section) {
    constexpr std::size_t room = BPF_OBJ_NAME_LEN - 1;
    std::size_t suffix = std::min(std::max<std::size_t>(7, section.size()), room);
    std::size_t prefix = section.find('.', 1) != std::string_view::npos ? 0 : std::min(room - suffix, object.size());
    return with_name_characters(std::string(object.substr(0, prefix)) + std::string(section.substr(0, suffix)));
}

bool is_data_section(std::string_view name) {
    for (std::string_view kind : {".rodata", ".data", ".bss"})
        if (name == kind || (name.starts_with(kind) && name[kind.size()] == '.')) return true;
    return false;
}

bool handled_map_type(bpf_map_type type) {
    switch (type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_LPM_TRIE:
    case BPF_MAP_TYPE_RINGBUF:
        return true;
    default:
        return false;
    }
}

// A map an ld_imm64 names, its descriptor patched in once the map exists.
struct MapReference {
    std::size_t instruction;
    bpf_map *map;
};

// The program's code as libbpf lays it out (libbpf.c, bpf_object__reloc_code):
// the program, then each subprogram of .text at its first call, depth first;
// calls pointed at the copies, references to maps and global data marked,
// func and line info carried along with instruction offsets.
class Linker {
public:
    Linker(const ElfObject &elf, bpf_object *object) : elf_(elf), object_(object) {
        text_ = elf.index_of(".text");
        for (const auto &[name, sym] : elf.symbols()) {
            if (!text_ || sym.st_shndx != *text_ || ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_size == 0)
                continue;
            if (sym.st_value % sizeof(bpf_insn) || sym.st_size % sizeof(bpf_insn))
                throw NotHere{"a function of .text is not whole instructions"};
            // libbpf marks such a global function static in the BTF it loads;
            // the drop log's, linked into a compiled filter, already are.
            if (ELF64_ST_BIND(sym.st_info) == STB_GLOBAL && ELF64_ST_VISIBILITY(sym.st_other) == STV_HIDDEN &&
                !static_in_btf(name))
                throw NotHere{"a hidden global subprogram"};
            subprograms_[sym.st_value / sizeof(bpf_insn)] = sym.st_size / sizeof(bpf_insn);
        }
        read_ext();
    }

    void link(std::size_t section, std::uint64_t first, std::uint64_t count) { append(section, first, count); }

    // Whether the object's BTF describes function `name` as static.
    bool static_in_btf(std::string_view name) const {
        const struct btf *btf = bpf_object__btf(object_);
        int id = btf ? btf__find_by_name_kind(btf, std::string(name).c_str(), BTF_KIND_FUNC) : -1;
        return id > 0 && BTF_INFO_VLEN(btf__type_by_id(btf, static_cast<__u32>(id))->info) == BTF_FUNC_STATIC;
    }

    std::vector<bpf_insn> code;
    std::vector<MapReference> maps;
    std::vector<std::uint8_t> func_info, line_info;
    std::uint32_t func_info_size = 0, line_info_size = 0;

private:
    void read_ext() {
        const ElfSection *btf = elf_.find(".BTF");
        const ElfSection *ext = elf_.find(".BTF.ext");
        if (!btf || !ext) return;
        Bytes btf_bytes(btf->data);
        auto header = btf_bytes.read<btf_header>(0);
        if (!header) throw NotHere{".BTF is malformed"};
        auto strings = btf_bytes.slice(std::uint64_t(header->hdr_len) + header->str_off, header->str_len);
        Bytes ext_bytes(ext->data);
        auto ext_header = ext_bytes.read<BtfExtHeader>(0);
        if (!strings || !ext_header || ext_header->magic != BTF_MAGIC || ext_header->hdr_len < sizeof(BtfExtHeader))
            throw NotHere{".BTF.ext is malformed"};
        // Headers since Linux 5.4 go on with the CO-RE relocations' offset and length.
        if (ext_header->hdr_len >= sizeof(BtfExtHeader) + 8) {
            auto core_length = ext_bytes.read<std::uint32_t>(sizeof(BtfExtHeader) + 4);
            if (!core_length || *core_length > 0) throw NotHere{"CO-RE relocations"};
        }
        std::uint64_t base = ext_header->hdr_len;
        funcs_ = read_ext_info(ext_bytes, base + ext_header->func_info_off, ext_header->func_info_len, *strings,
                               sizeof(bpf_func_info));
        lines_ = read_ext_info(ext_bytes, base + ext_header->line_info_off, ext_header->line_info_len, *strings,
                               sizeof(bpf_line_info));
        has_ext_ = true;
    }

    // The records of `info` for instructions [first, first + count) of the
    // section, appended to `out` with offsets counted in instructions from
    // the start of the loaded program (adjust_prog_btf_ext_info).
    void carry(const ExtInfo &info, std::string_view section, std::uint64_t first, std::uint64_t count,
               std::size_t at, std::vector<std::uint8_t> &out, std::uint32_t &record_size) {
        auto found = info.sections.find(section);
        std::size_t before = out.size();
        if (found != info.sections.end()) {
            Bytes records(found->second);
            for (std::uint64_t pos = 0; pos < found->second.size(); pos += info.record_size) {
                std::uint64_t index = *records.read<std::uint32_t>(pos) / sizeof(bpf_insn);
                if (index < first) continue;
                if (index >= first + count) break;
                std::size_t start = out.size();
                out.insert(out.end(), found->second.begin() + static_cast<std::ptrdiff_t>(pos),
                           found->second.begin() + static_cast<std::ptrdiff_t>(pos + info.record_size));
                auto offset = static_cast<std::uint32_t>(index - first + at);
                std::memcpy(out.data() + start, &offset, sizeof offset);
            }
        }
        if (out.size() == before) throw NotHere{"a function without func or line info"};
        record_size = info.record_size;
    }

    void append(std::size_t section, std::uint64_t first, std::uint64_t count) {
        const ElfSection &source = elf_.sections()[section];
        if (source.data.size() / sizeof(bpf_insn) < first + count) throw NotHere{"a function outside its section"};
        const std::size_t at = code.size();
        code.resize(at + count);
        std::memcpy(code.data() + at, source.data.data() + first * sizeof(bpf_insn), count * sizeof(bpf_insn));
        if (has_ext_) {
            carry(funcs_, elf_.name_of(section), first, count, at, func_info, func_info_size);
            carry(lines_, elf_.name_of(section), first, count, at, line_info, line_info_size);
        }

        const std::map<std::uint64_t, Elf64_Rel> &relocations = relocations_of(section);
        auto relocated = [&](std::uint64_t i) -> const Elf64_Rel * {
            auto found = relocations.find(first + i);
            return found == relocations.end() ? nullptr : &found->second;
        };
        for (std::uint64_t i = 0; i < count; ++i) {
            const bpf_insn insn = code[at + i];
            const Elf64_Rel *relocation = relocated(i);
            if (insn.code == load_imm64) {
                if (i + 1 >= count || relocated(i + 1)) throw NotHere{"a cut ld_imm64"};
                if (relocation) {
                    reference_data(at + i, *relocation);
                } else if (insn.src_reg != 0) {
                    throw NotHere{"an ld_imm64 of kind " + std::to_string(insn.src_reg) + " without a relocation"};
                }
                ++i;
            } else if (insn.code == call && insn.src_reg == BPF_PSEUDO_CALL) {
                call_subprogram(section, first + i, at + i, relocation);
            } else if (insn.code == call && insn.src_reg != 0) {
                throw NotHere{"a call to a kernel function"};
            } else if (relocation) {
                throw NotHere{"a relocation of an instruction of code " + std::to_string(insn.code)};
            }
        }
    }

    void call_subprogram(std::size_t section, std::uint64_t index, std::size_t at, const Elf64_Rel *relocation) {
        const bpf_insn insn = code[at];
        if (insn.dst_reg != 0 || insn.off != 0) throw NotHere{"a malformed call"};
        std::int64_t target;
        if (relocation) {
            const Elf64_Sym *sym = symbol(*relocation);
            if (ELF64_R_TYPE(relocation->r_info) != relocation_call || !text_ || sym->st_shndx != *text_ ||
                sym->st_value % sizeof(bpf_insn))
                throw NotHere{"a call outside .text"};
            target = std::int64_t(sym->st_value / sizeof(bpf_insn)) + insn.imm + 1;
        } else {
            if (!text_ || section != *text_) throw NotHere{"a call within a program's section"};
            target = std::int64_t(index) + insn.imm + 1;
        }
        point_at_subprogram(at, target);
    }

    // Points the call or function address at `at` to the subprogram that
    // starts at instruction `target` of .text, appending it at its first use.
    void point_at_subprogram(std::size_t at, std::int64_t target) {
        auto subprogram = target < 0 ? subprograms_.end() : subprograms_.find(static_cast<std::uint64_t>(target));
        if (subprogram == subprograms_.end()) throw NotHere{"a call to no function's start"};
        auto placed = placed_.find(subprogram->first);
        if (placed == placed_.end()) {
            // The kernel runs no deeper than 8 frames; libbpf recurses too.
            if (++depth_ > 64) throw NotHere{"subprograms calling each other 64 deep"};
            placed = placed_.emplace(subprogram->first, code.size()).first;
            append(*text_, subprogram->first, subprogram->second);
            --depth_;
        }
        code[at].imm = static_cast<std::int32_t>(std::int64_t(placed->second) - std::int64_t(at) - 1);
    }

    // An ld_imm64 of a map (its symbol in .maps), of a global variable's
    // address (its symbol in a data section: the map of that section), or of
    // a function's (a callback: a static one by its section's symbol and
    // the offset in the instruction, a global one by its own symbol).
    void reference_data(std::size_t at, const Elf64_Rel &relocation) {
        const Elf64_Sym *sym = symbol(relocation);
        if (ELF64_R_TYPE(relocation.r_info) != relocation_imm64 || sym->st_shndx == SHN_UNDEF ||
            sym->st_shndx >= SHN_LORESERVE)
            throw NotHere{"an extern or unusual symbol"};
        std::string_view section = elf_.name_of(sym->st_shndx);
        if (section == ".maps") {
            bpf_map *map = map_defined_at(sym->st_shndx, sym->st_value);
            code[at].src_reg = BPF_PSEUDO_MAP_FD;
            maps.push_back({at, map});
        } else if (is_data_section(section) && ELF64_ST_TYPE(sym->st_info) != STT_FUNC) {
            bpf_map *map = map_of_section(section);
            code[at + 1].imm = code[at].imm + static_cast<std::int32_t>(sym->st_value);
            code[at].src_reg = BPF_PSEUDO_MAP_VALUE;
            maps.push_back({at, map});
        } else if (text_ && sym->st_shndx == *text_ &&
                   ((ELF64_ST_BIND(sym->st_info) == STB_LOCAL && ELF64_ST_TYPE(sym->st_info) == STT_SECTION) ||
                    (ELF64_ST_BIND(sym->st_info) == STB_GLOBAL && ELF64_ST_TYPE(sym->st_info) == STT_FUNC))) {
            std::int64_t offset = std::int64_t(sym->st_value) + code[at].imm;
            if (sym->st_value % sizeof(bpf_insn) || code[at].imm % std::int32_t(sizeof(bpf_insn)))
                throw NotHere{"a function address inside an instruction"};
            code[at].src_reg = BPF_PSEUDO_FUNC;
            point_at_subprogram(at, offset / std::int64_t(sizeof(bpf_insn)));
        } else {
            throw NotHere{"a reference into " + std::string(section)};
        }
    }

    // A section's relocations by the instruction they apply to, read once.
    const std::map<std::uint64_t, Elf64_Rel> &relocations_of(std::size_t section) {
        auto [entry, fresh] = relocations_.try_emplace(section);
        if (fresh) {
            for (const Elf64_Rel &rel : elf_.relocations_of(section)) {
                if (rel.r_offset % sizeof(bpf_insn)) throw NotHere{"a relocation inside an instruction"};
                entry->second[rel.r_offset / sizeof(bpf_insn)] = rel;
            }
        }
        return entry->second;
    }

    const Elf64_Sym *symbol(const Elf64_Rel &relocation) const {
        std::uint64_t index = ELF64_R_SYM(relocation.r_info);
        if (index >= elf_.symbols().size()) throw NotHere{"a relocation of no symbol"};
        return &elf_.symbols()[index].symbol;
    }

    // libbpf finds a map by where its definition lies in .maps; it is named
    // by the variable defined there.
    bpf_map *map_defined_at(std::size_t section, std::uint64_t offset) {
        if (maps_defined_.empty()) {
            for (const auto &[name, sym] : elf_.symbols()) {
                if (sym.st_shndx != section || ELF64_ST_TYPE(sym.st_info) != STT_OBJECT) continue;
                bpf_map *map = bpf_object__find_map_by_name(object_, std::string(name).c_str());
                if (map && !bpf_map__is_internal(map)) maps_defined_.emplace(sym.st_value, map);
            }
        }
        auto found = maps_defined_.find(offset);
        if (found == maps_defined_.end()) throw NotHere{"a reference to no map of .maps"};
        return found->second;
    }

    bpf_map *map_of_section(std::string_view section) {
        if (auto known = section_maps_.find(section); known != section_maps_.end()) return known->second;
        bool dotted = section.find('.', 1) != std::string_view::npos;
        std::string wanted = dotted ? std::string(section) : internal_map_name(bpf_object__name(object_), section);
        bpf_map *found = nullptr;
        bpf_map *map;
        bpf_object__for_each_map(map, object_) {
            if (!bpf_map__is_internal(map) || wanted != bpf_map__name(map)) continue;
            if (found) throw NotHere{"two maps for " + std::string(section)};
            found = map;
        }
        if (!found) throw NotHere{"no map for " + std::string(section)};
        section_maps_.emplace(section, found);
        return found;
    }

    const ElfObject &elf_;
    bpf_object *object_;
    std::optional<std::size_t> text_;
    std::map<std::uint64_t, std::uint64_t> subprograms_;  // .text start -> instructions
    std::map<std::uint64_t, std::size_t> placed_;        // .text start -> where it was appended
    std::map<std::size_t, std::map<std::uint64_t, Elf64_Rel>> relocations_;  // by section, then instruction
    std::map<std::uint64_t, bpf_map *> maps_defined_;    // offset in .maps -> map
    std::map<std::string_view, bpf_map *> section_maps_;
    int depth_ = 0;
    ExtInfo funcs_, lines_;
    bool has_ext_ = false;
};

std::string section_string(const ElfObject &elf, std::string_view section, std::size_t limit) {
    const ElfSection *s = elf.find(section);
    if (!s) return {};
    std::string_view text = string_at(s->data, 0);
    return std::string(text.substr(0, limit));
}

// The kernel's name of a map: libbpf gives it the first 15 characters of
// its own name (bpf_map__name, except for .rodata.* and .data.* sections,
// whose maps it names by the section, the kernel's name being the same).
std::string kernel_map_name(const bpf_map *map) {
    return with_name_characters(std::string(bpf_map__name(map)).substr(0, BPF_OBJ_NAME_LEN - 1));
}

void check_maps(bpf_object *object) {
    bpf_map *map;
    bpf_object__for_each_map(map, object) {
        if (bpf_map__fd(map) >= 0) continue;  // taken over from a running filter
        std::string name = bpf_map__name(map);
        if (!handled_map_type(bpf_map__type(map))) throw NotHere{"map " + name + " is of a type with special handling"};
        if (!bpf_map__autocreate(map) || bpf_map__pin_path(map)) throw NotHere{"map " + name + " is pinned or not made"};
    }
}

// Creates the maps libbpf would create, in its order, and hands each over.
void create_maps(bpf_object *object, int btf_fd) {
    bpf_map *map;
    bpf_object__for_each_map(map, object) {
        if (bpf_map__fd(map) >= 0) continue;
        MapCreation creation;
        creation.type = bpf_map__type(map);
        creation.name = kernel_map_name(map);
        creation.key_size = bpf_map__key_size(map);
        creation.value_size = bpf_map__value_size(map);
        creation.max_entries = bpf_map__max_entries(map);
        creation.flags = bpf_map__map_flags(map);
        creation.numa_node = bpf_map__numa_node(map);
        creation.map_extra = bpf_map__map_extra(map);
        creation.btf_fd = btf_fd;
        creation.btf_key_type_id = bpf_map__btf_key_type_id(map);
        creation.btf_value_type_id = bpf_map__btf_value_type_id(map);
        UniqueFd fd(create_map(creation));
        if (!fd) throw NotHere{"the kernel refused map " + creation.name + ": " + std::strerror(errno)};
        if (bpf_map__is_internal(map)) {
            std::size_t size = 0;
            const void *data = bpf_map__initial_value(map, &size);
            const std::uint32_t zero = 0;
            if (!data || size != creation.value_size || bpf_map_update_elem(fd.get(), &zero, data, 0) != 0)
                throw NotHere{"cannot fill map " + creation.name};
            if ((creation.flags & BPF_F_RDONLY_PROG) && bpf_map_freeze(fd.get()) != 0)
                throw NotHere{"cannot freeze map " + creation.name};
        }
        if (bpf_map__reuse_fd(map, fd.get()) != 0) throw NotHere{"libbpf did not take map " + creation.name};
    }
}

DirectLoad load(bpf_object *object, const bpf_program *program, std::span<const std::uint8_t> bytes) {
    ElfObject elf(bytes);
    if (!elf.valid()) throw NotHere{"not an ELF object"};
    auto section = elf.index_of(bpf_program__section_name(program));
    if (!section) throw NotHere{"the program's section is not one of a kind"};
    std::optional<Elf64_Sym> entry;
    for (const auto &[name, sym] : elf.symbols())
        if (sym.st_shndx == *section && ELF64_ST_TYPE(sym.st_info) == STT_FUNC && name == bpf_program__name(program))
            entry = sym;
    if (!entry || entry->st_value % sizeof(bpf_insn) ||
        entry->st_size != bpf_program__insn_cnt(program) * sizeof(bpf_insn))
        throw NotHere{"the program's symbol does not match libbpf's program"};

    Linker linker(elf, object);
    linker.link(*section, entry->st_value / sizeof(bpf_insn), entry->st_size / sizeof(bpf_insn));
    check_maps(object);

    const struct btf *btf = bpf_object__btf(object);
    if (!btf) throw NotHere{"no BTF"};
    std::uint32_t btf_size = 0;
    const void *raw = btf__raw_data(btf, &btf_size);
    if (!raw) throw NotHere{"no BTF"};
    UniqueFd btf_fd(load_btf(std::span(static_cast<const std::uint8_t *>(raw), btf_size)));
    if (!btf_fd) throw NotHere{std::string("the kernel refused the BTF: ") + std::strerror(errno)};

    create_maps(object, btf_fd.get());
    for (const MapReference &reference : linker.maps) linker.code[reference.instruction].imm = bpf_map__fd(reference.map);

    ProgramLoad load;
    load.type = bpf_program__type(program);
    load.name = bpf_program__name(program);
    load.license = section_string(elf, "license", 63);
    if (const ElfSection *version = elf.find("version"); version && version->data.size() == 4)
        std::memcpy(&load.kernel_version, version->data.data(), 4);
    load.instructions = linker.code;
    load.expected_attach_type = bpf_program__expected_attach_type(program);
    load.flags = bpf_program__flags(program);
    load.btf_fd = btf_fd.get();
    load.func_info = linker.func_info;
    load.func_info_record_size = linker.func_info_size;
    load.line_info = linker.line_info;
    load.line_info_record_size = linker.line_info_size;
    UniqueFd program_fd(load_program(load));
    if (!program_fd) throw NotHere{std::string("the kernel refused the program: ") + std::strerror(errno)};

    // As libbpf does: every read-only data map stays with the program.
    bpf_map *map;
    bpf_object__for_each_map(map, object) {
        if (bpf_map__is_internal(map) && (bpf_map__map_flags(map) & BPF_F_RDONLY_PROG))
            bpf_prog_bind_map(program_fd.get(), bpf_map__fd(map), nullptr);
    }
    return {program_fd.release(), static_cast<std::uint32_t>(linker.code.size())};
}

}  // namespace

std::optional<DirectLoad> load_directly(bpf_object *object, const bpf_program *program,
                                        std::span<const std::uint8_t> elf, std::string &why) {
    try {
        return load(object, program, elf);
    } catch (const NotHere &reason) {
        why = reason.why;
        return std::nullopt;
    }
}

}  // namespace alf
