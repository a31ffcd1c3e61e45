#include "compile/compiler.hpp"
#include "common/util.hpp"
#include "common/error.hpp"

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/Basic/FileManager.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Basic/TargetOptions.h>
#include <clang/Basic/Version.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/FrontendActions.h>
#include <clang/Lex/PreprocessorOptions.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/Analysis/InlineCost.h>
#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/IR/DiagnosticHandler.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Passes/PassPlugin.h>

#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/VirtualFileSystem.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/Transforms/IPO/GlobalDCE.h>
#include <llvm/Transforms/InstCombine/InstCombine.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/JumpThreading.h>
#include <llvm/Transforms/Scalar/LoopPassManager.h>
#include <llvm/Transforms/Scalar/LoopUnrollPass.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <unistd.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstdarg>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <latch>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

// Debian's LLVM archives reference Polly's plugin hook (LLVM_POLLY_LINK_INTO_TOOLS)
// but ship no Polly archive; an empty plugin keeps the optimizer as it is.
llvm::PassPluginLibraryInfo getPollyPluginInfo() {
    return {LLVM_PLUGIN_API_VERSION, "Polly", "disabled", [](llvm::PassBuilder &) {}};
}

// LLVM asks the terminal database (libtinfo) only whether a stream shows
// colours; the compiler's callers decide that themselves (request.color).
// "No terminal database" saves loading the library at every launch.
extern "C" {
struct term;
int setupterm(const char *, int, int *error) {
    if (error) *error = -1;
    return -1;
}
int tigetnum(const char *) { return -1; }
struct term *set_curterm(struct term *) { return nullptr; }
int del_curterm(struct term *) { return 0; }
}

namespace alf {
namespace {

// Bump when the options or passes below change what an object looks like:
// it is part of compiler_version(), so cached objects of the old shape go.
constexpr int pipeline_revision = 10;

// How a compile that cannot go on ends the process (set_compile_end).
[[noreturn]] void print_and_exit(const char *message, int status) {
    std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, message);
    std::fflush(stderr);
    std::_Exit(status);
}
CompileEnd compile_end = print_and_exit;

// Formats into a buffer of its own: the end of a compile out of memory
// must not allocate.
[[noreturn]] __attribute__((format(printf, 2, 3))) void end_compile(int status, const char *format, ...) {
    static char message[1024];
    va_list arguments;
    va_start(arguments, format);
    std::vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    compile_end(message, status);
    std::_Exit(status);  // a CompileEnd does not return
}

// LLVM reports some internal failures by calling this, and would abort()
// when it returns: the user learns what happened, nothing was started, and
// the exit status is a system error's, not a crash's.
[[noreturn]] void report_compiler_crash(void *, const char *reason, bool) {
    std::size_t length = std::strlen(reason);
    while (length && (reason[length - 1] == '\n' || reason[length - 1] == ' ')) --length;
    end_compile(exit_system, "the filter compiler failed: %.*s; nothing was started", static_cast<int>(length), reason);
}

// The one compile under way, for the bounds' messages (set by CompileBounds).
std::string bounded_source;
std::uint64_t bounded_memory_mib = 0;

[[noreturn]] void report_out_of_memory() {
    end_compile(exit_usage,
                "filter %s: compiling it needed more than %llu MiB of memory (a macro or loop that expands without "
                "end?); nothing was started",
                bounded_source.c_str(), static_cast<unsigned long long>(bounded_memory_mib));
}

void report_llvm_out_of_memory(void *, const char *, bool) { report_out_of_memory(); }

class CompileBounds {
public:
    explicit CompileBounds(const CompileRequest &request)
        : time_limit_(std::chrono::seconds(request.time_limit_seconds)),
          memory_limit_(request.memory_limit_mib << 20), resident_at_start_(resident_bytes()) {
        bounded_source = request.source_path;
        bounded_memory_mib = request.memory_limit_mib;
        previous_new_handler_ = std::set_new_handler(report_out_of_memory);
        if (request.time_limit_seconds || request.memory_limit_mib) watchdog_ = std::thread([this] { watch(); });
    }
    ~CompileBounds() {
        if (watchdog_.joinable()) {
            {
                std::lock_guard lock(mutex_);
                done_ = true;
            }
            done_cv_.notify_all();
            watchdog_.join();
        }
        std::set_new_handler(previous_new_handler_);
    }
    CompileBounds(const CompileBounds &) = delete;
    CompileBounds &operator=(const CompileBounds &) = delete;

private:
    // Resident memory, sampled: an address-space limit (RLIMIT_AS) would
    // also catch the compile, but not under AddressSanitizer, which reserves
    // terabytes of shadow; what a runaway compile really grows is resident.
    static std::uint64_t resident_bytes() {
        std::ifstream statm("/proc/self/statm");
        std::uint64_t size = 0, resident = 0;
        statm >> size >> resident;
        return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
    }

    void watch() {
        auto started = std::chrono::steady_clock::now();
        std::unique_lock lock(mutex_);
        // Every 10 ms: a compile that grows by gigabytes does so over seconds.
        while (!done_cv_.wait_for(lock, std::chrono::milliseconds(10), [this] { return done_; })) {
            if (memory_limit_ && resident_bytes() > resident_at_start_ + memory_limit_) report_out_of_memory();
            if (time_limit_.count() && std::chrono::steady_clock::now() - started > time_limit_) {
                end_compile(exit_usage,
                            "filter %s: compiling it took longer than %lld s (a macro or loop that expands without "
                            "end?); nothing was started",
                            bounded_source.c_str(), static_cast<long long>(time_limit_.count()));
            }
        }
    }

