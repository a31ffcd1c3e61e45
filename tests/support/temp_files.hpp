// Files a test or a benchmark writes for itself, removed when it is done.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace alf {

// A fresh directory under the system's temporary directory, removed with
// everything in it when the TempDir goes. Throws std::runtime_error when it
// cannot be made.
class TempDir {
public:
    explicit TempDir(const std::string &prefix = "alf-test");
    ~TempDir();
    TempDir(TempDir &&other) noexcept;
    TempDir &operator=(TempDir &&other) noexcept;

    const std::filesystem::path &path() const { return path_; }
    // The path of `name` in the directory (nothing is written).
    std::string file(const std::string &name) const { return (path_ / name).string(); }
    // Writes `text` to `name` in the directory (replacing it); its path.
    std::string write(const std::string &name, std::string_view text) const;

private:
    std::filesystem::path path_;
};

// One file holding `text`, alone in a directory of its own; both removed
// when the TempFile goes.
class TempFile {
public:
    explicit TempFile(std::string_view text, const std::string &name = "file");

    const std::string &path() const { return path_; }

private:
    TempDir dir_;
    std::string path_;
};

// Writes `text` to `path`, replacing the file; throws std::runtime_error on failure.
void write_text_file(const std::string &path, std::string_view text);

}  // namespace alf
