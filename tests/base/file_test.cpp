#include "base/file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "testing/testing.hpp"

namespace cairn {
using file::kSecret;
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

TEST(File, WriteAtomicReplacesAndReadsBack) {
  testing::TempDir dir;
  const auto path = dir / "a" / "b" / "state.json";
  ASSERT_TRUE(file::write_atomic(path, std::string_view("first")).has_value());
  ASSERT_TRUE(file::write_atomic(path, std::string_view("second, longer")).has_value());
  EXPECT_EQ(file::read_text(path, 100).value(), "second, longer");
  // No temporary is left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(path.parent_path()))
    ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST(File, SecretIsNeverCreatedWithAWiderMode) {
  testing::TempDir dir;
  // A permissive umask must not widen a secret, and a restrictive one must not narrow
  // a public file: the mode is set on the temporary before any byte is written.
  const mode_t old = ::umask(0);
  const auto secret = dir / "keys" / "ed25519.key";
  const auto status = file::write_atomic(secret, std::string_view("k"), {.mode = kSecret});
  ::umask(077);
  const auto open_file = dir / "public.txt";
  const auto public_status = file::write_atomic(open_file, std::string_view("p"));
  ::umask(old);
  ASSERT_TRUE(status.has_value()) << status.error().to_string();
  ASSERT_TRUE(public_status.has_value());
  EXPECT_EQ(mode_of(secret), 0600u);
  EXPECT_EQ(mode_of(secret.parent_path()), 0700u);
  EXPECT_EQ(mode_of(open_file), 0644u);
  // Replacing an existing public file with a secret narrows it.
  ASSERT_TRUE(
      file::write_atomic(open_file, std::string_view("now secret"), {.mode = kSecret}).has_value());
  EXPECT_EQ(mode_of(open_file), 0600u);
}

TEST(File, ReadRefusesOverCapDirectoriesAndMissingFiles) {
  testing::TempDir dir;
  const auto path = dir / "f";
  ASSERT_TRUE(file::write_atomic(path, std::string_view("0123456789")).has_value());
  EXPECT_EQ(file::read(path, 10).value().size(), 10u);
  auto too_big = file::read(path, 9);
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message.find("more than the 9"), std::string::npos);

  auto directory = file::read(dir.path(), 100);
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().message.find("is a directory"), std::string::npos);
  EXPECT_NE(directory.error().message.find(dir.path().string()), std::string::npos);

  auto missing = file::read(dir / "nope", 100);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
}

TEST(File, RequireRegularFileNamesWhatAndWhy) {
  testing::TempDir dir;
  auto status = file::require_regular_file(dir.path(), "--config");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message,
            "--config " + dir.path().string() + ": is a directory, not a file");
  EXPECT_EQ(file::require_regular_file(dir / "x", "--config").error().code, Errc::not_found);
  ASSERT_TRUE(file::write_atomic(dir / "x", std::string_view("{}")).has_value());
  EXPECT_TRUE(file::require_regular_file(dir / "x", "--config").has_value());
}

TEST(File, WriteOverADirectoryIsRefusedAndLeavesNoTemporary) {
  testing::TempDir dir;
  fs::create_directories(dir / "target");
  auto status = file::write_atomic(dir / "target", std::string_view("x"));
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("is a directory"), std::string::npos);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path()))
    ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST(File, AppendSyncedAccumulatesRecords) {
  testing::TempDir dir;
  const auto journal = dir / "journal.log";
  ASSERT_TRUE(file::append_synced(journal, "one\n", kSecret).has_value());
  ASSERT_TRUE(file::append_synced(journal, "two\n", kSecret).has_value());
  EXPECT_EQ(file::read_text(journal, 100).value(), "one\ntwo\n");
  EXPECT_EQ(mode_of(journal), 0600u);
}

// A writer killed at any point leaves the old contents or the new, never a mix or nothing.
TEST(File, KilledWriterLeavesOldOrNewContents) {
  testing::TempDir dir;
  const auto path = dir / "state";
  const std::string old_contents(4096, 'o');
  const std::string new_contents(1 << 20, 'n');
  ASSERT_TRUE(file::write_atomic(path, std::string_view(old_contents)).has_value());
  for (int trial = 0; trial < 20; ++trial) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (;;) {
        (void)file::write_atomic(path, std::string_view(new_contents));
        (void)file::write_atomic(path, std::string_view(old_contents));
      }
    }
    ::usleep(static_cast<useconds_t>(2000 + trial * 1500));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    const auto contents = file::read_text(path, 2 << 20);
    ASSERT_TRUE(contents.has_value());
    EXPECT_TRUE(*contents == old_contents || *contents == new_contents)
        << "trial " << trial << ": " << contents->size() << " bytes";
  }
}

TEST(File, CreateDirectoriesRefusesAFileInTheWay) {
  testing::TempDir dir;
  ASSERT_TRUE(file::write_atomic(dir / "f", std::string_view("x")).has_value());
  EXPECT_FALSE(file::create_directories(dir / "f" / "sub"));
  EXPECT_FALSE(file::create_directories(dir / "f"));
  EXPECT_TRUE(file::create_directories(dir / "d" / "e", 0700).has_value());
  EXPECT_EQ(mode_of(dir / "d" / "e"), 0700u);
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST(File, AtomicWriterShowsNothingUntilCommit) {
  testing::TempDir dir;
  const auto path = dir / "out.car";
  {
    auto writer = file::AtomicWriter::create(path);
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE(writer->write(as_bytes(std::string_view("part"))).has_value());
    EXPECT_FALSE(std::filesystem::exists(path));
    // Destroyed without commit: the temporary goes, the target never appears.
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  auto writer = file::AtomicWriter::create(path);
  ASSERT_TRUE(writer.has_value());
  ASSERT_TRUE(writer->write(as_bytes(std::string_view("ab"))).has_value());
  ASSERT_TRUE(writer->write(as_bytes(std::string_view("cd"))).has_value());
  ASSERT_TRUE(writer->commit().has_value());
  EXPECT_EQ(file::read_text(path, 10).value(), "abcd");
  EXPECT_FALSE(writer->commit().has_value());
  EXPECT_FALSE(file::AtomicWriter::create(dir.path()).has_value());
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST(File, ProcessLockIsExclusiveAndDiesWithItsHolder) {
  testing::TempDir dir;
  const auto path = dir / "x.lock";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto held = file::ProcessLock::acquire(path, "the thing");
    if (!held) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  // Wait until the child holds it.
  for (int i = 0; i < 200; ++i) {
    if (std::filesystem::exists(path) && std::filesystem::file_size(path) > 0) break;
    ::usleep(5000);
  }
  const auto mine = file::ProcessLock::acquire(path, "the thing");
  ASSERT_FALSE(mine);
  EXPECT_EQ(mine.error().code, Errc::conflict);
  EXPECT_EQ(mine.error().message,
            "the thing is in use by another process (pid " + std::to_string(child) + ")");
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  // A SIGKILLed holder leaves no stale lock.
  EXPECT_TRUE(file::ProcessLock::acquire(path, "the thing").has_value());
}

}  // namespace
}  // namespace cairn