    std::chrono::seconds time_limit_;
    std::uint64_t memory_limit_;
    std::uint64_t resident_at_start_;
    std::new_handler previous_new_handler_ = nullptr;
    std::thread watchdog_;
    std::mutex mutex_;
    std::condition_variable done_cv_;
    bool done_ = false;
};

#ifdef ALF_LAZY_LLVM_INIT
// The static initializers of Clang/LLVM, moved here by cmake/lazy-llvm-init.ld
// (the linker defines these bounds of the section). They register thousands
// of command-line options and passes: ~2 ms and ~400 page faults that a
// launch from the compile cache does not need.
extern "C" void (*const __start_alf_llvm_init_array[])();
extern "C" void (*const __stop_alf_llvm_init_array[])();
#endif

// A compile allocates a few MiB in small pieces; each first touch of a heap
// page is a page fault (5-12 us in these VMs: a cold compile of
// filters/whitelist.c took about 1,000 of them). The heap is grown once by
// 2 MiB, handed back to malloc, which keeps it (no trim, no separate
// mappings for the compiler's larger blocks), and its pages are made
// present in one call: 1,353 page faults became 344, 77.8 ms became 73.9 ms
// (bench/RESULTS.md, 2026-12-03). 2 MiB is what the other CPU makes present
// in about the initializers' time: with 4 MiB the compile waited for it
// (0.5-0.8 ms a cold compile), and 1 or 3 MiB were slower again
// (bench/RESULTS.md, 2026-12-04). Only advice: where the kernel refuses it
// (before 5.14), nothing changes. Returns the call that makes the pages
// present, which touches no byte and may run beside the heap's first use.
std::function<void()> prepare_heap_for_compiling() {
    constexpr std::size_t bytes = std::size_t(2) << 20;
    constexpr int populate_write = 23;  // MADV_POPULATE_WRITE
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
    void *block = std::malloc(bytes);
    if (!block) return [] {};
    std::uintptr_t first = (reinterpret_cast<std::uintptr_t>(block) + 4095) & ~std::uintptr_t(4095);
    std::free(block);
    return [first] { ::madvise(reinterpret_cast<void *>(first), bytes - 4096, populate_write); };
}

void initialize_llvm() {
    static std::once_flag once;
    std::call_once(once, [] {
        // The code is not mapped at once (map_code_at_once) here any more:
        // on Linux 6.18 that cost a small filter's cold launch 4.5 ms more
        // than the page faults it saved, and a large one's as much as it
        // saved (bench/RESULTS.md, 2026-12-03).
        // The heap's pages are made present on the other CPU while this one
        // runs Clang/LLVM's initializers (0.7-0.9 ms each with 2 MiB of
        // heap; the compile waits for the slower of the two).
        run_in_parallel(
            [] {
#ifdef ALF_LAZY_LLVM_INIT
                for (auto *initializer = __start_alf_llvm_init_array; initializer != __stop_alf_llvm_init_array;
                     ++initializer)
                    (*initializer)();
#endif
            },
            prepare_heap_for_compiling());
        LLVMInitializeBPFTargetInfo();
        LLVMInitializeBPFTarget();
        LLVMInitializeBPFTargetMC();
        LLVMInitializeBPFAsmPrinter();
        // Inline asm is assembled by the target's parser, as clang does.
        LLVMInitializeBPFAsmParser();
        llvm::install_fatal_error_handler(report_compiler_crash, nullptr);
        llvm::install_bad_alloc_error_handler(report_llvm_out_of_memory, nullptr);
    });
}

// Notes every file and directory the compiler looks for on the real file
// system, and the content of every file it reads: the cache keys compiled
// objects by exactly these (a header found in another -I directory, or one
// created where none was, makes a different object).
class InputLog {
public:
    void note(std::string path, CompileInput::Kind kind, std::string content = {}) {
        auto [it, inserted] = index_.try_emplace(path, inputs_.size());
        if (inserted) {
            inputs_.push_back({std::move(path), kind, std::move(content)});
            return;
        }
        CompileInput &input = inputs_[it->second];
        if (input.kind == CompileInput::Kind::read) return;  // what was read decided the object
        input.kind = kind;
        input.content = std::move(content);
    }
    std::vector<CompileInput> take() { return std::move(inputs_); }

private:
    std::vector<CompileInput> inputs_;
    std::map<std::string, std::size_t> index_;
};

class RecordingFile : public llvm::vfs::File {
public:
    RecordingFile(std::unique_ptr<llvm::vfs::File> file, InputLog &log, std::string path)
        : file_(std::move(file)), log_(log), path_(std::move(path)) {}
    llvm::ErrorOr<llvm::vfs::Status> status() override { return file_->status(); }
    llvm::ErrorOr<std::string> getName() override { return file_->getName(); }
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> getBuffer(const llvm::Twine &name, int64_t size,
                                                                 bool null_terminate, bool is_volatile) override {
        auto buffer = file_->getBuffer(name, size, null_terminate, is_volatile);
        if (buffer) log_.note(path_, CompileInput::Kind::read, (*buffer)->getBuffer().str());
        return buffer;
    }
    std::error_code close() override { return file_->close(); }

private:
    std::unique_ptr<llvm::vfs::File> file_;
    InputLog &log_;
    std::string path_;
};

// Stands in for a file that is not a regular one (a FIFO would wait for a
// writer, a device read without end): its text is an #error that names it,
// so the compiler's own diagnostic points at the #include.
class NotRegularFile : public llvm::vfs::File {
public:
    NotRegularFile(const llvm::vfs::Status &status, std::string path)
        : text_("#error \"" + path + " is not a regular file\"\n"),
          status_(llvm::vfs::Status::copyWithNewSize(
              llvm::vfs::Status(status.getName(), status.getUniqueID(), status.getLastModificationTime(),
                                status.getUser(), status.getGroup(), 0, llvm::sys::fs::file_type::regular_file,
                                status.getPermissions()),
              text_.size())) {}
    llvm::ErrorOr<llvm::vfs::Status> status() override { return status_; }
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> getBuffer(const llvm::Twine &name, int64_t, bool,
                                                                 bool) override {
        return llvm::MemoryBuffer::getMemBufferCopy(text_, name);
    }
    std::error_code close() override { return {}; }

private:
    std::string text_;
    llvm::vfs::Status status_;
};

class RecordingFileSystem : public llvm::vfs::ProxyFileSystem {
public:
    RecordingFileSystem(llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> fs, InputLog &log)
        : ProxyFileSystem(std::move(fs)), log_(log) {}

    llvm::ErrorOr<llvm::vfs::Status> status(const llvm::Twine &path) override {
        auto result = ProxyFileSystem::status(path);
        log_.note(absolute(path), result ? CompileInput::Kind::exists : CompileInput::Kind::absent);
        return result;
    }
    llvm::ErrorOr<std::unique_ptr<llvm::vfs::File>> openFileForRead(const llvm::Twine &path) override {
        std::string where = absolute(path);
        // Opening a FIFO (or a device) would wait for a writer or read without end.
        auto kind = ProxyFileSystem::status(path);
        if (kind && kind->getType() != llvm::sys::fs::file_type::regular_file &&
            kind->getType() != llvm::sys::fs::file_type::directory_file) {
            log_.note(where, CompileInput::Kind::exists);
            return std::unique_ptr<llvm::vfs::File>(new NotRegularFile(*kind, where));
        }
        auto file = ProxyFileSystem::openFileForRead(path);
        if (!file) {
            log_.note(where, CompileInput::Kind::absent);
            return file;
        }
        log_.note(where, CompileInput::Kind::exists);
        return std::unique_ptr<llvm::vfs::File>(new RecordingFile(std::move(*file), log_, where));
    }

private:
    std::string absolute(const llvm::Twine &path) {
        llvm::SmallString<256> text;
        path.toVector(text);
        makeAbsolute(text);
        llvm::sys::path::remove_dots(text, /*remove_dot_dot=*/false);
        return text.str().str();
    }
    InputLog &log_;
};

// Backend errors (e.g. "BPF stack limit exceeded") reported like the
// frontend's: file, line, column, the source line and a caret.
class BackendDiagnostics : public llvm::DiagnosticHandler {
public:
    explicit BackendDiagnostics(clang::CompilerInstance &compiler) : compiler_(compiler) {}

