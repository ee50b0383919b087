#pragma once
// cairn's HTTP/1.1 server: one reactor thread (epoll) owns every connection while it is
// idle or sending a request, and hands only complete requests to a bounded worker pool.
// A slow or malicious client therefore costs a file descriptor and a small buffer, never a
// worker; every phase of a connection has a deadline. See docs/net.md for the limits.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "net/router.hpp"

namespace cairn::net {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;     // 0: an ephemeral port, reported by Server::port()
  std::string name = "http";  // names the server in log lines ("gateway", "api")

  std::size_t workers = 8;             // threads running handlers
  std::size_t max_queued = 256;        // complete requests waiting for a worker; beyond: 503
  std::size_t max_connections = 1024;  // open connections; beyond: 503 and close

  std::size_t max_header_bytes = 16 * 1024;  // request line + headers; beyond: 431
  std::size_t max_headers = 100;             // header fields; beyond: 431
  // From the first byte of a request to the end of its head; beyond: 408 and close.
  std::chrono::milliseconds header_timeout{10'000};
  // The body must arrive within body_timeout + Content-Length / min_body_rate.
  std::chrono::milliseconds body_timeout{10'000};
  std::size_t min_body_rate = 64 * 1024;  // bytes per second
  // A kept-alive connection with no new request for this long is closed.
  std::chrono::milliseconds idle_timeout{30'000};
  std::size_t max_requests_per_connection = 1000;

  // Writing a response: each send must make progress within send_timeout, and the whole
  // response must be done within response_timeout + bytes sent / min_send_rate, so a slow
  // reader of a large response releases its worker.
  std::chrono::milliseconds send_timeout{15'000};
  std::chrono::milliseconds response_timeout{60'000};
  std::size_t min_send_rate = 64 * 1024;  // bytes per second
};

class Server {
 public:
  // Binds host:port exclusively (SO_REUSEADDR, never SO_REUSEPORT: a second server on a
  // port in use fails with Errc::conflict) and starts serving.
  [[nodiscard]] static Result<std::unique_ptr<Server>> start(Router router,
                                                             ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:8080"
  std::string url() const;
  // Closes the listener and every connection and joins all threads. Idempotent. Handlers
  // running at that moment finish, but their responses go nowhere. Never call it from a
  // handler (it joins the worker running that handler); signal another thread instead.
  void stop();

  struct Stats {
    std::uint64_t connections_accepted = 0;
    std::uint64_t requests_handled = 0;  // handed to a handler
    std::uint64_t rejected_busy = 0;     // 503: connection cap or queue full
    std::uint64_t timed_out = 0;         // closed by a header, body or idle deadline
    std::size_t open_connections = 0;
  };
  Stats stats() const;

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::net
