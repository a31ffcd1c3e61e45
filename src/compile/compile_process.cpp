#include "compile/compile_process.hpp"

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "common/util.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>

namespace alf {

namespace {

// An answer: one byte of kind, the payload's length (8 bytes, this host's
// order: both ends are this executable), the payload.
constexpr char answer_result = 'R';  // a CompileResult
constexpr char answer_end = 'E';     // the compile ended the process: status, message
constexpr std::size_t header_bytes = 9;
// Far above any object the verifier takes (a million instructions is 8 MB).
constexpr std::uint64_t largest_payload = std::uint64_t(1) << 30;

void put_number(std::string &out, std::uint64_t value) { out.append(reinterpret_cast<const char *>(&value), 8); }

void put_bytes(std::string &out, std::string_view bytes) {
    put_number(out, bytes.size());
    out.append(bytes);
}

std::string framed(char kind, const std::string &payload) {
    std::string frame(1, kind);
    put_number(frame, payload.size());
    return frame + payload;
}

class Reader {
public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}
    std::uint64_t number() {
        std::uint64_t value = 0;
        std::memcpy(&value, take(8).data(), 8);
        return value;
    }
    std::uint8_t byte() { return static_cast<std::uint8_t>(take(1)[0]); }
    std::string_view bytes() { return take(number()); }
    bool done() const { return bytes_.empty(); }

private:
    std::string_view take(std::uint64_t n) {
        if (n > bytes_.size()) throw Error("the filter compiler's answer is cut short", exit_system);
        std::string_view part = bytes_.substr(0, n);
        bytes_.remove_prefix(n);
        return part;
    }
    std::string_view bytes_;
};

// The compiling process's end of the pipe, for end_with_answer().
int answer_fd = -1;

// Allocates nothing: it may end a compile out of memory.
[[noreturn]] void end_with_answer(const char *message, int status) {
    std::uint64_t length = std::strlen(message);
    std::uint64_t payload = 16 + length;
    std::uint64_t code = static_cast<std::uint64_t>(status);
    char header[header_bytes + 16];
    header[0] = answer_end;
    std::memcpy(header + 1, &payload, 8);
    std::memcpy(header + header_bytes, &code, 8);
    std::memcpy(header + header_bytes + 8, &length, 8);
    if (write_fully(answer_fd, std::string_view(header, sizeof header))) write_fully(answer_fd, message);
    ::_exit(status);
}

[[noreturn]] void compile_and_answer(const CompileRequest &request, int fd) {
    answer_fd = fd;
    set_compile_end(end_with_answer);
    std::string answer;
    try {
        answer = encode_answer(compile_filter(request));
    } catch (const std::exception &e) {
        std::string message = std::string("the filter compiler failed: ") + e.what() + "; nothing was started";
        end_with_answer(message.c_str(), exit_system);
    }
    // Nothing is freed: this process's exit gives everything back at once.
    // That takes milliseconds, which must not delay the reader: on the CPU
    // it shared with this process, the reader woke into our teardown half
    // the time and waited ~0.8 ms (bench/RESULTS.md). At the lowest
    // priority, and with the CPU offered, it runs first.
    ::setpriority(PRIO_PROCESS, 0, 19);
    bool written = write_fully(fd, answer);
    ::sched_yield();
    ::_exit(written ? 0 : exit_system);
}

// Reads one whole answer. Not to the pipe's end: that comes only when the
// compiling process has given its memory back, which is what we do not wait for.
std::string read_answer(int fd, const std::string &source) {
    std::string answer;
    std::uint64_t wanted = header_bytes;
    char buffer[65536];
    while (answer.size() < wanted) {
        std::size_t room = std::min<std::uint64_t>(sizeof buffer, wanted - answer.size());
        ssize_t n = ::read(fd, buffer, room);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw system_error("filter " + source + ": cannot read the compiler's answer", errno);
        if (n == 0)
            throw Error("filter " + source +
                            ": the compiler's process ended without an answer (a crash, or killed by a signal); "
                            "nothing was started",
                        exit_system);
        answer.append(buffer, static_cast<std::size_t>(n));
        if (answer.size() == header_bytes && wanted == header_bytes) {
            std::uint64_t payload = 0;
            std::memcpy(&payload, answer.data() + 1, 8);
            if (payload > largest_payload)
                throw Error("filter " + source + ": the compiler's answer is too large", exit_system);
            wanted += payload;
        }
    }
    return answer;
}

// The compiling process holds nothing of ours but its end of the pipe:
// not the service's sockets, not our standard output (a reader waiting for
// its end would wait for this process's exit), nothing to inherit.
// Standard input, output and error are /dev/null (a stray write goes
// nowhere); what the compile has to say goes through the answer.
// Returns the pipe's descriptor, moved above 2 if it was one of them.
int keep_only_answer_fd(int fd) {
    if (fd < 3) fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) ::_exit(exit_system);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int standard = 0; standard < 3; ++standard) {
        if (null >= 0) ::dup2(null, standard);
        else ::close(standard);
    }
    if (fd > 3) ::close_range(3, static_cast<unsigned>(fd) - 1, 0);
    ::close_range(static_cast<unsigned>(fd) + 1, ~0U, 0);
    return fd;
}

