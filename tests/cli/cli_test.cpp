// The CLI as a user meets it: help, version, usage errors and their exit codes.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/testing.hpp"

namespace cairn {
namespace {

testing::CommandResult cairn(const std::string& args) {
  return testing::run_command(testing::cairn_binary().string() + " " + args);
}

TEST(Cli, HelpListsCommandsAndExitsZero) {
  const auto r = cairn("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: cairn"), std::string::npos);
  EXPECT_NE(r.out.find("--json"), std::string::npos);
}

TEST(Cli, NoCommandIsAUsageError) {
  EXPECT_EQ(cairn("").exit_code, 2);
}

TEST(Cli, UnknownCommandIsAUsageError) {
  const auto r = cairn("no-such-command");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'no-such-command'"), std::string::npos);
}

TEST(Cli, VersionNamesTheCommit) {
  const auto r = cairn("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("cairn ", 0), 0u);
  EXPECT_NE(r.out.find("commit"), std::string::npos);
}

TEST(Cli, UnknownLogLevelIsAUsageError) {
  EXPECT_EQ(cairn("--log-level loud --help").exit_code, 2);
}

}  // namespace
}  // namespace cairn
