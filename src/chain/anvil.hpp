#pragma once
// A local anvil (Foundry's development node, npm @foundry-rs/anvil-linux-amd64) on a free
// loopback port: started, waited for until it answers JSON-RPC, stopped on destruction.
// cairn uses it when no --rpc is given, and the tests run the real contracts on it.
#include <sys/types.h>

#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "chain/address.hpp"
#include "crypto/secp256k1.hpp"

namespace cairn::chain {

struct AnvilOptions {
  std::optional<std::filesystem::path> binary;  // default: find_anvil()
  std::uint16_t port = 0;                       // 0: a free loopback port
  std::uint64_t chain_id = 31337;
  std::optional<double> block_time;  // seconds between blocks; none: mine on every transaction
  std::optional<std::filesystem::path> state_file;  // --state: persisted across restarts
  std::optional<std::filesystem::path> log_file;    // anvil's output (default: discarded)
  std::vector<std::string> extra_args;
  // By default anvil dies with the thread that started it, however that ends (Ctrl-C,
  // SIGKILL, a crash): a private chain never outlives its command. `cairn chain up` sets
  // this to keep its chain running in the background.
  bool outlive_parent = false;
};

class Anvil {
 public:
  static Result<std::unique_ptr<Anvil>> start(AnvilOptions options = {});
  ~Anvil();
  Anvil(const Anvil&) = delete;
  Anvil& operator=(const Anvil&) = delete;

  const std::string& url() const { return url_; }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Leaves the process running after this object is gone (`cairn chain up`).
  void detach() { detached_ = true; }
  void stop();

 private:
  Anvil(pid_t pid, std::uint16_t port)
      : pid_(pid), port_(port), url_("http://127.0.0.1:" + std::to_string(port)) {}
  pid_t pid_;
  std::uint16_t port_;
  std::string url_;
  bool detached_ = false;
};

// $CAIRN_ANVIL, else <source>/node_modules/.bin/anvil ($CAIRN_SOURCE_DIR or the build's
// source tree), else `anvil` on PATH.
Result<std::filesystem::path> find_anvil();

// The ten well-known development accounts of anvil and hardhat (mnemonic "test test test
// test test test test test test test test junk"), funded with 10 000 ether on a fresh
// anvil. Public knowledge: never use them on a real network.
const crypto::Secp256k1SecretKey& dev_account_key(std::size_t index);  // index < 10
inline constexpr std::size_t kDevAccountCount = 10;
// The chain id of anvil, hardhat and the local ganache the tests start.
inline constexpr std::uint64_t kLocalChainId = 31337;
// The dev accounts' keys are public, so they may sign only on a local chain: anyone could
// take what they hold or sign as them anywhere else.
[[nodiscard]] Status check_dev_account_allowed(std::uint64_t chain_id);

}  // namespace cairn::chain
