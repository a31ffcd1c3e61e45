// Who may load what: the choice between eBPF and classic BPF, what a
// delegated alfwrapper refuses, and the messages when nothing will do, for
// each kind of caller (described, not lived: the integration tests run the
// real binary as nobody, with and without a file capability).
#include "bpf/bpf_access.hpp"
#include "common/capabilities.hpp"
#include "pipeline/backend.hpp"
#include "cli/wrapper_cli.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <linux/capability.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

using namespace alf;

namespace {

Configuration parse(std::vector<const char *> args) {
    args.insert(args.begin(), "alfwrapper");
    args.push_back("--");
    args.push_back("server");
    return parse_wrapper_command_line(static_cast<int>(args.size()), args.data());
}

BpfAccess nobody() {
    BpfAccess access;
    access.privilege = Privilege::none;
    access.ebpf_errno = EPERM;
    access.unprivileged_bpf_disabled = 2;
    access.executable = "/usr/local/bin/alfwrapper";
    return access;
}

BpfAccess delegated() {
    BpfAccess access = nobody();
    access.privilege = Privilege::delegated;
    access.capabilities.effective = access.capabilities.permitted = std::uint64_t(1) << CAP_BPF;
    access.may_load_ebpf = true;
    access.ebpf_errno = 0;
    return access;
}

struct Said {
    std::string text;
    Reporter fn() {
        return {.program = "alfwrapper", .verbose = true, .quiet = false,
                .sink = [this](MessageLevel, const std::string &t) { text += t; }};
    }
};

}  // namespace

TEST_CASE("without CAP_BPF: rules become classic BPF, anything else is refused with the ways out") {
    Said said;
    CHECK(choose_backend(parse({"--allow", "10.0.0.0/8"}), nobody(), said.fn()) == Backend::classic);
    CHECK(said.text.find("back end: classic BPF: loading eBPF needs CAP_BPF, which alfwrapper (uid ") == 0);
    CHECK(said.text.find("kernel.unprivileged_bpf_disabled is 2") != std::string::npos);
    CHECK(choose_backend(parse({"--rules-file", "r.txt", "-f", "subnets"}), nobody(), said.fn()) == Backend::classic);

    std::string builtin = error_of([&] { choose_backend(parse({"-f", "private"}), nobody(), said.fn()); });
    CHECK(builtin.find("filter private: loading eBPF needs CAP_BPF") == 0);
    CHECK(builtin.find("kernel.unprivileged_bpf_disabled is 2") != std::string::npos);
    CHECK(builtin.find("setcap cap_bpf+ep /usr/local/bin/alfwrapper") != std::string::npos);
    CHECK(builtin.find("AmbientCapabilities=CAP_BPF") != std::string::npos);
    CHECK(builtin.find("datagram and Unix sockets") != std::string::npos);

    // A capability from the file would not load the caller's own C: no setcap advice.
    std::string own = error_of([&] { choose_backend(parse({"-f", "mine.c"}), nobody(), said.fn()); });
    CHECK(own.find("filter mine.c: loading eBPF needs CAP_BPF") == 0);
    CHECK(own.find("setcap") == std::string::npos);
    CHECK(own.find("AmbientCapabilities=CAP_BPF") != std::string::npos);

    // Rules with more than rules: the eBPF filter only.
    CHECK(error_of([&] {
              choose_backend(parse({"--allow", "10.0.0.0/8", "--map-size", "alf_rules4=2"}), nobody(), said.fn());
          }).find("loading eBPF needs CAP_BPF") != std::string::npos);
    CHECK(error_of([&] { choose_backend(parse({"--ebpf", "--allow", "10.0.0.0/8"}), nobody(), said.fn()); })
              .find("loading eBPF needs CAP_BPF") != std::string::npos);

    BpfAccess refused_otherwise = nobody();
    refused_otherwise.unprivileged_bpf_disabled = 0;
    CHECK(error_of([&] { choose_backend(parse({"-f", "private"}), refused_otherwise, said.fn()); })
              .find("the kernel refused to load a minimal eBPF program (Operation not permitted; CAP_BPF") !=
          std::string::npos);
}

TEST_CASE("eBPF whenever it may be loaded; --classic and --ebpf choose") {
    Said said;
    BpfAccess root = nobody();
    root.privilege = Privilege::root;
    root.may_load_ebpf = true;
    CHECK(choose_backend(parse({"--allow", "10.0.0.0/8"}), root, said.fn()) == Backend::ebpf);
    CHECK(said.text == "back end: eBPF (running as root)");
    said.text.clear();
    CHECK(choose_backend(parse({"-f", "private"}), delegated(), said.fn()) == Backend::ebpf);
    CHECK(said.text == "back end: eBPF (CAP_BPF from alfwrapper's file capability: built-in filters only)");
    CHECK(choose_backend(parse({"--classic", "--allow", "10.0.0.0/8"}), root, said.fn()) == Backend::classic);
    CHECK(choose_backend(parse({"--classic", "--deny", "10.0.0.0/8"}), nobody(), said.fn()) == Backend::classic);

    CHECK(error_of([&] { choose_backend(parse({"--classic", "--ebpf", "--allow", "::1"}), root, said.fn()); }) ==
          "--classic and --ebpf: give one, or neither to let alfwrapper choose");
    CHECK(error_of([&] { choose_backend(parse({"--classic", "-f", "private"}), root, said.fn()); }) ==
          "--classic: only --allow/--deny/--rules-file rules compile to classic BPF; filter private is an eBPF program");
    CHECK(error_of([&] {
              choose_backend(parse({"--classic", "--allow", "::1", "--set", "alf_rules_state,0,{}"}), root, said.fn());
          }) == "--classic: only --allow/--deny/--rules-file rules compile to classic BPF; --set, --set-file, "
                "--map-size and --program apply to eBPF filters");
}

