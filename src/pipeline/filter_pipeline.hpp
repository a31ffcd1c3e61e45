// The filter pipeline both tools drive: who may load what, the rules read and
// compiled, the back end chosen, then for eBPF the object obtained (built-in,
// read, cached or compiled), opened, given its map and rule inputs, loaded
// through the verifier and filled; for classic BPF the rules compiled to a
// classic program. Every step reports through one Reporter and fails with an
// Error before anything is attached.
#pragma once

#include "bpf/bpf_access.hpp"
#include "bpf/filter_object.hpp"
#include "classic/classic_rules.hpp"
#include "common/report.hpp"
#include "compile/filter_builder.hpp"
#include "inputs/filter_inputs.hpp"
#include "launch/backlog.hpp"
#include "pipeline/backend.hpp"
#include "pipeline/configuration.hpp"
#include "pipeline/kept_filter.hpp"

#include <optional>
#include <string>

namespace alf {

// A loaded eBPF filter with its maps and rule tables written, and where its
// object came from.
struct LoadedFilter {
    FilterObject object;
    FilterBytes bytes;
};

// The attached filter as the judge of what was queued before it: the peer's
// packet run through the loaded program (BPF_PROG_TEST_RUN) or through the
// classic program.
PeerJudge peer_judge(const LoadedFilter &filter);
PeerJudge peer_judge(const ClassicRules &classic);

// The builder for the configuration's filter: built-in filters only when
// `builtin_only` (privileges that are not the caller's).
FilterBuilder make_filter_builder(const Configuration &config, const Reporter &report, Optimization optimization,
                                  bool builtin_only);

class FilterPipeline {
public:
    // Assesses the privileges (`report.program` names the tool in messages)
    // and refuses what a caller with delegated privileges may not ask for.
    FilterPipeline(const Configuration &config, const Reporter &report);

    const BpfAccess &access() const { return access_; }

    // Reads and compiles --allow/--deny/--rules-file (once; later steps call
    // it themselves when it has not run).
    const CompiledRuleSet &read_rules();

    // eBPF or classic BPF, as the configuration and the privileges allow.
    Backend backend();

    // The filter's maps as C declarations, after its inputs were checked
    // against them (--list-maps); nothing is loaded.
    std::string describe_maps();

    // eBPF: obtained, opened, inputs checked and sized, loaded (compiled
    // again with the full optimizer when the verifier rejects the fast
    // one's program), then filled. With a filter kept on inherited sockets
    // (a restart), its maps are taken over, and the program loaded must be
    // the same one (tag and read-only data), else Error naming the way out.
    // `socket_protocol`: the transport protocol all the sockets have (0: they
    // differ, or none are known), which the filter then need not read.
    LoadedFilter load(const KeptFilter *kept = nullptr, int socket_protocol = 0);

    // Classic BPF: the rules as a classic program.
    ClassicRules classic_program();

private:
    const Configuration &config_;
    const Reporter &report_;
    BpfAccess access_;
    std::optional<CompiledRuleSet> rules_;
    std::optional<Backend> backend_;
};

}  // namespace alf
