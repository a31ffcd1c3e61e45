// The machine's CPUs as the benchmarks' section headers describe them.
#pragma once

#include <fstream>
#include <string>

namespace alf::bench {

// "2 x Intel(R) Xeon(R) ...": the count of processors and the first model name.
inline std::string cpu_description() {
    std::ifstream cpu("/proc/cpuinfo");
    std::string line, model;
    int cpus = 0;
    while (std::getline(cpu, line)) {
        if (line.rfind("model name", 0) == 0 && model.empty()) model = line.substr(line.find(':') + 2);
        if (line.rfind("processor", 0) == 0) ++cpus;
    }
    return std::to_string(cpus) + " x " + model;
}

}  // namespace alf::bench
