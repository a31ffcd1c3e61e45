#include "compile/cache.hpp"

#include "temp_files.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace alf;
namespace fs = std::filesystem;

namespace {

void write(const fs::path &path, const std::string &text) { write_text_file(path.string(), text); }

std::string read(const fs::path &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

CachedObject object(const std::string &text) { return {std::vector<std::uint8_t>(text.begin(), text.end()), "fast", ""}; }

}  // namespace

TEST_CASE("an entry is found while everything the compiler read is unchanged") {
    TempDir tmp("alf-cache-unit");
    write(tmp.path() / "header.h", "#define X 1\n");
    std::vector<CompileInput> inputs = {
        {(tmp.path() / "header.h").string(), CompileInput::Kind::read, "#define X 1\n"},
        {(tmp.path() / "shadow.h").string(), CompileInput::Kind::absent, ""},
        {tmp.path().string(), CompileInput::Kind::exists, ""},
    };
    std::string warning, why;
    auto cache = ObjectCache::open((tmp.path() / "a" / "b" / "cache").string(), warning);
    REQUIRE(warning.empty());
    REQUIRE(cache.enabled());
    CHECK((fs::status(tmp.path() / "a").permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK((fs::status(tmp.path() / "a" / "b" / "cache").permissions() & fs::perms::all) == fs::perms::owner_all);

    const std::string key(64, 'a');
    CHECK_FALSE(cache.lookup(key, why));
    CHECK(why.empty());
    CHECK(cache.store(key, {std::vector<std::uint8_t>{1, 2, 3}, "full", "warning: x"}, inputs).empty());
    CHECK((fs::status(cache.entry_path(key)).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));

    auto hit = cache.lookup(key, why);
    REQUIRE(hit);
    CHECK(hit->object == std::vector<std::uint8_t>{1, 2, 3});
    CHECK(hit->optimization == "full");
    CHECK(hit->warnings == "warning: x");

    SUBCASE("a header that changed") {
        write(tmp.path() / "header.h", "#define X 2\n");
        CHECK_FALSE(cache.lookup(key, why));
        CHECK(why.find("header.h changed") != std::string::npos);
    }
    SUBCASE("a header that appeared where none was") {
        write(tmp.path() / "shadow.h", "");
        CHECK_FALSE(cache.lookup(key, why));
        CHECK(why.find("shadow.h exists now") != std::string::npos);
    }
    SUBCASE("a header that is gone") {
        fs::remove(tmp.path() / "header.h");
        CHECK_FALSE(cache.lookup(key, why));
        CHECK(why.find("header.h cannot be read") != std::string::npos);
    }
}

TEST_CASE("a damaged entry is never used") {
    TempDir tmp("alf-cache-unit");
    std::string warning, why;
    auto cache = ObjectCache::open(tmp.path().string(), warning);
    const std::string key(64, 'b');
    REQUIRE(cache.store(key, object("an object of some length"), {}).empty());
    const std::string intact = read(cache.entry_path(key));
    REQUIRE(cache.lookup(key, why));

    auto damaged = [&](std::string text) {
        write(cache.entry_path(key), text);
        bool found = cache.lookup(key, why).has_value();
        CAPTURE(why);
        CHECK(why.find("corrupt") != std::string::npos);
        return found;
    };
    CHECK_FALSE(damaged(intact.substr(0, intact.size() - 5)));          // truncated object
    CHECK_FALSE(damaged(intact.substr(0, 20)));                         // truncated header
    CHECK_FALSE(damaged(""));                                           // empty
    std::string flipped = intact;
    flipped.back() ^= 1;
    CHECK_FALSE(damaged(flipped));                                      // a changed byte
    CHECK_FALSE(damaged(intact.substr(0, intact.find('\n') + 1) + "{not json\n" + "x"));
    std::string other_key = intact;
    other_key.replace(other_key.find(key), key.size(), std::string(64, 'c'));
    CHECK_FALSE(damaged(other_key));                                    // an entry moved from elsewhere
}

TEST_CASE("a cache directory others could write to is not used") {
    TempDir tmp("alf-cache-unit");
    std::string warning;
    fs::permissions(tmp.path(), fs::perms::all);
    auto cache = ObjectCache::open(tmp.path().string(), warning);
    CHECK_FALSE(cache.enabled());
    CHECK(warning.find("writable by others (mode 0777)") != std::string::npos);
    CHECK_FALSE(ObjectCache::disabled().enabled());
}

TEST_CASE("a cache directory of another user is not used (needs root)" * root_suite) {
    require_root("giving a directory to another user needs root");
    TempDir tmp("alf-cache-unit");
    REQUIRE(chown(tmp.path().c_str(), 65534, 65534) == 0);
    std::string warning;
    auto cache = ObjectCache::open(tmp.path().string(), warning);
    CHECK_FALSE(cache.enabled());
    CHECK(warning.find("belongs to another user (uid 65534)") != std::string::npos);
}

TEST_CASE("the key covers source, defines, include directories, directory and optimizer") {
    CacheKeyInput base{"f.c", "int x;", {"A=1"}, {"inc"}, "/work", "fast"};
    const std::string key = cache_key(base);
    CHECK(key.size() == 64);
    CHECK(cache_key(base) == key);
    auto changed = [&](auto change) {
        CacheKeyInput input = base;
        change(input);
        return cache_key(input) != key;
    };
    CHECK(changed([](auto &i) { i.source = "int y;"; }));
    CHECK(changed([](auto &i) { i.source_path = "g.c"; }));
    CHECK(changed([](auto &i) { i.defines = {"A=2"}; }));
    CHECK(changed([](auto &i) { i.defines = {"A=1", "B"}; }));
    CHECK(changed([](auto &i) { i.include_dirs = {"inc2"}; }));
    CHECK(changed([](auto &i) { i.working_directory = "/elsewhere"; }));
    CHECK(changed([](auto &i) { i.optimization = "full"; }));
}
