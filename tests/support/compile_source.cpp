#include "compile_source.hpp"

#include "compile/headers.hpp"
#include "temp_files.hpp"

namespace alf {

CompileResult compile_file_in_place(const std::string &path, Optimization optimization) {
    CompileRequest request;
    request.source_path = path;
    request.runtime_headers = runtime_headers();
    request.optimization = optimization;
    return compile_filter(request);
}

CompileResult compile_source_file(const std::string &path, std::string_view source, Optimization optimization) {
    write_text_file(path, source);
    return compile_file_in_place(path, optimization);
}

}  // namespace alf
