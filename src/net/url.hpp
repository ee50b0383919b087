#pragma once
// http(s) URLs as cairn's clients take them on the command line and in configuration.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace cairn::net {

struct Url {
  std::string scheme;        // "http" or "https"
  std::string host;          // "example.org", "127.0.0.1", or "::1" (without brackets)
  std::uint16_t port = 0;    // explicit, or 80 / 443
  std::string target = "/";  // path and query as given ("/v3/KEY?x=1"); "/" when empty
  std::string userinfo;      // "user:password" as given (percent-encoded), or empty

  // Parses "http[s]://[userinfo@]host[:port][/path][?query][#fragment]" (the fragment is
  // dropped). Fails with Errc::invalid_argument naming what is wrong.
  [[nodiscard]] static Result<Url> parse(std::string_view text);

  bool https() const { return scheme == "https"; }
  // "host:port", with brackets around an IPv6 literal.
  std::string authority() const;
  // "scheme://host:port", what cpp-httplib's Client is built from.
  std::string origin() const;
  // For logs and error messages: origin plus "/…" when there is a path or query, never
  // the userinfo (RPC URLs often carry an API key in the path).
  std::string redacted() const;
  // The target with `path` appended, keeping this URL's path as a prefix and joining the
  // query strings: Url "http://h/base?k=1" + "/x?y=2" -> "/base/x?k=1&y=2".
  std::string join(std::string_view path) const;
};

// A URL given as text, as logs, errors and --json show it: Url::redacted(), or a placeholder
// for text that does not parse (which may itself be a secret pasted in the wrong place).
[[nodiscard]] std::string redact_url(std::string_view url);

}  // namespace cairn::net
