#pragma once
// The signing service's HTTP bodies, as pure functions: what its server accepts
// (seal/http/server.hpp) and what its client reads (seal/http/client.hpp). Outside http/ so
// that the fuzz build, which has no HTTP client, links them (fuzz_seal_http).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "seal/imprint.hpp"
#include "seal/publication.hpp"
#include "seal/signature.hpp"

namespace cairn::seal {

// Request bodies the server reads (checked against Content-Length before reading).
inline constexpr std::size_t kMaxSignBody = 64 * 1024;         // POST /sign: one imprint
inline constexpr std::size_t kMaxSignBatchBody = 4u << 20;     // POST /sign-batch
inline constexpr std::size_t kMaxSignBatchImprints = 100'000;  // per /sign-batch request

// Answers the client accepts.
inline constexpr std::size_t kMaxSignatureAnswer = 1u << 20;      // one signature
inline constexpr std::size_t kMaxSignatureBytes = 64 * 1024;      // per signature in a batch
inline constexpr std::size_t kMaxExtendAnswer = 1u << 20;         // an extend response PDU
inline constexpr std::size_t kMaxPublicationsAnswer = 16u << 20;  // publications file, cert
inline constexpr std::size_t kMaxJsonAnswer = 1u << 20;           // /publish, /status

struct PublishResult {
  std::uint64_t publication_time = 0;
  std::string publication_string;
};

// POST /sign's body: exactly one imprint.
[[nodiscard]] Result<Imprint> parse_sign_body(ByteView body);
// POST /sign-batch's body: imprints back to back, at least one, at most
// kMaxSignBatchImprints.
[[nodiscard]] Result<std::vector<Imprint>> parse_sign_batch_body(ByteView body);
// A decimal query value of at most 19 digits; nullopt for anything else.
std::optional<std::uint64_t> parse_decimal(std::string_view text);
// The `level` parameter of /sign: absent is 0; it must be below 254.
[[nodiscard]] Result<std::uint8_t> parse_level(const std::optional<std::string>& text);

// The answer to /sign: one signature over `expected`.
[[nodiscard]] Result<Signature> parse_sign_answer(ByteView body, const Imprint& expected);
// The answer to /sign-batch: signatures back to back, one per imprint asked for, in order.
[[nodiscard]] Result<std::vector<Signature>> parse_sign_batch_answer(
    ByteView body, const std::vector<Imprint>& expected);
// The answer to /extend: the calendar chain, or the extender's refusal (rejected).
[[nodiscard]] Result<CalendarChain> parse_extend_answer(ByteView body);
// The answer to /publish: {"publication_time": N, "publication_string": "...", ...}.
[[nodiscard]] Result<PublishResult> parse_publish_answer(std::string_view body);

}  // namespace cairn::seal
