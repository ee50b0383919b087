#include "net/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/log.hpp"
#include "net/request_parser.hpp"

namespace cairn::net {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long a connection being closed after an error reply keeps draining what the client
// still sends, so that closing does not reset the connection before the reply is read.
constexpr milliseconds kLinger{1'000};
constexpr std::size_t kMaxLingerDrain = 1 << 20;
// Connections over the cap get a 503 while they number at most this many more; beyond
// that they are closed at once.
constexpr std::size_t kRejectSlack = 64;
constexpr std::size_t kReadChunk = 64 * 1024;

std::string errno_text(int error) {
  return std::strerror(error);
}

std::string http_date() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  const std::size_t n = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buffer, n);
}

// Header values come from handlers, which may copy request data into them; a CR or LF
// would let that data add headers of its own (response splitting).
std::string header_safe(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  return out;
}

bool has_body_status(int status) {
  return !(status < 200 || status == 204 || status == 304);
}

// The status line and headers of `response`. `framing` is the Content-Length or
// Transfer-Encoding line (or nothing), chosen by the caller.
std::string serialize_head(const Response& response, std::string_view framing, bool keep_alive) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nDate: {}\r\n", response.status,
                                reason_phrase(response.status), http_date());
  if (!response.content_type.empty()) {
    out += fmt::format("Content-Type: {}\r\n", header_safe(response.content_type));
  }
  for (const auto& [name, value] : response.headers.fields()) {
    // The server frames the message itself.
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
        iequals(name, "Connection") || iequals(name, "Date") ||
        (iequals(name, "Content-Type") && !response.content_type.empty())) {
      continue;
    }
    out += fmt::format("{}: {}\r\n", header_safe(name), header_safe(value));
  }
  out += framing;
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  return out;
}

std::string peer_name(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    return fmt::format("[{}]:{}", host, ntohs(a.sin6_port));
  }
  const auto& a = reinterpret_cast<const sockaddr_in&>(address);
  inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
  return fmt::format("{}:{}", host, ntohs(a.sin_port));
}

struct Connection {
  enum class Phase {
    idle,     // kept alive between requests
    head,     // receiving a request head
    body,     // receiving a request body
    worker,   // a worker owns it (not in epoll)
    closing,  // sending an error reply, then draining until closed
  };

  explicit Connection(int descriptor, std::string address)
      : fd(descriptor), peer(std::move(address)) {}
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd;
  std::string peer;
  Phase phase = Phase::idle;
  Clock::time_point deadline;
  std::string in;   // received and not yet consumed
  std::string out;  // reactor-written reply not yet sent
  std::size_t drained = 0;
  std::size_t requests = 0;
  RequestHead head;
  const Router::Route* route = nullptr;
  std::vector<std::string> params;
};

struct Job {
  std::shared_ptr<Connection> connection;
  const Router::Route* route = nullptr;
  Request request;
  bool head_only = false;
  bool keep_alive = true;
  int minor_version = 1;
};

struct Returned {
  std::shared_ptr<Connection> connection;
  bool keep_alive = false;
};

// Writes a response on a non-blocking socket from a worker, bounded in time: each send
// must progress within send_timeout, the whole within response_timeout + sent/min_rate.
class Sender {
 public:
  Sender(int fd, const ServerOptions& options) : fd_(fd), options_(options), start_(Clock::now()) {}

  Status write(std::string_view data) {
    if (buffer_.size() + data.size() <= kFlushAt) {
      buffer_.append(data);
      return {};
    }
    CAIRN_TRY(flush());
    if (data.size() <= kFlushAt) {
      buffer_.append(data);
      return {};
    }
    return send_all(data);
  }

  Status flush() {
    if (buffer_.empty()) return {};
    const std::string pending = std::move(buffer_);
    buffer_.clear();
    return send_all(pending);
  }

 private:
  static constexpr std::size_t kFlushAt = 64 * 1024;

