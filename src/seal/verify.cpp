#include "seal/verify.hpp"

#include <fmt/format.h>

namespace cairn::seal {
namespace {

// A rule either passes (nullopt) or decides the policy's verdict.
using Step = std::optional<VerificationResult>;

Step failed(std::string code, std::string message) {
  return VerificationResult{Verdict::fail, std::move(code), {}, std::move(message)};
}
Step inconclusive(std::string message, std::string code = "GEN-02") {
  return VerificationResult{Verdict::na, std::move(code), {}, std::move(message)};
}

#define CAIRN_RULE(expr)                          \
  do {                                            \
    if (Step step_ = (expr); step_) return step_; \
  } while (false)

Result<Imprint> rfc3161_output_hash(const Signature& signature) {
  const Rfc3161Record& record = *signature.rfc3161;
  CAIRN_TRY_ASSIGN(HashId tst_id, checked_hash_id(record.tst_info_algorithm));
  CAIRN_TRY_ASSIGN(HashId attr_id, checked_hash_id(record.signed_attr_algorithm));
  ImprintHasher tst(tst_id);
  tst.update(record.tst_info_prefix)
      .update(record.input_hash.digest())
      .update(record.tst_info_suffix);
  const Imprint tst_hash = tst.finish();
  ImprintHasher attr(attr_id);
  attr.update(record.signed_attr_prefix)
      .update(tst_hash.digest())
      .update(record.signed_attr_suffix);
  const Imprint attr_hash = attr.finish();
  return hash_data(signature.aggregation_chains.front().input_hash.algorithm(), attr_hash.bytes());
}

Step check_metadata(const LinkMetadata& metadata) {
  if (metadata.padding_count > 1) return failed("INT-11", "metadata has several padding elements");
  if (metadata.padding_count == 1) {
    if (!metadata.padding_first) return failed("INT-11", "metadata padding is not first");
    if (!metadata.padding_flags_ok) {
      return failed("INT-11", "metadata padding is not TLV8 with non-critical and forward flags");
    }
    const auto& pad = metadata.padding_value;
    if (pad.empty() || pad.size() > 2 || pad[0] != std::byte{1} ||
        (pad.size() == 2 && pad[1] != std::byte{1})) {
      return failed("INT-11", "metadata padding value is not 01 or 0101");
    }
    if (metadata.content.size() % 2 != 0) {
      return failed("INT-11", "metadata with padding has an odd length");
    }
    return std::nullopt;
  }
  const HashInfo* info = hash_info(static_cast<std::uint8_t>(metadata.content.at(0)));
  if (info != nullptr && info->digest_size + 1 == metadata.content.size()) {
    return failed("INT-11", "metadata without padding could be read as an imprint");
  }
  return std::nullopt;
}

bool any_left_link_algorithm(const CalendarChain& chain, bool (*test)(std::uint8_t, std::int64_t)) {
  for (const auto& link : chain.links) {
    if (link.left &&
        test(link.sibling.algorithm_byte(), static_cast<std::int64_t>(chain.publication_time))) {
      return true;
    }
  }
  return false;
}

struct InternalState {
  Imprint aggregation_output;
};

Step internal_rules(const VerificationContext& ctx, InternalState& state) {
  const Signature& sig = *ctx.signature;
  const AggregationChain& first = sig.aggregation_chains.front();
  if (ctx.document_hash) {
    if (ctx.document_hash->algorithm() != sig.document_hash().algorithm()) {
      return failed("GEN-04", "document hash algorithm differs from the signed hash's");
    }
    if (!(*ctx.document_hash == sig.document_hash())) {
      return failed("GEN-01", "wrong document: the signed hash is " + sig.document_hash().hex());
    }
  }
  if (ctx.input_level > 0) {
    if (ctx.input_level > 0xFF) return inconclusive("input level above 255");
    if (sig.rfc3161) return failed("GEN-03", "an RFC 3161 signature has input level 0");
    if (first.links.front().level_correction < ctx.input_level) {
      return failed("GEN-03", "input hash level is larger than the first level correction");
    }
  }
  if (deprecated_at(sig.document_hash().algorithm_byte(),
                    static_cast<std::int64_t>(sig.aggregation_time()))) {
    return failed("INT-13", "document hash algorithm was deprecated at signing time");
  }
  if (sig.rfc3161) {
    const auto time = static_cast<std::int64_t>(sig.rfc3161->aggregation_time);
    for (std::uint64_t algorithm :
         {sig.rfc3161->signed_attr_algorithm, sig.rfc3161->tst_info_algorithm}) {
      if (algorithm <= 0xFF && deprecated_at(static_cast<std::uint8_t>(algorithm), time)) {
        return failed("INT-14", "RFC 3161 record uses a hash algorithm deprecated at signing time");
      }
    }
    if (deprecated_at(first.input_hash.algorithm_byte(), time)) {
      return failed("INT-17", "RFC 3161 output hash algorithm was deprecated at signing time");
    }
    auto output = rfc3161_output_hash(sig);
    if (!output) return inconclusive("RFC 3161 record: " + output.error().message);
    if (!(*output == first.input_hash)) {
      return failed("INT-01", "RFC 3161 record output does not match the aggregation chain input");
    }
  }
  for (const auto& chain : sig.aggregation_chains) {
    for (const auto& link : chain.links) {
      if (link.kind == AggregationLink::Kind::metadata) CAIRN_RULE(check_metadata(*link.metadata));
    }
  }
  for (const auto& chain : sig.aggregation_chains) {
    if (chain.algorithm <= 0xFF &&
        deprecated_at(static_cast<std::uint8_t>(chain.algorithm),
                      static_cast<std::int64_t>(chain.aggregation_time))) {
      return failed("INT-15", "aggregation chain algorithm was deprecated at signing time");
    }
  }
  if (sig.rfc3161 && sig.rfc3161->chain_index != first.chain_index) {
    return failed("INT-12", "RFC 3161 record chain index differs from the first chain's");
  }
  for (std::size_t i = 1; i < sig.aggregation_chains.size(); ++i) {
    const auto& previous = sig.aggregation_chains[i - 1].chain_index;
    const auto& current = sig.aggregation_chains[i].chain_index;
    if (previous.size() != current.size() + 1 ||
        !std::equal(current.begin(), current.end(), previous.begin())) {
      return failed("INT-12", "chain index is not a continuation of the previous chain's");
    }
  }
  std::optional<Imprint> running;
  std::uint64_t level = 0;
  for (const auto& chain : sig.aggregation_chains) {
    if (running && !(*running == chain.input_hash)) {
      return failed("INT-01", "aggregation chain input does not match the previous chain's output");
    }
    auto result = compute_aggregation_chain(chain, chain.input_hash, level);
    if (!result) return inconclusive("aggregation chain: " + result.error().message);
    running = result->hash;
    level = result->level;
  }
  state.aggregation_output = *running;
  if (sig.rfc3161 && sig.rfc3161->aggregation_time != first.aggregation_time) {
    return failed("INT-02", "RFC 3161 record time differs from the aggregation time");
  }
  for (const auto& chain : sig.aggregation_chains) {
    if (chain.aggregation_time != first.aggregation_time) {
      return failed("INT-02", "aggregation chains come from different rounds");
    }
  }
  for (const auto& chain : sig.aggregation_chains) {
    if (chain.chain_index.back() != chain_shape(chain)) {
      return failed("INT-10", "chain index does not match the chain's shape");
    }
  }
  if (sig.calendar_chain) {
    const CalendarChain& calendar = *sig.calendar_chain;
    if (!(calendar.input_hash == state.aggregation_output)) {
      return failed("INT-03", "calendar chain input does not match the aggregation output");
    }
    if (calendar.effective_aggregation_time() != first.aggregation_time) {
      return failed("INT-04", "calendar chain aggregation time mismatch");
    }
    auto shape_time = calendar_chain_time(calendar);
    if (!shape_time) return inconclusive(shape_time.error().message, "INT-05");
    if (*shape_time != calendar.effective_aggregation_time()) {
      return failed("INT-05", "calendar chain shape is inconsistent with its aggregation time");
    }
    if (any_left_link_algorithm(calendar, obsolete_at)) {
      return failed("INT-16", "calendar chain uses an algorithm obsolete at publication time");
    }
    auto root = compute_calendar_chain(calendar);
    if (!root) return inconclusive(root.error().message);
    if (sig.calendar_auth) {
      if (sig.calendar_auth->data.publication_time != calendar.publication_time) {
        return failed("INT-06", "calendar authentication record time differs from the chain's");
      }
      if (!(sig.calendar_auth->data.published_hash == *root)) {
        return failed("INT-08", "calendar chain root differs from the authentication record's");
      }
    }
    if (sig.publication) {
      if (sig.publication->data.publication_time != calendar.publication_time) {
        return failed("INT-07", "publication record time differs from the calendar chain's");
      }
      if (!(sig.publication->data.published_hash == *root)) {
        return failed("INT-09", "calendar chain root differs from the published hash");
      }
    }
  }
  return std::nullopt;
}

// Checks an extended calendar chain against a publication (the PUB-01..03 rules).
Step check_extension_to(const VerificationContext& ctx, const InternalState& state,
                        const PublishedData& publication) {
  if (!ctx.extending_permitted) return inconclusive("extending is not permitted");
  if (!ctx.extender) return inconclusive("no extender available");
  const auto aggregation_time = ctx.signature->aggregation_time();
  auto extended = ctx.extender(aggregation_time, publication.publication_time);
  if (!extended) return inconclusive("extending failed: " + extended.error().message);
  if (any_left_link_algorithm(*extended, deprecated_at)) {
    return inconclusive("extended calendar chain uses an algorithm deprecated at publication time");
  }
  auto root = compute_calendar_chain(*extended);
  if (!root) return inconclusive(root.error().message);
  if (!(*root == publication.published_hash)) {
    return failed("PUB-01", "extended calendar root differs from the publication");
  }
  auto shape_time = calendar_chain_time(*extended);
  if (extended->publication_time != publication.publication_time || !shape_time ||
      *shape_time != aggregation_time) {
    return failed("PUB-02", "extender response is inconsistent with the signature's times");
  }
  if (!(extended->input_hash == state.aggregation_output)) {
    return failed("PUB-03", "extended calendar chain input differs from the aggregation output");
  }
  return VerificationResult{Verdict::ok, {}, {}, "extended to the publication"};
}

Step key_based(const VerificationContext& ctx) {
  const Signature& sig = *ctx.signature;
  if (!sig.calendar_chain) return inconclusive("signature has no calendar hash chain");
  if (!sig.calendar_auth) return inconclusive("signature has no calendar authentication record");
  if (any_left_link_algorithm(*sig.calendar_chain, deprecated_at)) {
    return inconclusive("calendar chain uses an algorithm deprecated at publication time");
  }
  if (ctx.publications_file == nullptr)
    return inconclusive("no publications file for certificates");
  const auto& auth = *sig.calendar_auth;
  const CertificateRecord* cert = ctx.publications_file->certificate(auth.signature.certificate_id);
  if (cert == nullptr)
    return inconclusive("signing certificate not found in the publications file");
  auto info = certificate_info(cert->der);
  if (!info) return inconclusive(info.error().message);
  const auto signed_at = static_cast<std::int64_t>(auth.data.publication_time);
  if (signed_at < info->not_before || signed_at > info->not_after) {
    return failed("KEY-03", "signing certificate was not valid at aggregation time");
  }
  auto checked = verify_pki_signature(auth.signature.type, cert->der,
                                      auth.data_raw.empty() ? auth.data.encode() : auth.data_raw,
                                      auth.signature.value);
  if (!checked) return failed("KEY-02", checked.error().message);
  return VerificationResult{Verdict::ok, {}, {}, "calendar authentication record verified"};
}

Step publications_file_based(const VerificationContext& ctx, const InternalState& state) {
  const Signature& sig = *ctx.signature;
  if (ctx.publications_file == nullptr) return inconclusive("no publications file");
  if (sig.publication) {
    const PublicationRecord* match =
        ctx.publications_file->publication_at(sig.publication->data.publication_time);
    if (match != nullptr) {
      if (!(match->data.published_hash == sig.publication->data.published_hash)) {
        return failed("PUB-05", "publication record differs from the publications file's");
      }
      if (any_left_link_algorithm(*sig.calendar_chain, deprecated_at)) {
        return inconclusive("calendar chain uses an algorithm deprecated at publication time");
      }
      return VerificationResult{Verdict::ok, {}, {}, "publication found in the publications file"};
    }
  }
  const PublicationRecord* later =
      ctx.publications_file->first_publication_after(sig.aggregation_time() + 1);
  if (later == nullptr) return inconclusive("no suitable publication in the publications file");
  return check_extension_to(ctx, state, later->data);
}

Step user_publication_based(const VerificationContext& ctx, const InternalState& state) {
  const Signature& sig = *ctx.signature;
  if (!ctx.user_publication) return inconclusive("no user publication given");
  const PublishedData& user = *ctx.user_publication;
  if (sig.publication && sig.publication->data.publication_time == user.publication_time) {
    if (!(sig.publication->data.published_hash == user.published_hash)) {
      return failed("PUB-04", "publication record differs from the user publication");
    }
    if (any_left_link_algorithm(*sig.calendar_chain, deprecated_at)) {
      return inconclusive("calendar chain uses an algorithm deprecated at publication time");
    }
    return VerificationResult{
        Verdict::ok, {}, {}, "publication record matches the user publication"};
  }
  if (user.publication_time <= sig.aggregation_time()) {
    return inconclusive("user publication is older than the signature");
  }
  return check_extension_to(ctx, state, user);
}

Step calendar_based(const VerificationContext& ctx, const InternalState& state) {
  const Signature& sig = *ctx.signature;
  if (!ctx.extender) return inconclusive("no extender available");
  const auto aggregation_time = sig.aggregation_time();
  std::optional<std::uint64_t> target;
  if (sig.calendar_chain) target = sig.calendar_chain->publication_time;
  auto extended = ctx.extender(aggregation_time, target);
  if (!extended) return inconclusive("extending failed: " + extended.error().message);
  if (sig.calendar_chain) {
    auto root = compute_calendar_chain(*sig.calendar_chain);
    auto extended_root = compute_calendar_chain(*extended);
    if (!root || !extended_root) return inconclusive("cannot compute calendar roots");
    if (!(*root == *extended_root)) {
      return failed("CAL-01", "calendar root differs from the calendar's");
    }
    std::vector<const CalendarLink*> ours, theirs;
    for (const auto& link : sig.calendar_chain->links) {
      if (!link.left) ours.push_back(&link);
    }
    for (const auto& link : extended->links) {
      if (!link.left) theirs.push_back(&link);
    }
    if (ours.size() != theirs.size()) return failed("CAL-04", "right link counts differ");
    for (std::size_t i = 0; i < ours.size(); ++i) {
      if (!(ours[i]->sibling == theirs[i]->sibling)) {
        return failed("CAL-04", "calendar chain right links are inconsistent");
      }
    }
  }
  if (!(extended->input_hash == state.aggregation_output)) {
    return failed("CAL-02", "aggregation root differs from the calendar chain's input");
  }
  if (extended->effective_aggregation_time() != aggregation_time) {
    return failed("CAL-03", "aggregation time differs from the calendar's");
  }
  return VerificationResult{Verdict::ok, {}, {}, "calendar chain confirmed by the calendar"};
}

VerificationResult finish(Step step, Policy policy) {
  VerificationResult result = step ? std::move(*step) : VerificationResult{Verdict::ok, {}, {}, ""};
  result.policy = std::string(policy_name(policy));
  return result;
}

}  // namespace

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::ok:
      return "OK";
    case Verdict::fail:
      return "FAIL";
    case Verdict::na:
      return "NA";
  }
  return "NA";
}

