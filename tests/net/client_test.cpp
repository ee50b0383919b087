#include "net/client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "net/server.hpp"

namespace cairn::net {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  std::unique_ptr<Server> server;
  Client client(ClientOptions options = {}, std::string path = "") const {
    return Client(Url::parse(server->url() + path).value(), options);
  }
};

Fixture serve(Router router) {
  auto server = Server::start(std::move(router));
  EXPECT_TRUE(server.has_value()) << (server ? "" : server.error().message);
  return Fixture{server ? std::move(*server) : nullptr};
}

ClientOptions quick() {
  ClientOptions options;
  options.backoff = 10ms;
  options.max_backoff = 50ms;
  options.retries = 3;
  options.connect_timeout = 2s;
  options.read_timeout = 5s;
  options.deadline = 20s;
  return options;
}

TEST(NetClient, GetsAndPosts) {
  Router router;
  router.get("/hello", [](const Request& req) -> Result<Response> {
    return Response::text("hello " + req.query_param("name").value_or("?"));
  });
  router.post(
      "/echo",
      [](const Request& req) -> Result<Response> {
        return Response::json(req.body + std::string(req.header("Content-Type").value_or("")));
      },
      RouteOptions::body(1024));
  const auto f = serve(std::move(router));
  auto client = f.client(quick());
  auto response = client.get("/hello?name=x");
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello x");
  EXPECT_EQ(response->content_type(), "text/plain; charset=utf-8");
  response = client.post("/echo", "{}", "application/json");
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, "{}application/json");
  // A base path on the client URL prefixes every request.
  const auto f2 = f.client(quick(), "/hel");
  EXPECT_FALSE(f2.url().target.empty());
}

TEST(NetClient, RetriesIdempotentRequestsOn503) {
  std::atomic<int> calls{0};
  Router router;
  router.get("/flaky", [&](const Request&) -> Result<Response> {
    if (++calls < 3) return error_response(503, "warming up");
    return Response::text("ok");
  });
  const auto f = serve(std::move(router));
  auto client = f.client(quick());
  auto response = client.get("/flaky");
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(calls.load(), 3);
}

TEST(NetClient, GivesUpAfterItsRetries) {
  std::atomic<int> calls{0};
  Router router;
  router.get("/down", [&](const Request&) -> Result<Response> {
    ++calls;
    return fail(Errc::unavailable, "the chain is syncing");
  });
  const auto f = serve(std::move(router));
  auto options = quick();
  options.retries = 2;
  auto client = f.client(options);
  auto response = client.get("/down");
  ASSERT_FALSE(response);
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(response.error().code, Errc::unavailable);
  EXPECT_NE(response.error().message.find("answered HTTP 503: the chain is syncing"),
            std::string::npos)
      << response.error().message;
  EXPECT_NE(response.error().message.find("after 3 attempts"), std::string::npos);
}

TEST(NetClient, HonoursASmallRetryAfter) {
  std::atomic<int> calls{0};
  Router router;
  router.get("/busy", [&](const Request&) -> Result<Response> {
    if (++calls == 1) {
      Response busy = error_response(429, "slow down");
      busy.headers.set("Retry-After", "1");
      return busy;
    }
    return Response::text("ok");
  });
  const auto f = serve(std::move(router));
  auto client = f.client(quick());
  const auto started = std::chrono::steady_clock::now();
  auto response = client.get("/busy");
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_GE(std::chrono::steady_clock::now() - started, 900ms);
  EXPECT_EQ(calls.load(), 2);
}

TEST(NetClient, DoesNotRetryANonIdempotentPost) {
  std::atomic<int> calls{0};
  Router router;
  router.post("/send", [&](const Request&) -> Result<Response> {
    ++calls;
    return error_response(503, "busy");
  });
  const auto f = serve(std::move(router));
  auto client = f.client(quick());
  auto response = client.post("/send", "", "application/json");
  ASSERT_FALSE(response);
  EXPECT_EQ(calls.load(), 1);
  // The same POST marked idempotent (a JSON-RPC read) is retried.
  response = client.post("/send", "", "application/json", true);
  ASSERT_FALSE(response);
  EXPECT_EQ(calls.load(), 1 + 4);
}

TEST(NetClient, RefusesToFollowRedirects) {
  std::atomic<int> elsewhere{0};
  Router router;
  router.get("/moved", [](const Request&) -> Result<Response> {
    Response response = Response::empty(302);
    response.headers.set("Location", "http://other.example:8080/steal?key=SECRET");
    return response;
  });
  router.get("/steal", [&](const Request&) -> Result<Response> {
    ++elsewhere;
    return Response::text("followed");
  });
  const auto f = serve(std::move(router));
  auto client = f.client(quick());
  auto response = client.get("/moved");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::rejected);
  EXPECT_NE(response.error().message.find("answered HTTP 302 redirecting to "
                                          "http://other.example:8080/…; redirects are not "
                                          "followed"),
            std::string::npos)
      << response.error().message;
  EXPECT_EQ(response.error().message.find("SECRET"), std::string::npos);
  EXPECT_EQ(elsewhere.load(), 0);
}