    bool handleDiagnostics(const llvm::DiagnosticInfo &info) override {
        clang::DiagnosticsEngine::Level level;
        switch (info.getSeverity()) {
        case llvm::DS_Error: level = clang::DiagnosticsEngine::Error; break;
        case llvm::DS_Warning: level = clang::DiagnosticsEngine::Warning; break;
        default: return true;  // remarks and notes: not for filter authors
        }
        std::string message;
        if (auto *unsupported = llvm::dyn_cast<llvm::DiagnosticInfoUnsupported>(&info)) {
            message = unsupported->getMessage().str();
        } else {
            llvm::raw_string_ostream stream(message);
            llvm::DiagnosticPrinterRawOStream printer(stream);
            info.print(printer);
        }
        clang::SourceLocation location = location_of(info);
        // The BPF backend repeats an error for every instruction it concerns.
        if (!reported_.insert({location.getRawEncoding(), message}).second) return true;
        auto &diagnostics = compiler_.getDiagnostics();
        unsigned id = diagnostics.getCustomDiagID(level, "%0");
        diagnostics.Report(location, id) << message;
        return true;
    }

private:
    clang::SourceLocation location_of(const llvm::DiagnosticInfo &info) {
        // The BPF backend reports its errors as "unsupported", with the debug location.
        auto *located = llvm::dyn_cast<llvm::DiagnosticInfoUnsupported>(&info);
        if (!located || !located->isLocationAvailable()) return {};
        llvm::StringRef path;
        unsigned line = 0, column = 0;
        located->getLocation(path, line, column);
        auto file = compiler_.getFileManager().getFile(path);
        if (!file) file = compiler_.getFileManager().getFile(located->getAbsolutePath());
        if (!file) return {};
        return compiler_.getSourceManager().translateFileLineCol(*file, line, column);
    }
    clang::CompilerInstance &compiler_;
    std::set<std::pair<unsigned, std::string>> reported_;
};

// editor_flags() says the same for an editor's clang: keep them in step.
std::vector<std::string> frontend_arguments(const CompileRequest &request, const char *language = "c",
                                            bool lifetime_markers = true) {
    std::vector<std::string> args = {
        // -O2 shapes the IR (no optnone, lifetime markers); the passes are ours.
        "-triple", "bpf", "-emit-llvm-only", "-O2", "-disable-llvm-passes",
        // BTF (needed by libbpf for BTF-defined maps and by us for typed values)
        // comes from debug info. DWARF 4, not 5: no MD5 of every file named,
        // 5% fewer instructions for a small filter's compile (callgrind); BTF
        // is the same.
        "-debug-info-kind=constructor", "-dwarf-version=4",
        // With DWARF 4, clang describes a function declared and called but
        // not defined (the drop log's, linked in afterwards: log_library.hpp)
        // only when tuned for a debugger; BTF needs it to link.
        "-debugger-tuning=gdb",
        "-nostdsysteminc", "-nobuiltininc", "-ffreestanding",
        "-fgnuc-version=4.2.1", "-mframe-pointer=all", "-ferror-limit", "19",
        "-Wall", "-Wno-unused-function", "-fno-ident", "-discard-value-names",
        // A call to an undeclared function can only end as an unresolvable
        // extern at load time: say so at the call instead.
        "-Werror=implicit-function-declaration",
        "-disable-llvm-verifier",
    };
    if (!lifetime_markers) args.push_back("-disable-lifetime-markers");
    if (request.color) args.push_back("-fcolor-diagnostics");
    for (const auto &flag : request.warning_flags) args.push_back(flag);
    if (request.precompiled_log) args.push_back("-DALF_LOG_PRECOMPILED");
    for (const auto &d : request.defines) args.push_back("-D" + d);
    for (const auto &dir : request.include_dirs) args.push_back("-I" + dir);
    args.push_back("-I");
    args.push_back(runtime_include_dir);
    args.push_back("-x");
    args.push_back(language);
    args.push_back(request.source_path);
    return args;
}

// Variable locations (llvm.dbg.value and friends) are DWARF for debuggers,
// which never see a filter; BTF needs only the types, functions and line
// numbers, which stay. Every pass and the code generator carry these
// intrinsics along: dropping them first saves ~10% of the compile.
void drop_variable_locations(llvm::Module &module) {
    std::vector<llvm::Instruction *> locations;
    for (auto &function : module)
        for (auto &block : function)
            for (auto &instruction : block)
                if (llvm::isa<llvm::DbgVariableIntrinsic>(instruction)) locations.push_back(&instruction);
    for (auto *instruction : locations) instruction->eraseFromParent();
}

// The calls in f of always_inline functions defined in the module, each
// with its callee.
std::vector<std::pair<llvm::CallBase *, llvm::Function *>> always_inline_calls(llvm::Function &f) {
    std::vector<std::pair<llvm::CallBase *, llvm::Function *>> calls;
    for (llvm::BasicBlock &block : f)
        for (llvm::Instruction &instruction : block)
            if (auto *call = llvm::dyn_cast<llvm::CallBase>(&instruction))
                if (llvm::Function *callee = call->getCalledFunction();
                    callee && !callee->isDeclaration() && callee->hasFnAttribute(llvm::Attribute::AlwaysInline))
                    calls.emplace_back(call, callee);
    return calls;
}

// What the always-inline pass of LLVM does, top down, without the work it
// spends on bodies that end up unused: it inlines the calls of every
// always_inline function wherever they are, into its callers' copies and
// into the always_inline functions' own bodies alike, and works out block
// frequencies at each call. Here only the functions that stay (programs,
// BPF functions, callbacks) take calls in, each call's callee as written,
// and the callees' bodies go once nothing calls them. An always_inline
// function that can call itself is left to the always-inline pass, which
// runs after this and treats it as before.
void inline_always_inline_top_down(llvm::Module &module) {
    std::vector<llvm::Function *> always_inline;
    std::unordered_map<llvm::Function *, std::vector<llvm::Function *>> callees;
    for (llvm::Function &function : module)
        if (!function.isDeclaration() && function.hasFnAttribute(llvm::Attribute::AlwaysInline)) {
            always_inline.push_back(&function);
            for (auto [call, callee] : always_inline_calls(function)) callees[&function].push_back(callee);
        }
    std::unordered_set<llvm::Function *> recursive;
    for (llvm::Function *function : always_inline) {
        std::vector<llvm::Function *> pending = callees[function];
        std::unordered_set<llvm::Function *> seen;
        while (!pending.empty() && !recursive.count(function)) {
            llvm::Function *next = pending.back();
            pending.pop_back();
            if (next == function) recursive.insert(function);
            else if (seen.insert(next).second) pending.insert(pending.end(), callees[next].begin(), callees[next].end());
        }
    }
    for (llvm::Function &function : module) {
        if (function.isDeclaration() || function.hasFnAttribute(llvm::Attribute::AlwaysInline)) continue;
        // A call inlined brings its callee's calls: rounds until none is
        // left (as deep as the deepest chain of calls). A call InlineFunction
        // refuses stays a call.
        std::unordered_set<llvm::CallBase *> refused;
        for (;;) {
            llvm::SmallVector<llvm::CallBase *, 16> calls;
            for (auto [call, callee] : always_inline_calls(function))
                if (!recursive.count(callee) && !refused.count(call) && llvm::isInlineViable(*callee).isSuccess())
                    calls.push_back(call);
            if (calls.empty()) break;
            for (llvm::CallBase *call : calls) {
                llvm::InlineFunctionInfo info;
                if (!llvm::InlineFunction(*call, info).isSuccess()) refused.insert(call);
            }
        }
    }
    for (llvm::Function *function : always_inline)
        if (function->hasLocalLinkage() && function->use_empty()) function->eraseFromParent();
}

// A compile split in two (CompileRequest::split_functions). A filter's
// programs and its other BPF functions (bpf_loop callbacks, functions kept
// apart) are independent once the always_inline functions are inlined:
// the source is compiled twice at once, on the two CPUs, each in a context
// of its own, and one compile keeps the programs, the other the rest
// (filters/whitelist.c's callbacks were 40% of its optimizer's and code
// generator's work). What each half's functions use of the other's is
// declared there: the programs' object declares the other functions, whose
// declarations carry their debug information so that they have BTF, and
// the other object declares the globals, which the programs' object
// defines (a static one made a hidden global), except constants the
// compiler made (string literals and the like), of which each keeps a copy.
// The functions are hidden globals in both, and static again in the linked
// object's BTF (log_library.hpp). Both halves plan the split from their own
// module; the plans and the files each read must agree, or the filter is
// compiled whole.
struct SplitPlan {
    std::vector<std::string> functions;  // the BPF functions other than the programs
    std::set<std::string> exported;      // statics they use: hidden globals of the programs' object
    std::set<std::string> copied;        // constants without debug information they use: copied
    bool operator==(const SplitPlan &) const = default;
};

bool is_program(const llvm::Function &f) {
    return !f.isDeclaration() && f.hasSection() && f.getSection() != ".text";
}

// The functions that go to the other half: static ones, which are static
// in the linked object's BTF too, as without the split (a global function
// is verified on its own, and stays with the programs).
bool is_other_function(const llvm::Function &f) {
    return !f.isDeclaration() && f.hasLocalLinkage() && !is_program(f) &&
           !f.hasFnAttribute(llvm::Attribute::AlwaysInline);
}

// The plan for `module`, or none where there is nothing to split or it
// cannot be split (a function of the other half that reaches a program or
// a global BPF function, a static variable without debug information, an
// alias).
std::optional<SplitPlan> plan_split(const llvm::Module &module) {
    SplitPlan plan;
    bool programs = false;
    std::vector<const llvm::Value *> pending;
    for (const llvm::Function &f : module) {
        if (is_program(f)) programs = true;
        if (!is_other_function(f)) continue;
        plan.functions.push_back(f.getName().str());
        pending.push_back(&f);
    }
    if (!programs || plan.functions.empty()) return std::nullopt;
    std::unordered_set<const llvm::Value *> seen;
    auto operands_of = [&](const llvm::User &user) {
        for (const llvm::Use &use : user.operands())
            if (llvm::isa<llvm::Constant>(use.get())) pending.push_back(use.get());
    };
    auto body_of = [&](const llvm::Function &f) {
        for (const llvm::BasicBlock &block : f)
            for (const llvm::Instruction &instruction : block) operands_of(instruction);
    };
    while (!pending.empty()) {
        const llvm::Value *value = pending.back();
        pending.pop_back();
        if (!seen.insert(value).second) continue;
        if (const auto *f = llvm::dyn_cast<llvm::Function>(value)) {
            if (f->isDeclaration()) continue;
            if (!f->hasFnAttribute(llvm::Attribute::AlwaysInline) && !is_other_function(*f)) return std::nullopt;
            body_of(*f);
        } else if (const auto *variable = llvm::dyn_cast<llvm::GlobalVariable>(value)) {
            if (variable->isDeclaration()) continue;
            operands_of(*variable);
            if (!variable->hasLocalLinkage()) continue;
            llvm::SmallVector<llvm::DIGlobalVariableExpression *, 1> debug;
            variable->getDebugInfo(debug);
            if (!debug.empty())
                plan.exported.insert(variable->getName().str());
            else if (variable->isConstant())
                plan.copied.insert(variable->getName().str());
            else
                return std::nullopt;
        } else if (llvm::isa<llvm::GlobalValue>(value)) {
            return std::nullopt;  // an alias or an ifunc
        } else if (const auto *constant = llvm::dyn_cast<llvm::Constant>(value)) {
            operands_of(*constant);
        }
    }
    return plan;
}

// The programs' half: the other functions declared, the statics they use
// made hidden globals.
void keep_programs(llvm::Module &module, const SplitPlan &plan) {
    for (const std::string &name : plan.exported) {
        llvm::GlobalVariable *variable = module.getGlobalVariable(name, /*AllowInternal=*/true);
        variable->setLinkage(llvm::GlobalValue::ExternalLinkage);
        variable->setVisibility(llvm::GlobalValue::HiddenVisibility);
    }
    std::vector<llvm::Function *> declared;
    for (const std::string &name : plan.functions) {
        llvm::Function *f = module.getFunction(name);
        llvm::DISubprogram *definition = f->getSubprogram();
        f->deleteBody();
        f->setVisibility(llvm::GlobalValue::HiddenVisibility);
        // A declaration's debug information, as clang gives a declared
        // function (BTF needs it for the reference).
        if (definition)
            f->setSubprogram(llvm::DISubprogram::get(
                f->getContext(), definition->getScope(), definition->getName(), definition->getLinkageName(),
                definition->getFile(), definition->getLine(), definition->getType(), definition->getScopeLine(),
                nullptr, 0, 0, definition->getFlags(),
                definition->getSPFlags() & ~llvm::DISubprogram::SPFlagDefinition, nullptr));
        declared.push_back(f);
    }
    for (llvm::Function *f : declared)
        if (f->use_empty()) f->eraseFromParent();
}

// The other half: the programs gone, every global the functions use
// declared (but the copied constants), nothing else left.
void keep_other_functions(llvm::Module &module, const SplitPlan &plan) {
    std::unordered_set<std::string> functions(plan.functions.begin(), plan.functions.end());
    for (const char *list : {"llvm.used", "llvm.compiler.used"})
        if (llvm::GlobalVariable *used = module.getGlobalVariable(list)) used->eraseFromParent();
    for (llvm::Function &f : module) {
        if (functions.count(f.getName().str())) {
            f.setLinkage(llvm::GlobalValue::ExternalLinkage);
            f.setVisibility(llvm::GlobalValue::HiddenVisibility);
        } else if (!f.isDeclaration() && !f.hasFnAttribute(llvm::Attribute::AlwaysInline)) {
            f.deleteBody();
        }
    }
    for (llvm::GlobalVariable &variable : module.globals()) {
        if (variable.isDeclaration() || plan.copied.count(variable.getName().str())) continue;
        if (plan.exported.count(variable.getName().str()))
            variable.setVisibility(llvm::GlobalValue::HiddenVisibility);
        variable.setInitializer(nullptr);
        variable.setLinkage(llvm::GlobalValue::ExternalLinkage);
        variable.setComdat(nullptr);
    }
    for (bool erased = true; erased;) {
        erased = false;
        for (llvm::Function &f : llvm::make_early_inc_range(module))
            if (f.use_empty() && (f.isDeclaration() || f.hasLocalLinkage())) {
                f.eraseFromParent();
                erased = true;
            }
        for (llvm::GlobalVariable &variable : llvm::make_early_inc_range(module.globals()))
            if (variable.use_empty() && (variable.isDeclaration() || variable.hasLocalLinkage())) {
                variable.eraseFromParent();
                erased = true;
            }
    }
}

// The `fast` pipeline: what a socket filter needs to become small, verifiable
// code (everything inlined, locals in registers, constants folded, dead code
// gone, constant-trip loops unrolled), at about a third of -O2's time.
// Measured on the seed's filters: dropping loop rotation, the first
// InstCombine and ADCE saved ~0.5 ms and made no program longer.
// Then what makes the verifier's work at each load smaller: loads of a
// value already loaded (a packet field, a map value's member) replaced by
// the value (EarlyCSE over MemorySSA), so that the verifier knows it is the
// same, and branches whose outcome an earlier one decided threaded past
// (jump threading), so that it walks no path the program cannot take. The
// verifier then processes knocking.c in 1322 instructions instead of 3511,
// ratelimit.c in 1110 instead of 2364, ports.c in 1077 instead of 1509
// (fewer than for -O2's code), the other library filters 1-3% fewer; the
// compile's time, measured in turn with and without these passes in one
// build, within the noise (bench/RESULTS.md).
void add_fast_passes(llvm::ModulePassManager &passes) {
    llvm::FunctionPassManager function_passes;
    function_passes.addPass(llvm::SROAPass());
    function_passes.addPass(llvm::EarlyCSEPass());
    function_passes.addPass(llvm::SimplifyCFGPass());
    llvm::LoopPassManager loop_passes;
    loop_passes.addPass(llvm::LoopFullUnrollPass(/*OptLevel=*/2, /*OnlyWhenForced=*/false, /*ForgetSCEV=*/false));
    function_passes.addPass(llvm::createFunctionToLoopPassAdaptor(std::move(loop_passes), /*UseMemorySSA=*/false));
    function_passes.addPass(llvm::SROAPass());
    function_passes.addPass(llvm::InstCombinePass());
    function_passes.addPass(llvm::SimplifyCFGPass());
    function_passes.addPass(llvm::EarlyCSEPass(/*UseMemorySSA=*/true));
    function_passes.addPass(llvm::JumpThreadingPass());
    function_passes.addPass(llvm::SimplifyCFGPass());
    passes.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(function_passes)));
    passes.addPass(llvm::GlobalDCEPass());
}

