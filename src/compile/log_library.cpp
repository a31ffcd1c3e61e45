#include "compile/log_library.hpp"

#include "bpf/elf_object.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "common/util.hpp"
#include "compile/embedded.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

namespace alf {

extern const EmbeddedFile alf_embedded_log_library[];
extern const std::size_t alf_embedded_log_library_count;

std::span<const unsigned char> log_library_object() {
    return only_embedded(alf_embedded_log_library, alf_embedded_log_library_count);
}

namespace {

constexpr std::string_view log_functions[] = {"alf_log_record", "alf_log_record_unparsed"};

bool is_log_function(std::string_view name) {
    for (std::string_view f : log_functions)
        if (name == f) return true;
    return false;
}

// Whether the object calls a log function it does not define.
bool calls_log_library(std::span<const std::uint8_t> object) {
    ElfObject elf(object);
    for (const ElfSymbol &symbol : elf.symbols())
        if (symbol.symbol.st_shndx == SHN_UNDEF && is_log_function(symbol.name)) return true;
    return false;
}

// An anonymous file holding `bytes` (or empty), named by its /proc path,
// which libbpf's linker opens as it opens files; nullopt, errno set, when
// there is none to be had.
struct MemoryFile {
    UniqueFd fd;
    std::string path;
};

std::optional<MemoryFile> memory_file(const char *name, std::span<const std::uint8_t> bytes) {
    MemoryFile file{UniqueFd(memfd_create(name, MFD_CLOEXEC)), {}};
    if (!file.fd || (!bytes.empty() && !write_fully(file.fd.get(), std::string_view(reinterpret_cast<const char *>(
                                                                                         bytes.data()),
                                                                                     bytes.size()))))
        return std::nullopt;
    file.path = "/proc/self/fd/" + std::to_string(file.fd.get());
    return file;
}

// The log functions' BTF made static, as they are compiled in a filter: a
// global (here: hidden) function is checked by the verifier on its own,
// with nothing known of its arguments. libbpf makes hidden functions static
// when it loads; alfwrapper's own loader (direct_load.hpp) takes the BTF as
// it is. Returns false when the object's BTF cannot be read.
bool make_log_functions_static(std::vector<std::uint8_t> &object) {
    ElfObject elf(object);
    const ElfSection *section = elf.valid() ? elf.find(".BTF") : nullptr;
    if (!section || section->data.empty()) return false;
    struct btf *btf = btf__new(section->data.data(), static_cast<__u32>(section->data.size()));
    if (!btf) return false;
    for (__u32 id = 1; id < btf__type_cnt(btf); ++id) {
        auto *type = const_cast<struct btf_type *>(btf__type_by_id(btf, id));
        if (BTF_INFO_KIND(type->info) != BTF_KIND_FUNC || BTF_INFO_VLEN(type->info) != BTF_FUNC_GLOBAL) continue;
        if (is_log_function(btf__name_by_offset(btf, type->name_off)))
            type->info = (type->info & ~0xffffu) | BTF_FUNC_STATIC;  // the linkage: vlen of a FUNC
    }
    __u32 size = 0;
    const void *raw = btf__raw_data(btf, &size);
    bool same = raw && size == section->data.size();
    if (same) std::memcpy(object.data() + section->header.sh_offset, raw, size);
    btf__free(btf);
    return same;
}

}  // namespace

std::vector<std::uint8_t> link_log_library(std::vector<std::uint8_t> object, const std::string &what) {
    if (!calls_log_library(object)) return object;
    auto failed = [&](const std::string &why) {
        return Error("filter " + what + ": cannot link the drop log's functions into its object: " + why);
    };
    auto library = log_library_object();
    if (library.empty()) throw failed("this alfwrapper was built without them; build it again");
    auto filter = memory_file("alf-filter.o", object), log = memory_file("alf-log.o", library),
         linked = memory_file("alf-linked.o", {});
    if (!filter || !log || !linked)
        throw failed(std::string("no file in memory to link in (memfd_create: ") + std::strerror(errno) + ")");
    bpf_linker_opts options{};
    options.sz = sizeof options;
    struct bpf_linker *linker = bpf_linker__new(linked->path.c_str(), &options);
    if (!linker)
        throw failed(std::string("libbpf's linker cannot open ") + linked->path + " (" + std::strerror(errno) +
                     "; it needs /proc mounted)");
    int err = bpf_linker__add_file(linker, filter->path.c_str(), nullptr);
    if (!err) err = bpf_linker__add_file(linker, log->path.c_str(), nullptr);
    if (!err) err = bpf_linker__finalize(linker);
    bpf_linker__free(linker);
    if (err) throw failed(std::string("libbpf's linker: ") + std::strerror(-err));
    std::vector<std::uint8_t> result = read_file_bytes(linked->path, "the linked filter");
    if (calls_log_library(result) || !make_log_functions_static(result))
        throw failed("the linked object still lacks them or has no BTF to read");
    return result;
}

}  // namespace alf