TEST(NetClient, EnforcesTheResponseCap) {
  Router router;
  router.get("/big", [](const Request&) -> Result<Response> {
    return Response::bytes(std::string(100000, 'a'), "application/octet-stream");
  });
  router.get("/stream", [](const Request&) -> Result<Response> {
    return Response::stream("application/octet-stream", [](const ByteSink& write) -> Status {
      for (int i = 0; i < 100; ++i)
        CAIRN_TRY(write(as_bytes(std::string(1000, 'b'))));
      return {};
    });
  });
  const auto f = serve(std::move(router));
  auto client = f.client(quick());
  ClientRequest request;
  request.path = "/big";
  request.max_response_bytes = 1000;
  auto response = client.send(request);
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().message.find("announced 100000 bytes, more than the cap of 1000"),
            std::string::npos)
      << response.error().message;
  // Without a Content-Length, the cap is counted as the body arrives.
  request.path = "/stream";
  response = client.send(request);
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().message.find("more than the cap of 1000 bytes"), std::string::npos)
      << response.error().message;
  // Within the cap, the stream is delivered to the sink piece by piece.
  request.max_response_bytes = 200000;
  std::size_t total = 0;
  response = client.stream(request, [&](ByteView bytes) -> Status {
    total += bytes.size();
    return {};
  });
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(total, 100000u);
  EXPECT_TRUE(response->body.empty());
  // A failing sink stops the transfer with its own error.
  response = client.stream(request, [](ByteView) -> Status { return fail(Errc::io, "disk full"); });
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().message, "disk full");
}

TEST(NetClient, ConnectionRefusedIsNamed) {
  std::uint16_t port = 0;
  {
    const auto f = serve(Router());
    port = f.server->port();
  }
  auto options = quick();
  options.retries = 0;
  Client client(Url::parse("http://127.0.0.1:" + std::to_string(port) + "/rpc/KEY").value(),
                options);
  auto response = client.get("");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::unavailable);
  EXPECT_EQ(response.error().message, "could not connect to http://127.0.0.1:" +
                                          std::to_string(port) + "/… (connection refused)");
}

TEST(NetClient, ReadTimeoutIsNamed) {
  Router router;
  router.get("/slow", [](const Request&) -> Result<Response> {
    std::this_thread::sleep_for(1500ms);
    return Response::text("late");
  });
  const auto f = serve(std::move(router));
  auto options = quick();
  options.retries = 0;
  options.read_timeout = 300ms;
  auto client = f.client(options);
  const auto started = std::chrono::steady_clock::now();
  auto response = client.get("/slow");
  ASSERT_FALSE(response);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1400ms);
  EXPECT_EQ(response.error().code, Errc::unavailable);
  EXPECT_NE(response.error().message.find("timed out after 0.3 s"), std::string::npos)
      << response.error().message;
}

TEST(NetClient, ErrorMessagesUseCairnErrorsAndNeverPasteHtml) {
  Router router;
  router.get("/missing", [](const Request&) -> Result<Response> {
    return fail(Errc::not_found, "block bafyx is not here");
  });
  router.get("/proxy", [](const Request&) -> Result<Response> {
    return Response::bytes("<html><body>502 Bad Gateway from nginx</body></html>", "text/html",
                           502);
  });
  router.get("/forbidden",
             [](const Request&) -> Result<Response> { return Response::text("no", 403); });
  const auto f = serve(std::move(router));
  auto options = quick();
  options.retries = 0;
  auto client = f.client(options);
  auto response = client.get("/missing");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::not_found);
  EXPECT_EQ(response.error().message,
            "GET " + f.server->url() + "/missing answered HTTP 404: block bafyx is not here");
  response = client.get("/proxy");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::unavailable);
  EXPECT_EQ(response.error().message.find("<html>"), std::string::npos);
  EXPECT_NE(response.error().message.find("answered HTTP 502 (text/html, 52 bytes)"),
            std::string::npos)
      << response.error().message;
  response = client.get("/forbidden");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::rejected);
}

TEST(NetClient, TlsToAPlainServerFailsInWords) {
  const auto f = serve(Router());
  auto options = quick();
  options.retries = 0;
  Client client(Url::parse("https://127.0.0.1:" + std::to_string(f.server->port())).value(),
                options);
  auto response = client.get("/x");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::unavailable);
  EXPECT_NE(response.error().message.find("TLS handshake failed"), std::string::npos)
      << response.error().message;
}

TEST(NetClient, SendsCredentials) {
  Router router;
  router.get("/auth", [](const Request& req) -> Result<Response> {
    return Response::text(std::string(req.header("Authorization").value_or("none")));
  });
  const auto f = serve(std::move(router));
  const std::string port = std::to_string(f.server->port());
  Client basic(Url::parse("http://alice:open%20sesame@127.0.0.1:" + port).value(), quick());
  auto response = basic.get("/auth");
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, "Basic YWxpY2U6b3BlbiBzZXNhbWU=");  // alice:open sesame
  auto options = quick();
  options.bearer_token = "t0ken";
  auto bearer = f.client(options);
  response = bearer.get("/auth");
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, "Bearer t0ken");
}

}  // namespace
}  // namespace cairn::net