void optimize(llvm::Module &module, llvm::TargetMachine &machine, const llvm::TargetLibraryInfoImpl &library,
              Optimization optimization) {
    llvm::LoopAnalysisManager loop_analyses;
    llvm::FunctionAnalysisManager function_analyses;
    llvm::CGSCCAnalysisManager cgscc_analyses;
    llvm::ModuleAnalysisManager module_analyses;
    llvm::PipelineTuningOptions tuning;
    // As clang -O2 without the driver's -vectorize-* flags: BPF has no vectors.
    tuning.LoopVectorization = false;
    tuning.SLPVectorization = false;
    // The constructor registers the BPF target's own passes (CO-RE relocations,
    // verifier-friendly adjustments) into the pipelines built below.
    llvm::PassBuilder builder(&machine, tuning);
    function_analyses.registerPass([&] { return llvm::TargetLibraryAnalysis(library); });
    builder.registerModuleAnalyses(module_analyses);
    builder.registerCGSCCAnalyses(cgscc_analyses);
    builder.registerFunctionAnalyses(function_analyses);
    builder.registerLoopAnalyses(loop_analyses);
    builder.crossRegisterProxies(loop_analyses, function_analyses, cgscc_analyses, module_analyses);

    llvm::ModulePassManager passes;
    if (optimization == Optimization::full) {
        passes = builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
    } else {
        inline_always_inline_top_down(module);
        // Always-inline and the BPF target's pipeline-start passes.
        passes = builder.buildO0DefaultPipeline(llvm::OptimizationLevel::O0);
        add_fast_passes(passes);
    }
    passes.run(module, module_analyses);
}