  Status send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        sent_ += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        const auto allowance =
            options_.response_timeout +
            milliseconds(options_.min_send_rate == 0
                             ? 0
                             : static_cast<std::int64_t>(sent_ * 1000 / options_.min_send_rate));
        const auto now = Clock::now();
        if (now >= start_ + allowance) {
          return fail(Errc::unavailable,
                      fmt::format("response deadline passed after {} bytes", sent_));
        }
        const auto left = std::chrono::duration_cast<milliseconds>(start_ + allowance - now);
        const auto wait = std::min(left, options_.send_timeout);
        pollfd p{fd_, POLLOUT, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(1, wait.count())));
        if (ready == 0 && wait == options_.send_timeout) {
          return fail(Errc::unavailable,
                      fmt::format("the client read nothing for {} ms", wait.count()));
        }
        if (ready < 0 && errno != EINTR) {
          return fail(Errc::unavailable, "poll: " + errno_text(errno));
        }
        continue;
      }
      return fail(Errc::unavailable,
                  "the client went away (" + errno_text(n < 0 ? errno : EPIPE) + ")");
    }
    return {};
  }

  int fd_;
  const ServerOptions& options_;
  Clock::time_point start_;
  std::size_t sent_ = 0;
  std::string buffer_;
};

}  // namespace

class Server::Impl {
 public:
  Impl(Router r, ServerOptions o) : router(std::move(r)), options(std::move(o)) {}
  ~Impl() { stop(); }

  Status open();
  void run_reactor();
  void run_worker();
  void stop();

  Router router;
  ServerOptions options;
  std::uint16_t port = 0;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  int reserve_fd = -1;  // spare descriptor, given up to refuse a connection at EMFILE
  std::thread reactor;
  std::vector<std::thread> workers;
  std::atomic<bool> stopping{false};
  std::mutex stop_mutex;
  bool stopped = false;

  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::deque<Job> queue;

  std::mutex returned_mutex;
  std::vector<Returned> returned;

  std::atomic<std::uint64_t> accepted{0}, handled{0}, rejected_busy{0}, timed_out{0};
  std::atomic<std::size_t> open_connections{0};

 private:
  // Reactor-only state.
  std::unordered_map<int, std::shared_ptr<Connection>> connections_;
  HeadLimits limits_;

  void accept_all();
  void admit(int fd, const sockaddr_storage& address);
  void on_event(const std::shared_ptr<Connection>& c, std::uint32_t events);
  void on_readable(const std::shared_ptr<Connection>& c);
  void process(const std::shared_ptr<Connection>& c);
  void dispatch(const std::shared_ptr<Connection>& c);
  void reply_and_close(const std::shared_ptr<Connection>& c, const Response& response);
  void flush_out(const std::shared_ptr<Connection>& c);
  void take_back();
  Clock::time_point expire();
  void close_connection(int fd);
  void watch(int fd, std::uint32_t events, bool add);
  void write_response(Job& job, Response& response, bool& keep_alive);
};

Status Server::Impl::open() {
  limits_.max_header_bytes = options.max_header_bytes;
  limits_.max_headers = options.max_headers;

  // Every connection is a descriptor; make room for the cap (and the over-cap replies).
  rlimit files{};
  const rlim_t wanted = options.max_connections + kRejectSlack + 64;
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < wanted) {
    files.rlim_cur = std::min(wanted, files.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &files);
    if (files.rlim_cur < wanted) {
      log::warn("{}: the descriptor limit {} is below what {} connections need", options.name,
                files.rlim_cur, options.max_connections);
    }
  }

  std::string host = options.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string where = host.find(':') != std::string::npos
                                ? fmt::format("[{}]:{}", host, options.port)
                                : fmt::format("{}:{}", host, options.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(options.port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return fail(Errc::invalid_argument,
                fmt::format("cannot listen on {}: {}", where, ::gai_strerror(rc)));
  }
  int last_error = 0;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    // SO_REUSEADDR only lets a restarted server bind past TIME_WAIT; it never lets two
    // listeners share a port. SO_REUSEPORT (which does) is deliberately not set.
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      listen_fd = fd;
      break;
    }
    last_error = errno;
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (listen_fd < 0) {
    if (last_error == EADDRINUSE) {
      return fail(Errc::conflict, fmt::format("{} is already in use", where));
    }
    return fail(last_error == EACCES ? Errc::io : Errc::invalid_argument,
                fmt::format("cannot listen on {}: {}", where, errno_text(last_error)));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&bound), &length);
  port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6&>(bound).sin6_port)
                                     : ntohs(reinterpret_cast<const sockaddr_in&>(bound).sin_port);

  epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (epoll_fd < 0 || wake_fd < 0) {
    return fail(Errc::io, "cannot create the server's event loop: " + errno_text(errno));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listen_fd;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &event);
  event.data.fd = wake_fd;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &event);

  reactor = std::thread([this] { run_reactor(); });
  const std::size_t count = std::max<std::size_t>(1, options.workers);
  for (std::size_t i = 0; i < count; ++i)
    workers.emplace_back([this] { run_worker(); });
  log::debug("{}: listening on http://{}", options.name,
             host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                                 : fmt::format("{}:{}", host, port));
  return {};
}

