#include "bpf/verifier_log.hpp"

#include <doctest/doctest.h>

using namespace alf;

TEST_CASE("the refused instruction, its source line and the reason") {
    const char *log =
        "0: R1=ctx() R10=fp0\n"
        "; int filter(struct __sk_buff *skb) @ oob.c:11\n"
        "0: (bf) r7 = r1                       ; R1=ctx() R7=ctx()\n"
        "; if (!slots) @ oob.c:16\n"
        "8: (15) if r0 == 0x0 goto pc+9        ; R0=map_value(map=counters,ks=4,vs=16)\n"
        "; slots[skb->len & 7] += 1; @ oob.c:18\n"
        "9: (61) r1 = *(u32 *)(r7 +0)          ; R1=scalar() R7=ctx()\n"
        "13: (61) r1 = *(u32 *)(r0 +0)\n"
        "invalid access to map value, value_size=16 off=28 size=4\n"
        "R0 max value is outside of the allowed memory range\n"
        "processed 13 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";
    VerifierSummary s = summarize_verifier_log(log);
    REQUIRE(s.where);
    CHECK(s.where->file == "oob.c");
    CHECK(s.where->line == 18);
    CHECK(s.where->text == "slots[skb->len & 7] += 1;");
    CHECK(s.instruction == "13: (61) r1 = *(u32 *)(r0 +0)");
    CHECK(s.reason == "invalid access to map value, value_size=16 off=28 size=4\n"
                      "R0 max value is outside of the allowed memory range");
    CHECK(s.limit.empty());
}

TEST_CASE("a program at the complexity limit names the limit") {
    const char *log =
        "; for (i = 0; i < 400000; i++) @ large.c:10\n"
        "6: (07) r2 += 1                       ; R2=0x1e848\n"
        "7: (bf) r4 = r2\n"
        "BPF program is too large. Processed 1000001 insn\n"
        "processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 9616 peak_states 9616\n";
    VerifierSummary s = summarize_verifier_log(log);
    REQUIRE(s.where);
    CHECK(s.where->line == 10);
    CHECK(s.reason == "BPF program is too large. Processed 1000001 insn");
    CHECK(s.limit.find("1000000 instructions") != std::string::npos);

    s = summarize_verifier_log("; if (sum == 7) @ big.c:12\n9: (15) if r4 == 0x7 goto pc+5\n"
                               "The sequence of 8193 jumps is too complex.\nprocessed 98314 insns (limit 1000000)\n");
    CHECK(s.where->line == 12);
    CHECK(s.limit.find("8192 branches") != std::string::npos);
}

TEST_CASE("a log without instructions: the last words are the reason") {
    VerifierSummary s = summarize_verifier_log("func#0 @0\nsome detail\ninvalid func info\n");
    CHECK_FALSE(s.where);
    CHECK(s.instruction.empty());
    CHECK(s.reason.find("invalid func info") != std::string::npos);
}

TEST_CASE("last_lines") {
    CHECK(last_lines("a\nb\nc\n", 2) == "b\nc\n");
    CHECK(last_lines("a\nb\n", 5) == "a\nb\n");
    // Found by the verifier_log fuzzer: no line of a log without a final newline threw out_of_range.
    CHECK(last_lines("a\nb", 0).empty());
    CHECK(last_lines("a\nb\n", 0).empty());
    CHECK(last_lines("a\nb", 1) == "b");
    CHECK(last_lines("\nb", 1) == "b");
    CHECK(last_lines("\nb", 2) == "\nb");
    CHECK(last_lines("", 3).empty());
}
