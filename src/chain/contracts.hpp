#pragma once
// The platform's contracts (contracts/*.sol), compiled at build time and embedded here.
#include <span>
#include <string_view>

#include "base/error.hpp"

namespace cairn::chain {

struct ContractArtifact {
  std::string_view name;                   // "DataTransfer"
  std::string_view abi_json;               // the Solidity ABI JSON array
  std::string_view bytecode_hex;           // creation code, 0x-prefixed
  std::string_view deployed_bytecode_hex;  // runtime code, 0x-prefixed
};

std::span<const ContractArtifact> embedded_contracts();
std::string_view solc_version();
Result<ContractArtifact> find_contract(std::string_view name);

}  // namespace cairn::chain
