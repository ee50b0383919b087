#include "net/request_parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cairn::net {
namespace {

HeadParse parse(std::string_view text, HeadLimits limits = {}) {
  return parse_request_head(as_bytes(text), limits);
}

RequestHead complete(std::string_view text) {
  auto parsed = parse(text);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  if (!parsed || !parsed->has_value()) {
    ADD_FAILURE() << "incomplete: " << text;
    return {};
  }
  return **parsed;
}

int refused(std::string_view text, HeadLimits limits = {}) {
  auto parsed = parse(text, limits);
  if (parsed) {
    ADD_FAILURE() << "accepted: " << text;
    return 0;
  }
  EXPECT_FALSE(parsed.error().message.empty());
  return parsed.error().status;
}

TEST(NetParser, ParsesAGet) {
  const auto head = complete(
      "GET /ipfs/bafy%20x/a?format=car&x=1 HTTP/1.1\r\nHost: h\r\nAccept:  a/b \r\n\r\nrest");
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/ipfs/bafy%20x/a?format=car&x=1");
  EXPECT_EQ(head.path, "/ipfs/bafy x/a");
  EXPECT_EQ(head.query, "format=car&x=1");
  EXPECT_EQ(head.minor_version, 1);
  EXPECT_EQ(head.headers.get("accept"), "a/b");
  EXPECT_EQ(head.headers.get("HOST"), "h");
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(head.content_length, 0u);
  EXPECT_EQ(head.head_size, std::string_view("GET /ipfs/bafy%20x/a?format=car&x=1 HTTP/1.1\r\n"
                                             "Host: h\r\nAccept:  a/b \r\n\r\n")
                                .size());
}

TEST(NetParser, IncompleteHeadsWaitForMore) {
  for (std::string_view partial :
       {"", "G", "GET / HTTP/1.1", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: x\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\r"}) {
    auto parsed = parse(partial);
    ASSERT_TRUE(parsed.has_value()) << partial << ": " << parsed.error().message;
    EXPECT_FALSE(parsed->has_value()) << partial;
  }
}

TEST(NetParser, ContentLengthAndConnection) {
  auto head = complete("POST /x HTTP/1.1\r\nContent-Length: 42\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.content_length, 42u);
  EXPECT_FALSE(head.keep_alive);
  head = complete("POST /x HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n");
  EXPECT_EQ(head.content_length, 7u);
  head = complete("POST /x HTTP/1.1\r\nContent-Length: 7, 7\r\n\r\n");
  EXPECT_EQ(head.content_length, 7u);
  head = complete("GET / HTTP/1.0\r\n\r\n");
  EXPECT_FALSE(head.keep_alive);
  head = complete("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  EXPECT_TRUE(head.keep_alive);
  head = complete("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
  EXPECT_TRUE(head.expect_continue);
  head = complete("GET http://example.org/a%2Fb?q HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.path, "/a/b");
  EXPECT_EQ(head.query, "q");
  head = complete("\r\nGET / HTTP/1.1\r\n\r\n");  // a stray CRLF before the request line
  EXPECT_EQ(head.method, "GET");
}

TEST(NetParser, RefusesMalformedHeads) {
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nContent-Length: \r\n\r\n"), 400);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n"), 400);
  EXPECT_EQ(refused("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"), 413);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n"), 400);   // obs-fold
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nX: a\r\n\tfolded\r\n\r\n"), 400);  // obs-fold
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nX : a\r\n\r\n"), 400);             // space before the colon
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nno colon\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\n: empty name\r\n\r\n"), 400);
  EXPECT_EQ(refused(std::string("GET / HTTP/1.1\r\nX: a") + '\0' + "b\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), 400);     // bare CR
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n"), 400);  // bare LF
  EXPECT_EQ(refused("GET / HTTP/1.1\nHost: x\n\n"), 400);           // LF-only lines
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET  / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET /a b HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET / HTTP/1.1 \r\n\r\n"), 400);
  EXPECT_EQ(refused("G(T / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET foo HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET ftp://x/ HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET /%zz HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET /%00 HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(refused("GET / HTTP/1.10\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET / HTTX/1.1\r\n\r\n"), 400);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nExpect: magic\r\n\r\n"), 417);
  // A malformed request line is refused before the head is complete.
  EXPECT_EQ(refused("BAD LINE\r\nHost: x\r\n"), 400);
}

TEST(NetParser, TransferEncodingIsRefusedWith411) {
  auto parsed =
      parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().status, 411);
  EXPECT_NE(parsed.error().message.find("chunked"), std::string::npos);
  // With a Content-Length too (the classic smuggling shape): still refused.
  EXPECT_EQ(refused("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
            411);
}

TEST(NetParser, SizeLimitsGive431) {
  HeadLimits limits;
  limits.max_header_bytes = 64;
  // Complete but too long, and incomplete and already too long.
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", limits), 431);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nX: " + std::string(100, 'a'), limits), 431);
  limits = {};
  limits.max_headers = 3;
  EXPECT_EQ(refused("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n", limits), 431);
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n", limits));
}

TEST(NetParser, ManyLeadingBlankLinesDoNotHideTheLimit) {
  // CRLFs forever: only a few are skipped; the rest is a malformed request line.
  std::string crlfs;
  for (int i = 0; i < 100; ++i)
    crlfs += "\r\n";
  auto parsed = parse(crlfs);
  EXPECT_FALSE(parsed.has_value());
}

}  // namespace
}  // namespace cairn::net
