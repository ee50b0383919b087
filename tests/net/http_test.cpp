#include "net/http.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cairn::net {
namespace {

TEST(NetHttp, StatusForEveryErrc) {
  EXPECT_EQ(status_for(Errc::invalid_argument), 400);
  EXPECT_EQ(status_for(Errc::parse), 400);
  EXPECT_EQ(status_for(Errc::not_found), 404);
  EXPECT_EQ(status_for(Errc::rejected), 422);
  EXPECT_EQ(status_for(Errc::conflict), 409);
  EXPECT_EQ(status_for(Errc::unavailable), 503);
  EXPECT_EQ(status_for(Errc::unsupported), 501);
  EXPECT_EQ(status_for(Errc::integrity), 422);
  EXPECT_EQ(status_for(Errc::io), 500);
  EXPECT_EQ(status_for(Errc::crypto), 500);
  EXPECT_EQ(status_for(Errc::internal), 500);
  EXPECT_EQ(errc_for_status(404), Errc::not_found);
  EXPECT_EQ(errc_for_status(403), Errc::rejected);
  EXPECT_EQ(errc_for_status(502), Errc::unavailable);
}

TEST(NetHttp, OneErrorBodyShape) {
  const Response from_error = error_response(Error{Errc::not_found, "no block \"x\""});
  EXPECT_EQ(from_error.status, 404);
  EXPECT_EQ(from_error.content_type, "application/json");
  const auto json = nlohmann::json::parse(from_error.body);
  EXPECT_EQ(json["error"]["code"], "not_found");
  EXPECT_EQ(json["error"]["message"], "no block \"x\"");

  const Response from_status = error_response(413, "too big");
  EXPECT_EQ(from_status.status, 413);
  EXPECT_EQ(nlohmann::json::parse(from_status.body)["error"]["code"], "invalid_argument");
  // Invalid UTF-8 from a request does not break the body.
  const Response odd = error_response(400, std::string("bad \xff byte"));
  EXPECT_FALSE(nlohmann::json::parse(odd.body, nullptr, false).is_discarded());
}

TEST(NetHttp, HeadersAreCaseInsensitive) {
  Headers headers;
  headers.add("Content-Type", "a");
  headers.add("X-Twice", "1");
  headers.add("x-twice", "2");
  EXPECT_EQ(headers.get("content-type"), "a");
  EXPECT_EQ(headers.count("X-TWICE"), 2u);
  headers.set("X-Twice", "3");
  EXPECT_EQ(headers.count("x-twice"), 1u);
  EXPECT_EQ(headers.get("x-twice"), "3");
  headers.remove("CONTENT-TYPE");
  EXPECT_FALSE(headers.has("Content-Type"));
}

TEST(NetHttp, PercentCodingAndQueries) {
  EXPECT_EQ(percent_decode("a%20b+c", false).value(), "a b+c");
  EXPECT_EQ(percent_decode("a%20b+c", true).value(), "a b c");
  EXPECT_FALSE(percent_decode("%2", false));
  EXPECT_FALSE(percent_decode("%g0", false));
  EXPECT_FALSE(percent_decode("%00", false));
  EXPECT_EQ(percent_encode("a b/c~", true), "a%20b/c~");
  EXPECT_EQ(percent_encode("a b/c", false), "a%20b%2Fc");
  const auto query = parse_query("a=1&b=x%20y&&flag&c=").value();
  ASSERT_EQ(query.size(), 4u);
  EXPECT_EQ(query[1], (std::pair<std::string, std::string>{"b", "x y"}));
  EXPECT_EQ(query[2], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_FALSE(parse_query("a=%zz"));
  EXPECT_EQ(with_query("/sign", {{"level", "0"}, {"client", "a b&c"}}),
            "/sign?level=0&client=a%20b%26c");
  EXPECT_EQ(with_query("/x?y=1", {{"z", "2"}}), "/x?y=1&z=2");
  Request request;
  request.query = query;
  EXPECT_EQ(request.query_param("a"), "1");
  EXPECT_FALSE(request.query_param("z"));
}

TEST(NetHttp, BearerTokens) {
  Request request;
  EXPECT_FALSE(bearer_matches(request, "secret"));
  request.headers.add("Authorization", "Bearer secret");
  EXPECT_TRUE(bearer_matches(request, "secret"));
  EXPECT_FALSE(bearer_matches(request, "secreT"));
  EXPECT_FALSE(bearer_matches(request, ""));
  const Response response = unauthorized("cairn-node", "missing token");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.headers.get("WWW-Authenticate"), "Bearer realm=\"cairn-node\"");
}

}  // namespace
}  // namespace cairn::net
