#include "net/request_parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace cairn::net {
namespace {

std::unexpected<HeadFailure> refuse(int status, std::string message) {
  return std::unexpected(HeadFailure{status, std::move(message)});
}

// tchar (RFC 9110 5.6.2): the characters of methods and header names.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

// field-vchar / SP / HTAB, obs-text allowed (RFC 9110 5.5); no controls, no DEL.
bool is_field_value_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7F);
}

// The request-target's characters: visible ASCII only (no spaces, controls or raw bytes
// above 0x7E; those must arrive percent-encoded).
bool is_target_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7F;
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// Whether a comma-separated header value lists `token` (case-insensitively).
bool lists_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim_ows(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// A printable rendering of untrusted bytes for an error message, cut short.
std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 64)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7F) ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  if (text.size() > 64) out += "...";
  return out;
}

HeadParse parse_request_line(std::string_view line, RequestHead& head) {
  const auto first = line.find(' ');
  const auto last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) {
    return refuse(400, fmt::format("malformed request line '{}'", printable(line)));
  }
  const std::string_view method = line.substr(0, first);
  const std::string_view target = line.substr(first + 1, last - first - 1);
  const std::string_view version = line.substr(last + 1);
  if (!is_token(method)) {
    return refuse(400, fmt::format("malformed method '{}'", printable(method)));
  }
  if (target.empty() || !std::all_of(target.begin(), target.end(), is_target_char)) {
    return refuse(400, fmt::format("malformed request target '{}'", printable(target)));
  }
  if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return refuse(400, fmt::format("malformed HTTP version '{}'", printable(version)));
  }
  if (version[5] != '1') {
    return refuse(
        505, fmt::format("{} is not supported (HTTP/1.0 and HTTP/1.1 are)", printable(version)));
  }
  head.method = std::string(method);
  head.target = std::string(target);
  head.minor_version = version[7] - '0';

  // origin-form "/path?query", or absolute-form "http://host/path?query" (RFC 9112 3.2.2:
  // a server must accept it), reduced to its path.
  std::string_view origin = target;
  if (!origin.starts_with('/')) {
    const auto scheme_end = origin.find("://");
    const std::string_view scheme = origin.substr(0, scheme_end);
    if (scheme_end == std::string_view::npos ||
        !(iequals(scheme, "http") || iequals(scheme, "https"))) {
      return refuse(400, fmt::format("request target '{}' is neither a path nor an http URL",
                                     printable(target)));
    }
    const auto path_start = origin.find_first_of("/?", scheme_end + 3);
    origin =
        path_start == std::string_view::npos ? std::string_view("/") : origin.substr(path_start);
  }
  const auto question = origin.find('?');
  std::string_view raw_path = origin.substr(0, question);
  if (raw_path.empty()) raw_path = "/";
  if (question != std::string_view::npos) {
    head.query = std::string(origin.substr(question + 1));
    if (const auto hash = head.query.find('#'); hash != std::string::npos) head.query.resize(hash);
  }
  if (const auto hash = raw_path.find('#'); hash != std::string_view::npos) {
    raw_path = raw_path.substr(0, hash);
  }
  auto decoded = percent_decode(raw_path, false);
  if (!decoded) return refuse(400, "request path: " + decoded.error().message);
  head.path = std::move(*decoded);
  return std::optional<RequestHead>();
}

