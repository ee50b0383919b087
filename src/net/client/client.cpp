// The client over cpp-httplib. In its own folder so that the fuzz build (clang + libc++,
// which cannot link Debian's libstdc++-built cpp-httplib) can leave it out.
#include "net/client.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "base/json.hpp"

namespace cairn::net {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Bytes of a non-2xx answer kept to look for cairn's error message; the rest is counted.
constexpr std::size_t kErrorBodyKept = 64 * 1024;

std::string seconds_text(milliseconds duration) {
  if (duration.count() % 1000 == 0) return fmt::format("{} s", duration.count() / 1000);
  return fmt::format("{:.1f} s", static_cast<double>(duration.count()) / 1000.0);
}

void split_timeout(milliseconds duration, time_t& sec, time_t& usec) {
  const auto ms = std::max<std::int64_t>(1, duration.count());
  sec = static_cast<time_t>(ms / 1000);
  usec = static_cast<time_t>((ms % 1000) * 1000);
}

bool is_idempotent(const ClientRequest& request) {
  return request.idempotent || request.method == "GET" || request.method == "HEAD" ||
         request.method == "OPTIONS";
}

milliseconds jittered(milliseconds pause) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  // Up to half again, so that clients refused together do not return together.
  std::uniform_int_distribution<std::int64_t> extra(0,
                                                    std::max<std::int64_t>(0, pause.count() / 2));
  return pause + milliseconds(extra(random));
}

// The message of cairn's error body {"error":{"message":...}} (or the older {"error":"..."}),
// if that is what `body` is.
std::optional<std::string> cairn_error_message(const std::string& content_type,
                                               const std::string& body) {
  if (content_type.find("json") == std::string::npos) return std::nullopt;
  const auto parsed = parse_json(body, "an error body");
  if (!parsed || !parsed->is_object() || !parsed->contains("error")) return std::nullopt;
  const auto& error = (*parsed)["error"];
  if (error.is_string()) return error.get<std::string>();
  if (error.is_object() && error.contains("message") && error["message"].is_string()) {
    return error["message"].get<std::string>();
  }
  return std::nullopt;
}

std::optional<milliseconds> retry_after(const Headers& headers) {
  const auto value = headers.get("Retry-After");
  if (!value || value->empty() || value->size() > 6 ||
      !std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;  // an HTTP date is not worth honouring: fall back to backoff
  }
  return milliseconds(std::stoll(std::string(*value)) * 1000);
}

// Why a connection to host:port cannot be made, in words. cpp-httplib reports only
// "Connection" (its non-blocking connect leaves errno at EINPROGRESS), so after a failure
// one probe connection finds the cause. It costs a round trip, and only on failure.
std::string connect_failure_cause(const Url& url, milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(url.port);
  if (const int rc = ::getaddrinfo(url.host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return fmt::format("cannot resolve {}: {}", url.host, ::gai_strerror(rc));
  }
  int cause = 0;
  for (addrinfo* ai = found; ai != nullptr && cause != ECONNREFUSED; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      cause = 0;
    } else if (errno != EINPROGRESS) {
      cause = errno;
    } else {
      pollfd p{fd, POLLOUT, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(1, timeout.count())));
      int error = 0;
      socklen_t length = sizeof error;
      if (ready == 0) {
        cause = ETIMEDOUT;
      } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0) {
        cause = error;
      }
    }
    ::close(fd);
    if (cause == 0) break;
  }
  ::freeaddrinfo(found);
  switch (cause) {
    case 0:
      return "the connection failed, then a retry connected";
    case ECONNREFUSED:
      return "connection refused";
    case ETIMEDOUT:
      return fmt::format("timed out after {}", seconds_text(timeout));
    case EHOSTUNREACH:
      return "host unreachable";
    case ENETUNREACH:
      return "network unreachable";
    default:
      return std::strerror(cause);
  }
}

struct Attempt {
  Result<ClientResponse> result = fail(Errc::internal, "no attempt made");
  bool retryable = false;
  std::optional<milliseconds> retry_after;
  bool delivered = false;  // bytes reached a streaming sink: the request cannot be repeated
};

}  // namespace

std::string ClientResponse::content_type() const {
  return std::string(headers.get("Content-Type").value_or(""));
}

struct Client::Connection {
  std::mutex mutex;  // cpp-httplib's Client is not safe for concurrent requests
  std::unique_ptr<httplib::Client> client;
};

Client::Client(Url url, ClientOptions options)
    : url_(std::move(url)),
      options_(std::move(options)),
      connection_(std::make_unique<Connection>()) {}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

Result<ClientResponse> Client::send(const ClientRequest& request) {
  return perform(request, nullptr);
}

Result<ClientResponse> Client::stream(const ClientRequest& request,
                                      const std::function<Status(ByteView)>& sink) {
  return perform(request, &sink);
}

