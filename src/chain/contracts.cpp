#include "chain/contracts.hpp"

#include <string>

namespace cairn::chain {

Result<ContractArtifact> find_contract(std::string_view name) {
  for (const auto& artifact : embedded_contracts()) {
    if (artifact.name == name) return artifact;
  }
  return fail(Errc::not_found, "no contract named '" + std::string(name) + "' is built into cairn");
}

}  // namespace cairn::chain
