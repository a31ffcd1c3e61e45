#include "compile/filter_builder.hpp"

#include "compile/builtin_filters.hpp"
#include "compile/compile_process.hpp"
#include "common/error.hpp"
#include "compile/headers.hpp"
#include "compile/log_library.hpp"
#include "compile/runtime_pch.hpp"
#include "common/json_input.hpp"
#include "common/util.hpp"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
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

// ALF_COMPILE_TIMEOUT (seconds) and ALF_COMPILE_MEMORY (MiB) may lower a
// bound of the compile, never raise it (a privileged alfwrapper reads them too).
std::uint64_t lowered_limit(const char *variable, std::uint64_t limit) {
    const char *text = std::getenv(variable);
    if (!text || !*text) return limit;
    char *end = nullptr;
    errno = 0;
    unsigned long long value = std::strtoull(text, &end, 10);
    if (errno || *end || value == 0)
        throw Error(std::string(variable) + "=" + quote_input(text) + ": expected a positive whole number");
    return std::min<std::uint64_t>(value, limit);
}

std::string working_directory() {
    std::string path(4096, '\0');
    if (!getcwd(path.data(), path.size())) return {};
    path.resize(std::strlen(path.c_str()));
    return path;
}

}  // namespace

FilterBuilder::FilterBuilder(FilterSource source, BuildOptions options, const Reporter &report)
    : source_(std::move(source)), options_(std::move(options)), report_(report), cache_(ObjectCache::disabled()) {}

bool is_builtin_filter_name(const std::string &name) {
    return name.find('/') == std::string::npos && !name.ends_with(".c") && !name.ends_with(".o") &&
           find_builtin_filter(name).has_value();
}

std::string FilterBuilder::key_for(Optimization optimization) const {
    return cache_key({source_.path, source_text_, source_.defines, source_.include_dirs, working_directory(),
                      optimization_name(optimization)});
}

FilterBytes FilterBuilder::obtain() {
    FilterBytes result = find_or_compile();
    if (!result.warnings.empty()) report_.diagnostics(result.warnings);
    return result;
}

FilterBytes FilterBuilder::find_or_compile() {
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
        throw Error("filter " + source_.path + ": not a C source (.c), a compiled BPF object (.o) or a built-in filter (" +
                    join(builtin_filter_names()) + ")");
    }
    auto text = read_file_bytes(source_.path, "filter");
    source_text_.assign(text.begin(), text.end());

    // With privileges the user does not have (setuid, file capabilities), an
    // object from a directory the user can write is a program the user wrote.
    if (options_.use_cache && getauxval(AT_SECURE)) {
        report_.info("compile cache: not used by a privileged " + report_.program);
    } else if (options_.use_cache) {
        std::string warning;
        std::string directory = options_.cache_dir.empty() ? ObjectCache::default_directory() : options_.cache_dir;
        cache_ = ObjectCache::open(directory, warning);
        if (!warning.empty()) report_.warning(warning);
    }
    if (cache_.enabled()) {
        key_ = key_for(options_.optimization);
        std::string why;
        if (auto entry = cache_.lookup(key_, why)) {
            report_.info("compile cache: hit for " + source_.path + " (" + cache_.entry_path(key_) + "), not compiling");
            result.object = std::move(entry->object);
            result.warnings = options_.color ? entry->warnings : without_color(entry->warnings);
            result.origin = FilterBytes::Origin::cache;
            result.optimization = entry->optimization == "full" ? Optimization::full : Optimization::fast;
            return result;
        }
        report_.info("compile cache: " + (why.empty() ? "no entry for " + source_.path : why) + "; compiling");
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
    request.runtime_pch = runtime_pch();
    request.precompiled_log = true;
    request.optimization = optimization;
    request.color = options_.color;
    // The tools compile once or twice, then start the program or exit.
    request.keep_memory = true;
    request.split_functions = true;
    request.time_limit_seconds = static_cast<unsigned>(
        lowered_limit("ALF_COMPILE_TIMEOUT", request.time_limit_seconds));
    request.memory_limit_mib = lowered_limit("ALF_COMPILE_MEMORY", request.memory_limit_mib);
    Stopwatch compiling;
    // Compiled, and its parts linked: a compile split in two whose parts
    // do not link is done again whole (the message says why, with -v).
    CompileResult compiled;
    for (;;) {
        compiled = compile_filter_apart(request);
        if (!compiled.ok) {
            std::string diagnostics = compiled.diagnostics;
            while (!diagnostics.empty() && diagnostics.back() == '\n') diagnostics.pop_back();
            throw Error("filter " + source_.path + " does not compile:\n" + diagnostics);
        }
        try {
            result.object = link_compiled_objects(std::move(compiled.object), compiled.more_objects,
                                                  compiled.hidden_functions, source_.path);
            break;
        } catch (const Error &e) {
            if (!request.split_functions || compiled.more_objects.empty()) throw;
            report_.info(std::string(e.what()) + "; compiling it whole");
            request.split_functions = false;
        }
    }
    result.compile_ms = compiling.milliseconds();
    std::size_t apart = compiled.hidden_functions.size();
    report_.info("compiled " + source_.path + " in " + compiling.text() + " (" + optimization_name(optimization) +
                 " optimizer" + (compiled.from_runtime_pch ? ", from the precompiled runtime headers" : "") +
                 (apart ? ", " + std::to_string(apart) + " static function" + (apart > 1 ? "s" : "") +
                              " compiled on the second CPU"
                        : "") +
                 ")");
    result.warnings = std::move(compiled.diagnostics);
    result.origin = FilterBytes::Origin::compiler;
    result.optimization = optimization;
    if (cache_.enabled()) {
        std::string failure = cache_.store(key_, {result.object, optimization_name(optimization), result.warnings},
                                           compiled.inputs);
        if (failure.empty())
            report_.info("compile cache: stored " + cache_.entry_path(key_));
        else
            report_.warning("compile cache: " + failure);
    }
    return result;
}

bool FilterBuilder::may_compile_fuller(const FilterBytes &bytes) const {
    return bytes.optimization == Optimization::fast && options_.optimization == Optimization::fast &&
           source_.path.ends_with(".c");
}

FilterBytes FilterBuilder::compile_fuller() { return compile(Optimization::full); }

}  // namespace alf
