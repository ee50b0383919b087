#pragma once
// The deployment: the platform contracts `cairn chain deploy` put on a chain, and the one
// file format that records them. The CLI keeps it as <repo>/chain/config.json, `chain deploy
// --out FILE` writes it for node configs (chain.deployment), and nodes read it:
//
//   {"rpc": URL, "chainId": N, "startBlock": N,
//    "contracts": {"Anchor": ADDR, "DataTransfer": ADDR, "Registry": ADDR, "TrainingTask": ADDR}}
//
// One writer (format_deployment, save_deployment) and one reader (parse_deployment,
// load_deployment). The reader is strict: every contract is required, and an unknown key is
// refused with its path ("contracts.Registri: unknown key").
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "chain/address.hpp"

namespace cairn::market {

// The deployment a node works against.
struct Deployment {
  std::uint64_t chain_id = 0;
  chain::Address registry;
  chain::Address training_task;
  chain::Address anchor;
  chain::Address data_transfer;
  std::uint64_t start_block = 0;  // the deployment's block: event scans begin here

  // The contracts by their names in the file, in name order.
  [[nodiscard]] std::vector<std::pair<std::string, chain::Address>> contracts() const;
};

// The deployment file: a deployment and the JSON-RPC URL of the node it was deployed through.
struct DeploymentFile {
  std::string rpc;
  Deployment deployment;
};

// `where` names the file in errors ("deployment.json: contracts.Anchor: missing").
[[nodiscard]] Result<DeploymentFile> parse_deployment(ByteView text, std::string_view where);
[[nodiscard]] Result<DeploymentFile> load_deployment(const std::filesystem::path& file);

// The file's text (indented JSON, ending in a newline); parse_deployment reads it back.
[[nodiscard]] std::string format_deployment(const DeploymentFile& file);
// Writes the file atomically.
[[nodiscard]] Status save_deployment(const std::filesystem::path& path, const DeploymentFile& file);

}  // namespace cairn::market