void Server::Impl::watch(int fd, std::uint32_t events, bool add) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  ::epoll_ctl(epoll_fd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event);
}

void Server::Impl::close_connection(int fd) {
  const auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  if (it->second->phase != Connection::Phase::worker) {
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
  }
  connections_.erase(it);  // the Connection closes its descriptor
  open_connections.store(connections_.size());
}

void Server::Impl::run_reactor() {
  std::vector<epoll_event> events(256);
  Clock::time_point next = Clock::now() + milliseconds(1000);
  while (!stopping.load()) {
    const auto wait = std::chrono::duration_cast<milliseconds>(next - Clock::now()).count();
    const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()),
                               static_cast<int>(std::clamp<std::int64_t>(wait + 1, 1, 1000)));
    if (n < 0 && errno != EINTR) {
      log::error("{}: epoll_wait: {}", options.name, errno_text(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listen_fd) {
        accept_all();
      } else if (fd == wake_fd) {
        std::uint64_t value = 0;
        [[maybe_unused]] const auto r = ::read(wake_fd, &value, sizeof value);
        take_back();
      } else if (const auto it = connections_.find(fd); it != connections_.end()) {
        const auto connection = it->second;  // the handler may erase it
        on_event(connection, events[i].events);
      }
    }
    next = expire();
  }
  // Wake every worker blocked on a send and make every later send fail at once; the
  // descriptors are closed once the workers have let go of them (Server::Impl::stop).
  for (auto& [fd, connection] : connections_)
    ::shutdown(fd, SHUT_RDWR);
}

void Server::Impl::accept_all() {
  for (int round = 0; round < 256; ++round) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&address), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      admit(fd, address);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if ((errno == EMFILE || errno == ENFILE) && reserve_fd >= 0) {
      // Out of descriptors: the pending connection would wake epoll forever. Give up the
      // spare descriptor to accept and close it, then take the spare back.
      log::warn("{}: out of file descriptors; refusing a connection", options.name);
      ::close(reserve_fd);
      const int refused = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (refused >= 0) ::close(refused);
      reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    return;  // EAGAIN or an error that the next readiness will retry
  }
}

void Server::Impl::admit(int fd, const sockaddr_storage& address) {
  accepted.fetch_add(1);
  if (connections_.size() >= options.max_connections + kRejectSlack) {
    rejected_busy.fetch_add(1);
    ::close(fd);
    return;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto connection = std::make_shared<Connection>(fd, peer_name(address));
  // A fresh connection must start its request as promptly as a started one must finish
  // its head; only a connection that has already been served waits the longer idle time.
  connection->deadline = Clock::now() + std::min(options.idle_timeout, options.header_timeout);
  connections_.emplace(fd, connection);
  open_connections.store(connections_.size());
  watch(fd, EPOLLIN | EPOLLRDHUP, true);
  if (connections_.size() > options.max_connections) {
    rejected_busy.fetch_add(1);
    log::warn("{}: {} connections open; refusing {}", options.name, options.max_connections,
              connection->peer);
    reply_and_close(connection, error_response(503, fmt::format("the server has {} connections "
                                                                "open; try again later",
                                                                options.max_connections)));
  }
}

void Server::Impl::on_event(const std::shared_ptr<Connection>& c, std::uint32_t events) {
  if (c->phase == Connection::Phase::closing) {
    if ((events & EPOLLOUT) != 0) flush_out(c);
    if (!connections_.contains(c->fd)) return;
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
      // Drain and discard what the client still sends, until it closes.
      char buffer[16 * 1024];
      for (;;) {
        const ssize_t n = ::recv(c->fd, buffer, sizeof buffer, 0);
        if (n > 0) {
          c->drained += static_cast<std::size_t>(n);
          if (c->drained > kMaxLingerDrain) return close_connection(c->fd);
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          if ((events & (EPOLLHUP | EPOLLERR)) != 0) close_connection(c->fd);
          return;
        }
        if (c->out.empty()) return close_connection(c->fd);
        // The peer half-closed; finish sending the reply, no longer watching for input.
        watch(c->fd, EPOLLOUT, false);
        return;
      }
    }
    return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) on_readable(c);
}

