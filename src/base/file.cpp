#include "base/file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace cairn::file {

namespace fs = std::filesystem;

namespace {

std::string os_error(int error) {
  return std::strerror(error);
}

Error io_error(std::string_view verb, const fs::path& path, int error) {
  const Errc code = error == ENOENT ? Errc::not_found : Errc::io;
  return Error{code, fmt::format("cannot {} {}: {}", verb, path.string(), os_error(error))};
}

// Owns a file descriptor; closing is explicit where its failure matters (after writing).
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd);
  }

 private:
  int fd_;
};

Status write_all(int fd, ByteView contents, const fs::path& path) {
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(io_error("write", path, errno));
    }
    written += static_cast<std::size_t>(n);
  }
  return {};
}

fs::path parent_of(const fs::path& path) {
  const fs::path parent = path.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// A name no other writer uses, so O_EXCL guarantees the temporary was created here, with
// the mode given: a stale temporary left by a crash can never lend its mode to a secret.
fs::path temporary_for(const fs::path& path) {
  static std::atomic<std::uint64_t> counter{0};
  return parent_of(path) /
         fmt::format(".{}.tmp-{}-{}", path.filename().string(), ::getpid(), counter.fetch_add(1));
}

}  // namespace

Status sync_directory(const fs::path& directory) {
  Descriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return std::unexpected(io_error("open the directory", directory, errno));
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return std::unexpected(io_error("sync the directory", directory, errno));
  }
  return {};
}

Status require_regular_file(const fs::path& path, std::string_view what) {
  const std::string label =
      what.empty() ? path.string() : fmt::format("{} {}", what, path.string());
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return fail(Errc::not_found, label + ": no such file");
    return fail(Errc::io, fmt::format("{}: {}", label, os_error(errno)));
  }
  if (S_ISDIR(info.st_mode))
    return fail(Errc::invalid_argument, label + ": is a directory, not a file");
  if (!S_ISREG(info.st_mode))
    return fail(Errc::invalid_argument, label + ": is not a regular file");
  return {};
}

Result<Bytes> read(const fs::path& path, std::uint64_t max_bytes) {
  Descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::unexpected(io_error("read", path, errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return std::unexpected(io_error("read", path, errno));
  if (S_ISDIR(info.st_mode)) {
    return fail(Errc::invalid_argument, path.string() + ": is a directory, not a file");
  }
  if (!S_ISREG(info.st_mode)) {
    return fail(Errc::invalid_argument, path.string() + ": is not a regular file");
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size > max_bytes) {
    return fail(Errc::invalid_argument,
                fmt::format("{}: {} bytes, more than the {} this file may have", path.string(),
                            size, max_bytes));
  }
  Bytes contents(static_cast<std::size_t>(size));
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::read(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(io_error("read", path, errno));
    }
    if (n == 0) break;  // shrank while we read: keep what is there
    done += static_cast<std::size_t>(n);
  }
  contents.resize(done);
  // A file that grew while we read is read to the cap and refused past it.
  std::byte probe{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), &probe, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      return fail(Errc::invalid_argument, fmt::format("{}: grew while it was read", path.string()));
    }
    break;
  }
  return contents;
}

Result<std::string> read_text(const fs::path& path, std::uint64_t max_bytes) {
  CAIRN_TRY_ASSIGN(auto bytes, read(path, max_bytes));
  return std::string(as_chars(bytes));
}

Status create_directories(const fs::path& path, mode_t mode) {
  if (path.empty()) return {};
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return {};
    return fail(Errc::invalid_argument, path.string() + ": exists and is not a directory");
  }
  const fs::path parent = path.parent_path();
  if (!parent.empty() && parent != path) CAIRN_TRY(create_directories(parent, mode));
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return std::unexpected(io_error("create the directory", path, errno));
  }
  return sync_directory(parent_of(path));
}