TEST_CASE("a TCP socket refuses classic BPF: the restriction and the ways out") {
    std::string text = classic_on_tcp_refused(nobody());
    CHECK(text.find("Linux lets only CAP_NET_ADMIN attach a classic BPF filter to a TCP socket") == 0);
    CHECK(text.find("5d39580f68e6") != std::string::npos);
    CHECK(text.find("kernel.unprivileged_bpf_disabled is 2") != std::string::npos);
    CHECK(text.find("setcap cap_bpf+ep /usr/local/bin/alfwrapper") != std::string::npos);
    CHECK(text.find("AmbientCapabilities=CAP_BPF") != std::string::npos);
    CHECK(text.find("use a datagram socket") != std::string::npos);
}

TEST_CASE("a classic program goes on as its eBPF translation where a TCP socket would refuse it") {
    auto socket = [](int family, int type) {
        Socket s;
        s.family = family;
        s.type = type;
        return s;
    };
    std::vector<Socket> tcp_and_udp;
    tcp_and_udp.push_back(socket(AF_INET6, SOCK_DGRAM));
    tcp_and_udp.push_back(socket(AF_INET, SOCK_STREAM));
    std::vector<Socket> datagrams_and_unix;
    datagrams_and_unix.push_back(socket(AF_INET6, SOCK_DGRAM));
    datagrams_and_unix.push_back(socket(AF_UNIX, SOCK_STREAM));
    CHECK(classic_as_ebpf(tcp_and_udp, delegated()));
    // Where the kernel takes the classic program itself, it goes on as it is.
    CHECK_FALSE(classic_as_ebpf(datagrams_and_unix, delegated()));
    BpfAccess root = delegated();
    root.privilege = Privilege::root;
    root.capabilities.effective |= std::uint64_t(1) << CAP_NET_ADMIN;
    CHECK_FALSE(classic_as_ebpf(tcp_and_udp, root));
    // Without CAP_BPF nothing can be translated: the attach fails and says why.
    CHECK_FALSE(classic_as_ebpf(tcp_and_udp, nobody()));
}

TEST_CASE("capabilities from alfwrapper's file load only built-in filters") {
    require_trusted_inputs(parse({"-f", "mine.c"}), nobody());  // not delegated: the kernel decides
    require_trusted_inputs(parse({"-f", "private", "--set", "x,0,1"}), delegated());
    require_trusted_inputs(parse({"--allow", "10.0.0.0/8"}), delegated());

    std::string source = error_of([&] { require_trusted_inputs(parse({"-f", "mine.c"}), delegated()); });
    CHECK(source.find("filter mine.c: refused: this alfwrapper holds CAP_BPF from its file capability "
                      "(/usr/local/bin/alfwrapper), not from you, so it loads only the filters built into it (") == 0);
    CHECK(source.find("subnets") != std::string::npos);
    CHECK(source.find("AmbientCapabilities=CAP_BPF") != std::string::npos);
    CHECK(error_of([&] { require_trusted_inputs(parse({"-f", "mine.o"}), delegated()); })
              .find("filter mine.o: refused") == 0);
    CHECK(error_of([&] { require_trusted_inputs(parse({"-f", "./private"}), delegated()); })
              .find("filter ./private: refused") == 0);
    CHECK(error_of([&] { require_trusted_inputs(parse({"-f", "private", "-D", "X"}), delegated()); })
              .find("-D: refused") == 0);
    CHECK(error_of([&] { require_trusted_inputs(parse({"-f", "private", "-I", "/tmp"}), delegated()); })
              .find("-I: refused") == 0);
    CHECK(error_of([&] { require_trusted_inputs(parse({"-f", "private", "-u", "root"}), delegated()); })
              .find("--user: this alfwrapper holds only CAP_BPF") == 0);
}

TEST_CASE("this process, as root (needs root)" * root_suite) {
    require_root("assessing root's access needs root");
    BpfAccess access = assess_bpf_access("alfwrapper");
    CHECK(access.executable.find("unit_tests") != std::string::npos);
    CHECK(access.privilege == Privilege::root);
    CHECK(access.may_load_ebpf);
}

TEST_CASE("a process without capabilities (needs root)" * root_suite) {
    // A child of root that became nobody, and so lost every capability.
    require_root("becoming nobody needs root");
    auto assessed_as_none = [] {
        BpfAccess access = assess_bpf_access("alfwrapper");
        return access.capabilities.permitted == 0 && access.privilege == Privilege::none && !access.may_load_ebpf;
    };
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        bool dropped = setgroups(0, nullptr) == 0 && setresgid(65534, 65534, 65534) == 0 &&
                       setresuid(65534, 65534, 65534) == 0;
        _exit(!dropped ? 2 : assessed_as_none() ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK_MESSAGE(WEXITSTATUS(status) != 2, "could not become nobody");
    CHECK_MESSAGE(WEXITSTATUS(status) == 0, "assessed as more than an unprivileged process");
}
