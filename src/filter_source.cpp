#include "filter_source.hpp"

#include "builtin_filters.hpp"
#include "compiler.hpp"
#include "error.hpp"
#include "headers.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace alf {

namespace {

bool ends_with(const std::string &s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<std::uint8_t> read_file_bytes(const std::string &path, const std::string &what) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        int err = errno;
        if (err == ENOENT) throw Error(what + " " + path + ": no such file");
        throw Error(what + " " + path + ": cannot open: " + std::strerror(err));
    }
    struct stat st;
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) throw Error(what + " " + path + ": not a regular file");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error(what + " " + path + ": cannot read: " + std::strerror(errno));
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    bytes.resize(done);
    return bytes;
}

FilterBytes obtain_filter_object(const FilterSource &source, bool color) {
    FilterBytes result;
    if (source.builtin_only && (ends_with(source.path, ".o") || ends_with(source.path, ".c")))
        throw Error("filter " + source.path + ": only built-in filters may be loaded with these privileges");
    if (ends_with(source.path, ".o")) {
        result.object = read_file_bytes(source.path, "filter");
        return result;
    }
    if (!ends_with(source.path, ".c")) {
        if (source.path.find('/') == std::string::npos) {
            if (auto builtin = find_builtin_filter(source.path)) {
                result.object.assign(builtin->begin(), builtin->end());
                result.builtin = true;
                return result;
            }
        }
        std::string names;
        for (const auto &name : builtin_filter_names()) names += (names.empty() ? "" : ", ") + name;
        throw Error("filter " + source.path + ": not a C source (.c), a compiled BPF object (.o) or a built-in filter (" +
                    names + ")");
    }
    if (access(source.path.c_str(), R_OK) != 0) {
        int err = errno;
        throw Error("filter " + source.path + ": " + (err == ENOENT ? "no such file" : std::strerror(err)));
    }
    CompileRequest request;
    request.source_path = source.path;
    request.defines = source.defines;
    request.include_dirs = source.include_dirs;
    request.runtime_headers = runtime_headers();
    request.color = color;
    auto start = std::chrono::steady_clock::now();
    CompileResult compiled = compile_filter(request);
    result.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!compiled.ok) {
        std::string diagnostics = compiled.diagnostics;
        while (!diagnostics.empty() && diagnostics.back() == '\n') diagnostics.pop_back();
        throw Error("filter " + source.path + " does not compile:\n" + diagnostics);
    }
    result.object = std::move(compiled.object);
    result.warnings = std::move(compiled.diagnostics);
    result.compiled = true;
    return result;
}

}  // namespace alf
