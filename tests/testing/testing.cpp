#include "testing/testing.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

namespace cairn::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cairn-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  if (std::getenv("CAIRN_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path source_dir() {
  if (const char* env = std::getenv("CAIRN_SOURCE_DIR"); env && *env) return env;
  return CAIRN_SOURCE_DIR;
}

std::filesystem::path binary_dir() { return CAIRN_BINARY_DIR; }

std::filesystem::path cairn_binary() { return binary_dir() / "bin" / "cairn"; }

std::optional<std::filesystem::path> node_tool(const std::string& name) {
  const auto path = source_dir() / "node_modules" / ".bin" / name;
  if (std::filesystem::exists(path)) return path;
  return std::nullopt;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

Bytes pseudo_random_bytes(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(count);
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  const std::uint64_t tail = rng();
  for (std::size_t k = 0; i < count; ++i, ++k) out[i] = static_cast<std::byte>(tail >> (8 * k));
  return out;
}

void write_file(const std::filesystem::path& path, ByteView contents) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(contents.data()), static_cast<std::streamsize>(contents.size()));
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path.string());
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return to_bytes(text);
}

CommandResult run_command(const std::string& command_line) {
  TempDir dir;
  const auto out_path = dir / "stdout";
  const auto err_path = dir / "stderr";
  const std::string full = command_line + " >" + out_path.string() + " 2>" + err_path.string() + " </dev/null";
  const int status = std::system(full.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = std::string(as_chars(read_file(out_path)));
  result.err = std::string(as_chars(read_file(err_path)));
  return result;
}

}  // namespace cairn::testing