// The code generator for a target: its machine and its passes, which need
// nothing of the module, so they are made while the frontend runs (about
// 0.8 ms, a tenth of a small filter's compile).
struct CodeGenerator {
    struct Target {
        std::string triple, cpu, features;
        bool operator==(const Target &) const = default;
    };

    explicit CodeGenerator(Target wanted) : target(std::move(wanted)) {
        const llvm::Target *found = llvm::TargetRegistry::lookupTarget(target.triple, error);
        if (!found) return;
        machine.reset(found->createTargetMachine(target.triple, target.cpu, target.features, llvm::TargetOptions(),
                                                 llvm::None, llvm::None, llvm::CodeGenOpt::Default));
        if (!machine) return;
        // -ffreestanding: no C library behind the filter, so no calls to one.
        library = std::make_unique<llvm::TargetLibraryInfoImpl>(llvm::Triple(target.triple));
        library->disableAllFunctions();
        stream = std::make_unique<llvm::raw_svector_ostream>(object);
        passes = std::make_unique<llvm::legacy::PassManager>();
        passes->add(new llvm::TargetLibraryInfoWrapperPass(*library));
        if (machine->addPassesToEmitFile(*passes, *stream, nullptr, llvm::CGFT_ObjectFile)) passes.reset();
    }
    bool ready() const { return passes != nullptr; }

