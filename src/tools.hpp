// The tools' entry points. alfwrapper is one executable for both tools
// (multicall.cpp picks one by the name it was started as); alfctl is also an
// executable of its own for the verbs on running services (alfctl_main.cpp),
// which hands the others to alfwrapper.
#pragma once

namespace alf {

struct CtlCommand;
struct Reporter;
enum class CtlVerb;

int alfwrapper_main(int argc, char **argv);
int alfctl_main(int argc, char **argv);

// list, rules, stats, log and map (alfctl_live.cpp).
bool is_live_verb(CtlVerb verb);
int run_live_verb(const CtlCommand &command, const Reporter &report);

}  // namespace alf