std::string_view policy_name(Policy policy) {
  switch (policy) {
    case Policy::internal:
      return "internal";
    case Policy::key_based:
      return "key";
    case Policy::publications_file:
      return "publications-file";
    case Policy::user_publication:
      return "user-publication";
    case Policy::calendar:
      return "calendar";
    case Policy::general:
      return "default";
  }
  return "unknown";
}

std::optional<Policy> policy_from_name(std::string_view name) {
  if (name == "internal") return Policy::internal;
  if (name == "key" || name == "key-based") return Policy::key_based;
  if (name == "publications-file" || name == "publicationsFile") return Policy::publications_file;
  if (name == "user-publication" || name == "userPublication") return Policy::user_publication;
  if (name == "calendar" || name == "calendar-based") return Policy::calendar;
  if (name == "default" || name == "general") return Policy::general;
  return std::nullopt;
}

VerificationResult verify(const VerificationContext& ctx, Policy policy) {
  InternalState state;
  if (Step step = internal_rules(ctx, state); step)
    return finish(std::move(step), Policy::internal);
  switch (policy) {
    case Policy::internal:
      return finish(std::nullopt, Policy::internal);
    case Policy::key_based:
      return finish(key_based(ctx), policy);
    case Policy::publications_file:
      return finish(publications_file_based(ctx, state), policy);
    case Policy::user_publication:
      return finish(user_publication_based(ctx, state), policy);
    case Policy::calendar:
      return finish(calendar_based(ctx, state), policy);
    case Policy::general:
      break;
  }
  // KSI's default order: a user publication if one was given; otherwise the publications
  // file (the strongest proof), then the calendar authentication record, then the calendar.
  if (ctx.user_publication)
    return finish(user_publication_based(ctx, state), Policy::user_publication);
  std::optional<VerificationResult> last;
  if (ctx.publications_file != nullptr && ctx.signature->publication) {
    auto result = finish(publications_file_based(ctx, state), Policy::publications_file);
    if (result.verdict != Verdict::na) return result;
    last = result;
  }
  if (ctx.signature->calendar_auth) {
    auto result = finish(key_based(ctx), Policy::key_based);
    if (result.verdict != Verdict::na) return result;
    last = result;
  }
  if (ctx.publications_file != nullptr && ctx.extending_permitted) {
    auto result = finish(publications_file_based(ctx, state), Policy::publications_file);
    if (result.verdict != Verdict::na) return result;
    last = result;
  }
  if (ctx.extender) {
    auto result = finish(calendar_based(ctx, state), Policy::calendar);
    if (result.verdict != Verdict::na) return result;
    last = result;
  }
  if (last) return *last;
  return finish(inconclusive("nothing to verify the signature against beyond its internal "
                             "consistency (give a publications file, publication string or "
                             "extender)"),
                Policy::general);
}

Result<Signature> extend_signature(const Signature& signature, const CalendarChain& extended,
                                   const std::optional<PublicationRecord>& publication) {
  Signature out = signature;
  out.calendar_chain = extended;
  out.calendar_auth.reset();
  out.publication = publication;
  return out;
}

}  // namespace cairn::seal
