#include "support.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace alf::fuzz {

namespace {

// In memory when it can be (/dev/shm): a file written to disk for every
// input costs more than most parsers. Never destroyed: the atexit handler
// that removes it runs after static destructors may have.
const std::string &own_directory() {
    static const std::string *directory = [] {
        const char *tmp = std::getenv("TMPDIR");
        std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp && *tmp ? tmp : "/tmp";
        auto *path = new std::string(base + "/alf-fuzz-XXXXXX");
        if (!mkdtemp(path->data())) {
            std::perror("mkdtemp");
            std::abort();
        }
        std::atexit([] { std::filesystem::remove_all(own_directory()); });
        return path;
    }();
    return *directory;
}

}  // namespace

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    while (!text.empty()) {
        auto newline = text.find('\n');
        lines.emplace_back(text.substr(0, newline));
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    }
    return lines;
}

std::string input_file(const std::string &name, std::string_view content) {
    std::string path = own_directory() + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
        std::perror(path.c_str());
        std::abort();
    }
    return path;
}

}  // namespace alf::fuzz
