#pragma once
// The HTTP vocabulary shared by cairn's server and client: headers, requests, responses,
// and the one mapping between cairn errors and HTTP statuses (docs/net.md).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::net {

// ASCII case-insensitive equality, the rule for header names and tokens (RFC 9110 5.1).
bool iequals(std::string_view a, std::string_view b);

// Header fields in the order they arrived or were set. Names compare case-insensitively;
// a name may repeat (Set-Cookie, or a client that sends two values).
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  // The first value of `name`, if present.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  std::size_t count(std::string_view name) const;
  // Replaces every field named `name` with one.
  void set(std::string_view name, std::string value);
  // Adds a field, keeping those already there.
  void add(std::string name, std::string value);
  void remove(std::string_view name);

  const std::vector<Field>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  std::size_t size() const { return fields_.size(); }

 private:
  std::vector<Field> fields_;
};

// A request as a handler sees it: complete, its body read up to the route's limit.
struct Request {
  std::string method;  // as sent ("GET"); HEAD requests reach GET handlers as "HEAD"
  std::string target;  // the raw request-target: "/ipfs/bafy...?format=car"
  std::string path;    // percent-decoded path, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  Headers headers;
  std::string body;
  std::vector<std::string> params;  // groups captured by a prefix or regex route, in order
  std::string peer;                 // "127.0.0.1:53422" or "[::1]:53422"

  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  // The first value of query parameter `name`.
  std::optional<std::string> query_param(std::string_view name) const;
  bool has_query(std::string_view name) const { return query_param(name).has_value(); }
};

// Receives the body of a streamed response piece by piece; a failure (the client went away,
// the deadline passed) tells the producer to stop.
using ByteSink = std::function<Status(ByteView)>;
// Produces a streamed body by calling `write` as often as it likes. Returning a failure
// after the headers went out cuts the response short (the client sees a truncated chunked
// body, never a complete-looking one).
using BodyProducer = std::function<Status(const ByteSink& write)>;

struct Response {
  int status = 200;
  Headers headers;
  std::string content_type;  // sent as Content-Type when not empty
  std::string body;          // sent with a Content-Length, unless `producer` is set
  BodyProducer producer;     // when set: sent chunked, `body` ignored

  static Response text(std::string body, int status = 200);
  static Response json(std::string body, int status = 200);
  static Response bytes(std::string body, std::string content_type, int status = 200);
  static Response stream(std::string content_type, BodyProducer producer, int status = 200);
  static Response empty(int status);
};

// The one mapping from a cairn error class to the status a server answers with.
int status_for(Errc code);
// The inverse, for a client that reads a status: 404 -> not_found, other 4xx -> rejected,
// 5xx -> unavailable, anything else unexpected -> parse.
Errc errc_for_status(int status);

// The error body every cairn server sends:
//   {"error": {"code": "<errc identifier>", "message": "..."}} as application/json.
// The code is the Errc's identifier ("not_found", "invalid_argument"); for a status that
// came from no Errc (405, 413, ...) it is the Errc that status_for would map to it.
Response error_response(int status, std::string_view message);
Response error_response(const Error& error);
// errc identifier as it appears in the error body ("invalid_argument").
std::string_view errc_identifier(Errc code);
// The standard reason phrase for `status` ("Not Found"); "Unknown" for codes it lacks.
std::string_view reason_phrase(int status);

// True when `request` carries "Authorization: Bearer <token>", compared in constant time.
bool bearer_matches(const Request& request, std::string_view token);
// 401 with WWW-Authenticate naming `realm`, in the error body shape.
Response unauthorized(std::string_view realm, std::string_view message);

// Percent-decoding of a path ('+' stays '+') or a query component ('+' is a space).
// Fails on a malformed escape or an encoded NUL.
[[nodiscard]] Result<std::string> percent_decode(std::string_view text, bool plus_is_space);
// Encodes everything but unreserved characters (RFC 3986 2.3); '/' is kept when asked.
std::string percent_encode(std::string_view text, bool keep_slash = false);
// "path?k=v&..." with keys and values percent-encoded (for building client requests).
std::string with_query(std::string_view path,
                       const std::vector<std::pair<std::string, std::string>>& params);
// Splits "a=1&b=x%20y" into decoded pairs.
[[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> parse_query(
    std::string_view query);

}  // namespace cairn::net
