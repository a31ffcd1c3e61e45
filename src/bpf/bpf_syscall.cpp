#include "bpf/bpf_syscall.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace alf {

namespace {

std::uint64_t address(const void *p) { return reinterpret_cast<std::uintptr_t>(p); }

int bpf(int command, bpf_attr &attr) {
    long fd = syscall(__NR_bpf, command, &attr, sizeof attr);
    return fd < 0 ? -1 : static_cast<int>(fd);
}

void copy_name(char (&to)[BPF_OBJ_NAME_LEN], const std::string &name) {
    std::memcpy(to, name.data(), std::min(name.size(), sizeof to - 1));
}

}  // namespace

int create_map(const MapCreation &map) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.map_type = map.type;
    attr.key_size = map.key_size;
    attr.value_size = map.value_size;
    attr.max_entries = map.max_entries;
    attr.map_flags = map.flags;
    attr.numa_node = map.numa_node;
    attr.map_extra = map.map_extra;
    copy_name(attr.map_name, map.name);
    if (map.btf_fd >= 0) {
        attr.btf_fd = static_cast<std::uint32_t>(map.btf_fd);
        attr.btf_key_type_id = map.btf_key_type_id;
        attr.btf_value_type_id = map.btf_value_type_id;
    }
    return bpf(BPF_MAP_CREATE, attr);
}

int create_map(bpf_map_type type, const std::string &name, std::uint32_t key_size, std::uint32_t value_size,
               std::uint32_t max_entries, std::uint32_t flags) {
    MapCreation map;
    map.type = type;
    map.name = name;
    map.key_size = key_size;
    map.value_size = value_size;
    map.max_entries = max_entries;
    map.flags = flags;
    return create_map(map);
}

int load_btf(std::span<const std::uint8_t> btf) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.btf = address(btf.data());
    attr.btf_size = static_cast<std::uint32_t>(btf.size());
    return bpf(BPF_BTF_LOAD, attr);
}

int load_program(const ProgramLoad &program) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.prog_type = program.type;
    attr.insns = address(program.instructions.data());
    attr.insn_cnt = static_cast<std::uint32_t>(program.instructions.size());
    attr.license = address(program.license.c_str());
    attr.kern_version = program.kernel_version;
    attr.prog_flags = program.flags;
    attr.expected_attach_type = program.expected_attach_type;
    copy_name(attr.prog_name, program.name);
    if (program.btf_fd >= 0) {
        attr.prog_btf_fd = static_cast<std::uint32_t>(program.btf_fd);
        auto records = [](std::span<const std::uint8_t> bytes, std::uint32_t size, __u64 &at,
                          __u32 &record_size, __u32 &count) {
            if (size == 0) return;
            at = address(bytes.data());
            record_size = size;
            count = static_cast<std::uint32_t>(bytes.size() / size);
        };
        records(program.func_info, program.func_info_record_size, attr.func_info, attr.func_info_rec_size,
                attr.func_info_cnt);
        records(program.line_info, program.line_info_record_size, attr.line_info, attr.line_info_rec_size,
                attr.line_info_cnt);
    }
    int fd = -1;
    for (int attempt = 0; attempt < 5; ++attempt) {
        fd = bpf(BPF_PROG_LOAD, attr);
        if (fd >= 0 || errno != EAGAIN) break;
    }
    return fd;
}

}  // namespace alf