void Server::Impl::on_readable(const std::shared_ptr<Connection>& c) {
  char buffer[kReadChunk];
  // Bounded rounds, so that one fast sender cannot starve the other connections.
  for (int round = 0; round < 16; ++round) {
    const ssize_t n = ::recv(c->fd, buffer, sizeof buffer, 0);
    if (n == 0) return close_connection(c->fd);  // the client closed (mid-request: nothing to say)
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return close_connection(c->fd);
    }
    c->in.append(buffer, static_cast<std::size_t>(n));
    process(c);
    if (!connections_.contains(c->fd) || c->phase == Connection::Phase::worker ||
        c->phase == Connection::Phase::closing) {
      return;
    }
  }
}

void Server::Impl::process(const std::shared_ptr<Connection>& c) {
  using Phase = Connection::Phase;
  if (c->phase == Phase::idle) {
    if (c->in.empty()) return;
    // The whole-request deadline starts with the first byte of the request.
    c->phase = Phase::head;
    c->deadline = Clock::now() + options.header_timeout;
  }
  if (c->phase == Phase::head) {
    auto parsed = parse_request_head(as_bytes(c->in), limits_);
    if (!parsed) {
      log::debug("{}: {} sent a bad request: {}", options.name, c->peer, parsed.error().message);
      return reply_and_close(c, error_response(parsed.error().status, parsed.error().message));
    }
    if (!parsed->has_value()) return;  // wait for more
    c->head = std::move(**parsed);
    auto match = router.match(c->head.method, c->head.path);
    if (match.route == nullptr) {
      Response response =
          match.status == 405
              ? error_response(405, fmt::format("{} is not allowed on {} (allowed: {})",
                                                c->head.method, c->head.path, match.allow))
              : error_response(404, fmt::format("no such endpoint: {}", c->head.path));
      if (match.status == 405) response.headers.set("Allow", match.allow);
      return reply_and_close(c, response);
    }
    c->route = match.route;
    c->params = std::move(match.params);
    const RouteOptions& route = c->route->options;
    if (!route.bearer_token.empty()) {
      Request probe;
      probe.headers = c->head.headers;
      if (!bearer_matches(probe, route.bearer_token)) {
        return reply_and_close(c, unauthorized(route.realm, "missing or wrong bearer token"));
      }
    }
    if (c->head.content_length > route.max_body) {
      // Refused on the announced length: the body is never read, let alone buffered.
      return reply_and_close(
          c, error_response(
                 413, route.max_body == 0
                          ? fmt::format("{} {} takes no request body", c->head.method, c->head.path)
                          : fmt::format("request body of {} bytes exceeds the limit "
                                        "of {} bytes for {}",
                                        c->head.content_length, route.max_body, c->head.path)));
    }
    if (c->head.content_length == 0) return dispatch(c);
    c->phase = Phase::body;
    const auto allowance =
        options.body_timeout +
        milliseconds(
            options.min_body_rate == 0
                ? 0
                : static_cast<std::int64_t>(c->head.content_length * 1000 / options.min_body_rate));
    c->deadline = Clock::now() + allowance;
    if (c->head.expect_continue && c->in.size() == c->head.head_size) {
      constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      // Best effort: a fresh connection's send buffer always has room for it.
      [[maybe_unused]] const auto sent =
          ::send(c->fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  }
  if (c->phase == Phase::body) {
    if (c->in.size() - c->head.head_size < c->head.content_length) return;
    dispatch(c);
  }
}

void Server::Impl::dispatch(const std::shared_ptr<Connection>& c) {
  Job job;
  job.connection = c;
  job.route = c->route;
  job.head_only = c->head.method == "HEAD";
  job.minor_version = c->head.minor_version;
  Request& request = job.request;
  auto query = parse_query(c->head.query);
  if (!query) {
    return reply_and_close(c, error_response(400, "query string: " + query.error().message));
  }
  request.query = std::move(*query);
  request.method = std::move(c->head.method);
  request.target = std::move(c->head.target);
  request.path = std::move(c->head.path);
  request.headers = std::move(c->head.headers);
  const auto body_length = static_cast<std::size_t>(c->head.content_length);
  request.body = c->in.substr(c->head.head_size, body_length);
  c->in.erase(0, c->head.head_size + body_length);
  request.params = std::move(c->params);
  request.peer = c->peer;
  ++c->requests;
  job.keep_alive = c->head.keep_alive && c->requests < options.max_requests_per_connection;

  bool queued = false;
  {
    std::lock_guard guard(queue_mutex);
    if (queue.size() < options.max_queued) {
      ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, nullptr);
      c->phase = Connection::Phase::worker;
      queue.push_back(std::move(job));
      queued = true;
    }
  }
  if (queued) {
    queue_cv.notify_one();
    return;
  }
  rejected_busy.fetch_add(1);
  log::warn("{}: {} requests queued; refusing {} {}", options.name, options.max_queued,
            job.request.method, job.request.path);
  reply_and_close(c,
                  error_response(503, "the server is busy (request queue full); try again later"));
}

void Server::Impl::reply_and_close(const std::shared_ptr<Connection>& c, const Response& response) {
  std::string framing = fmt::format("Content-Length: {}\r\n", response.body.size());
  c->out = serialize_head(response, framing, false) + response.body;
  c->phase = Connection::Phase::closing;
  c->deadline = Clock::now() + kLinger;
  c->in.clear();
  flush_out(c);
}

void Server::Impl::flush_out(const std::shared_ptr<Connection>& c) {
  while (!c->out.empty()) {
    const ssize_t n = ::send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c->out.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      watch(c->fd, EPOLLIN | EPOLLRDHUP | EPOLLOUT, false);
      return;
    }
    return close_connection(c->fd);
  }
  // All sent: tell the client we are done, and drain until it closes or the linger ends.
  ::shutdown(c->fd, SHUT_WR);
  watch(c->fd, EPOLLIN | EPOLLRDHUP, false);
}

