// KSI signatures: parsing never crashes; whatever parses serializes to bytes that parse to
// the same serialization, and every verification policy runs to a verdict.
#include <cstdlib>

#include "seal/verify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  auto signature = cairn::seal::Signature::parse(input);
  if (!signature) return 0;
  const cairn::Bytes once = signature->serialize();
  auto again = cairn::seal::Signature::parse(once);
  if (!again || !cairn::equal(again->serialize(), once)) std::abort();
  cairn::seal::VerificationContext context;
  context.signature = &*signature;
  context.extender =
      [&](std::uint64_t,
          std::optional<std::uint64_t>) -> cairn::Result<cairn::seal::CalendarChain> {
    if (signature->calendar_chain) return *signature->calendar_chain;
    return cairn::fail(cairn::Errc::unavailable, "no extender");
  };
  context.extending_permitted = true;
  if (signature->publication) context.user_publication = signature->publication->data;
  for (auto policy : {cairn::seal::Policy::internal, cairn::seal::Policy::key_based,
                      cairn::seal::Policy::user_publication, cairn::seal::Policy::calendar,
                      cairn::seal::Policy::general}) {
    (void)cairn::seal::verify(context, policy);
  }
  return 0;
}
