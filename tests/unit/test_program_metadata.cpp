// The record a running filter carries (bpf/program_metadata.hpp): the maps
// it names are the program's, and a record without them (an earlier
// version's) still has its maps found, from the kernel.
#include "bpf/program_metadata.hpp"
#include "common/unique_fd.hpp"
#include "test_support.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace {

using alf::UniqueFd;

// A socket filter that returns 0, with `map` bound to it.
UniqueFd program_holding(int map) {
    const bpf_insn code[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    UniqueFd program(bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "alf_unit", "GPL", code, 2, nullptr));
    REQUIRE(program);
    REQUIRE(bpf_prog_bind_map(program.get(), map, nullptr) == 0);
    return program;
}

UniqueFd array_map(const char *name) {
    UniqueFd map(bpf_map_create(BPF_MAP_TYPE_ARRAY, name, 4, 8, 1, nullptr));
    REQUIRE(map);
    return map;
}

std::uint32_t map_id(int map) {
    bpf_map_info info{};
    std::uint32_t length = sizeof info;
    REQUIRE(bpf_obj_get_info_by_fd(map, &info, &length) == 0);
    return info.id;
}

alf::RunningFilter found(const std::string &name) {
    auto filters = alf::find_running_filters([&](const alf::FilterMetadata &m) { return m.name == name; });
    auto it = std::find_if(filters.begin(), filters.end(), [&](const auto &f) { return f.metadata.name == name; });
    REQUIRE(it != filters.end());
    return *it;
}

using Maps = std::vector<std::pair<std::string, std::uint32_t>>;

}  // namespace

TEST_CASE("a running filter's record names its maps, and one without them has them found in the kernel" * root_suite) {
    require_root("loading programs and finding them by id needs root");
    std::string name = "unit-metadata-" + std::to_string(getpid());
    UniqueFd counters = array_map("alf_unit_maps"), other = array_map("alf_unit_other");
    UniqueFd program = program_holding(counters.get());
    const Maps held = {{"alf_unit_maps", map_id(counters.get())}};

    SUBCASE("named by the launch: kept only where the program holds them") {
        alf::FilterMetadata metadata{.name = name, .pid = getpid()};
        metadata.maps = {{"alf_unit_maps", map_id(counters.get())}, {"alf_unit_other", map_id(other.get())}};
        alf::attach_metadata(program.get(), metadata);
        alf::RunningFilter filter = found(name);
        CHECK(filter.metadata.maps == held);
        CHECK(filter.maps == held);
    }
    SUBCASE("left empty: attach_metadata() asks the kernel") {
        alf::attach_metadata(program.get(), {.name = name, .pid = getpid()});
        alf::RunningFilter filter = found(name);
        CHECK(filter.metadata.maps == held);
        CHECK(filter.maps == held);
    }
    SUBCASE("a record of an earlier version, without maps") {
        std::string record = R"({"name":")" + name + R"(","pid":1,"filter":"subnets","backend":"eBPF","sockets":[]})";
        std::vector<char> value(4096, 0);
        std::memcpy(value.data(), record.data(), record.size());
        UniqueFd metadata(bpf_map_create(BPF_MAP_TYPE_ARRAY, "alf_meta", 4, 4096, 1, nullptr));
        REQUIRE(metadata);
        std::uint32_t key = 0;
        REQUIRE(bpf_map_update_elem(metadata.get(), &key, value.data(), BPF_ANY) == 0);
        REQUIRE(bpf_prog_bind_map(program.get(), metadata.get(), nullptr) == 0);
        alf::RunningFilter filter = found(name);
        CHECK(filter.metadata.maps.empty());
        CHECK(filter.maps == held);
    }
}
