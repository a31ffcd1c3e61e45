// A test tool: runs socket filters on synthetic packets (BPF_PROG_TEST_RUN).
//
//   prog_test_run live MAP_NAME [HEX_FRAME...]
//     Finds a live filter (attached by alfwrapper to a running service) by
//     the name of the ring buffer it records into, prints the records it made
//     on live traffic, then runs that very program on each frame and prints
//     what each run recorded:
//       {"live": ["<hex record>", ...],
//        "runs": [{"retval": N, "records": ["<hex record>", ...]}, ...]}
//   prog_test_run object FILE.o [HEX_FRAME...]
//     Loads the program named "filter" of a BPF object and runs it on each
//     frame: {"runs": [{"retval": N}, ...]}
//
// A frame is what BPF_PROG_TEST_RUN takes for a socket filter: an Ethernet
// header (which the kernel strips), then the IP packet.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

[[noreturn]] void fail(const std::string &what, int err) {
    std::fprintf(stderr, "prog_test_run: %s: %s\n", what.c_str(), std::strerror(err));
    std::exit(1);
}

std::string hex(const void *data, std::size_t size) {
    static const char digits[] = "0123456789abcdef";
    std::string text;
    for (std::size_t i = 0; i < size; ++i) {
        auto byte = static_cast<const unsigned char *>(data)[i];
        text += digits[byte >> 4];
        text += digits[byte & 15];
    }
    return text;
}

std::vector<std::uint8_t> unhex(const std::string &text) {
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2)
        bytes.push_back(static_cast<std::uint8_t>(std::stoi(text.substr(i, 2), nullptr, 16)));
    return bytes;
}

// The id of the map named `name`, or 0.
std::uint32_t find_map(const std::string &name, int &map_fd) {
    std::uint32_t id = 0;
    while (bpf_map_get_next_id(id, &id) == 0) {
        int fd = bpf_map_get_fd_by_id(id);
        if (fd < 0) continue;
        bpf_map_info info{};
        std::uint32_t len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && name == info.name) {
            map_fd = fd;
            return id;
        }
        close(fd);
    }
    return 0;
}

// An fd of the program that uses map `map_id`, or -1.
int find_program_using(std::uint32_t map_id) {
    std::uint32_t id = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
        int fd = bpf_prog_get_fd_by_id(id);
        if (fd < 0) continue;
        std::uint32_t map_ids[64];
        bpf_prog_info info{};
        info.nr_map_ids = 64;
        info.map_ids = reinterpret_cast<std::uintptr_t>(map_ids);
        std::uint32_t len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
            for (std::uint32_t i = 0; i < info.nr_map_ids && i < 64; ++i)
                if (map_ids[i] == map_id) return fd;
        close(fd);
    }
    return -1;
}

int collect(void *ctx, void *data, std::size_t size) {
    static_cast<nlohmann::json *>(ctx)->push_back(hex(data, size));
    return 0;
}

nlohmann::json drain(int map_fd) {
    nlohmann::json records = nlohmann::json::array();
    ring_buffer *ring = ring_buffer__new(map_fd, collect, &records, nullptr);
    if (!ring) fail("ring buffer", errno);
    if (ring_buffer__consume(ring) < 0) fail("reading the ring buffer", errno);
    ring_buffer__free(ring);
    return records;
}

std::uint32_t test_run(int prog_fd, const std::string &hex_frame) {
    auto frame = unhex(hex_frame);
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame.data(), .data_size_in = static_cast<__u32>(frame.size()));
    if (bpf_prog_test_run_opts(prog_fd, &run) != 0) fail("BPF_PROG_TEST_RUN", errno);
    return run.retval;
}

}  // namespace

int main(int argc, char **argv) {
    std::string mode = argc > 2 ? argv[1] : "";
    if (mode != "live" && mode != "object") {
        std::fprintf(stderr, "usage: prog_test_run live MAP_NAME [HEX_FRAME...]\n"
                             "       prog_test_run object FILE.o [HEX_FRAME...]\n");
        return 2;
    }
    nlohmann::json out;
    out["runs"] = nlohmann::json::array();
    if (mode == "live") {
        int map_fd = -1;
        std::uint32_t map_id = find_map(argv[2], map_fd);
        if (!map_id) fail(std::string("no map named ") + argv[2], ENOENT);
        int prog_fd = find_program_using(map_id);
        if (prog_fd < 0) fail(std::string("no program uses map ") + argv[2], ENOENT);
        out["live"] = drain(map_fd);
        for (int i = 3; i < argc; ++i) {
            std::uint32_t retval = test_run(prog_fd, argv[i]);
            out["runs"].push_back({{"retval", retval}, {"records", drain(map_fd)}});
        }
    } else {
        bpf_object *object = bpf_object__open_file(argv[2], nullptr);
        if (!object) fail(std::string("open ") + argv[2], errno);
        if (bpf_object__load(object) != 0) fail(std::string("load ") + argv[2], errno);
        bpf_program *program = bpf_object__find_program_by_name(object, "filter");
        if (!program) fail(std::string("no program 'filter' in ") + argv[2], ENOENT);
        for (int i = 3; i < argc; ++i) out["runs"].push_back({{"retval", test_run(bpf_program__fd(program), argv[i])}});
        bpf_object__close(object);
    }
    std::puts(out.dump().c_str());
    return 0;
}
