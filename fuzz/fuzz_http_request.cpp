// HTTP/1.1 request heads, URLs and query strings: whatever the bytes, parsing returns an
// answer (never a crash or an over-read), a complete head lies within the input and parses
// the same when given alone, and every refusal carries an HTTP error status.
#include <cstddef>
#include <cstdint>

#include "net/request_parser.hpp"
#include "net/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  cairn::net::HeadLimits limits;
  limits.max_header_bytes = 4096;
  limits.max_headers = 32;
  const auto parsed = cairn::net::parse_request_head(input, limits);
  if (!parsed) {
    const int status = parsed.error().status;
    if (status < 400 || status > 599 || parsed.error().message.empty()) __builtin_trap();
  } else if (parsed->has_value()) {
    const auto& head = **parsed;
    if (head.head_size == 0 || head.head_size > size || head.head_size > limits.max_header_bytes) {
      __builtin_trap();
    }
    if (head.path.empty() || head.path.find('\0') != std::string::npos) __builtin_trap();
    if (head.headers.size() > limits.max_headers) __builtin_trap();
    // The head alone parses to the same thing: the parser never looked past it.
    const auto again = cairn::net::parse_request_head(input.first(head.head_size), limits);
    if (!again || !again->has_value() || (*again)->head_size != head.head_size ||
        (*again)->content_length != head.content_length || (*again)->path != head.path) {
      __builtin_trap();
    }
    (void)cairn::net::parse_query(head.query);
  }
  const std::string_view text = cairn::as_chars(input.first(std::min<std::size_t>(size, 2048)));
  if (const auto url = cairn::net::Url::parse(text)) {
    // A parsed URL's redacted form never carries its userinfo (nor its path).
    const std::string redacted = url->redacted();
    if (redacted.find('@') != std::string::npos) __builtin_trap();
    if (url->target != "/" && !redacted.ends_with("/…")) __builtin_trap();
    (void)url->join(text);
  }
  return 0;
}