Result<ClientResponse> Client::get(std::string path) {
  ClientRequest request;
  request.path = std::move(path);
  return send(request);
}

Result<ClientResponse> Client::post(std::string path, std::string body, std::string content_type,
                                    bool idempotent) {
  ClientRequest request;
  request.method = "POST";
  request.path = std::move(path);
  request.body = std::move(body);
  request.content_type = std::move(content_type);
  request.idempotent = idempotent;
  return send(request);
}

Result<ClientResponse> Client::perform(const ClientRequest& request,
                                       const std::function<Status(ByteView)>* sink) {
  std::lock_guard guard(connection_->mutex);
  const auto started = Clock::now();
  const bool bounded = options_.deadline.count() > 0;
  const auto deadline = bounded ? started + options_.deadline : Clock::time_point::max();
  const int attempts = is_idempotent(request) ? 1 + std::max(0, options_.retries) : 1;
  const std::size_t cap = request.max_response_bytes.value_or(options_.max_response_bytes);
  const milliseconds read_timeout = request.read_timeout.value_or(options_.read_timeout);
  const std::string where = url_.redacted();
  // The request's own path (chosen by the caller, not configured) is named, its query not.
  const std::string request_path = request.path.substr(0, request.path.find('?'));
  const std::string method_where =
      fmt::format("{} {}{}{}", request.method, where, request_path,
                  request.path.find('?') == std::string::npos ? "" : "?…");
  milliseconds pause = options_.backoff;

  for (int attempt = 1;; ++attempt) {
    Attempt outcome;
    {
      if (!connection_->client) {
        connection_->client = std::make_unique<httplib::Client>(url_.origin());
        auto& c = *connection_->client;
        c.set_follow_location(false);  // a redirect is an answer, never followed
        c.set_keep_alive(options_.keep_alive);
        c.enable_server_certificate_verification(options_.verify_tls);
        if (!options_.ca_file.empty()) c.set_ca_cert_path(options_.ca_file);
        if (!url_.userinfo.empty()) {
          const auto colon = url_.userinfo.find(':');
          auto user = percent_decode(url_.userinfo.substr(0, colon), false);
          auto password = percent_decode(
              colon == std::string::npos ? "" : url_.userinfo.substr(colon + 1), false);
          c.set_basic_auth(user ? *user : url_.userinfo.substr(0, colon),
                           password ? *password : std::string());
        }
      }
      auto& c = *connection_->client;
      const auto now = Clock::now();
      const auto left =
          bounded ? std::chrono::duration_cast<milliseconds>(deadline - now) : milliseconds::max();
      time_t sec = 0, usec = 0;
      split_timeout(std::min(options_.connect_timeout, left), sec, usec);
      c.set_connection_timeout(sec, usec);
      split_timeout(std::min(read_timeout, left), sec, usec);
      c.set_read_timeout(sec, usec);
      split_timeout(std::min(options_.write_timeout, left), sec, usec);
      c.set_write_timeout(sec, usec);

      httplib::Request req;
      req.method = request.method;
      req.path = url_.join(request.path);
      for (const auto& [name, value] : request.headers.fields())
        req.headers.emplace(name, value);
      if (!request.headers.has("User-Agent"))
        req.headers.emplace("User-Agent", options_.user_agent);
      if (!options_.bearer_token.empty() && !request.headers.has("Authorization")) {
        req.headers.emplace("Authorization", "Bearer " + options_.bearer_token);
      }
      if (!request.content_type.empty()) req.headers.emplace("Content-Type", request.content_type);
      req.body = request.body;

      ClientResponse response;
      std::optional<Error> aborted;  // why we stopped reading, when we did
      std::size_t received = 0;
      bool success = false;
      req.response_handler = [&](const httplib::Response& r) {
        success = r.status >= 200 && r.status < 300;
        if (const auto length = r.get_header_value("Content-Length"); !length.empty() && success) {
          const auto announced = std::strtoull(length.c_str(), nullptr, 10);
          if (announced > cap) {
            aborted =
                Error{Errc::rejected, fmt::format("{} announced {} bytes, more than the cap of {}",
                                                  method_where, announced, cap)};
            return false;
          }
        }
        return true;
      };
      req.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
        received += size;
        if (received > cap) {
          aborted = Error{Errc::rejected,
                          fmt::format("{} sent more than the cap of {} bytes", method_where, cap)};
          return false;
        }
        if (bounded && Clock::now() > deadline) {
          aborted =
              Error{Errc::unavailable, fmt::format("{} did not finish within {}", method_where,
                                                   seconds_text(options_.deadline))};
          return false;
        }
        if (!success) {
          if (response.body.size() < kErrorBodyKept) {
            response.body.append(data, std::min(size, kErrorBodyKept - response.body.size()));
          }
          return true;
        }
        if (sink != nullptr) {
          outcome.delivered = true;
          if (Status written = (*sink)(ByteView(reinterpret_cast<const std::byte*>(data), size));
              !written) {
            aborted = std::move(written).error();
            return false;
          }
          return true;
        }
        response.body.append(data, size);
        return true;
      };

      httplib::Response res;
      httplib::Error error = httplib::Error::Success;
      const auto attempt_start = Clock::now();
      const bool ok = c.send(req, res, error);
      const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - attempt_start);

      if (aborted && success) {
        outcome.result = std::unexpected(*aborted);
      } else if (res.status <= 0 || (!ok && success)) {
        // No answer, or a successful one cut short: either way nothing usable arrived.
        outcome.retryable = error != httplib::Error::SSLServerVerification &&
                            error != httplib::Error::SSLLoadingCerts;
        std::string message;
        switch (error) {
          case httplib::Error::Connection:
            message = fmt::format("could not connect to {} ({})", where,
                                  connect_failure_cause(url_, std::min(options_.connect_timeout,
                                                                       milliseconds(2000))));
            break;
          case httplib::Error::ConnectionTimeout:
            message = fmt::format("could not connect to {} (timed out after {})", where,
                                  seconds_text(std::min(options_.connect_timeout, took)));
            break;
          case httplib::Error::Read:
            message = took + milliseconds(50) >= read_timeout
                          ? fmt::format("{} timed out after {} waiting for the answer",
                                        method_where, seconds_text(read_timeout))
                          : fmt::format("{}: the connection broke while reading the answer",
                                        method_where);
            break;
          case httplib::Error::Write:
            message =
                fmt::format("{}: the connection broke while sending the request", method_where);
            break;
          case httplib::Error::SSLConnection:
            message = fmt::format("{}: TLS handshake failed", method_where);
            break;
          case httplib::Error::SSLServerVerification:
            message = fmt::format("{}: the server's TLS certificate did not verify", method_where);
            break;
          case httplib::Error::SSLLoadingCerts:
            message = fmt::format("{}: cannot load the CA certificates", method_where);
            break;
          default:
            message = fmt::format("{}: {}", method_where, httplib::to_string(error));
            break;
        }
        outcome.result = fail(Errc::unavailable, message);
      } else {
        response.status = res.status;
        for (const auto& [name, value] : res.headers)
          response.headers.add(name, value);
        if (success) {
          outcome.result = std::move(response);
        } else if (res.status >= 300 && res.status < 400) {
          std::string target = std::string(response.headers.get("Location").value_or(""));
          if (auto absolute = Url::parse(target)) {
            target = absolute->redacted();
          } else if (const auto q = target.find('?'); q != std::string::npos) {
            target = target.substr(0, q) + "?…";
          }
          outcome.result =
              fail(Errc::rejected,
                   fmt::format("{} answered HTTP {} redirecting to {}; redirects are not followed",
                               method_where, res.status, target.empty() ? "nowhere" : target));
        } else {
          const std::string type = response.content_type();
          std::string detail;
          if (auto message = cairn_error_message(type, response.body)) {
            detail = ": " + *message;
          } else {
            // Never paste a foreign body (an HTML error page) into the message.
            const auto length = response.headers.get("Content-Length");
            detail = fmt::format(" ({}, {} bytes)", type.empty() ? "no content type" : type,
                                 length ? std::string(*length) : std::to_string(received));
          }
          outcome.result =
              fail(errc_for_status(res.status),
                   fmt::format("{} answered HTTP {}{}", method_where, res.status, detail));
          outcome.retryable = res.status == 429 || res.status >= 500;
          if (res.status == 429 || res.status == 503)
            outcome.retry_after = retry_after(response.headers);
        }
      }
      if (!outcome.result && outcome.retryable) {
        // A failed exchange may leave the connection in any state; start the next afresh.
        connection_->client.reset();
      }
    }

    if (outcome.result) return std::move(outcome.result);
    if (!outcome.retryable || attempt >= attempts || (sink != nullptr && outcome.delivered)) {
      if (attempt > 1) {
        return std::unexpected(
            Error{outcome.result.error().code,
                  fmt::format("{} (after {} attempts)", outcome.result.error().message, attempt)});
      }
      return std::move(outcome.result);
    }
    milliseconds wait = jittered(pause);
    if (outcome.retry_after && *outcome.retry_after <= options_.max_retry_after) {
      wait = *outcome.retry_after;
    }
    pause = std::min(pause * 2, options_.max_backoff);
    if (bounded && Clock::now() + wait >= deadline) {
      return std::unexpected(Error{
          outcome.result.error().code,
          fmt::format("{} (gave up after {} attempts: the deadline of {} would pass)",
                      outcome.result.error().message, attempt, seconds_text(options_.deadline))});
    }
    std::this_thread::sleep_for(wait);
  }
}

}  // namespace cairn::net