    Target target;
    std::string error;
    // Destroyed in the reverse order: the passes refer to all before them.
    std::unique_ptr<llvm::TargetMachine> machine;
    std::unique_ptr<llvm::TargetLibraryInfoImpl> library;
    llvm::SmallVector<char, 0> object;
    std::unique_ptr<llvm::raw_svector_ostream> stream;
    std::unique_ptr<llvm::legacy::PassManager> passes;
};

CodeGenerator::Target target_of(const clang::TargetOptions &options) {
    return {options.Triple, options.CPU, llvm::join(options.Features, ",")};
}

// What a compile builds, in the order it is freed (the module before its
// context).
struct CompileState {
    std::unique_ptr<clang::CompilerInstance> compiler;
    std::unique_ptr<llvm::LLVMContext> context;
    std::unique_ptr<clang::EmitLLVMOnlyAction> action;
    std::optional<CodeGenerator> generator;
    std::unique_ptr<llvm::Module> module;
};

// CompileRequest::keep_memory: freeing a small filter's AST, IR and passes
// took 0.4 ms of its launch. Kept reachable, so a leak checker has nothing
// to report.
void keep_until_exit(CompileState state) {
    static auto *kept = new std::vector<std::unique_ptr<CompileState>>;
    kept->push_back(std::make_unique<CompileState>(std::move(state)));
}

}  // namespace

// From the headers, not clang::getClangFullVersion(): a launch that finds its
// object in the cache must not pay for initializing Clang/LLVM.
std::string compiler_version() {
    return std::string("clang ") + CLANG_VERSION_STRING + ", LLVM " + LLVM_VERSION_STRING + ", pipeline " +
           std::to_string(pipeline_revision);
}

namespace {

// The compiler's invocation for `args`, its messages printed to `out`; none
// (the messages say why) when the arguments do not parse. The printer is for
// the compiler instance to own.
struct Frontend {
    std::shared_ptr<clang::CompilerInvocation> invocation;
    clang::TextDiagnosticPrinter *printer = nullptr;
};

Frontend parse_frontend_arguments(const std::vector<std::string> &args, llvm::raw_ostream &out, bool color) {
    std::vector<const char *> argv;
    for (const auto &a : args) argv.push_back(a.c_str());
    auto diag_opts = llvm::makeIntrusiveRefCnt<clang::DiagnosticOptions>();
    diag_opts->ShowColors = color;
    auto printer = std::make_unique<clang::TextDiagnosticPrinter>(out, diag_opts.get());
    clang::DiagnosticsEngine parse_diags(llvm::makeIntrusiveRefCnt<clang::DiagnosticIDs>(), diag_opts, printer.get(),
                                         /*ShouldOwnClient=*/false);
    auto invocation = std::make_shared<clang::CompilerInvocation>();
    if (!clang::CompilerInvocation::CreateFromArgs(*invocation, argv, parse_diags)) return {};
    // Options the driver would pass on; the frontend keeps them off by default.
    invocation->getDiagnosticOpts().ShowColors = color;
    return {std::move(invocation), printer.release()};
}

// The precompiled runtime headers, as the compiler sees them: the header
// they were made from and the precompiled file, both served from memory.
constexpr const char *pch_source = "/alfwrapper/pch/runtime.h";
constexpr const char *pch_file = "/alfwrapper/pch/runtime.h.pch";
constexpr std::string_view pch_source_text = "#include <alfwrapper/filter.h>\n";

llvm::IntrusiveRefCntPtr<llvm::vfs::InMemoryFileSystem> runtime_file_system(const CompileRequest &request,
                                                                           bool with_pch) {
    auto memory_fs = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
    auto add = [&](const std::string &path, llvm::StringRef bytes) {
        memory_fs->addFile(path, 0, llvm::MemoryBuffer::getMemBuffer(bytes, path, /*RequiresNullTerminator=*/false));
    };
    for (const auto &header : request.runtime_headers)
        add(std::string(runtime_include_dir) + "/" + header.path,
            llvm::StringRef(reinterpret_cast<const char *>(header.data), header.size));
    add(pch_source, llvm::StringRef(pch_source_text.data(), pch_source_text.size()));
    if (with_pch)
        add(pch_file, llvm::StringRef(reinterpret_cast<const char *>(request.runtime_pch.data()), request.runtime_pch.size()));
    return memory_fs;
}

bool may_use_runtime_pch(const CompileRequest &request) {
    if (request.runtime_pch.empty() || !request.precompiled_log || !request.defines.empty() ||
        !request.include_dirs.empty() || !request.warning_flags.empty())
        return false;
    // The beginning of a file; only a regular file is read ahead: a pipe's
    // bytes would be gone.
    auto head_of = [](const std::string &path) -> std::optional<std::string> {
        struct stat st;
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
        std::ifstream in(path, std::ios::binary);
        std::string head(4096, '\0');
        in.read(head.data(), static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(in.gcount()));
        return head;
    };
    auto head = head_of(request.source_path);
    auto include = head ? first_include(*head) : std::nullopt;
    if (!include) return false;
    if (include->angled) return include->name == "alfwrapper/filter.h";
    // A file beside it that begins so, as filters/whitelist-private.c
    // begins with #include "private.c" (a quoted name is looked for beside
    // the source first).
    std::string beside = std::string(include->name);
    std::size_t slash = request.source_path.rfind('/');
    if (slash != std::string::npos && !beside.starts_with('/')) beside = request.source_path.substr(0, slash + 1) + beside;
    auto included = head_of(beside);
    return included && begins_with_runtime_include(*included);
}

struct CompileAttempt {
    CompileResult result;
    bool code_generation_failed = false;  // the source compiled, its code did not
    bool split_failed = false;            // split, one half did not compile or the halves disagree
};

CompileAttempt compile_once(const CompileRequest &request, bool with_pch, bool lifetime_markers, bool split);

}  // namespace

