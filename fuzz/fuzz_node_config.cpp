// libFuzzer target: the node configuration parser and the deployment file parser
// (market/deployment.cpp, in cairn_market_core, which the fuzz build links).
//
// The fuzz build has no node library (node needs market's roles, which need libtorch, and
// the clang 16 + libc++ build cannot link it), so the config parser's one source file is
// compiled in here; it needs only base, chain, market_core and nlohmann_json.
#include <cstddef>
#include <cstdint>

#include "market/deployment.hpp"
#include "node/config.cpp"  // NOLINT(bugprone-suspicious-include): see above

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView bytes(reinterpret_cast<const std::byte*>(data), size);
  auto config = cairn::node::parse_node_config(bytes, "/fuzz/node.json");
  if (config) {
    // Whatever parses has its paths made absolute and at least one role.
    if (!config->repo.is_absolute() || config->roles.empty()) __builtin_trap();
  }
  (void)cairn::market::parse_deployment(bytes, "fuzz");
  return 0;
}
