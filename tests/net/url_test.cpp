#include "net/url.hpp"

#include <gtest/gtest.h>

namespace cairn::net {
namespace {

TEST(NetUrl, ParsesWhatClientsAreGiven) {
  struct Case {
    const char* text;
    const char* scheme;
    const char* host;
    std::uint16_t port;
    const char* target;
    const char* userinfo;
  };
  const Case cases[] = {
      {"http://127.0.0.1:8545", "http", "127.0.0.1", 8545, "/", ""},
      {"https://mainnet.example.io/v3/KEY", "https", "mainnet.example.io", 443, "/v3/KEY", ""},
      {"HTTP://Example.ORG/Path", "http", "example.org", 80, "/Path", ""},
      {"http://[::1]:8080/x?y=1", "http", "::1", 8080, "/x?y=1", ""},
      {"http://[fe80::1]", "http", "fe80::1", 80, "/", ""},
      {"http://user:p%40ss@host:81/", "http", "host", 81, "/", "user:p%40ss"},
      {"http://host?q=1", "http", "host", 80, "/?q=1", ""},
      {"http://host:/a#frag", "http", "host", 80, "/a", ""},
      {"https://host:65535", "https", "host", 65535, "/", ""},
  };
  for (const Case& c : cases) {
    auto url = Url::parse(c.text);
    ASSERT_TRUE(url) << c.text << ": " << url.error().message;
    EXPECT_EQ(url->scheme, c.scheme) << c.text;
    EXPECT_EQ(url->host, c.host) << c.text;
    EXPECT_EQ(url->port, c.port) << c.text;
    EXPECT_EQ(url->target, c.target) << c.text;
    EXPECT_EQ(url->userinfo, c.userinfo) << c.text;
  }
}

TEST(NetUrl, MalformedUrlsSayWhatIsWrong) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"htp://x", "'htp://x' is not an http(s) URL"},
      {"127.0.0.1:8545", "'127.0.0.1:8545' is not an http(s) URL"},
      {"ftp://host/file", "'ftp://host/…' is not an http(s) URL"},
      {"http://", "'http://' has no host"},
      {"http://:80/", "'http://:80/…' has no host"},
      {"http://user@/", "'http://…@/…' has no host"},
      {"http://host:99999", "'http://host:99999' has port 99999 out of range"},
      {"http://host:0", "'http://host:0' has port 0 out of range"},
      {"http://host:8a", "'http://host:8a' has a port '8a' that is not a number"},
      {"http://[::1", "'http://[::1' has an unterminated IPv6 address"},
      {"http://[xyz]/", "'http://[xyz]/…' has a malformed IPv6 address"},
      {"http://ho st/", "'http://ho st/…' has a malformed host name"},
      {"http://host/a b", "'http://host/…' contains a space or control character"},
  };
  for (const Case& c : cases) {
    auto url = Url::parse(c.text);
    ASSERT_FALSE(url) << c.text;
    EXPECT_EQ(url.error().code, Errc::invalid_argument);
    EXPECT_EQ(url.error().message, c.message);
  }
  // A credential in a malformed URL is not repeated in the message.
  auto keyed = Url::parse("htps://user:SECRET@host/v3/APIKEY");
  ASSERT_FALSE(keyed);
  EXPECT_EQ(keyed.error().message.find("SECRET"), std::string::npos);
  EXPECT_EQ(keyed.error().message.find("APIKEY"), std::string::npos);
}

TEST(NetUrl, RedactedNeverShowsCredentials) {
  EXPECT_EQ(Url::parse("https://user:pw@rpc.example.io/v3/APIKEY")->redacted(),
            "https://rpc.example.io:443/…");
  EXPECT_EQ(Url::parse("http://127.0.0.1:8545")->redacted(), "http://127.0.0.1:8545");
  EXPECT_EQ(Url::parse("http://h/?key=1")->redacted(), "http://h:80/…");
  EXPECT_EQ(Url::parse("http://[::1]:9/")->redacted(), "http://[::1]:9");
  EXPECT_EQ(Url::parse("http://[::1]:9/")->origin(), "http://[::1]:9");
}

TEST(NetUrl, JoinKeepsTheBasePathAndQuery) {
  const auto url = Url::parse("http://h/base/?k=1").value();
  EXPECT_EQ(url.join("/ipfs/x?y=2"), "/base/ipfs/x?k=1&y=2");
  EXPECT_EQ(url.join(""), "/base?k=1");
  EXPECT_EQ(Url::parse("http://h").value().join("/x"), "/x");
  EXPECT_EQ(Url::parse("http://h").value().join(""), "/");
  EXPECT_EQ(Url::parse("http://h/v3/KEY").value().join(""), "/v3/KEY");
}

}  // namespace
}  // namespace cairn::net