Result<AtomicWriter> AtomicWriter::create(const fs::path& path, WriteOptions options) {
  if (path.filename().empty()) {
    return fail(Errc::invalid_argument, "'" + path.string() + "' names no file");
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return fail(Errc::invalid_argument, path.string() + ": is a directory, not a file");
  }
  if (options.create_parents) {
    CAIRN_TRY(create_directories(parent_of(path), options.mode == kSecret ? 0700 : 0755));
  }
  fs::path temporary = temporary_for(path);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
  if (fd < 0) return std::unexpected(io_error("create", temporary, errno));
  AtomicWriter writer(path, std::move(temporary), fd);
  // The umask may have narrowed a public mode; the file gets exactly the mode asked for
  // before any byte is in it.
  if (::fchmod(fd, options.mode) != 0) {
    return std::unexpected(io_error("chmod", writer.temporary_, errno));
  }
  return writer;
}

AtomicWriter::AtomicWriter(AtomicWriter&& other) noexcept
    : path_(std::move(other.path_)), temporary_(std::move(other.temporary_)), fd_(other.fd_) {
  other.fd_ = -1;
  other.temporary_.clear();
}

AtomicWriter::~AtomicWriter() {
  abandon();
}

void AtomicWriter::abandon() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
  temporary_.clear();
}

Status AtomicWriter::write(ByteView bytes) {
  if (fd_ < 0) return fail(Errc::internal, "writing " + path_.string() + " after it was closed");
  auto written = write_all(fd_, bytes, temporary_);
  if (!written) abandon();
  return written;
}

Status AtomicWriter::commit() {
  if (fd_ < 0) return fail(Errc::internal, "committing " + path_.string() + " twice");
  const int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    abandon();
    return std::unexpected(io_error("sync", path_, error));
  }
  if (::close(fd) != 0) {
    const int error = errno;
    abandon();
    return std::unexpected(io_error("close", path_, error));
  }
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) {
    const int error = errno;
    abandon();
    if (error == EISDIR) {
      return fail(Errc::invalid_argument, path_.string() + ": is a directory, not a file");
    }
    return std::unexpected(io_error("replace", path_, error));
  }
  temporary_.clear();
  return sync_directory(parent_of(path_));
}

Status write_atomic(const fs::path& path, ByteView contents, WriteOptions options) {
  CAIRN_TRY_ASSIGN(auto writer, AtomicWriter::create(path, options));
  CAIRN_TRY(writer.write(contents));
  return writer.commit();
}

Status write_atomic(const fs::path& path, std::string_view contents, WriteOptions options) {
  return write_atomic(path, as_bytes(contents), options);
}

Status append_synced(const fs::path& path, std::string_view record, mode_t mode) {
  const bool existed = ::access(path.c_str(), F_OK) == 0;
  Descriptor fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode));
  if (!fd.valid()) return std::unexpected(io_error("append to", path, errno));
  CAIRN_TRY(write_all(fd.get(), as_bytes(record), path));
  if (::fdatasync(fd.get()) != 0) return std::unexpected(io_error("sync", path, errno));
  if (fd.close() != 0) return std::unexpected(io_error("close", path, errno));
  if (!existed) return sync_directory(parent_of(path));
  return {};
}

Result<ProcessLock> ProcessLock::acquire(const fs::path& path, std::string_view what) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kSecret);
  if (fd < 0) return std::unexpected(io_error("open the lock", path, errno));
  ProcessLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    const ssize_t got = ::pread(fd, holder, sizeof holder - 1, 0);
    return fail(Errc::conflict,
                fmt::format("{} is in use by another process (pid {})", what,
                            got > 0 ? std::string(holder, static_cast<std::size_t>(got)) : "?"));
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return std::unexpected(io_error("write the lock", path, errno));
  }
  return lock;
}

ProcessLock& ProcessLock::operator=(ProcessLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

ProcessLock::~ProcessLock() {
  if (fd_ >= 0) ::close(fd_);
}

Status remove(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return std::unexpected(io_error("remove", path, errno));
  }
  return sync_directory(parent_of(path));
}

Status rename(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return std::unexpected(Error{
        errno == ENOENT ? Errc::not_found : Errc::io,
        fmt::format("cannot rename {} to {}: {}", from.string(), to.string(), os_error(errno))});
  }
  CAIRN_TRY(sync_directory(parent_of(to)));
  if (parent_of(from) != parent_of(to)) CAIRN_TRY(sync_directory(parent_of(from)));
  return {};
}

}  // namespace cairn::file
