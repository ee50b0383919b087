#include "seal/http_codec.hpp"

#include "base/json.hpp"
#include "seal/tlv.hpp"

namespace cairn::seal {

Result<Imprint> parse_sign_body(ByteView body) {
  if (body.empty()) return fail(Errc::invalid_argument, "the body is empty; send one imprint");
  auto imprint = Imprint::parse(body);
  if (!imprint) return std::unexpected(std::move(imprint).error().context("the imprint"));
  return imprint;
}

Result<std::vector<Imprint>> parse_sign_batch_body(ByteView body) {
  if (body.empty()) return fail(Errc::invalid_argument, "the batch is empty");
  std::vector<Imprint> imprints;
  for (std::size_t offset = 0; offset < body.size();) {
    const HashInfo* info = hash_info(static_cast<std::uint8_t>(body[offset]));
    if (info == nullptr || body.size() - offset < 1 + info->digest_size) {
      return fail(Errc::invalid_argument, "the batch body is not a sequence of imprints (at byte " +
                                              std::to_string(offset) + ")");
    }
    if (imprints.size() == kMaxSignBatchImprints) {
      return fail(Errc::invalid_argument,
                  "a batch holds at most " + std::to_string(kMaxSignBatchImprints) + " imprints");
    }
    CAIRN_TRY_ASSIGN(Imprint imprint, Imprint::parse(body.subspan(offset, 1 + info->digest_size)));
    imprints.push_back(std::move(imprint));
    offset += 1 + info->digest_size;
  }
  return imprints;
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 19 ||
      text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : text)
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  return value;
}

Result<std::uint8_t> parse_level(const std::optional<std::string>& text) {
  if (!text) return std::uint8_t{0};
  const auto level = parse_decimal(*text);
  if (!level || *level > 253)
    return fail(Errc::invalid_argument, "level must be a number below 254");
  return static_cast<std::uint8_t>(*level);
}

Result<Signature> parse_sign_answer(ByteView body, const Imprint& expected) {
  auto signature = Signature::parse(body);
  if (!signature)
    return std::unexpected(std::move(signature).error().context("the service's signature"));
  if (!(signature->aggregation_chains.front().input_hash == expected)) {
    return fail(Errc::integrity, "the service signed a different hash");
  }
  return signature;
}

Result<std::vector<Signature>> parse_sign_batch_answer(ByteView body,
                                                       const std::vector<Imprint>& expected) {
  std::vector<Signature> signatures;
  std::size_t offset = 0;
  while (offset < body.size()) {
    if (signatures.size() == expected.size()) {
      return fail(Errc::integrity, "the service returned more signatures than it was asked for");
    }
    const std::size_t start = offset;
    CAIRN_TRY(read_tlv(body, offset));
    if (offset - start > kMaxSignatureBytes) {
      return fail(Errc::parse, "a signature in the batch answer is larger than " +
                                   std::to_string(kMaxSignatureBytes) + " bytes");
    }
    CAIRN_TRY_ASSIGN(Signature signature, parse_sign_answer(body.subspan(start, offset - start),
                                                            expected[signatures.size()]));
    signatures.push_back(std::move(signature));
  }
  if (signatures.size() != expected.size()) {
    return fail(Errc::integrity, "the service returned a different number of signatures");
  }
  return signatures;
}

Result<CalendarChain> parse_extend_answer(ByteView body) {
  CAIRN_TRY_ASSIGN(ExtendResponse response, parse_extend_response(body));
  if (response.status != 0 || !response.calendar_chain) {
    return fail(Errc::rejected, "extender refused: " + response.error_message);
  }
  return std::move(*response.calendar_chain);
}

Result<PublishResult> parse_publish_answer(std::string_view body) {
  CAIRN_TRY_ASSIGN(const auto json, parse_json(body, "the publish answer"));
  CAIRN_TRY_ASSIGN(auto object, JsonObject::of(json, "publish answer"));
  PublishResult result;
  CAIRN_TRY_ASSIGN(result.publication_time, object.u64("publication_time"));
  CAIRN_TRY_ASSIGN(result.publication_string, object.string("publication_string"));
  // Other keys (published_hash, ...) are the server's to add: not closed.
  return result;
}

}  // namespace cairn::seal
