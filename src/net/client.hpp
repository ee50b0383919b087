#pragma once
// cairn's HTTP client, over cpp-httplib (which brings TLS). Every request has a byte cap,
// timeouts and an overall deadline; idempotent requests are retried with backoff; redirects
// are never followed; errors name the (redacted) URL and the cause in words.
//
// Not in the fuzz build (cpp-httplib is built against libstdc++; see src/net/CMakeLists.txt).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "net/http.hpp"
#include "net/url.hpp"

namespace cairn::net {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds read_timeout{30'000};   // between bytes of the answer
  std::chrono::milliseconds write_timeout{30'000};  // between bytes of the request
  // All attempts of one request, backoff pauses included. 0: no overall deadline.
  std::chrono::milliseconds deadline{120'000};
  // Extra attempts for idempotent requests after a connection failure, a timeout, 429 or
  // 5xx. Pauses grow from backoff (x2 each time, up to max_backoff) with random jitter;
  // a 429/503 with a Retry-After of at most max_retry_after is honoured instead.
  int retries = 2;
  std::chrono::milliseconds backoff{200};
  std::chrono::milliseconds max_backoff{5'000};
  std::chrono::milliseconds max_retry_after{10'000};
  // Default cap on an answer's body; each request may set its own.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  std::string bearer_token;  // sent as "Authorization: Bearer ..." when not empty
  std::string user_agent = "cairn";
  bool keep_alive = true;
  // TLS: verify the server's certificate (on by default); a CA file instead of the system's.
  bool verify_tls = true;
  std::string ca_file;
};

struct ClientRequest {
  std::string method = "GET";
  std::string path = "/";  // appended to the client URL's path (Url::join)
  Headers headers;
  std::string body;
  std::string content_type;  // for a body
  // A POST that is safe to repeat (a JSON-RPC read, a content-addressed upload).
  bool idempotent = false;
  std::optional<std::size_t> max_response_bytes;          // default: ClientOptions
  std::optional<std::chrono::milliseconds> read_timeout;  // default: ClientOptions
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;  // empty for a streamed request
  std::string content_type() const;
};

class Client {
 public:
  Client(Url url, ClientOptions options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // The exchange: a 2xx answer is returned; anything else is an error whose message names
  // the redacted URL and what happened (not_found for 404, rejected for other 4xx and 3xx,
  // unavailable for 5xx and connection trouble, parse for an answer that breaks HTTP).
  [[nodiscard]] Result<ClientResponse> send(const ClientRequest& request);
  // As send(), but the body is handed to `sink` as it arrives (under the same cap); the
  // returned response's body is empty. A failing sink aborts with its error. A request is
  // retried only until the first byte reached the sink.
  [[nodiscard]] Result<ClientResponse> stream(const ClientRequest& request,
                                              const std::function<Status(ByteView)>& sink);

  [[nodiscard]] Result<ClientResponse> get(std::string path);
  [[nodiscard]] Result<ClientResponse> post(std::string path, std::string body,
                                            std::string content_type, bool idempotent = false);

  const Url& url() const { return url_; }

 private:
  Result<ClientResponse> perform(const ClientRequest& request,
                                 const std::function<Status(ByteView)>* sink);
  Url url_;
  ClientOptions options_;
  struct Connection;
  std::unique_ptr<Connection> connection_;
};

}  // namespace cairn::net
