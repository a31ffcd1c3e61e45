#include "workbench/editor_setup.hpp"

#include "common/error.hpp"
#include "common/util.hpp"
#include "compile/compiler.hpp"
#include "compile/headers.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

namespace alf {

namespace {

std::optional<std::string> file_text(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::string installed_headers_dir() {
    std::error_code error;
    std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error) throw Error("cannot find this executable (/proc/self/exe): " + error.message(), exit_system);
    std::filesystem::path dir = (executable.parent_path() / ".." / "share" / "alfwrapper" / "include").lexically_normal();
    if (!std::filesystem::is_regular_file(dir / "alfwrapper" / "filter.h"))
        throw Error("no installed filter headers at " + dir.string() + ": this " + executable.string() +
                    " is not installed (cmake --install, or the Debian package, puts the headers beside it)",
                    exit_system);
    return dir.string();
}

std::vector<std::string> headers_differing(const std::string &dir) {
    std::vector<std::string> differing;
    for (const auto &header : runtime_headers()) {
        std::string embedded(reinterpret_cast<const char *>(header.data), header.size);
        if (file_text(std::filesystem::path(dir) / header.path) != embedded) differing.push_back(header.path);
    }
    return differing;
}

std::string write_compile_flags(const std::string &directory, const std::string &include_dir) {
    std::string text;
    for (const auto &flag : editor_flags(include_dir)) text += flag + "\n";
    std::string path = (std::filesystem::path(directory) / "compile_flags.txt").string();
    if (auto existing = file_text(path); existing && *existing != text)
        throw Error(path + " exists with other flags: remove it, or give another directory, for alfctl to write it");
    write_file_atomically(path, std::span(reinterpret_cast<const std::uint8_t *>(text.data()), text.size()));
    return path;
}

}  // namespace alf
