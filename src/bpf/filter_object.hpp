// libbpf objects: open a filter object from memory, load it through the
// verifier, find its program and maps.
#pragma once

#include "common/error.hpp"
#include "common/unique_fd.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

struct bpf_object;
struct bpf_map;
struct bpf_program;
struct btf;

namespace alf {

struct BpfObjectDeleter {
    void operator()(bpf_object *object) const;
};
using BpfObjectPtr = std::unique_ptr<bpf_object, BpfObjectDeleter>;

struct ProgramDescription {
    std::string name;
    std::string section;
    std::uint32_t instructions = 0;  // as compiled
    bool chosen = false;             // the one loaded and attached
};

// After the verifier: what the kernel runs.
struct LoadedProgramInfo {
    std::uint32_t translated_bytes = 0;  // the verifier's rewrite of the program (xlated)
    std::uint32_t jited_bytes = 0;       // machine code; 0 without the JIT
    std::uint32_t verified_instructions = 0;  // instructions the verifier processed, over all paths it walked
};

struct MapDescription {
    std::string name;
    std::string type;        // "hash", "array", "lpm_trie", ...
    std::string key_type;    // C-like
    std::string value_type;
    std::uint32_t key_size = 0, value_size = 0, max_entries = 0;
};

// The kernel's verifier refused the program. The message points at the
// source line of the refused instruction; detail() holds the whole log.
class VerifierRejection : public Error {
public:
    using Error::Error;
    VerifierRejection &&with_detail(std::string detail) && {
        static_cast<Error &&>(*this).with_detail(std::move(detail));
        return std::move(*this);
    }
};

class FilterObject {
public:
    // Opens (does not load) an ELF object; `name` names it in messages.
    static FilterObject open(std::span<const std::uint8_t> elf, const std::string &name);

    // Sets a map's max_entries; only before load().
    void set_map_size(const std::string &map, std::uint32_t entries);

    // The filter's read-only data (.rodata) as it will be loaded: constants
    // the verifier sees; empty when there is none.
    std::vector<std::uint8_t> read_only_data() const;

    // Before load: the map is not created but the one behind `fd` is used
    // (a running filter's, kept across a restart). Throws Error when the
    // filter declares no such map.
    void reuse_map(const std::string &map, int fd);

    // A global variable of the filter's data sections (.rodata, .data, .bss)
    // before load: its bytes, or empty if there is none of that name.
    // Setting a read-only one sets a constant the verifier sees.
    std::vector<std::uint8_t> global_value(const std::string &variable) const;
    void set_global_value(const std::string &variable, std::span<const std::uint8_t> bytes);

    // Loads maps and the chosen program (`program` empty: the one named
    // "filter", or the only socket program). Throws with the verifier's log.
    void load(const std::string &program = {});
    // Load the code a loader without CAP_PERFMON gets (guarded: true) or a
    // root one (false), whatever this process holds: the filter's headers
    // pick their code by alf_stack_stores_guarded, and tests check both.
    void assume_stack_stores_guarded(bool guarded) { assumed_guarded_ = guarded; }

    int program_fd() const;
    // Load with libbpf even where the own loader would (the tests compare the two).
    void load_through_libbpf() { through_libbpf_ = true; }
    // Why libbpf loaded the program rather than alfwrapper's own loader
    // (bpf/direct_load.hpp); empty when it did not.
    const std::string &loaded_by_libbpf_because() const { return loaded_by_libbpf_because_; }
    const std::string &program_name() const { return program_name_; }
    std::uint32_t program_instructions() const;
    LoadedProgramInfo loaded_program_info() const;
    std::vector<ProgramDescription> programs() const;

    // Throws an Error listing the maps that exist when there is no such map.
    bpf_map *find_map(const std::string &name) const;
    // The map of that name, or nullptr when the filter declares none.
    bpf_map *map_if_declared(const std::string &name) const;
    // The maps the filter declares (not the data sections'), in object order.
    std::vector<bpf_map *> declared_maps() const;
    std::vector<MapDescription> maps() const;
    // Every map loaded, as the kernel names it, with its id (after load()).
    std::vector<std::pair<std::string, std::uint32_t>> loaded_map_ids() const;
    const struct btf *btf() const;
    const std::string &name() const { return name_; }

private:
    FilterObject() = default;
    std::string describe_rejection(const std::string &program, const std::string &log) const;
    static std::optional<std::string> map_that_failed(const std::string &messages);
    std::string source_file_named(const std::string &file) const;
    bool is_chosen(const struct bpf_program *prog) const;
    void tell_whether_stack_stores_are_guarded();
    std::vector<std::uint8_t> elf_;  // libbpf reads it in place until the load
    BpfObjectPtr object_;
    std::string name_;
    std::string program_name_;
    int program_fd_ = -1;
    UniqueFd own_program_;  // the program, when libbpf did not load it
    std::uint32_t loaded_instructions_ = 0;
    std::string loaded_by_libbpf_because_;
    bool through_libbpf_ = false;
    std::optional<bool> assumed_guarded_;
};

// The value an omitted VALUE stands for in `map`, or empty when the filter
// declares none (ALF_MAP_DEFAULT_VALUE in <alfwrapper/maps.h>).
std::vector<std::uint8_t> declared_default_value(const FilterObject &filter, const std::string &map);

// "allow4: hash, key __u32 (4 bytes), value struct alf_ipv4_subnet (20 bytes), max_entries 1024"
std::string describe_map(const MapDescription &map);

// Everything libbpf printed since the last call (its verifier logs included);
// shown with --verbose.
std::string take_libbpf_messages();

// Writes one entry; errors carry the map's name.
void update_map_entry(bpf_map *map, std::span<const std::uint8_t> key, std::span<const std::uint8_t> value);

}  // namespace alf
