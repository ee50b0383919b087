#include "net/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "net/raw_socket.hpp"

namespace cairn::net {
namespace {

using namespace std::chrono_literals;
using testing::RawSocket;
using testing::status_of;

std::unique_ptr<Server> start(Router router, ServerOptions options = {}) {
  auto server = Server::start(std::move(router), std::move(options));
  EXPECT_TRUE(server.has_value()) << (server ? "" : server.error().message);
  return server ? std::move(*server) : nullptr;
}

std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

std::string exchange(std::uint16_t port, std::string_view request,
                     std::chrono::milliseconds timeout = 5s) {
  RawSocket socket(port);
  EXPECT_TRUE(socket.connected());
  socket.send(request);
  return socket.read(timeout);
}

Router hello_router() {
  Router router;
  router.get("/hello",
             [](const Request&) -> Result<Response> { return Response::text("hello\n"); });
  return router;
}

TEST(NetServer, RoutesAnswers404And405AndHead) {
  Router router = hello_router();
  router.get(PathPattern::prefix("/ipfs/"), [](const Request& req) -> Result<Response> {
    return Response::text("rest=" + req.params.at(0) +
                          " format=" + req.query_param("format").value_or("-"));
  });
  router.post(PathPattern::regex(R"(/v1/roles/([a-z_]+)/(pause|resume))"),
              [](const Request& req) -> Result<Response> {
                return Response::text(req.params.at(0) + ":" + req.params.at(1));
              });
  auto server = start(std::move(router));
  ASSERT_TRUE(server);
  const auto port = server->port();

  auto response = exchange(port, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(body_of(response), "hello\n");
  EXPECT_NE(response.find("Content-Length: 6\r\n"), std::string::npos);

  response = exchange(port, "HEAD /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(response), 200);
  EXPECT_NE(response.find("Content-Length: 6\r\n"), std::string::npos);
  EXPECT_EQ(body_of(response), "");

  response = exchange(port, "GET /nowhere HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of(response), 404);
  const auto json = nlohmann::json::parse(body_of(response));
  EXPECT_EQ(json["error"]["code"], "not_found");
  EXPECT_NE(response.find("Content-Type: application/json"), std::string::npos);

  response = exchange(port, "DELETE /hello HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of(response), 405);
  EXPECT_NE(response.find("Allow: GET, HEAD\r\n"), std::string::npos);

  response =
      exchange(port, "GET /ipfs/bafy/a%20b?format=car HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(body_of(response), "rest=bafy/a b format=car");

  response =
      exchange(port, "POST /v1/roles/data_provider/pause HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(body_of(response), "data_provider:pause");
  response = exchange(port, "POST /v1/roles/X/pause HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of(response), 404);
}

TEST(NetServer, HandlerErrorsAndExceptionsBecomeStatuses) {
  Router router;
  router.get("/missing", [](const Request&) -> Result<Response> {
    return fail(Errc::not_found, "no such block");
  });
  router.get("/conflict", [](const Request&) -> Result<Response> {
    return fail(Errc::conflict, "nonce taken");
  });
  router.get("/throws",
             [](const Request&) -> Result<Response> { throw std::runtime_error("boom"); });
  auto server = start(std::move(router));
  ASSERT_TRUE(server);
  auto response = exchange(server->port(), "GET /missing HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(response), 404);
  EXPECT_EQ(nlohmann::json::parse(body_of(response))["error"]["message"], "no such block");
  response = exchange(server->port(), "GET /conflict HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(response), 409);
  response = exchange(server->port(), "GET /throws HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(response), 500);
  EXPECT_EQ(nlohmann::json::parse(body_of(response))["error"]["code"], "internal");
  // The worker survived the exception.
  response = exchange(server->port(), "GET /missing HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(response), 404);
}

TEST(NetServer, BodyWithinTheLimitReachesTheHandler) {
  Router router;
  router.post(
      "/echo", [](const Request& req) -> Result<Response> { return Response::text(req.body); },
      RouteOptions::body(1024));
  auto server = start(std::move(router));
  ASSERT_TRUE(server);
  const auto response = exchange(
      server->port(), "POST /echo HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(body_of(response), "hello");
  // A bare POST (no Content-Length, no body) is an empty body, not an error.
  const auto bare = exchange(server->port(), "POST /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(bare), 200);
}

TEST(NetServer, OversizedBodyIs413BeforeItIsRead) {
  std::atomic<int> calls{0};
  Router router;
  router.post(
      "/upload",
      [&](const Request&) -> Result<Response> {
        ++calls;
        return Response::text("stored");
      },
      RouteOptions::body(1 << 20));
  router.get("/hello", [](const Request&) -> Result<Response> { return Response::text("hi"); });
  auto server = start(std::move(router));
  ASSERT_TRUE(server);

  // 4 GiB announced, a few bytes sent: the answer comes at once, without waiting for (or
  // buffering) the rest.
  RawSocket socket(server->port());
  const auto started = std::chrono::steady_clock::now();
  socket.send("POST /upload HTTP/1.1\r\nContent-Length: 4294967296\r\n\r\nabcdef");
  const std::string response = socket.read(5s);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(status_of(response), 413);
  EXPECT_NE(body_of(response).find("4294967296"), std::string::npos);
  EXPECT_LT(took, 2s);
  EXPECT_TRUE(socket.closed());
  EXPECT_EQ(calls.load(), 0);

  // A GET route takes no body at all.
  EXPECT_EQ(
      status_of(exchange(server->port(), "GET /hello HTTP/1.1\r\nContent-Length: 1\r\n\r\nx")),
      413);
}

TEST(NetServer, ChunkedRequestBodyIs411) {
  Router router;
  router.post(
      "/upload", [](const Request&) -> Result<Response> { return Response::text("ok"); },
      RouteOptions::body(1024));
  auto server = start(std::move(router));
  ASSERT_TRUE(server);
  const auto response = exchange(
      server->port(),
      "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(response), 411);
  EXPECT_NE(body_of(response).find("chunked"), std::string::npos);
}

TEST(NetServer, OversizedHeadIs431) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  auto server = start(hello_router(), options);
  ASSERT_TRUE(server);
  const auto response = exchange(
      server->port(), "GET /hello HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  EXPECT_EQ(status_of(response), 431);
}

TEST(NetServer, MalformedRequestIs400) {
  auto server = start(hello_router());
  ASSERT_TRUE(server);
  EXPECT_EQ(status_of(exchange(server->port(), "GET /hello HTTP/1.1\r\nX: a\r\n b\r\n\r\n")), 400);
  EXPECT_EQ(status_of(exchange(server->port(), "GET /hello HTTP/3.0\r\n\r\n")), 505);
}

TEST(NetServer, SlowHeadIs408AndClosed) {
  ServerOptions options;
  options.header_timeout = 300ms;
  auto server = start(hello_router(), options);
  ASSERT_TRUE(server);
  RawSocket socket(server->port());
  socket.send("GET /hello HTTP/1.1\r\n");
  const auto started = std::chrono::steady_clock::now();
  const std::string response = socket.read(5s);
  EXPECT_EQ(status_of(response), 408);
  EXPECT_TRUE(socket.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_GE(server->stats().timed_out, 1u);
}

TEST(NetServer, SlowlorisCostsNoWorkers) {
  ServerOptions options;
  options.workers = 2;
  options.header_timeout = 1500ms;
  auto server = start(hello_router(), options);
  ASSERT_TRUE(server);
  const auto port = server->port();

  constexpr int kSlow = 300;
  std::vector<std::unique_ptr<RawSocket>> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(std::make_unique<RawSocket>(port));
    ASSERT_TRUE(slow.back()->connected()) << i;
  }
  const std::string request = "GET /hello HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  const auto started = std::chrono::steady_clock::now();
  // Each slow connection sends one more byte every 100 ms, never finishing its head.
  for (std::size_t step = 0; step < 6; ++step) {
    for (auto& socket : slow)
      socket->send(request.substr(step, 1));
    std::this_thread::sleep_for(100ms);
  }
  // While they dribble, a legitimate request is answered quickly.
  const auto asked = std::chrono::steady_clock::now();
  const auto response = exchange(port, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n", 3s);
  EXPECT_EQ(status_of(response), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 2s);
  for (std::size_t step = 6; step < 9; ++step) {
    for (auto& socket : slow)
      socket->send(request.substr(step, 1));
    std::this_thread::sleep_for(100ms);
  }
  // The deadline counts from each request's first byte, however steadily the bytes come:
  // every slow connection is answered 408 and closed.
  int closed = 0;
  for (auto& socket : slow) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        started + 6s - std::chrono::steady_clock::now());
    const std::string answer = socket->read(std::max(left, 100ms));
    if (socket->closed() && status_of(answer) == 408) ++closed;
  }
  EXPECT_EQ(closed, kSlow);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 6s);
  EXPECT_GE(server->stats().timed_out, static_cast<std::uint64_t>(kSlow));
}

TEST(NetServer, FullQueueAnswers503AtOnce) {
  std::atomic<int> entered{0};
  std::atomic<bool> release{false};
  Router router;
  router.get("/block", [&](const Request&) -> Result<Response> {
    ++entered;
    for (int i = 0; i < 500 && !release.load(); ++i)
      std::this_thread::sleep_for(10ms);
    return Response::text("done");
  });
  ServerOptions options;
  options.workers = 1;
  options.max_queued = 1;
  auto server = start(std::move(router), options);
  ASSERT_TRUE(server);
  const std::string request = "GET /block HTTP/1.1\r\nConnection: close\r\n\r\n";

  RawSocket first(server->port());
  first.send(request);
  for (int i = 0; i < 200 && entered.load() == 0; ++i)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(entered.load(), 1);
  RawSocket second(server->port());  // waits in the queue
  second.send(request);
  std::this_thread::sleep_for(100ms);
  const auto started = std::chrono::steady_clock::now();
  const auto third = exchange(server->port(), request);
  EXPECT_EQ(status_of(third), 503);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);

  release.store(true);
  EXPECT_EQ(status_of(first.read(5s)), 200);
  EXPECT_EQ(status_of(second.read(5s)), 200);
  EXPECT_GE(server->stats().rejected_busy, 1u);
}

TEST(NetServer, ConnectionCapAnswers503) {
  ServerOptions options;
  options.max_connections = 2;
  auto server = start(hello_router(), options);
  ASSERT_TRUE(server);
  RawSocket a(server->port()), b(server->port());
  // Let the reactor accept both before the third arrives.
  for (int i = 0; i < 100 && server->stats().open_connections < 2; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  const auto response = exchange(server->port(), "GET /hello HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of(response), 503);
}

TEST(NetServer, SecondServerOnAPortInUseFails) {
  auto first = start(hello_router());
  ASSERT_TRUE(first);
  ServerOptions options;
  options.port = first->port();
  auto second = Server::start(hello_router(), options);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Errc::conflict);
  EXPECT_EQ(second.error().message,
            "127.0.0.1:" + std::to_string(first->port()) + " is already in use");
  // The first still answers every request (no port sharing).
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(
        status_of(exchange(first->port(), "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n")),
        200);
  }
}

TEST(NetServer, KeepAliveAndPipelining) {
  auto server = start(hello_router());
  ASSERT_TRUE(server);
  RawSocket socket(server->port());
  for (int i = 0; i < 3; ++i) {
    socket.send("GET /hello HTTP/1.1\r\n\r\n");
    const auto response = socket.read_response(5s);
    EXPECT_EQ(status_of(response), 200) << i;
    EXPECT_NE(response.find("Connection: keep-alive"), std::string::npos);
  }
  // Two requests in one write: two answers, in order.
  socket.send("GET /hello HTTP/1.1\r\n\r\nGET /nothing-here HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of(socket.read_response(5s)), 200);
  EXPECT_EQ(status_of(socket.read_response(5s)), 404);
  EXPECT_EQ(server->stats().connections_accepted, 1u);
}

TEST(NetServer, IdleAndRequestCountLimitsCloseKeptConnections) {
  ServerOptions options;
  options.idle_timeout = 200ms;
  options.max_requests_per_connection = 2;
  auto server = start(hello_router(), options);
  ASSERT_TRUE(server);
  {
    RawSocket socket(server->port());
    socket.send("GET /hello HTTP/1.1\r\n\r\n");
    EXPECT_EQ(status_of(socket.read_response(5s)), 200);
    EXPECT_TRUE(socket.wait_closed(3s));  // idle for longer than 200 ms
  }
  RawSocket socket(server->port());
  socket.send("GET /hello HTTP/1.1\r\n\r\n");
  EXPECT_NE(socket.read_response(5s).find("Connection: keep-alive"), std::string::npos);
  socket.send("GET /hello HTTP/1.1\r\n\r\n");
  EXPECT_NE(socket.read_response(5s).find("Connection: close"), std::string::npos);
  EXPECT_TRUE(socket.wait_closed(3s));
}

TEST(NetServer, SilentConnectionsAreClosedAfterTheHeaderTimeout) {
  ServerOptions options;
  options.header_timeout = 200ms;
  auto server = start(hello_router(), options);
  ASSERT_TRUE(server);
  RawSocket silent(server->port());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.wait_closed(3s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

std::string dechunk(std::string_view body) {
  std::string out;
  while (true) {
    const auto eol = body.find("\r\n");
    if (eol == std::string_view::npos) return out + "<truncated>";
    const auto size = std::stoul(std::string(body.substr(0, eol)), nullptr, 16);
    if (size == 0) return out;
    out += body.substr(eol + 2, size);
    body.remove_prefix(eol + 2 + size + 2);
  }
}

TEST(NetServer, StreamsChunkedResponses) {
  Router router;
  router.get("/stream", [](const Request&) -> Result<Response> {
    return Response::stream("application/octet-stream", [](const ByteSink& write) -> Status {
      CAIRN_TRY(write(as_bytes(std::string_view("first,"))));
      CAIRN_TRY(write(ByteView()));  // empty writes are skipped, not a terminator
      CAIRN_TRY(write(as_bytes(std::string(100000, 'x'))));
      return write(as_bytes(std::string_view(",last")));
    });
  });
  router.get("/broken", [](const Request&) -> Result<Response> {
    return Response::stream("text/plain", [](const ByteSink& write) -> Status {
      CAIRN_TRY(write(as_bytes(std::string_view("partial"))));
      return fail(Errc::io, "disk gone");
    });
  });
  auto server = start(std::move(router));
  ASSERT_TRUE(server);
  auto response = exchange(server->port(), "GET /stream HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(response), 200);
  EXPECT_NE(response.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(dechunk(body_of(response)), "first," + std::string(100000, 'x') + ",last");

  response = exchange(server->port(), "HEAD /stream HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(body_of(response), "");

  // HTTP/1.0 gets the raw body, ended by the close.
  response = exchange(server->port(), "GET /stream HTTP/1.0\r\n\r\n");
  EXPECT_EQ(body_of(response), "first," + std::string(100000, 'x') + ",last");

  // A producer failure cuts the body short: no terminating chunk.
  response = exchange(server->port(), "GET /broken HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(dechunk(body_of(response)), "partial<truncated>");
}

TEST(NetServer, SlowReaderReleasesItsWorker) {
  Router router = hello_router();
  router.get("/big", [](const Request&) -> Result<Response> {
    return Response::bytes(std::string(64 << 20, 'b'), "application/octet-stream");
  });
  ServerOptions options;
  options.workers = 1;
  options.send_timeout = 300ms;
  auto server = start(std::move(router), options);
  ASSERT_TRUE(server);
  RawSocket reader(server->port());  // asks for 64 MiB and reads nothing
  reader.send("GET /big HTTP/1.1\r\n\r\n");
  std::this_thread::sleep_for(100ms);
  const auto started = std::chrono::steady_clock::now();
  const auto response =
      exchange(server->port(), "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(response), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST(NetServer, BearerTokenIsCheckedBeforeTheBody) {
  std::atomic<int> calls{0};
  Router router;
  router.post(
      "/v1/shutdown",
      [&](const Request&) -> Result<Response> {
        ++calls;
        return Response::json(R"({"stopping":true})", 202);
      },
      RouteOptions::body(1 << 20).bearer("s3cret", "cairn-node"));
  auto server = start(std::move(router));
  ASSERT_TRUE(server);
  auto response =
      exchange(server->port(), "POST /v1/shutdown HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
  EXPECT_EQ(status_of(response), 401);
  EXPECT_NE(response.find("WWW-Authenticate: Bearer realm=\"cairn-node\""), std::string::npos);
  EXPECT_EQ(calls.load(), 0);
  response = exchange(server->port(),
                      "POST /v1/shutdown HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n"
                      "Content-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(response), 202);
  EXPECT_EQ(calls.load(), 1);
}

TEST(NetServer, ExpectContinueGetsA100) {
  Router router;
  router.post(
      "/echo", [](const Request& req) -> Result<Response> { return Response::text(req.body); },
      RouteOptions::body(100));
  auto server = start(std::move(router));
  ASSERT_TRUE(server);
  RawSocket socket(server->port());
  socket.send(
      "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"
      "Connection: close\r\n\r\n");
  EXPECT_EQ(socket.read(2s, 25), "HTTP/1.1 100 Continue\r\n\r\n");
  socket.send("abc");
  EXPECT_EQ(body_of(socket.read(5s)), "abc");
}

TEST(NetServer, StopIsIdempotentAndQuickWithOpenConnections) {
  auto server = start(hello_router());
  ASSERT_TRUE(server);
  RawSocket idle(server->port());
  RawSocket partial(server->port());
  partial.send("GET /hel");
  std::this_thread::sleep_for(50ms);
  const auto started = std::chrono::steady_clock::now();
  server->stop();
  server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_TRUE(idle.wait_closed(2s));
  // The port is free again.
  ServerOptions options;
  options.port = server->port();
  auto again = Server::start(hello_router(), options);
  EXPECT_TRUE(again.has_value()) << (again ? "" : again.error().message);
}

}  // namespace
}  // namespace cairn::net