std::optional<FirstInclude> first_include(std::string_view source) {
    std::size_t i = 0, n = source.size();
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
    for (;;) {
        while (i < n && blank(source[i])) ++i;
        if (source.substr(i, 2) == "//") {
            i = source.find('\n', i);
            if (i == std::string_view::npos) return std::nullopt;
        } else if (source.substr(i, 2) == "/*") {
            i = source.find("*/", i + 2);
            if (i == std::string_view::npos) return std::nullopt;
            i += 2;
        } else {
            break;
        }
    }
    auto skip_spaces = [&] {
        while (i < n && (source[i] == ' ' || source[i] == '\t')) ++i;
    };
    if (i >= n || source[i] != '#') return std::nullopt;
    ++i;
    skip_spaces();
    if (source.substr(i, 7) != "include") return std::nullopt;
    i += 7;
    skip_spaces();
    if (i >= n || (source[i] != '<' && source[i] != '"')) return std::nullopt;
    FirstInclude include;
    include.angled = source[i] == '<';
    std::size_t close = source.find_first_of(include.angled ? ">\n" : "\"\n", i + 1);
    if (close == std::string_view::npos || source[close] == '\n') return std::nullopt;
    include.name = source.substr(i + 1, close - i - 1);
    i = close + 1;
    skip_spaces();
    // Nothing else on the line but a comment: "/* ... */" must end on it.
    if (source.substr(i, 2) == "/*") {
        std::size_t end = source.find("*/", i + 2);
        std::size_t line_end = source.find('\n', i);
        if (end == std::string_view::npos || end > line_end) return std::nullopt;
        i = end + 2;
        skip_spaces();
    }
    if (i == n || source[i] == '\n' || source[i] == '\r' || source.substr(i, 2) == "//") return include;
    return std::nullopt;
}

bool begins_with_runtime_include(std::string_view source) {
    auto include = first_include(source);
    return include && include->angled && include->name == "alfwrapper/filter.h";
}

void set_compile_end(CompileEnd end) { compile_end = end ? end : print_and_exit; }

// With the precompiled headers when the request allows them; if that
// compile fails for any reason, the source is compiled as it would be
// without them, and that result (its errors) is the one reported.
//
// The fast pipeline compiles without lifetime markers: its few passes make
// shorter code of most library filters without them (interfaces.c 308 ->
// 283 instructions, knocking.c 676 -> 649, ratelimit.c 668 -> 649), and
// the compile up to 5% shorter (bench/RESULTS.md). Without them, locals of
// scopes that never overlap no longer share their stack: a filter whose
// code the BPF target then refuses (a stack over 512 bytes, say) is
// compiled again with them, as alfctl compile's -O2 does.
CompileResult compile_filter(const CompileRequest &request) {
    bool lean = request.optimization == Optimization::fast;
    auto compile = [&](bool with_pch) {
        CompileAttempt attempt = compile_once(request, with_pch, !lean, lean && request.split_functions);
        if (attempt.split_failed) attempt = compile_once(request, with_pch, !lean, false);
        if (lean && attempt.code_generation_failed) attempt = compile_once(request, with_pch, true, false);
        return std::move(attempt.result);
    };
    if (may_use_runtime_pch(request)) {
        CompileResult result = compile(true);
        result.from_runtime_pch = true;
        if (result.ok) return result;
    }
    return compile(false);
}

namespace {

// Backend messages of a split compile's other half: none is printed (the
// filter is then compiled whole, which prints them); any warning or error
// is noted.
class NoteTrouble : public llvm::DiagnosticHandler {
public:
    explicit NoteTrouble(bool &trouble) : trouble_(trouble) {}
    bool handleDiagnostics(const llvm::DiagnosticInfo &info) override {
        if (info.getSeverity() == llvm::DS_Error || info.getSeverity() == llvm::DS_Warning) trouble_ = true;
        return true;
    }

private:
    bool &trouble_;
};

// A split compile's other half (the BPF functions other than the
// programs), made on the second CPU: the source compiled again, silently,
// in a context of its own, and what plan_split() gives kept of it.
struct OtherHalf {
    CompileState state;
    InputLog inputs;
    std::optional<SplitPlan> plan;
    bool trouble = false;
    llvm::SmallVector<char, 0> object;

