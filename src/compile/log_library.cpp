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

// The functions `named` accepts given linkage `to` in the object's BTF where
// they have `from`. Returns false when the object's BTF cannot be read.
template <typename Named>
bool set_functions_linkage(std::vector<std::uint8_t> &object, Named named, int from, int to) {
    ElfObject elf(object);
    const ElfSection *section = elf.valid() ? elf.find(".BTF") : nullptr;
    if (!section || section->data.empty()) return false;
    struct btf *btf = btf__new(section->data.data(), static_cast<__u32>(section->data.size()));
    if (!btf) return false;
    for (__u32 id = 1; id < btf__type_cnt(btf); ++id) {
        auto *type = const_cast<struct btf_type *>(btf__type_by_id(btf, id));
        if (BTF_INFO_KIND(type->info) != BTF_KIND_FUNC || static_cast<int>(BTF_INFO_VLEN(type->info)) != from) continue;
        if (named(std::string_view(btf__name_by_offset(btf, type->name_off))))
            type->info = (type->info & ~0xffffu) | static_cast<__u32>(to);  // the linkage: vlen of a FUNC
    }
    __u32 size = 0;
    const void *raw = btf__raw_data(btf, &size);
    bool same = raw && size == section->data.size();
    if (same) std::memcpy(object.data() + section->header.sh_offset, raw, size);
    btf__free(btf);
    return same;
}

// Whether the object refers to a function that `named` accepts without
// defining it.
template <typename Named>
bool lacks_function(std::span<const std::uint8_t> object, Named named) {
    ElfObject elf(object);
    for (const ElfSymbol &symbol : elf.symbols())
        if (symbol.symbol.st_shndx == SHN_UNDEF && named(std::string_view(symbol.name))) return true;
    return false;
}

}  // namespace

std::vector<std::uint8_t> link_compiled_objects(std::vector<std::uint8_t> object,
                                                const std::vector<std::vector<std::uint8_t>> &more,
                                                const std::vector<std::string> &hidden, const std::string &what) {
    bool with_library = lacks_function(object, is_log_function);
    for (const auto &part : more) with_library = with_library || lacks_function(part, is_log_function);
    if (!with_library && more.empty()) return object;
    auto failed = [&](const std::string &why) {
        return Error("filter " + what + ": cannot link " +
                     (more.empty() ? "the drop log's functions into its object" : "the parts of its object") + ": " +
                     why);
    };
    std::span<const unsigned char> library;
    if (with_library) {
        library = log_library_object();
        if (library.empty()) throw failed("this alfwrapper was built without the drop log's functions; build it again");
    }
    std::vector<MemoryFile> inputs;
    auto add_input = [&](const char *name, std::span<const std::uint8_t> bytes) {
        auto file = memory_file(name, bytes);
        if (!file) throw failed(std::string("no file in memory to link (memfd_create: ") + std::strerror(errno) + ")");
        inputs.push_back(std::move(*file));
    };
    add_input("alf-filter.o", object);
    // A function the programs' object declares is a global symbol of the
    // other's, where its BTF is static as in the source (a static
    // function): global for the linker, which matches symbols to BTF.
    auto split_off = [&](std::string_view name) {
        for (const auto &h : hidden)
            if (name == h) return true;
        return false;
    };
    for (const auto &part : more) {
        std::vector<std::uint8_t> linkable = part;
        if (!set_functions_linkage(linkable, split_off, BTF_FUNC_STATIC, BTF_FUNC_GLOBAL))
            throw failed("a part has no BTF to read");
        add_input("alf-filter-part.o", linkable);
    }
    if (with_library) add_input("alf-log.o", library);
    auto linked = memory_file("alf-linked.o", {});
    if (!linked) throw failed(std::string("no file in memory to link into (memfd_create: ") + std::strerror(errno) + ")");
    bpf_linker_opts options{};
    options.sz = sizeof options;
    struct bpf_linker *linker = bpf_linker__new(linked->path.c_str(), &options);
    if (!linker)
        throw failed(std::string("libbpf's linker cannot open ") + linked->path + " (" + std::strerror(errno) +
                     "; it needs /proc mounted)");
    int err = 0;
    for (const auto &input : inputs)
        if (!err) err = bpf_linker__add_file(linker, input.path.c_str(), nullptr);
    if (!err) err = bpf_linker__finalize(linker);
    bpf_linker__free(linker);
    if (err) throw failed(std::string("libbpf's linker: ") + std::strerror(-err));
    std::vector<std::uint8_t> result = read_file_bytes(linked->path, "the linked filter");
    // Static as in a filter compiled whole: a global (here: hidden) function
    // is checked by the verifier on its own, with nothing known of its
    // arguments. libbpf makes hidden functions static when it loads;
    // alfwrapper's own loader (direct_load.hpp) takes the BTF as it is.
    auto made_static = [&](std::string_view name) { return is_log_function(name) || split_off(name); };
    if (lacks_function(result, made_static) ||
        !set_functions_linkage(result, made_static, BTF_FUNC_GLOBAL, BTF_FUNC_STATIC))
        throw failed("the linked object still lacks a function or has no BTF to read");
    return result;
}

}  // namespace alf
