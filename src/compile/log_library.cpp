#include "compile/log_library.hpp"

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "common/util.hpp"
#include "compile/embedded.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <elf.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

namespace alf {

extern const EmbeddedFile alf_embedded_log_library[];
extern const std::size_t alf_embedded_log_library_count;

std::span<const unsigned char> log_library_object() {
    if (alf_embedded_log_library_count == 0) return {};
    return {alf_embedded_log_library[0].data, alf_embedded_log_library[0].size};
}

namespace {

constexpr std::string_view log_functions[] = {"alf_log_record", "alf_log_record_unparsed"};

bool is_log_function(std::string_view name) {
    for (std::string_view f : log_functions)
        if (name == f) return true;
    return false;
}

// The sections of a 64-bit little-endian ELF object, bounds checked.
class ElfSections {
public:
    explicit ElfSections(std::span<const std::uint8_t> bytes) : bytes_(bytes) {
        Elf64_Ehdr header;
        if (bytes.size() < sizeof header) return;
        std::memcpy(&header, bytes.data(), sizeof header);
        if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
            header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shoff > bytes.size() ||
            header.e_shnum > (bytes.size() - header.e_shoff) / sizeof(Elf64_Shdr))
            return;
        sections_.resize(header.e_shnum);
        std::memcpy(sections_.data(), bytes.data() + header.e_shoff, header.e_shnum * sizeof(Elf64_Shdr));
        for (const Elf64_Shdr &s : sections_)
            if (s.sh_type != SHT_NOBITS && (s.sh_offset > bytes.size() || s.sh_size > bytes.size() - s.sh_offset)) {
                sections_.clear();
                return;
            }
        names_ = header.e_shstrndx < sections_.size() ? header.e_shstrndx : 0;
    }

    bool valid() const { return !sections_.empty() && names_ != 0; }
    const std::vector<Elf64_Shdr> &all() const { return sections_; }

    std::span<const std::uint8_t> data(const Elf64_Shdr &s) const {
        return s.sh_type == SHT_NOBITS ? std::span<const std::uint8_t>() : bytes_.subspan(s.sh_offset, s.sh_size);
    }

    // The NUL-terminated string at `offset` of string table `table`.
    std::string_view string(std::size_t table, std::size_t offset) const {
        if (table >= sections_.size()) return {};
        auto strings = data(sections_[table]);
        if (offset >= strings.size()) return {};
        auto *start = reinterpret_cast<const char *>(strings.data() + offset);
        return {start, strnlen(start, strings.size() - offset)};
    }

    std::optional<std::size_t> find(std::string_view name) const {
        for (std::size_t i = 0; i < sections_.size(); ++i)
            if (string(names_, sections_[i].sh_name) == name) return i;
        return std::nullopt;
    }

private:
    std::span<const std::uint8_t> bytes_;
    std::vector<Elf64_Shdr> sections_;
    std::size_t names_ = 0;
};

// Whether the object calls a log function it does not define.
bool calls_log_library(std::span<const std::uint8_t> object) {
    ElfSections elf(object);
    if (!elf.valid()) return false;
    for (const Elf64_Shdr &s : elf.all()) {
        if (s.sh_type != SHT_SYMTAB) continue;
        auto symbols = elf.data(s);
        for (std::size_t at = 0; at + sizeof(Elf64_Sym) <= symbols.size(); at += sizeof(Elf64_Sym)) {
            Elf64_Sym symbol;
            std::memcpy(&symbol, symbols.data() + at, sizeof symbol);
            if (symbol.st_shndx == SHN_UNDEF && is_log_function(elf.string(s.sh_link, symbol.st_name)))
                return true;
        }
    }
    return false;
}

// An anonymous file of `bytes` (or empty), named by its /proc path, which
// libbpf's linker opens as it opens files.
struct MemoryFile {
    UniqueFd fd;
    std::string path;
};

MemoryFile memory_file(const char *name, std::span<const std::uint8_t> bytes) {
    MemoryFile file{UniqueFd(memfd_create(name, MFD_CLOEXEC)), {}};
    if (!file.fd) throw system_error("linking the drop log's functions: cannot create a file in memory", errno);
    if (!bytes.empty() &&
        !write_fully(file.fd.get(), std::string_view(reinterpret_cast<const char *>(bytes.data()), bytes.size())))
        throw system_error("linking the drop log's functions: cannot write a file in memory", errno);
    file.path = "/proc/self/fd/" + std::to_string(file.fd.get());
    return file;
}

std::vector<std::uint8_t> read_all(int fd) {
    std::vector<std::uint8_t> bytes;
    if (::lseek(fd, 0, SEEK_SET) != 0) return bytes;
    std::uint8_t chunk[65536];
    for (;;) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        bytes.insert(bytes.end(), chunk, chunk + n);
    }
    return bytes;
}

