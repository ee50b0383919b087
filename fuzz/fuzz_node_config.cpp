// libFuzzer target: the node configuration parser, the deployment file parser and the
// verifier's trust root (market/deployment.cpp and market/trust_root.cpp, in
// cairn_market_core, which the fuzz build links): the files that say which chain and which
// contracts. A trust root that parses is written back to the same text.
//
// The fuzz build has no node library (node needs market's roles, which need libtorch, and
// the clang 16 + libc++ build cannot link it), so the config parser's one source file is
// compiled in here; it needs only base, chain, market_core and nlohmann_json.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "market/deployment.hpp"
#include "market/trust_root.hpp"
#include "node/config.cpp"  // NOLINT(bugprone-suspicious-include): see above

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView bytes(reinterpret_cast<const std::byte*>(data), size);
  auto config = cairn::node::parse_node_config(bytes, "/fuzz/node.json");
  if (config) {
    // Whatever parses has its paths made absolute and at least one role.
    if (!config->repo.is_absolute() || config->roles.empty()) __builtin_trap();
  }
  (void)cairn::market::parse_deployment(bytes, "fuzz");
  if (const auto trust = cairn::market::parse_trust_root(bytes, "fuzz")) {
    const std::string text = cairn::market::format_trust_root(*trust);
    const auto again = cairn::market::parse_trust_root(cairn::as_bytes(text), "fuzz");
    if (!again || cairn::market::format_trust_root(*again) != text) std::abort();
  }
  return 0;
}
