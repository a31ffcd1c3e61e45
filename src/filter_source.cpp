#include "filter_source.hpp"

#include "builtin_filters.hpp"
#include "error.hpp"
#include "headers.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace alf {

namespace {

// Terminal colour sequences (ESC [ ... m), for warnings shown where no colour is wanted.
std::string without_color(const std::string &text) {
    std::string plain;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
            auto end = text.find('m', i);
            if (end != std::string::npos) {
                i = end;
                continue;
            }
        }
        plain += text[i];
    }
    return plain;
}

std::string working_directory() {
    std::string path(4096, '\0');
    if (!getcwd(path.data(), path.size())) return {};
    path.resize(std::strlen(path.c_str()));
    return path;
}

}  // namespace

const char *optimization_name(Optimization optimization) {
    return optimization == Optimization::fast ? "fast" : "full";
}

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

FilterBuilder::FilterBuilder(FilterSource source, BuildOptions options, Messages messages)
    : source_(std::move(source)), options_(std::move(options)), messages_(std::move(messages)),
      cache_(ObjectCache::disabled()) {}

std::string FilterBuilder::key_for(Optimization optimization) const {
    return cache_key({source_.path, source_text_, source_.defines, source_.include_dirs, working_directory(),
                      optimization_name(optimization)});
}

FilterBytes FilterBuilder::obtain() {
    FilterBytes result;
    if (source_.builtin_only && (source_.path.ends_with(".o") || source_.path.ends_with(".c")))
        throw Error("filter " + source_.path + ": only built-in filters may be loaded with these privileges");
    if (source_.path.ends_with(".o")) {
        result.object = read_file_bytes(source_.path, "filter");
        return result;
    }
    if (!source_.path.ends_with(".c")) {
        if (source_.path.find('/') == std::string::npos) {
            if (auto builtin = find_builtin_filter(source_.path)) {
                result.object.assign(builtin->begin(), builtin->end());
                result.origin = FilterBytes::Origin::builtin;
                return result;
            }
        }
        std::string names;
        for (const auto &name : builtin_filter_names()) names += (names.empty() ? "" : ", ") + name;
        throw Error("filter " + source_.path + ": not a C source (.c), a compiled BPF object (.o) or a built-in filter (" +
                    names + ")");
    }
    auto text = read_file_bytes(source_.path, "filter");
    source_text_.assign(text.begin(), text.end());

    // With privileges the user does not have (setuid, file capabilities), an
    // object from a directory the user can write is a program the user wrote.
    if (options_.use_cache && getauxval(AT_SECURE)) {
        messages_.info("compile cache: not used by a privileged alfwrapper");
    } else if (options_.use_cache) {
        std::string warning;
        std::string directory = options_.cache_dir.empty() ? ObjectCache::default_directory() : options_.cache_dir;
        cache_ = ObjectCache::open(directory, warning);
        if (!warning.empty()) messages_.warning(warning);
    }
    if (cache_.enabled()) {
        key_ = key_for(options_.optimization);
        std::string why;
        if (auto entry = cache_.lookup(key_, why)) {
            messages_.info("compile cache: hit for " + source_.path + " (" + cache_.entry_path(key_) + "), not compiling");
            result.object = std::move(entry->object);
            result.warnings = options_.color ? entry->warnings : without_color(entry->warnings);
            result.origin = FilterBytes::Origin::cache;
            result.optimization = entry->optimization == "full" ? Optimization::full : Optimization::fast;
            return result;
        }
        messages_.info("compile cache: " + (why.empty() ? "no entry for " + source_.path : why) + "; compiling");
    }
    return compile(options_.optimization);
}

FilterBytes FilterBuilder::compile(Optimization optimization) {
    FilterBytes result;
    CompileRequest request;
    request.source_path = source_.path;
    request.defines = source_.defines;
    request.include_dirs = source_.include_dirs;
    request.runtime_headers = runtime_headers();
    request.optimization = optimization;
    request.color = options_.color;
    auto start = std::chrono::steady_clock::now();
    CompileResult compiled = compile_filter(request);
    result.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!compiled.ok) {
        std::string diagnostics = compiled.diagnostics;
        while (!diagnostics.empty() && diagnostics.back() == '\n') diagnostics.pop_back();
        throw Error("filter " + source_.path + " does not compile:\n" + diagnostics);
    }
    char milliseconds[32];
    std::snprintf(milliseconds, sizeof milliseconds, "%.1f", result.compile_ms);
    messages_.info("compiled " + source_.path + " in " + milliseconds + " ms (" + optimization_name(optimization) +
                   " optimizer)");
    result.object = std::move(compiled.object);
    result.warnings = std::move(compiled.diagnostics);
    result.origin = FilterBytes::Origin::compiler;
    result.optimization = optimization;
    if (cache_.enabled()) {
        std::string failure = cache_.store(key_, {result.object, optimization_name(optimization), result.warnings},
                                           compiled.inputs);
        if (failure.empty())
            messages_.info("compile cache: stored " + cache_.entry_path(key_));
        else
            messages_.warning("compile cache: " + failure);
    }
    return result;
}

FilterObject FilterBuilder::load(FilterBytes &bytes, const std::string &program,
                                 const std::function<void(FilterObject &)> &before_load) {
    auto filter = FilterObject::open(bytes.object, source_.path);
    if (before_load) before_load(filter);
    if (bytes.optimization != Optimization::fast || options_.optimization != Optimization::fast) {
        filter.load(program);
        return filter;
    }
    try {
        filter.load(program);
        return filter;
    } catch (const VerifierRejection &) {
        messages_.info("the verifier rejected the program the fast optimizer made; compiling with the full optimizer");
    }
    bytes = compile(Optimization::full);
    auto retried = FilterObject::open(bytes.object, source_.path);
    if (before_load) before_load(retried);
    retried.load(program);
    return retried;
}

}  // namespace alf