bool orphans_come_to_us() {
    if (::getpid() == 1) return true;
    int subreaper = 0;
    return ::prctl(PR_GET_CHILD_SUBREAPER, &subreaper) == 0 && subreaper != 0;
}

}  // namespace

std::string encode_answer(const CompileResult &result) {
    std::string payload;
    payload += static_cast<char>(result.ok);
    payload += static_cast<char>(result.from_runtime_pch);
    put_bytes(payload, std::string_view(reinterpret_cast<const char *>(result.object.data()), result.object.size()));
    put_bytes(payload, result.diagnostics);
    put_number(payload, result.inputs.size());
    for (const auto &input : result.inputs) {
        put_bytes(payload, input.path);
        payload += static_cast<char>(input.kind);
        put_bytes(payload, input.content);
    }
    put_number(payload, result.more_objects.size());
    for (const auto &object : result.more_objects)
        put_bytes(payload, std::string_view(reinterpret_cast<const char *>(object.data()), object.size()));
    put_number(payload, result.hidden_functions.size());
    for (const auto &name : result.hidden_functions) put_bytes(payload, name);
    return framed(answer_result, payload);
}

CompileResult decode_answer(std::string_view bytes) {
    Reader frame(bytes);
    char kind = static_cast<char>(frame.byte());
    Reader payload(frame.bytes());
    if (!frame.done()) throw Error("the filter compiler's answer has bytes past its end", exit_system);
    if (kind == answer_end) {
        std::uint64_t status = payload.number();
        std::string message(payload.bytes());
        if (status == 0 || status > 255) status = exit_system;
        throw Error(message, static_cast<int>(status));
    }
    if (kind != answer_result) throw Error("the filter compiler's answer is of no known kind", exit_system);
    CompileResult result;
    result.ok = payload.byte() != 0;
    result.from_runtime_pch = payload.byte() != 0;
    std::string_view object = payload.bytes();
    result.object.assign(object.begin(), object.end());
    result.diagnostics = std::string(payload.bytes());
    std::uint64_t inputs = payload.number();
    for (std::uint64_t i = 0; i < inputs; ++i) {
        CompileInput input;
        input.path = std::string(payload.bytes());
        std::uint8_t kind_byte = payload.byte();
        if (kind_byte > static_cast<std::uint8_t>(CompileInput::Kind::absent))
            throw Error("the filter compiler's answer names an input of no known kind", exit_system);
        input.kind = static_cast<CompileInput::Kind>(kind_byte);
        input.content = std::string(payload.bytes());
        result.inputs.push_back(std::move(input));
    }
    for (std::uint64_t i = 0, objects = payload.number(); i < objects; ++i) {
        std::string_view part = payload.bytes();
        result.more_objects.emplace_back(part.begin(), part.end());
    }
    for (std::uint64_t i = 0, names = payload.number(); i < names; ++i)
        result.hidden_functions.emplace_back(payload.bytes());
    if (!payload.done()) throw Error("the filter compiler's answer has bytes past its end", exit_system);
    return result;
}

CompileResult compile_filter_apart(const CompileRequest &request) {
    if (orphans_come_to_us()) return compile_filter(request);
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) return compile_filter(request);
    UniqueFd reading(ends[0]), writing(ends[1]);
    pid_t middle = ::fork();
    if (middle < 0) return compile_filter(request);
    if (middle == 0) {
        reading.reset();
        // The compiler runs in a child of this child, which ends at once: the
        // compiler is nobody's child then, and ours to wait for is only this
        // one. Without a second process, this one compiles.
        if (::fork() > 0) ::_exit(0);
        compile_and_answer(request, keep_only_answer_fd(writing.release()));
    }
    writing.reset();
    // The process between is waited for however the reading ends.
    struct Reaped {
        pid_t pid;
        ~Reaped() {
            while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
    } reaped{middle};
    return decode_answer(read_answer(reading.get(), request.source_path));
}

}  // namespace alf