void Server::Impl::take_back() {
  std::vector<Returned> batch;
  {
    std::lock_guard guard(returned_mutex);
    batch.swap(returned);
  }
  for (auto& item : batch) {
    const auto& c = item.connection;
    if (!item.keep_alive) {
      close_connection(c->fd);
      continue;
    }
    c->phase = Connection::Phase::idle;
    c->deadline = Clock::now() + options.idle_timeout;
    watch(c->fd, EPOLLIN | EPOLLRDHUP, true);
    process(c);  // a pipelined request may already be buffered
  }
}

Clock::time_point Server::Impl::expire() {
  const auto now = Clock::now();
  auto next = now + milliseconds(1000);
  std::vector<std::shared_ptr<Connection>> due;
  for (const auto& [fd, c] : connections_) {
    if (c->phase == Connection::Phase::worker) continue;
    if (c->deadline <= now) {
      due.push_back(c);
    } else {
      next = std::min(next, c->deadline);
    }
  }
  for (const auto& c : due) {
    switch (c->phase) {
      case Connection::Phase::idle:
        close_connection(c->fd);
        break;
      case Connection::Phase::head:
      case Connection::Phase::body: {
        timed_out.fetch_add(1);
        const bool head = c->phase == Connection::Phase::head;
        log::debug("{}: {} too slow sending a request {}; closing", options.name, c->peer,
                   head ? "head" : "body");
        reply_and_close(
            c, error_response(408, head ? fmt::format("request head not received within {} ms",
                                                      options.header_timeout.count())
                                        : "request body not received in time"));
        if (connections_.contains(c->fd)) next = std::min(next, c->deadline);
        break;
      }
      case Connection::Phase::closing:
        close_connection(c->fd);
        break;
      case Connection::Phase::worker:
        break;
    }
  }
  return next;
}

void Server::Impl::run_worker() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(queue_mutex);
      queue_cv.wait(lock, [this] { return stopping.load() || !queue.empty(); });
      if (stopping.load()) return;
      job = std::move(queue.front());
      queue.pop_front();
    }
    handled.fetch_add(1);
    Response response;
    try {
      auto result = job.route->handler(job.request);
      response = result ? std::move(*result) : error_response(result.error());
    } catch (const std::exception& e) {
      log::error("{}: handler for {} {} threw: {}", options.name, job.request.method,
                 job.request.path, e.what());
      response = error_response(500, "internal error (the handler failed; see the server log)");
    } catch (...) {
      log::error("{}: handler for {} {} threw a non-exception", options.name, job.request.method,
                 job.request.path);
      response = error_response(500, "internal error (the handler failed; see the server log)");
    }
    bool keep_alive = job.keep_alive && !stopping.load();
    write_response(job, response, keep_alive);
    {
      std::lock_guard guard(returned_mutex);
      returned.push_back(Returned{std::move(job.connection), keep_alive});
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto w = ::write(wake_fd, &one, sizeof one);
  }
}

