// ABI decoding: the first input byte picks a type (static, dynamic, nested, tuple); the
// rest is decoded as that type's data. Decoding never reads past the input or allocates
// beyond it, and whatever decodes re-encodes to a prefix-compatible canonical form that
// decodes to the same values. Revert-data decoding is fuzzed on the whole input too.
#include <cstdlib>

#include "chain/abi.hpp"

namespace abi = cairn::chain::abi;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const char* const kTypes[] = {
      "uint256",         "int8",
      "address",         "bool",
      "bytes32",         "bytes",
      "string",          "uint256[]",
      "bytes[]",         "string[2]",
      "(uint256,bytes)", "(address,uint256[],(string,bool)[])",
      "uint32[][3]",     "(bytes4,int256)[2]",
      "bytes10",         "(string[],uint8)",
  };
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  (void)abi::decode_revert(input, nullptr);
  if (size == 0) return 0;
  const auto type = abi::Type::parse(kTypes[data[0] % (sizeof(kTypes) / sizeof(kTypes[0]))]);
  if (!type) std::abort();
  const auto body = input.subspan(1);
  const auto values = abi::decode({*type}, body);
  if (!values) return 0;
  const auto encoded = abi::encode({*type}, *values);
  if (!encoded) std::abort();
  const auto again = abi::decode({*type}, *encoded);
  if (!again) std::abort();
  const auto re_encoded = abi::encode({*type}, *again);
  if (!re_encoded || !cairn::equal(*re_encoded, *encoded)) std::abort();
  return 0;
}
