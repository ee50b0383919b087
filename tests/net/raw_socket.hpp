#pragma once
// A raw loopback TCP client for the server tests: sends exact bytes (malformed, slow,
// partial) and reads whatever comes back, always under a timeout.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace cairn::net::testing {

class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads until the peer closes, `enough` bytes arrived, or `timeout` passes.
  std::string read(std::chrono::milliseconds timeout, std::size_t enough = SIZE_MAX) {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (out.size() < enough) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[65536];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

  // Reads one response whose head ends in a blank line and whose body has a
  // Content-Length (enough for keep-alive tests).
  std::string read_response(std::chrono::milliseconds timeout) {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto head_end = buffer_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        const auto at = lower(buffer_.substr(0, head_end)).find("content-length:");
        if (at != std::string::npos) length = std::stoul(buffer_.substr(at + 15));
        if (buffer_.size() >= head_end + 4 + length) {
          out = buffer_.substr(0, head_end + 4 + length);
          buffer_.erase(0, out.size());
          return out;
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      const std::string more = read(left, 1);
      if (more.empty()) return {};
      buffer_ += more;
    }
  }

  bool closed() const { return closed_; }
  // Whether the server has closed the connection, within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout) {
    read(timeout);
    return closed_;
  }

 private:
  static std::string lower(std::string text) {
    for (char& c : text)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string buffer_;
};

// The status code of a raw response ("HTTP/1.1 404 Not Found..." -> 404), 0 if none.
inline int status_of(std::string_view response) {
  if (response.size() < 12 || !response.starts_with("HTTP/1.")) return 0;
  return std::stoi(std::string(response.substr(9, 3)));
}

}  // namespace cairn::net::testing