void Server::Impl::write_response(Job& job, Response& response, bool& keep_alive) {
  if (const auto connection = response.headers.get("Connection");
      connection && iequals(*connection, "close")) {
    keep_alive = false;
  }
  Sender sender(job.connection->fd, options);
  const bool with_body = has_body_status(response.status);
  Status sent;
  if (!response.producer) {
    // 1xx, 204 and 304 carry no body and no length.
    const std::string head = serialize_head(
        response,
        with_body ? fmt::format("Content-Length: {}\r\n", response.body.size()) : std::string(),
        keep_alive);
    sent = sender.write(head);
    if (sent && with_body && !job.head_only) sent = sender.write(response.body);
    if (sent) sent = sender.flush();
  } else {
    // HTTP/1.0 has no chunked coding: the body runs until the connection closes.
    const bool chunked = job.minor_version >= 1;
    if (!chunked) keep_alive = false;
    sent = sender.write(serialize_head(
        response, with_body && chunked ? "Transfer-Encoding: chunked\r\n" : "", keep_alive));
    if (sent && with_body && !job.head_only) {
      const ByteSink write = [&](ByteView bytes) -> Status {
        if (bytes.empty()) return {};  // an empty chunk would end the body
        if (chunked) CAIRN_TRY(sender.write(fmt::format("{:x}\r\n", bytes.size())));
        CAIRN_TRY(sender.write(as_chars(bytes)));
        if (chunked) CAIRN_TRY(sender.write("\r\n"));
        return {};
      };
      Status produced;
      try {
        produced = response.producer(write);
      } catch (const std::exception& e) {
        produced = fail(Errc::internal, std::string("the producer threw: ") + e.what());
      }
      if (!produced) {
        // The status line is gone already; ending without the last chunk tells the client
        // the body is incomplete.
        log::warn("{}: response to {} {} ended early: {}", options.name, job.request.method,
                  job.request.path, produced.error().message);
        sent = sender.flush();
        keep_alive = false;
        return;
      }
      if (chunked) sent = sender.write("0\r\n\r\n");
    }
    if (sent) sent = sender.flush();
  }
  if (!sent) {
    log::debug("{}: response to {} {} for {} not delivered: {}", options.name, job.request.method,
               job.request.path, job.connection->peer, sent.error().message);
    keep_alive = false;
  }
}

void Server::Impl::stop() {
  {
    std::lock_guard guard(stop_mutex);
    if (stopped) return;
    stopped = true;
  }
  stopping.store(true);
  if (wake_fd >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto w = ::write(wake_fd, &one, sizeof one);
  }
  queue_cv.notify_all();
  if (reactor.joinable()) reactor.join();
  for (auto& worker : workers) {
    if (worker.joinable()) worker.join();
  }
  {
    std::lock_guard guard(queue_mutex);
    queue.clear();
  }
  returned.clear();
  connections_.clear();
  open_connections.store(0);
  for (int* fd : {&epoll_fd, &wake_fd, &reserve_fd, &listen_fd}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop();
}

Result<std::unique_ptr<Server>> Server::start(Router router, ServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(router), std::move(options));
  CAIRN_TRY(impl->open());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint16_t Server::port() const {
  return impl_->port;
}

std::string Server::url() const {
  const std::string& host = impl_->options.host;
  if (host.find(':') != std::string::npos && !host.starts_with('[')) {
    return fmt::format("http://[{}]:{}", host, impl_->port);
  }
  return fmt::format("http://{}:{}", host, impl_->port);
}

void Server::stop() {
  if (impl_) impl_->stop();
}

Server::Stats Server::stats() const {
  Stats stats;
  stats.connections_accepted = impl_->accepted.load();
  stats.requests_handled = impl_->handled.load();
  stats.rejected_busy = impl_->rejected_busy.load();
  stats.timed_out = impl_->timed_out.load();
  stats.open_connections = impl_->open_connections.load();
  return stats;
}

}  // namespace cairn::net
