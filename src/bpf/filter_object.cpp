#include "bpf/filter_object.hpp"

#include "bpf/btf_line_info.hpp"
#include "bpf/btf_values.hpp"
#include "bpf/direct_load.hpp"
#include "common/capabilities.hpp"
#include "common/error.hpp"
#include "common/util.hpp"
#include "bpf/verifier_log.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <sstream>

#include <utility>

namespace alf {

namespace {

std::string libbpf_messages;

int capture_libbpf_print(enum libbpf_print_level level, const char *format, va_list args) {
    if (level == LIBBPF_DEBUG) return 0;
    char buf[4096];
    va_list copy;
    va_copy(copy, args);
    int n = std::vsnprintf(buf, sizeof buf, format, copy);
    va_end(copy);
    if (n < 0) return 0;
    if (static_cast<std::size_t>(n) < sizeof buf) {
        libbpf_messages += buf;
    } else {
        std::string big(static_cast<std::size_t>(n) + 1, '\0');
        std::vsnprintf(big.data(), big.size(), format, args);
        big.pop_back();
        libbpf_messages += big;
    }
    return 0;
}

void install_print_hook() {
    static bool installed = false;
    if (!installed) {
        libbpf_set_print(capture_libbpf_print);
        installed = true;
    }
}

// The verifier's log as libbpf printed it between its BEGIN/END markers.
std::string extract_verifier_log(const std::string &messages) {
    auto begin = messages.find("-- BEGIN PROG LOAD LOG --");
    if (begin == std::string::npos) return {};
    begin = messages.find('\n', begin);
    auto end = messages.find("-- END PROG LOAD LOG --", begin);
    if (begin == std::string::npos || end == std::string::npos) return {};
    std::string log = messages.substr(begin + 1, end - begin - 1);
    // libbpf prefixes the end marker with "libbpf: prog 'x': "; drop that partial line.
    auto last_newline = log.rfind('\n');
    if (last_newline != std::string::npos) log.erase(last_newline + 1);
    return log;
}

const char *map_type_name(enum bpf_map_type type) {
    const char *name = libbpf_bpf_map_type_str(type);
    return name ? name : "unknown";
}

}  // namespace

void BpfObjectDeleter::operator()(bpf_object *object) const { bpf_object__close(object); }

std::string take_libbpf_messages() { return std::exchange(libbpf_messages, {}); }

FilterObject FilterObject::open(std::span<const std::uint8_t> elf, const std::string &name) {
    install_print_hook();
    LIBBPF_OPTS(bpf_object_open_opts, opts);
    std::string object_name = name.substr(name.find_last_of('/') + 1);
    opts.object_name = object_name.c_str();
    FilterObject filter;
    filter.name_ = name;
    filter.elf_.assign(elf.begin(), elf.end());
    filter.object_.reset(bpf_object__open_mem(filter.elf_.data(), filter.elf_.size(), &opts));
    if (!filter.object_) {
        int err = errno;
        throw Error("filter " + name + ": not a usable BPF object (" + std::strerror(err) +
                    "); it must be an ELF object for the BPF target with BTF (compile with -target bpf -g)\n" +
                    take_libbpf_messages());
    }
    return filter;
}

void FilterObject::set_map_size(const std::string &map, std::uint32_t entries) {
    if (int err = bpf_map__set_max_entries(find_map(map), entries); err)
        throw system_error("filter " + name_ + ": map " + map + ": cannot set its size to " + std::to_string(entries), -err);
}

void FilterObject::reuse_map(const std::string &map, int fd) {
    if (int err = bpf_map__reuse_fd(find_map(map), fd); err)
        throw system_error("filter " + name_ + ": map " + map + ": cannot take over the running filter's", -err);
}

void FilterObject::load(const std::string &program) {
    bpf_program *chosen = nullptr;
    std::vector<std::string> socket_programs;
    bpf_program *prog;
    bpf_object__for_each_program(prog, object_.get()) {
        if (bpf_program__type(prog) == BPF_PROG_TYPE_SOCKET_FILTER)
            socket_programs.push_back(bpf_program__name(prog));
    }
    std::string wanted = program.empty() ? "filter" : program;
    chosen = bpf_object__find_program_by_name(object_.get(), wanted.c_str());
    if (!chosen && program.empty() && socket_programs.size() == 1)
        chosen = bpf_object__find_program_by_name(object_.get(), socket_programs[0].c_str());
    if (!chosen) {
        std::string list = join(socket_programs);
        throw Error("filter " + name_ + ": no program named '" + wanted + "'" +
                    (socket_programs.empty() ? std::string("; the object has no SEC(\"socket\") program")
                                             : "; socket programs in it: " + list) +
                    (program.empty() ? " (name the program 'filter', or pick one with --program)" : ""));
    }
    if (bpf_program__type(chosen) != BPF_PROG_TYPE_SOCKET_FILTER)
        throw Error("filter " + name_ + ": program '" + bpf_program__name(chosen) +
                    "' is not a socket filter; put it in SEC(\"socket\")");
    bpf_object__for_each_program(prog, object_.get()) bpf_program__set_autoload(prog, prog == chosen);
    tell_whether_stack_stores_are_guarded();

    // Without libbpf's feature probes when it can; libbpf otherwise, whose
    // messages then say what went wrong.
    if (through_libbpf_) {
        loaded_by_libbpf_because_ = "asked for";
    } else if (auto direct = load_directly(object_.get(), chosen, elf_, loaded_by_libbpf_because_)) {
        program_name_ = bpf_program__name(chosen);
        own_program_.reset(direct->program_fd);
        program_fd_ = direct->program_fd;
        loaded_instructions_ = direct->instructions;
        return;
    }

    // Our own buffer for the verifier's log (libbpf asks for one only after a
    // failed load): the kernel keeps the end of a log that does not fit, which
    // is the part that matters, and libbpf does not verify the program again
    // and again with ever larger buffers (for a program at the complexity limit
    // each verification with a log takes seconds).
    constexpr std::size_t log_size = 4 << 20;
    std::unique_ptr<char[]> log_buffer(new char[log_size]);
    log_buffer[0] = '\0';
    bpf_program__set_log_buf(chosen, log_buffer.get(), log_size);

    take_libbpf_messages();
    int err = bpf_object__load(object_.get());
    bpf_program__set_log_buf(chosen, nullptr, 0);
    if (err) {
        std::string messages = take_libbpf_messages();
        std::string log(log_buffer.get(), strnlen(log_buffer.get(), log_size));
        if (log.empty()) log = extract_verifier_log(messages);
        if (-err == EPERM || -err == EACCES) {
            if (log.empty())
                throw system_error("filter " + name_ + ": the kernel refused to load it (loading eBPF needs CAP_BPF or root)", -err);
        }
        if (!log.empty()) throw VerifierRejection(describe_rejection(bpf_program__name(chosen), log)).with_detail(log);
        if (auto map = map_that_failed(messages)) {
            bpf_map *failed = bpf_object__find_map_by_name(object_.get(), map->c_str());
            std::string shape = failed ? " (" + std::to_string(bpf_map__max_entries(failed)) + " entries of " +
                                             std::to_string(bpf_map__key_size(failed)) + "-byte keys and " +
                                             std::to_string(bpf_map__value_size(failed)) + "-byte values)"
                                       : "";
            throw Error("filter " + name_ + ": map " + *map + shape + ": the kernel refused to create it: " +
                            std::strerror(-err) + "; give it fewer entries (--map-size " + *map + "=N)",
                        exit_system)
                .with_detail(messages);
        }
        if (-err == E2BIG)
            throw VerifierRejection("filter " + name_ + ": program '" + bpf_program__name(chosen) + "' has " +
                                    std::to_string(bpf_program__insn_cnt(chosen)) +
                                    " instructions, more than the kernel loads (1000000 with CAP_BPF, 4096 without); "
                                    "split the filter or move work into bpf_loop() callbacks");
        throw Error("filter " + name_ + ": loading failed: " + std::strerror(-err) + "\n" + last_lines(messages, 8), exit_system);
    }
    program_name_ = bpf_program__name(chosen);
    program_fd_ = bpf_program__fd(chosen);
    loaded_instructions_ = static_cast<std::uint32_t>(bpf_program__insn_cnt(chosen));
}

// alf_stack_stores_guarded of <alfwrapper/packet.h>: 1 when the verifier
// will follow the program's stores to a fresh stack slot with a barrier
// against speculative store bypass (Spectre v4), which it does for a loader
// without CAP_PERFMON (or CAP_SYS_ADMIN), e.g. a delegated alfwrapper. The
// filter then zeroes its locals by a helper call instead of by stores.
void FilterObject::tell_whether_stack_stores_are_guarded() {
    constexpr const char *variable = "alf_stack_stores_guarded";
    if (global_value(variable).size() != 1) return;
    std::uint8_t guarded;
    if (assumed_guarded_) {
        guarded = *assumed_guarded_ ? 1 : 0;
    } else {
        Capabilities held = effective_and_permitted_capabilities();
        guarded = held.effective_has(CAP_PERFMON) || held.effective_has(CAP_SYS_ADMIN) ? 0 : 1;
    }
    set_global_value(variable, std::span(&guarded, 1));
}

// libbpf says which map it could not create: "map 'NAME': failed to create: ...".
std::optional<std::string> FilterObject::map_that_failed(const std::string &messages) {
    std::size_t at = messages.find("': failed to create");
    if (at == std::string::npos) return std::nullopt;
    std::size_t start = messages.rfind("map '", at);
    if (start == std::string::npos) return std::nullopt;
    return messages.substr(start + 5, at - start - 5);
}

// "FILE:LINE: reason", the source line, the rest of the reason, then the end
// of the log: the shape of a compiler's error, so editors can jump to it.
std::string FilterObject::describe_rejection(const std::string &program, const std::string &log) const {
    VerifierSummary summary = summarize_verifier_log(log);
    std::string text = "filter " + name_ + ": the kernel's verifier rejected program '" + program + "'";
    if (!summary.limit.empty()) text += ": " + summary.limit;
    text += "\n";
    std::string reason = summary.reason.empty() ? "rejected here" : summary.reason;
    std::string first_reason = reason.substr(0, reason.find('\n'));
    std::string more_reasons = reason.size() > first_reason.size() ? reason.substr(first_reason.size() + 1) : "";
    // The object's line info is exact; the log's comments may have scrolled away.
    std::optional<SourceLine> where;
    if (summary.instruction_index) where = source_line_of(elf_, program, *summary.instruction_index);
    if (!where) where = summary.where;
    if (where) {
        text += source_file_named(where->file) + ":" + std::to_string(where->line) + ": error: " + first_reason +
                "\n    " + where->text + "\n";
    } else {
        text += "error: " + first_reason + "\n";
    }
    for (std::size_t pos = 0; pos < more_reasons.size();) {
        auto end = more_reasons.find('\n', pos);
        text += "  " + more_reasons.substr(pos, end - pos) + "\n";
        pos = end == std::string::npos ? more_reasons.size() : end + 1;
    }
    if (!summary.instruction.empty()) text += "  at instruction " + summary.instruction + "\n";
    text += "The end of the verifier's log:\n" + last_lines(log, 10) + "(the whole log is shown with --verbose)";
    return text;
}

// The object's line info names files by the absolute path the compiler
// saw, the kernel's log by their base name: both become the path as the
// user wrote it when they are the filter itself, else the full path found
// among the object's BTF strings.
std::string FilterObject::source_file_named(const std::string &file) const {
    auto base_of = [](std::string_view path) { return path.substr(path.find_last_of('/') + 1); };
    auto is_suffix = [](std::string_view path, std::string_view suffix) {
        return path == suffix || (path.ends_with(suffix) && path[path.size() - suffix.size() - 1] == '/');
    };
    if (is_suffix(file, name_) || (file == base_of(file) && base_of(name_) == file)) return name_;
    if (file != base_of(file)) return file;
    const struct btf *object_btf = bpf_object__btf(object_.get());
    if (!object_btf) return file;
    std::uint32_t size = 0;
    const auto *raw = static_cast<const char *>(btf__raw_data(object_btf, &size));
    const auto *header = reinterpret_cast<const struct btf_header *>(raw);
    if (!raw || size < sizeof(*header) || header->hdr_len + header->str_off + header->str_len > size) return file;
    std::string_view strings(raw + header->hdr_len + header->str_off, header->str_len);
    for (std::size_t pos = 0; pos < strings.size();) {
        std::string_view candidate(strings.data() + pos);
        pos += candidate.size() + 1;
        if (candidate.size() > file.size() && is_suffix(candidate, file)) return std::string(candidate);
    }
    return file;
}

int FilterObject::program_fd() const { return program_fd_; }

std::uint32_t FilterObject::program_instructions() const { return loaded_instructions_; }

LoadedProgramInfo FilterObject::loaded_program_info() const {
    struct bpf_prog_info info = {};
    std::uint32_t size = sizeof info;
    LoadedProgramInfo result;
    if (program_fd_ >= 0 && bpf_obj_get_info_by_fd(program_fd_, &info, &size) == 0) {
        result.translated_bytes = info.xlated_prog_len;
        result.jited_bytes = info.jited_prog_len;
        result.verified_instructions = info.verified_insns;
    }
    return result;
}

std::vector<ProgramDescription> FilterObject::programs() const {
    std::vector<ProgramDescription> result;
    bpf_program *prog;
    bpf_object__for_each_program(prog, object_.get()) {
        bool chosen = is_chosen(prog);
        result.push_back({bpf_program__name(prog), bpf_program__section_name(prog),
                          chosen ? loaded_instructions_ : static_cast<std::uint32_t>(bpf_program__insn_cnt(prog)),
                          chosen});
    }
    return result;
}

bool FilterObject::is_chosen(const bpf_program *prog) const {
    return !program_name_.empty() && program_name_ == bpf_program__name(prog);
}

std::string describe_map(const MapDescription &m) {
    return m.name + ": " + m.type + ", key " + m.key_type + " (" + std::to_string(m.key_size) + " bytes), value " +
           m.value_type + " (" + std::to_string(m.value_size) + " bytes), max_entries " + std::to_string(m.max_entries);
}

bpf_map *FilterObject::map_if_declared(const std::string &name) const {
    bpf_map *map = bpf_object__find_map_by_name(object_.get(), name.c_str());
    return map && !bpf_map__is_internal(map) ? map : nullptr;
}

std::vector<bpf_map *> FilterObject::declared_maps() const {
    std::vector<bpf_map *> result;
    bpf_map *map;
    bpf_object__for_each_map(map, object_.get()) {
        if (!bpf_map__is_internal(map)) result.push_back(map);
    }
    return result;
}

std::vector<std::pair<std::string, std::uint32_t>> FilterObject::loaded_map_ids() const {
    std::vector<std::pair<std::string, std::uint32_t>> ids;
    bpf_map *map;
    bpf_object__for_each_map(map, object_.get()) {
        bpf_map_info info{};
        std::uint32_t length = sizeof info;
        if (bpf_map__fd(map) >= 0 && bpf_obj_get_info_by_fd(bpf_map__fd(map), &info, &length) == 0)
            ids.emplace_back(info.name, info.id);
    }
    return ids;
}

bpf_map *FilterObject::find_map(const std::string &name) const {
    if (bpf_map *map = map_if_declared(name)) return map;
    std::vector<std::string> names;
    for (const auto &m : maps()) names.push_back(m.name);
    std::string list = join(names);
    throw Error("filter " + name_ + " has no map named '" + name + "'" +
                (list.empty() ? std::string("; it has no maps") : "; its maps: " + list));
}

std::vector<MapDescription> FilterObject::maps() const {
    std::vector<MapDescription> result;
    const struct btf *object_btf = bpf_object__btf(object_.get());
    for (bpf_map *map : declared_maps()) {
        MapDescription d;
        d.name = bpf_map__name(map);
        d.type = map_type_name(bpf_map__type(map));
        d.key_size = bpf_map__key_size(map);
        d.value_size = bpf_map__value_size(map);
        d.max_entries = bpf_map__max_entries(map);
        d.key_type = object_btf && bpf_map__btf_key_type_id(map)
                         ? describe_btf_type(object_btf, bpf_map__btf_key_type_id(map))
                         : std::to_string(d.key_size) + " bytes";
        d.value_type = object_btf && bpf_map__btf_value_type_id(map)
                           ? describe_btf_type(object_btf, bpf_map__btf_value_type_id(map))
                           : std::to_string(d.value_size) + " bytes";
        result.push_back(d);
    }
    return result;
}

namespace {

// Where a global variable lives: the internal map of its section, its offset and size.
struct GlobalVariable {
    bpf_map *map = nullptr;
    std::size_t offset = 0, size = 0;
};

GlobalVariable find_global(bpf_object *object, const std::string &variable) {
    const struct btf *btf = bpf_object__btf(object);
    if (!btf) return {};
    for (std::uint32_t id = 1; id < btf__type_cnt(btf); ++id) {
        const btf_type *t = btf__type_by_id(btf, id);
        if (!btf_is_datasec(t)) continue;
        const struct btf_var_secinfo *vars = btf_var_secinfos(t);
        for (int i = 0; i < btf_vlen(t); ++i) {
            const btf_type *var = btf__type_by_id(btf, vars[i].type);
            if (!var || variable != btf__name_by_offset(btf, var->name_off)) continue;
            // libbpf names the section's map "<object prefix><section>", e.g. "subnets.rodata".
            std::string section = btf__name_by_offset(btf, t->name_off);
            bpf_map *map;
            bpf_object__for_each_map(map, object) {
                std::string name = bpf_map__name(map);
                if (bpf_map__is_internal(map) && name.size() >= section.size() &&
                    name.compare(name.size() - section.size(), section.size(), section) == 0)
                    return {map, vars[i].offset, vars[i].size};
            }
        }
    }
    return {};
}

}  // namespace

std::vector<std::uint8_t> FilterObject::global_value(const std::string &variable) const {
    GlobalVariable global = find_global(object_.get(), variable);
    std::size_t size = 0;
    const void *data = global.map ? bpf_map__initial_value(global.map, &size) : nullptr;
    if (!data || global.offset + global.size > size) return {};
    const auto *bytes = static_cast<const std::uint8_t *>(data) + global.offset;
    return {bytes, bytes + global.size};
}

void FilterObject::set_global_value(const std::string &variable, std::span<const std::uint8_t> bytes) {
    GlobalVariable global = find_global(object_.get(), variable);
    std::size_t size = 0;
    const void *data = global.map ? bpf_map__initial_value(global.map, &size) : nullptr;
    if (!data || global.offset + global.size > size || bytes.size() != global.size)
        throw Error("filter " + name_ + ": no global variable '" + variable + "' of " + std::to_string(bytes.size()) +
                    " bytes to set");
    std::vector<std::uint8_t> section(static_cast<const std::uint8_t *>(data),
                                      static_cast<const std::uint8_t *>(data) + size);
    std::copy(bytes.begin(), bytes.end(), section.begin() + static_cast<std::ptrdiff_t>(global.offset));
    if (int err = bpf_map__set_initial_value(global.map, section.data(), section.size()); err)
        throw system_error("filter " + name_ + ": cannot set '" + variable + "'", -err);
}

std::vector<std::uint8_t> FilterObject::read_only_data() const {
    bpf_map *map;
    bpf_object__for_each_map(map, object_.get()) {
        std::string_view name = bpf_map__name(map);
        if (!bpf_map__is_internal(map) || !name.ends_with(".rodata")) continue;
        std::size_t size = 0;
        const auto *data = static_cast<const std::uint8_t *>(bpf_map__initial_value(map, &size));
        return data ? std::vector<std::uint8_t>(data, data + size) : std::vector<std::uint8_t>{};
    }
    return {};
}

const struct btf *FilterObject::btf() const { return bpf_object__btf(object_.get()); }

void update_map_entry(bpf_map *map, std::span<const std::uint8_t> key, std::span<const std::uint8_t> value) {
    int err = bpf_map__update_elem(map, key.data(), key.size(), value.empty() ? nullptr : value.data(),
                                   value.size(), BPF_ANY);
    if (err == -E2BIG)
        throw Error(std::string("map ") + bpf_map__name(map) + " is full (" + std::to_string(bpf_map__max_entries(map)) +
                    " entries); raise its size with --map-size");
    if (err) throw system_error(std::string("map ") + bpf_map__name(map) + ": cannot write an entry", -err);
}

std::vector<std::uint8_t> declared_default_value(const FilterObject &filter, const std::string &map) {
    return filter.global_value("alf_default_value__" + map);
}

}  // namespace alf
