// A test helper: finds the one BPF map of a given name in the system (a
// filter attached to a running service keeps its maps alive) and prints its
// entries, read back through libbpf, as JSON: [{"key": HEX, "value": HEX}, ...].
//
//   map_dump NAME
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string hex(const std::vector<unsigned char> &bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string text;
    for (unsigned char b : bytes) {
        text += digits[b >> 4];
        text += digits[b & 15];
    }
    return text;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: map_dump NAME\n");
        return 2;
    }
    std::string wanted = argv[1];
    int found = -1, matches = 0;
    bpf_map_info found_info{};
    for (__u32 id = 0; bpf_map_get_next_id(id, &id) == 0;) {
        int fd = bpf_map_get_fd_by_id(id);
        if (fd < 0) continue;
        bpf_map_info info{};
        __u32 len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && wanted == info.name) {
            ++matches;
            if (found >= 0) close(found);
            found = fd;
            found_info = info;
            continue;
        }
        close(fd);
    }
    if (matches != 1) {
        std::fprintf(stderr, "map_dump: %d maps named %s\n", matches, argv[1]);
        return 1;
    }
    std::vector<unsigned char> key(found_info.key_size), next(found_info.key_size), value(found_info.value_size);
    std::string out = "[";
    bool first = true;
    for (int rc = bpf_map_get_next_key(found, nullptr, next.data()); rc == 0;
         rc = bpf_map_get_next_key(found, key.data(), next.data())) {
        key = next;
        if (bpf_map_lookup_elem(found, key.data(), value.data()) != 0) continue;
        out += std::string(first ? "" : ", ") + "{\"key\": \"" + hex(key) + "\", \"value\": \"" + hex(value) + "\"}";
        first = false;
    }
    std::printf("%s]\n", out.c_str());
    return 0;
}