    void compile(const CompileRequest &request, bool with_pch, std::shared_ptr<clang::CompilerInvocation> invocation) {
        state.compiler = std::make_unique<clang::CompilerInstance>();
        clang::CompilerInstance &compiler = *state.compiler;
        compiler.setInvocation(std::move(invocation));
        compiler.createDiagnostics(new clang::IgnoringDiagConsumer(), /*ShouldOwnClient=*/true);
        auto real_fs = llvm::makeIntrusiveRefCnt<RecordingFileSystem>(llvm::vfs::getRealFileSystem(), inputs);
        auto overlay = llvm::makeIntrusiveRefCnt<llvm::vfs::OverlayFileSystem>(real_fs);
        overlay->pushOverlay(runtime_file_system(request, with_pch));
        compiler.createFileManager(overlay);
        compiler.setVerboseOutputStream(std::make_unique<llvm::raw_null_ostream>());
        state.context = std::make_unique<llvm::LLVMContext>();
        state.action = std::make_unique<clang::EmitLLVMOnlyAction>(state.context.get());
        if (!compiler.ExecuteAction(*state.action) || compiler.getDiagnostics().hasErrorOccurred()) return;
        state.module = state.action->takeModule();
        if (!state.module || !(plan = plan_split(*state.module))) return;
        keep_other_functions(*state.module, *plan);
        CodeGenerator::Target target = target_of(compiler.getTargetOpts());
        target.triple = state.module->getTargetTriple();
        state.generator.emplace(target);
        if (!state.generator->ready()) {
            trouble = true;
            return;
        }
        state.context->setDiagnosticHandler(std::make_unique<NoteTrouble>(trouble));
        drop_variable_locations(*state.module);
        optimize(*state.module, *state.generator->machine, *state.generator->library, Optimization::fast);
        state.generator->passes->run(*state.module);
        object = std::move(state.generator->object);
    }
};

CompileAttempt compile_once(const CompileRequest &request, bool with_pch, bool lifetime_markers, bool split) {
    initialize_llvm();
    split = split && may_run_on_two_cpus();
    CompileBounds bounds(request);
    CompileAttempt attempt;
    CompileResult &result = attempt.result;

    std::string diag_text;
    llvm::raw_string_ostream diag_stream(diag_text);
    auto [invocation, printer] =
        parse_frontend_arguments(frontend_arguments(request, "c", lifetime_markers), diag_stream, request.color);
    if (!invocation) {
        diag_stream.flush();
        result.diagnostics = diag_text;
        return attempt;
    }
    if (with_pch) invocation->getPreprocessorOpts().ImplicitPCHInclude = pch_file;

    InputLog inputs;
    auto memory_fs = runtime_file_system(request, with_pch);
    auto real_fs = llvm::makeIntrusiveRefCnt<RecordingFileSystem>(llvm::vfs::getRealFileSystem(), inputs);
    auto overlay = llvm::makeIntrusiveRefCnt<llvm::vfs::OverlayFileSystem>(real_fs);
    overlay->pushOverlay(memory_fs);

    CompileState state;
    state.compiler = std::make_unique<clang::CompilerInstance>();
    clang::CompilerInstance &compiler = *state.compiler;
    compiler.setInvocation(invocation);
    compiler.createDiagnostics(printer, /*ShouldOwnClient=*/true);
    compiler.createFileManager(overlay);

    // ExecuteAction reports "N errors generated." there; the diagnostics say it already.
    compiler.setVerboseOutputStream(std::make_unique<llvm::raw_null_ostream>());

    state.context = std::make_unique<llvm::LLVMContext>();
    llvm::LLVMContext &context = *state.context;
    state.action = std::make_unique<clang::EmitLLVMOnlyAction>(&context);
    clang::EmitLLVMOnlyAction &action = *state.action;
    // The frontend here, the code generator for the target asked for on the
    // other CPU (the frontend may complete the target's options, which are
    // copied first: if they end up otherwise, it is made again below), and
    // there after it a split compile's other half.
    std::optional<CodeGenerator> &generator = state.generator;
    CodeGenerator::Target wanted = target_of(invocation->getTargetOpts());
    OtherHalf other;
    auto other_invocation = split ? std::make_shared<clang::CompilerInvocation>(*invocation) : nullptr;
    std::latch generator_made(1);
    std::exception_ptr other_failed;
    auto on_the_other_cpu = [&] {
        try {
            generator.emplace(wanted);
            generator_made.count_down();
            if (split) other.compile(request, with_pch, other_invocation);
        } catch (...) {
            other_failed = std::current_exception();
            generator_made.count_down();
        }
    };
    std::thread thread;
    try {
        thread = std::thread(on_the_other_cpu);
    } catch (...) {
        // No thread to be had. (std::system_error is not named: its type
        // information, defined here, would draw this file and Clang/LLVM
        // into alfctl's link.)
        split = false;
        on_the_other_cpu();
    }
    struct Joined {
        std::thread &thread;
        ~Joined() {
            if (thread.joinable()) thread.join();
        }
    } joined{thread};

    bool ok = compiler.ExecuteAction(action) && !compiler.getDiagnostics().hasErrorOccurred();
    if (ok) state.module = action.takeModule();
    llvm::Module *module = state.module.get();
    generator_made.wait();

    std::optional<SplitPlan> plan;
    llvm::SmallVector<char, 0> object;
    if (module) {
        CodeGenerator::Target target = target_of(compiler.getTargetOpts());
        target.triple = module->getTargetTriple();
        if (!generator || !(generator->target == target)) generator.emplace(target);
        if (!generator->ready()) {
            diag_stream << "error: the BPF target is not available in this build (" << generator->error << ")\n";
            ok = false;
        } else {
            if (split && (plan = plan_split(*module))) keep_programs(*module, *plan);
            // The action has ended the source file; the printer needs it open again.
            compiler.getDiagnosticClient().BeginSourceFile(compiler.getLangOpts());
            context.setDiagnosticHandler(std::make_unique<BackendDiagnostics>(compiler));
            drop_variable_locations(*module);
            optimize(*module, *generator->machine, *generator->library, request.optimization);
            generator->passes->run(*module);
            ok = !compiler.getDiagnostics().hasErrorOccurred();
            attempt.code_generation_failed = !ok;
            object = std::move(generator->object);
            compiler.getDiagnosticClient().EndSourceFile();
        }
    }
    compiler.getDiagnosticClient().finish();
    if (thread.joinable()) thread.join();
    if (other_failed) std::rethrow_exception(other_failed);
    result.inputs = inputs.take();
    if (plan && ok) {
        // The programs' object lacks the other functions: without the other
        // half's, whole again.
        if (other.trouble || other.object.empty() || other.plan != plan || result.inputs != other.inputs.take()) {
            attempt.split_failed = true;
            ok = false;
        } else {
            result.more_objects.emplace_back(other.object.begin(), other.object.end());
            result.hidden_functions = plan->functions;
        }
    }
    if (request.keep_memory) {
        keep_until_exit(std::move(state));
        if (split) keep_until_exit(std::move(other.state));
    }

    diag_stream.flush();
    result.diagnostics = diag_text;
    result.ok = ok && !object.empty();
    if (result.ok) result.object.assign(object.begin(), object.end());
    return attempt;
}

}  // namespace

bool precompile_runtime_headers(const std::vector<VirtualHeader> &headers, const std::string &output,
                                std::string &diagnostics) {
    initialize_llvm();
    CompileRequest request;
    request.source_path = pch_source;
    request.runtime_headers = headers;
    request.precompiled_log = true;
    llvm::raw_string_ostream diag_stream(diagnostics);
    auto [invocation, printer] = parse_frontend_arguments(frontend_arguments(request, "c-header"), diag_stream, false);
    if (!invocation) return false;
    invocation->getFrontendOpts().OutputFile = output;
    // Served from memory: its time stamp and size are the same in every build.
    invocation->getFrontendOpts().IncludeTimestamps = false;

    clang::CompilerInstance compiler;
    compiler.setInvocation(invocation);
    compiler.createDiagnostics(printer, /*ShouldOwnClient=*/true);
    compiler.createFileManager(runtime_file_system(request, false));
    compiler.setVerboseOutputStream(std::make_unique<llvm::raw_null_ostream>());
    clang::GeneratePCHAction action;
    bool ok = compiler.ExecuteAction(action) && !compiler.getDiagnostics().hasErrorOccurred();
    diag_stream.flush();
    return ok;
}

// frontend_arguments()' target, language and warnings, spelled for the driver.
std::vector<std::string> editor_flags(const std::string &include_dir) {
    return {"--target=bpf", "-O2", "-nostdinc", "-ffreestanding", "-fgnuc-version=4.2.1",
            "-Wall", "-Wno-unused-function", "-Werror=implicit-function-declaration", "-I" + include_dir};
}

}  // namespace alf
