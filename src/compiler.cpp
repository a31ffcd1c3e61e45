#include "compiler.hpp"

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/Basic/FileManager.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Basic/Version.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Passes/PassPlugin.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/VirtualFileSystem.h>
#include <llvm/Support/raw_ostream.h>

#include <mutex>

// Debian's LLVM archives reference Polly's plugin hook (LLVM_POLLY_LINK_INTO_TOOLS)
// but ship no Polly archive; an empty plugin keeps the optimizer as it is.
llvm::PassPluginLibraryInfo getPollyPluginInfo() {
    return {LLVM_PLUGIN_API_VERSION, "Polly", "disabled", [](llvm::PassBuilder &) {}};
}

namespace alf {
namespace {

void initialize_bpf_target() {
    static std::once_flag once;
    std::call_once(once, [] {
        LLVMInitializeBPFTargetInfo();
        LLVMInitializeBPFTarget();
        LLVMInitializeBPFTargetMC();
        LLVMInitializeBPFAsmPrinter();
    });
}

}  // namespace

std::string compiler_version() { return clang::getClangFullVersion(); }

CompileResult compile_filter(const CompileRequest &request) {
    initialize_bpf_target();
    CompileResult result;

    std::vector<std::string> args = {
        "-triple", "bpf", "-emit-obj", "-O2",
        // BTF (needed by libbpf for BTF-defined maps and by us for typed values)
        // comes from debug info.
        "-debug-info-kind=constructor", "-dwarf-version=5",
        "-nostdsysteminc", "-nobuiltininc", "-ffreestanding",
        "-fgnuc-version=4.2.1", "-mframe-pointer=all", "-ferror-limit", "19",
        "-Wall", "-Wno-unused-function", "-fno-ident", "-discard-value-names",
        // As the clang driver does: the IR verifier and the AST are not needed past codegen.
        "-disable-llvm-verifier", "-clear-ast-before-backend",
    };
    if (request.color) args.push_back("-fcolor-diagnostics");
    for (const auto &flag : request.warning_flags) args.push_back(flag);
    for (const auto &d : request.defines) args.push_back("-D" + d);
    for (const auto &dir : request.include_dirs) args.push_back("-I" + dir);
    args.push_back("-I");
    args.push_back(runtime_include_dir);
    args.push_back("-x");
    args.push_back("c");
    args.push_back(request.source_path);

    std::vector<const char *> argv;
    for (const auto &a : args) argv.push_back(a.c_str());

    std::string diag_text;
    llvm::raw_string_ostream diag_stream(diag_text);
    auto diag_opts = llvm::makeIntrusiveRefCnt<clang::DiagnosticOptions>();
    diag_opts->ShowColors = request.color;
    auto *printer = new clang::TextDiagnosticPrinter(diag_stream, diag_opts.get());
    auto diag_ids = llvm::makeIntrusiveRefCnt<clang::DiagnosticIDs>();
    clang::DiagnosticsEngine parse_diags(diag_ids, diag_opts, printer, /*ShouldOwnClient=*/false);

    auto invocation = std::make_shared<clang::CompilerInvocation>();
    if (!clang::CompilerInvocation::CreateFromArgs(*invocation, argv, parse_diags)) {
        delete printer;
        diag_stream.flush();
        result.diagnostics = diag_text;
        return result;
    }
    // Options the driver would pass on; the frontend keeps them off by default.
    invocation->getDiagnosticOpts().ShowColors = request.color;

    auto memory_fs = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
    for (const auto &header : request.runtime_headers) {
        std::string path = std::string(runtime_include_dir) + "/" + header.path;
        memory_fs->addFile(path, 0,
                           llvm::MemoryBuffer::getMemBuffer(
                               llvm::StringRef(reinterpret_cast<const char *>(header.data), header.size),
                               path, /*RequiresNullTerminator=*/false));
    }
    auto overlay = llvm::makeIntrusiveRefCnt<llvm::vfs::OverlayFileSystem>(llvm::vfs::getRealFileSystem());
    overlay->pushOverlay(memory_fs);

    clang::CompilerInstance compiler;
    compiler.setInvocation(invocation);
    compiler.createDiagnostics(printer, /*ShouldOwnClient=*/true);
    compiler.createFileManager(overlay);

    // ExecuteAction reports "N errors generated." there; the diagnostics say it already.
    compiler.setVerboseOutputStream(std::make_unique<llvm::raw_null_ostream>());

    llvm::SmallVector<char, 0> object;
    compiler.setOutputStream(std::make_unique<llvm::raw_svector_ostream>(object));

    clang::EmitObjAction action;
    bool ok = compiler.ExecuteAction(action);
    ok = ok && !compiler.getDiagnostics().hasErrorOccurred();

    if (compiler.hasSourceManager()) {
        auto &sm = compiler.getSourceManager();
        for (auto it = sm.fileinfo_begin(); it != sm.fileinfo_end(); ++it)
            result.inputs.push_back(it->getFirst()->getName().str());
    }
    diag_stream.flush();
    result.diagnostics = diag_text;
    result.ok = ok && !object.empty();
    if (result.ok) result.object.assign(object.begin(), object.end());
    return result;
}

}  // namespace alf
