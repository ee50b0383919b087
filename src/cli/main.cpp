// The `cairn` executable: the CLI boundary, where exceptions become exit codes.

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/command.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return cairn::cli::run_main(args);
  } catch (const cairn::cli::UsageError& e) {
    std::fprintf(stderr, "cairn: %s\n", e.what());
    return cairn::cli::kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cairn: %s\n", e.what());
    return cairn::cli::kExitFailure;
  }
}