// The log functions' BTF made static, as they are compiled in a filter: a
// global (here: hidden) function is checked by the verifier on its own,
// with nothing known of its arguments. libbpf makes hidden functions static
// when it loads; alfwrapper's own loader (direct_load.hpp) takes the BTF as
// it is. Returns false when the object's BTF cannot be read.
bool make_log_functions_static(std::vector<std::uint8_t> &object) {
    ElfSections elf(object);
    auto index = elf.valid() ? elf.find(".BTF") : std::nullopt;
    if (!index) return false;
    const Elf64_Shdr section = elf.all()[*index];
    struct btf *btf = btf__new(object.data() + section.sh_offset, static_cast<__u32>(section.sh_size));
    if (!btf) return false;
    for (__u32 id = 1; id < btf__type_cnt(btf); ++id) {
        auto *type = const_cast<struct btf_type *>(btf__type_by_id(btf, id));
        if (BTF_INFO_KIND(type->info) != BTF_KIND_FUNC || BTF_INFO_VLEN(type->info) != BTF_FUNC_GLOBAL) continue;
        if (is_log_function(btf__name_by_offset(btf, type->name_off)))
            type->info = (type->info & ~0xffffu) | BTF_FUNC_STATIC;  // the linkage: vlen of a FUNC
    }
    __u32 size = 0;
    const void *raw = btf__raw_data(btf, &size);
    bool same = raw && size == section.sh_size;
    if (same) std::memcpy(object.data() + section.sh_offset, raw, size);
    btf__free(btf);
    return same;
}

}  // namespace

std::vector<std::uint8_t> link_log_library(std::vector<std::uint8_t> object, const std::string &what) {
    if (!calls_log_library(object)) return object;
    auto library = log_library_object();
    auto failed = [&](const std::string &why) {
        return Error("filter " + what + ": cannot link the drop log's functions into its object (" + why +
                     "); this alfwrapper was built wrong, or its /proc is not mounted");
    };
    if (library.empty()) throw failed("this build has none");
    MemoryFile filter = memory_file("alf-filter.o", object), log = memory_file("alf-log.o", library),
               linked = memory_file("alf-linked.o", {});
    bpf_linker_opts options{};
    options.sz = sizeof options;
    struct bpf_linker *linker = bpf_linker__new(linked.path.c_str(), &options);
    if (!linker) throw failed(std::strerror(errno));
    int err = bpf_linker__add_file(linker, filter.path.c_str(), nullptr);
    if (!err) err = bpf_linker__add_file(linker, log.path.c_str(), nullptr);
    if (!err) err = bpf_linker__finalize(linker);
    bpf_linker__free(linker);
    if (err) throw failed(std::strerror(-err));
    std::vector<std::uint8_t> result = read_all(linked.fd.get());
    if (result.empty() || calls_log_library(result) || !make_log_functions_static(result))
        throw failed("the linked object is not whole");
    return result;
}

}  // namespace alf
