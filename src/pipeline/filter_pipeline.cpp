#include "pipeline/filter_pipeline.hpp"

#include "bpf/map_listing.hpp"
#include "common/error.hpp"
#include "common/service_name.hpp"
#include "common/util.hpp"
#include "pipeline/delegated_limits.hpp"
#include "workbench/test_packet.hpp"
#include "workbench/test_run.hpp"

#include <bpf/bpf.h>
#include <netinet/in.h>

#include <algorithm>

#include <bpf/libbpf.h>

namespace alf {

FilterPipeline::FilterPipeline(const Configuration &config, const Reporter &report)
    : config_(config), report_(report), access_(assess_bpf_access(report.program)) {
    require_trusted_inputs(config_, access_);
}

const CompiledRuleSet &FilterPipeline::read_rules() {
    if (!rules_) rules_ = read_and_compile_rules(config_.inputs, report_);
    return *rules_;
}

Backend FilterPipeline::backend() {
    if (!backend_) backend_ = choose_backend(config_, access_, report_);
    return *backend_;
}

namespace {

// The peer's packet as alfctl test would write it, framed for a test run.
std::vector<std::uint8_t> peer_frame(const PeerPacket &packet) {
    auto endpoint = [](const IpAddress &address, std::uint16_t port) {
        std::string text = format_ip(address);
        return (address.family == Family::ipv6 ? "[" + text + "]" : text) + ":" + std::to_string(port);
    };
    bool tcp = packet.protocol == IPPROTO_TCP;
    std::size_t payload = std::min<std::size_t>(packet.payload, test_run_max_frame - 14 - 40 - 8);
    return parse_test_packet({tcp ? "tcp" : "udp", endpoint(packet.peer, packet.peer_port), ">",
                              endpoint(packet.local, packet.local_port),
                              tcp ? "syn" : "len=" + std::to_string(payload)})
        .frame;
}

}  // namespace

PeerJudge peer_judge(const LoadedFilter &filter) {
    int program = filter.object.program_fd();
    return [program](const PeerPacket &packet) {
        return run_frame(program, peer_frame(packet)).verdict == PacketVerdict::pass;
    };
}

PeerJudge peer_judge(const ClassicRules &classic) {
    return [&classic](const PeerPacket &packet) { return test_classic(classic.program, peer_frame(packet)) != 0; };
}

FilterBuilder make_filter_builder(const Configuration &config, const Reporter &report, Optimization optimization,
                                  bool builtin_only) {
    return FilterBuilder({config.filter, config.defines, config.include_dirs, builtin_only},
                         {.color = stderr_wants_color(),
                          .use_cache = !config.no_cache,
                          .cache_dir = config.cache_dir,
                          .optimization = optimization},
                         report);
}

std::string FilterPipeline::describe_maps() {
    read_rules();
    FilterBytes bytes = make_filter_builder(config_, report_, Optimization::fast, access_.delegated()).obtain();
    auto opened = FilterObject::open(bytes.object, config_.filter);
    FilterInputs::prepare(opened, config_.filter, config_.inputs, *rules_, report_);
    return alf::describe_maps(opened);
}

namespace {

// The read-only data of the kept program, as its .rodata map holds it.
std::vector<std::uint8_t> kept_read_only_data(const RunningFilter &running) {
    for (const auto &[name, id] : running.maps) {
        if (!name.ends_with(".rodata")) continue;
        UniqueFd map(bpf_map_get_fd_by_id(id));
        bpf_map_info info{};
        std::uint32_t length = sizeof info;
        if (!map || bpf_obj_get_info_by_fd(map.get(), &info, &length) != 0) break;
        std::vector<std::uint8_t> value(info.value_size);
        std::uint32_t key = 0;
        if (bpf_map_lookup_elem(map.get(), &key, value.data()) != 0) break;
        return value;
    }
    return {};
}

}  // namespace

LoadedFilter FilterPipeline::load(const KeptFilter *kept, int socket_protocol) {
    read_rules();
    FilterBuilder builder = make_filter_builder(config_, report_, Optimization::fast, access_.delegated());
    FilterBytes bytes = builder.obtain();

    // Checked and encoded against the object before anything is loaded.
    auto opened = FilterObject::open(bytes.object, config_.filter);
    if (rules_->rules.empty() && bytes.origin == FilterBytes::Origin::builtin && config_.filter == "subnets")
        throw Error("filter subnets needs rules: give --allow CIDR, --deny CIDR or --rules-file PATH");
    auto inputs = FilterInputs::prepare(opened, config_.filter, config_.inputs, std::move(*rules_), report_);
    inputs.use_socket_protocol(socket_protocol);
    rules_.reset();
    if (access_.delegated())
        require_within_limits(opened.maps(), read_delegated_limits(), libbpf_num_possible_cpus(), access_.tool);

    if (kept && kept->running) {
        RuleMaps running{kept->map_fd("alf_rules4"), kept->map_fd("alf_rules6"), kept->map_fd("alf_rules_state"), -1,
                         kept->map_fd("alf_rule_hits")};
        if (running.ipv4 >= 0 && running.ipv6 >= 0 && running.state >= 0)
            inputs.keep_rule_tables(running, kept->program.get());
    }
    auto load_object = [&](FilterObject filter) {
        inputs.apply_before_load(filter);
        if (kept && kept->running)
            for (const auto &[name, fd] : kept->maps)
                if (filter.map_if_declared(name)) filter.reuse_map(name, fd.get());
        filter.load(config_.program);
        return filter;
    };
    std::optional<FilterObject> loaded;
    Stopwatch loading;
    try {
        loaded.emplace(load_object(std::move(opened)));
    } catch (const VerifierRejection &) {
        if (!builder.may_compile_fuller(bytes)) throw;
        report_.info("the verifier rejected the program the fast optimizer made; compiling with the full optimizer");
        bytes = builder.compile_fuller();
        loading = Stopwatch();  // the load's time, not the compile's
        loaded.emplace(load_object(FilterObject::open(bytes.object, config_.filter)));
    }
    if (report_.verbose) {
        // The kernel's count of what its verifier walked: what the load's
        // time grows with (alfctl check gives it too).
        const std::string &libbpf_because = loaded->loaded_by_libbpf_because();
        report_.info("loaded program '" + loaded->program_name() + "' (" +
                     std::to_string(loaded->program_instructions()) + " instructions, " +
                     std::to_string(loaded->loaded_program_info().verified_instructions) +
                     " processed by the verifier" +
                     (libbpf_because.empty() ? std::string() : ", by libbpf: " + libbpf_because) + ") in " +
                     loading.text());
    }
    if (kept && kept->running) {
        // Checked before anything is written into the maps taken over.
        const RunningFilter &running = *kept->running;
        ProgramTag tag = program_tag(loaded->program_fd());
        if (tag != running.tag || loaded->read_only_data() != kept_read_only_data(running))
            throw Error("the inherited sockets carry the locked filter of an earlier run (pid " +
                            std::to_string(running.metadata.pid) + ", filter " + running.metadata.filter + ", tag " +
                            format_tag(running.tag) + "), and this run builds a different program (tag " +
                            format_tag(tag) + (tag == running.tag ? ", other constants" : "") +
                            "): a socket takes one locked filter for its lifetime; restart the socket unit so that "
                            "systemd creates it anew (" + restart_socket_command() + ")",
                        exit_usage);
        report_.info("keeping the filter of the earlier run (pid " + std::to_string(running.metadata.pid) +
                     ", tag " + format_tag(tag) + ") on the inherited sockets; its maps take this run's entries");
    }
    inputs.write(*loaded, report_);
    if (kept && kept->running) inputs.remove_earlier_entries(*loaded);
    return {std::move(*loaded), std::move(bytes)};
}

ClassicRules FilterPipeline::classic_program() {
    const CompiledRuleSet &rules = read_rules();
    ClassicRules classic = compile_rules_classic(rules.rules, rules.compiled);
    report_.info("classic BPF program: " + std::to_string(classic.program.instructions.size()) + " instructions (of " +
                 std::to_string(classic_max_instructions) + "), " + std::to_string(classic.ipv4_segments) +
                 " IPv4 and " + std::to_string(classic.ipv6_segments) + " IPv6 address segments");
    return classic;
}

}  // namespace alf
