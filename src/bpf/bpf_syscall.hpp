// The bpf() commands that create kernel objects, issued directly. libbpf
// 1.1's wrappers of these probe the kernel once per process before their
// first call (memory accounting, object names: a program load each), which
// a launch pays for nothing on a kernel that has had both since 5.11.
// Each returns the new descriptor, or -1 with errno set.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <span>
#include <string>

namespace alf {

// `name` is cut to the kernel's 15 characters.
int create_map(bpf_map_type type, const std::string &name, std::uint32_t key_size, std::uint32_t value_size,
               std::uint32_t max_entries, std::uint32_t flags = 0);

// The fields of BPF_MAP_CREATE this project sets, BTF included.
struct MapCreation {
    bpf_map_type type = BPF_MAP_TYPE_UNSPEC;
    std::string name;
    std::uint32_t key_size = 0, value_size = 0, max_entries = 0, flags = 0;
    std::uint32_t numa_node = 0;
    std::uint64_t map_extra = 0;
    int btf_fd = -1;
    std::uint32_t btf_key_type_id = 0, btf_value_type_id = 0;
};
int create_map(const MapCreation &map);

// BPF_BTF_LOAD without a log.
int load_btf(std::span<const std::uint8_t> btf);

// The fields of BPF_PROG_LOAD this project sets. Retried while the kernel
// answers EAGAIN (a signal during verification), as libbpf does.
struct ProgramLoad {
    bpf_prog_type type = BPF_PROG_TYPE_SOCKET_FILTER;
    std::string name;
    std::string license = "GPL";
    std::span<const bpf_insn> instructions;
    std::uint32_t expected_attach_type = 0, flags = 0, kernel_version = 0;
    int btf_fd = -1;
    std::span<const std::uint8_t> func_info, line_info;  // records, as the kernel takes them
    std::uint32_t func_info_record_size = 0, line_info_record_size = 0;
};
int load_program(const ProgramLoad &program);

}  // namespace alf
