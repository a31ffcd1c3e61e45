#include "temp_files.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace alf {

TempDir::TempDir(const std::string &prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (!mkdtemp(pattern.data()))
        throw std::runtime_error("cannot make a temporary directory " + pattern + ": " + std::strerror(errno));
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;  // a test that failed half-way may have left anything; remove what is there
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

TempDir::TempDir(TempDir &&other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir &TempDir::operator=(TempDir &&other) noexcept {
    if (this != &other) {
        TempDir old(std::move(*this));
        path_ = std::exchange(other.path_, {});
    }
    return *this;
}

std::string TempDir::write(const std::string &name, std::string_view text) const {
    std::string path = file(name);
    write_text_file(path, text);
    return path;
}

TempFile::TempFile(std::string_view text, const std::string &name) : path_(dir_.write(name, text)) {}

void write_text_file(const std::string &path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace alf
