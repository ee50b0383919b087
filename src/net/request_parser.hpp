#pragma once
// The HTTP/1.1 request-head parser: a pure function over the bytes received so far, so that
// the server's reactor, the unit tests and the fuzzer all exercise the same code.
//
// It is deliberately strict where leniency has been exploited (request smuggling, header
// injection): lines end in CRLF, obsolete line folding is refused, Content-Length must be
// one decimal number (repeats allowed only when identical), and request bodies framed by
// Transfer-Encoding are refused with 411 (cairn's clients always send a Content-Length).

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "base/bytes.hpp"
#include "net/http.hpp"

namespace cairn::net {

struct HeadLimits {
  std::size_t max_header_bytes = 16 * 1024;  // request line + headers + blank line
  std::size_t max_headers = 100;             // header fields
};

struct RequestHead {
  std::string method;
  std::string target;     // raw request-target
  std::string path;       // percent-decoded path (absolute-form targets reduced to it)
  std::string query;      // raw query, without '?'
  int minor_version = 1;  // HTTP/1.<minor>
  Headers headers;
  std::uint64_t content_length = 0;  // 0 when absent (RFC 9112 6.3: no body)
  bool keep_alive = true;            // after this request, per version and Connection
  bool expect_continue = false;      // "Expect: 100-continue"
  std::size_t head_size = 0;         // bytes up to and including the blank line
};

// Why a head was refused, with the status to answer (400, 411, 413, 417, 431, 501, 505).
struct HeadFailure {
  int status = 400;
  std::string message;
};

// nullopt: the head is not complete yet (and still within the limits); read more.
using HeadParse = std::expected<std::optional<RequestHead>, HeadFailure>;

// Parses the request head at the start of `input`. Bytes after the head (a body, a
// pipelined request) are left alone; `head_size` says where they begin.
[[nodiscard]] HeadParse parse_request_head(ByteView input, const HeadLimits& limits = {});

}  // namespace cairn::net
