#pragma once
// KSI signature verification: the rules of the KSI specification grouped into its
// policies (internal, key-based, publications-file-based, user-publication-based,
// calendar-based) and the default chain of them. A verdict is OK, FAIL (the signature is
// wrong: tampered, inconsistent, not what was signed) or NA (this policy cannot decide
// with what it was given), with KSI's error code (GEN-01, INT-03, PUB-01, KEY-02, CAL-04...).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "seal/publication.hpp"
#include "seal/signature.hpp"

namespace cairn::seal {

enum class Verdict { ok, fail, na };
std::string_view verdict_name(Verdict verdict);  // "OK", "FAIL", "NA"

enum class Policy { internal, key_based, publications_file, user_publication, calendar, general };
std::string_view policy_name(Policy policy);
std::optional<Policy> policy_from_name(std::string_view name);

struct VerificationResult {
  Verdict verdict = Verdict::na;
  std::string error_code;  // empty for OK
  std::string policy;      // the policy that gave the verdict
  std::string message;

  bool ok() const { return verdict == Verdict::ok; }
};

// Returns the calendar hash chain from `aggregation_time` up to `publication_time` (or to
// the calendar's head when not given): a KSI extender, a cairn calendar, or a saved
// extender response.
using Extender = std::function<Result<CalendarChain>(
    std::uint64_t aggregation_time, std::optional<std::uint64_t> publication_time)>;

struct VerificationContext {
  const Signature* signature = nullptr;
  std::optional<Imprint> document_hash;
  std::uint64_t input_level = 0;
  // A publications file whose own signature the caller has already checked.
  const PublicationsFile* publications_file = nullptr;
  std::optional<PublishedData> user_publication;
  Extender extender;
  bool extending_permitted = false;
};

VerificationResult verify(const VerificationContext& context, Policy policy);

// Extends a signature to a publication: replaces the calendar chain, drops the
// authentication record and attaches the publication record.
Result<Signature> extend_signature(const Signature& signature, const CalendarChain& extended,
                                   const std::optional<PublicationRecord>& publication);

}  // namespace cairn::seal
