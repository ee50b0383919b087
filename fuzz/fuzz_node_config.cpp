// libFuzzer target: the node configuration parser and the deployment file parser.
//
// The fuzz build has no market or node library (market needs libtorch, which the clang 16 +
// libc++ build cannot link), so the parser's one source file is compiled in here; it needs
// only base, chain and nlohmann_json, which the fuzz build has.
#include <cstddef>
#include <cstdint>

#include "node/config.cpp"  // NOLINT(bugprone-suspicious-include): see above

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView bytes(reinterpret_cast<const std::byte*>(data), size);
  auto config = cairn::node::parse_node_config(bytes, "/fuzz/node.json");
  if (config) {
    // Whatever parses has its paths made absolute and at least one role.
    if (!config->repo.is_absolute() || config->roles.empty()) __builtin_trap();
  }
  (void)cairn::node::parse_deployment(bytes, "fuzz");
  return 0;
}
