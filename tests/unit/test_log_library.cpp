// The drop log's functions compiled with alfwrapper and linked into each
// filter it compiles (compile/log_library.hpp): the linked object calls
// them as static functions of its program, loads through alfwrapper's own
// loader, and logs.
#include "bpf/filter_object.hpp"
#include "common/error.hpp"
#include "common/net_address.hpp"
#include "compile/compiler.hpp"
#include "compile/headers.hpp"
#include "compile/log_library.hpp"
#include "inputs/filter_inputs.hpp"
#include "temp_files.hpp"
#include "test_support.hpp"
#include "workbench/test_run.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace alf;

namespace {

// A filter that drops every packet through alf_verdict_skb(), which logs
// it (alf_log_record_unparsed), compiled as alfwrapper compiles.
std::vector<std::uint8_t> compiled_declaring_the_log(TempDir &dir) {
    std::string path = dir.file("drops.c");
    write_text_file(path, "#include <alfwrapper/filter.h>\n"
                          "SEC(\"socket\") int filter(struct __sk_buff *skb) { return alf_verdict_skb(skb, ALF_DROP); }\n"
                          "char LICENSE[] SEC(\"license\") = \"GPL\";\n");
    CompileRequest request{.source_path = path, .runtime_headers = runtime_headers(), .precompiled_log = true};
    CompileResult result = compile_filter(request);
    REQUIRE_MESSAGE(result.ok, result.diagnostics);
    return result.object;
}

// The linkage of function `name` in the object's BTF (-1: not there).
int btf_linkage(TempDir &dir, const std::vector<std::uint8_t> &object, const char *name) {
    std::string path = dir.file("object.o");
    write_text_file(path, std::string(object.begin(), object.end()));
    struct btf *btf = btf__parse_elf(path.c_str(), nullptr);
    int id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) : -1;
    int linkage = id > 0 ? BTF_INFO_VLEN(btf__type_by_id(btf, static_cast<__u32>(id))->info) : -1;
    btf__free(btf);
    return linkage;
}

}  // namespace

TEST_CASE("a compile declaring the drop log's functions, linked: static functions of the program") {
    REQUIRE_FALSE(log_library_object().empty());
    TempDir dir("alf-log-library");
    std::vector<std::uint8_t> declared = compiled_declaring_the_log(dir);
    CHECK(btf_linkage(dir, declared, "alf_log_record_unparsed") == BTF_FUNC_EXTERN);
    std::vector<std::uint8_t> linked = link_compiled_objects(declared, {}, {}, "drops.c");
    CHECK(linked != declared);
    CHECK(btf_linkage(dir, linked, "alf_log_record_unparsed") == BTF_FUNC_STATIC);
    CHECK(btf_linkage(dir, linked, "alf_log_record") == BTF_FUNC_STATIC);
    // An object that calls none of them comes back as it was.
    CHECK(link_compiled_objects(linked, {}, {}, "drops.c") == linked);
    // Bytes that are no object: nothing to link either.
    std::vector<std::uint8_t> junk = {1, 2, 3};
    CHECK(link_compiled_objects(junk, {}, {}, "junk") == junk);
}

TEST_CASE("a linked filter loads through alfwrapper's own loader and logs what it drops (needs root)" * root_suite) {
    require_root("loading a filter needs root (CAP_BPF)");
    TempDir dir("alf-log-library");
    std::vector<std::uint8_t> linked = link_compiled_objects(compiled_declaring_the_log(dir), {}, {}, "drops.c");
    auto filter = FilterObject::open(linked, "drops");
    set_log_rate(filter, "drops", "1000");
    filter.load();
    CHECK(filter.loaded_by_libbpf_because().empty());
    for (int i = 0; i < 3; ++i)
        CHECK(test_run_filter(filter.program_fd(), synthetic_tcp_syn(*parse_ip("192.0.2.7"), *parse_ip("192.0.2.1")))
                  .verdict == 0);
    // alf_stats's key 18 (ALF_STATS_LOGGED): the drops written into the log,
    // counted by the linked function; per CPU, summed.
    int stats = bpf_map__fd(filter.find_map("alf_stats"));
    long cpus = libbpf_num_possible_cpus();
    REQUIRE(cpus > 0);
    std::vector<std::uint64_t> values(static_cast<std::size_t>(cpus) * 2);
    std::uint32_t logged_key = 18;
    REQUIRE(bpf_map_lookup_elem(stats, &logged_key, values.data()) == 0);
    std::uint64_t logged = 0;
    for (long cpu = 0; cpu < cpus; ++cpu) logged += values[static_cast<std::size_t>(cpu) * 2];
    CHECK(logged == 3);
}
