#include "market/deployment.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "base/json.hpp"
#include "market/artifacts.hpp"

namespace cairn::market {

using nlohmann::json;

namespace {

// The four contracts of a deployment, by their names in the file (name order).
template <class D>
auto named_contracts(D& deployment) {
  return std::array{std::pair{"Anchor", &deployment.anchor},
                    std::pair{"DataTransfer", &deployment.data_transfer},
                    std::pair{"Registry", &deployment.registry},
                    std::pair{"TrainingTask", &deployment.training_task}};
}

// A deployment file is a few hundred bytes.
constexpr std::uint64_t kDeploymentFileCap = 64 * 1024;

}  // namespace

std::vector<std::pair<std::string, chain::Address>> Deployment::contracts() const {
  std::vector<std::pair<std::string, chain::Address>> out;
  for (const auto& [name, address] : named_contracts(*this))
    out.emplace_back(name, *address);
  return out;
}

Result<DeploymentFile> parse_deployment(ByteView text, std::string_view where) {
  return with_context(
      [&]() -> Result<DeploymentFile> {
        CAIRN_TRY_ASSIGN(const json document, parse_json(text, "the deployment"));
        CAIRN_TRY_ASSIGN(JsonObject top, JsonObject::of(document));
        DeploymentFile file;
        CAIRN_TRY_ASSIGN(file.rpc, top.string("rpc"));
        CAIRN_TRY_ASSIGN(file.deployment.chain_id, top.u64("chainId", 1));
        CAIRN_TRY_ASSIGN(const auto start_block, top.optional_u64("startBlock"));
        file.deployment.start_block = start_block.value_or(0);
        CAIRN_TRY_ASSIGN(JsonObject contracts, top.object("contracts"));
        for (const auto& [name, target] : named_contracts(file.deployment)) {
          CAIRN_TRY_ASSIGN(const JsonNode node, contracts.required(name));
          CAIRN_TRY_ASSIGN(*target, read_address(node));
        }
        CAIRN_TRY(contracts.close());
        CAIRN_TRY(top.close());
        return file;
      }(),
      where);
}

Result<DeploymentFile> load_deployment(const std::filesystem::path& file) {
  CAIRN_TRY_ASSIGN(const std::string text, file::read_text(file, kDeploymentFileCap));
  return parse_deployment(as_bytes(text), file.string());
}

std::string format_deployment(const DeploymentFile& file) {
  json contracts = json::object();
  for (const auto& [name, address] : file.deployment.contracts())
    contracts[name] = address.to_checksum();
  const json document = {{"rpc", file.rpc},
                         {"chainId", file.deployment.chain_id},
                         {"startBlock", file.deployment.start_block},
                         {"contracts", contracts}};
  return document.dump(2) + "\n";
}

Status save_deployment(const std::filesystem::path& path, const DeploymentFile& file) {
  return file::write_atomic(path, format_deployment(file));
}

}  // namespace cairn::market