HeadParse check_framing(RequestHead& head) {
  // Transfer-Encoding framing of a request body is refused outright, before it can be
  // misread as another request (smuggling) or relied on (cairn's clients never send it).
  if (head.headers.has("Transfer-Encoding")) {
    return refuse(411,
                  "chunked (Transfer-Encoding) request bodies are not supported; send the body "
                  "with a Content-Length");
  }
  std::optional<std::uint64_t> length;
  for (const auto& [name, value] : head.headers.fields()) {
    if (!iequals(name, "Content-Length")) continue;
    // A list "5, 5" is allowed when every member is the same number (RFC 9110 8.6).
    std::string_view rest = value;
    do {
      const auto comma = rest.find(',');
      const std::string_view item = trim_ows(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (item.empty() ||
          !std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return refuse(400, fmt::format("Content-Length '{}' is not a number", printable(value)));
      }
      std::uint64_t number = 0;
      for (const char c : item) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (number > (UINT64_MAX - digit) / 10) {
          return refuse(413, fmt::format("Content-Length {} is too large", printable(item)));
        }
        number = number * 10 + digit;
      }
      if (length && *length != number) {
        return refuse(400, "conflicting Content-Length values");
      }
      length = number;
    } while (!rest.empty());
  }
  head.content_length = length.value_or(0);

  if (head.headers.count("Host") > 1) return refuse(400, "more than one Host header");
  if (const auto expect = head.headers.get("Expect")) {
    if (!iequals(trim_ows(*expect), "100-continue")) {
      return refuse(417, fmt::format("unsupported expectation '{}'", printable(*expect)));
    }
    head.expect_continue = true;
  }
  head.keep_alive = head.minor_version >= 1;
  for (const auto& [name, value] : head.headers.fields()) {
    if (!iequals(name, "Connection")) continue;
    if (lists_token(value, "close")) head.keep_alive = false;
    if (lists_token(value, "keep-alive") && head.minor_version == 0) head.keep_alive = true;
  }
  // A close request wins over any keep-alive that came with it.
  for (const auto& [name, value] : head.headers.fields()) {
    if (iequals(name, "Connection") && lists_token(value, "close")) head.keep_alive = false;
  }
  return std::optional<RequestHead>();
}

}  // namespace

HeadParse parse_request_head(ByteView input, const HeadLimits& limits) {
  const std::string_view text = as_chars(input);
  // RFC 9112 2.2: empty lines before a request line are ignored (left over from a previous
  // body's CRLF); a few at most, so that a stream of CRLFs cannot keep a request open.
  std::size_t start = 0;
  while (start + 1 < text.size() && text[start] == '\r' && text[start + 1] == '\n' && start < 8) {
    start += 2;
  }
  // Find the blank line that ends the head within the limit; stop looking past it.
  const std::size_t window = std::min(text.size(), limits.max_header_bytes);
  const std::string_view scan = text.substr(0, window);
  const auto end = scan.find("\r\n\r\n", start);
  if (end == std::string_view::npos) {
    // A request line that is already malformed is refused now rather than at the deadline.
    const auto first_eol = scan.find('\n', start);
    if (first_eol != std::string_view::npos) {
      if (first_eol == start || text[first_eol - 1] != '\r') {
        return refuse(400, "request line not terminated by CRLF");
      }
      RequestHead probe;
      auto line = parse_request_line(scan.substr(start, first_eol - 1 - start), probe);
      if (!line) return line;
    }
    if (text.size() >= limits.max_header_bytes) {
      return refuse(431, fmt::format("request head exceeds {} bytes", limits.max_header_bytes));
    }
    return std::optional<RequestHead>();
  }

  RequestHead head;
  head.head_size = end + 4;
  std::string_view lines = text.substr(start, end + 2 - start);  // each line ends in CRLF
  bool first = true;
  while (!lines.empty()) {
    const auto eol = lines.find("\r\n");
    const std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol + 2);
    // A bare CR or LF inside a line could be read as a line break by another parser.
    if (line.find_first_of("\r\n") != std::string_view::npos) {
      return refuse(400, "bare CR or LF in the request head");
    }
    if (first) {
      first = false;
      auto parsed = parse_request_line(line, head);
      if (!parsed) return parsed;
      continue;
    }
    if (line.empty()) return refuse(400, "empty header line");
    if (line.front() == ' ' || line.front() == '\t') {
      return refuse(400,
                    "obsolete line folding (a header line starting with whitespace) is "
                    "not accepted");
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      return refuse(400, fmt::format("header line '{}' has no colon", printable(line)));
    }
    const std::string_view name = line.substr(0, colon);
    if (!is_token(name)) {
      // Includes "Name : value", which RFC 9112 5.1 requires to be refused.
      return refuse(400, fmt::format("malformed header name '{}'", printable(name)));
    }
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (!std::all_of(value.begin(), value.end(), is_field_value_char)) {
      return refuse(400,
                    fmt::format("header {} has a control character in its value", printable(name)));
    }
    if (head.headers.size() >= limits.max_headers) {
      return refuse(431, fmt::format("more than {} header fields", limits.max_headers));
    }
    head.headers.add(std::string(name), std::string(value));
  }
  auto framed = check_framing(head);
  if (!framed) return framed;
  return std::optional<RequestHead>(std::move(head));
}

}  // namespace cairn::net
