#pragma once
// The one file layer every module uses. Three promises, each of which a crash or a second
// reader must not be able to break:
//   - a whole-file read never allocates more than its caller's cap, and names the file
//     and what is wrong with it (a directory, missing, too large);
//   - an atomic write is either the old file or the new one after a crash: the bytes go to
//     a temporary file created with its final mode (0600 for secrets, so a secret is never
//     readable by others, not even for an instant), the temporary is fsynced, renamed over
//     the target, and the directory is fsynced so the rename itself survives;
//   - an appended record is on disk when append_synced returns.
// No function here throws; every failure is an Errc::io/not_found/invalid_argument Error.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::file {

// Modes a file is created with. Secrets (keys, tokens, wrapped shard keys) use `secret`.
inline constexpr mode_t kPublic = 0644;
inline constexpr mode_t kSecret = 0600;

// Caps for reads of files cairn wrote or a user named. Each caller picks the one that
// fits what it reads; nothing reads "whatever size the file has".
inline constexpr std::uint64_t kSmallFileCap = 1ull << 20;  // configs, keys, state, records
inline constexpr std::uint64_t kLargeFileCap = 1ull << 36;  // user data, models, CARs (64 GiB)

// Reads the whole regular file at `path`, refusing one larger than `max_bytes`.
// A directory, a device or a missing file is an error that names the path.
[[nodiscard]] Result<Bytes> read(const std::filesystem::path& path, std::uint64_t max_bytes);
[[nodiscard]] Result<std::string> read_text(const std::filesystem::path& path,
                                            std::uint64_t max_bytes);

// Checks that `path` names an existing regular file (following symlinks); `what` says what
// the file is for in the message ("--config", "the shard's images"): "--config
// /etc/x: is a directory, not a file".
[[nodiscard]] Status require_regular_file(const std::filesystem::path& path, std::string_view what);

struct WriteOptions {
  mode_t mode = kPublic;
  // Creates missing parent directories (mode 0700 for secret files, 0755 otherwise).
  bool create_parents = true;
};

// Replaces `path` atomically with `contents` (see the file comment). A crash leaves the
// old file or the new one, never a mix. The temporary (".NAME.tmp-PID-N" beside the
// target) is created exclusively, so a stale one left by a crash never lends it its mode.
[[nodiscard]] Status write_atomic(const std::filesystem::path& path, ByteView contents,
                                  WriteOptions options = {});
[[nodiscard]] Status write_atomic(const std::filesystem::path& path, std::string_view contents,
                                  WriteOptions options = {});

// The streaming form of write_atomic, for outputs too large to hold in memory (a CAR, an
// exported file): write() as often as needed, then commit(). Until commit() nothing is
// visible at the target; a writer destroyed without commit() removes its temporary.
class AtomicWriter {
 public:
  [[nodiscard]] static Result<AtomicWriter> create(const std::filesystem::path& path,
                                                   WriteOptions options = {});
  AtomicWriter(AtomicWriter&& other) noexcept;
  AtomicWriter& operator=(AtomicWriter&&) = delete;
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;
  ~AtomicWriter();

  [[nodiscard]] Status write(ByteView bytes);
  // Syncs, renames over the target and syncs the directory.
  [[nodiscard]] Status commit();
  const std::filesystem::path& path() const { return path_; }

 private:
  AtomicWriter(std::filesystem::path path, std::filesystem::path temporary, int fd)
      : path_(std::move(path)), temporary_(std::move(temporary)), fd_(fd) {}
  void abandon();

  std::filesystem::path path_;
  std::filesystem::path temporary_;
  int fd_ = -1;
};

// Appends `record` to `path` (created with `mode` when missing) and fsyncs before
// returning, so an acknowledged record survives a crash. A torn final record is the
// reader's to detect (journals end each record with a newline and ignore a partial last
// line).
[[nodiscard]] Status append_synced(const std::filesystem::path& path, std::string_view record,
                                   mode_t mode = kPublic);

// One process at a time on a resource (a node's repository, a calendar): an flock on
// `path` that records the holder's pid. The kernel releases it when the process dies,
// however it dies, so a SIGKILLed holder leaves no stale lock. A second acquire fails
// with Errc::conflict: "<what> is in use by another process (pid N)".
class ProcessLock {
 public:
  [[nodiscard]] static Result<ProcessLock> acquire(const std::filesystem::path& path,
                                                   std::string_view what);
  ProcessLock(ProcessLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ProcessLock& operator=(ProcessLock&& other) noexcept;
  ProcessLock(const ProcessLock&) = delete;
  ProcessLock& operator=(const ProcessLock&) = delete;
  ~ProcessLock();

 private:
  explicit ProcessLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Creates a directory and its parents with `mode` (applied to the ones it creates), and
// fsyncs the parent of each so they survive a crash. Succeeds if it already exists as a
// directory.
[[nodiscard]] Status create_directories(const std::filesystem::path& path, mode_t mode = 0755);

// Removes a file if present; a missing file is success. The directory is fsynced.
[[nodiscard]] Status remove(const std::filesystem::path& path);

// Renames within one file system and fsyncs the directories involved.
[[nodiscard]] Status rename(const std::filesystem::path& from, const std::filesystem::path& to);

// fsyncs a directory, so that entries created, renamed or removed in it are durable.
[[nodiscard]] Status sync_directory(const std::filesystem::path& directory);

}  // namespace cairn::file
