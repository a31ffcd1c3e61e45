// Build-time tool: compiles a library filter with the same in-process
// compiler and headers alfwrapper uses, so built-in objects are exactly what
// `alfwrapper -f file.c` would load; and precompiles the runtime headers the
// binaries embed (compile_filter starts from them).
//   build_filter SOURCE.c OUTPUT.o
//   build_filter --runtime-pch OUTPUT.pch
#include "compile/compiler.hpp"
#include "compile/headers.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char **argv) {
    if (argc != 3) {
        std::cerr << "usage: build_filter SOURCE.c OUTPUT.o | --runtime-pch OUTPUT.pch\n";
        return 1;
    }
    if (std::string(argv[1]) == "--runtime-pch") {
        std::string diagnostics;
        std::string tmp = std::string(argv[2]) + ".tmp";
        bool ok = alf::precompile_runtime_headers(alf::runtime_headers(), tmp, diagnostics);
        std::cerr << diagnostics;
        return ok && std::rename(tmp.c_str(), argv[2]) == 0 ? 0 : 1;
    }
    alf::CompileRequest request;
    request.source_path = argv[1];
    request.runtime_headers = alf::runtime_headers();
    alf::CompileResult result = alf::compile_filter(request);
    std::cerr << result.diagnostics;
    if (!result.ok) return 1;
    std::string tmp = std::string(argv[2]) + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        out.write(reinterpret_cast<const char *>(result.object.data()), static_cast<std::streamsize>(result.object.size()));
        if (!out) {
            std::cerr << "build_filter: cannot write " << tmp << "\n";
            return 1;
        }
    }
    return std::rename(tmp.c_str(), argv[2]) == 0 ? 0 : 1;
}
