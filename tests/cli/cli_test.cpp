// The CLI as a user meets it: help, version, usage errors and their exit codes.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
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

namespace cairn {
namespace {

// The children of `parent` whose command name is `name`, from /proc.
std::vector<pid_t> children_named(pid_t parent, const std::string& name) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid_text = entry.path().filename().string();
    if (pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    std::string line, comm;
    pid_t ppid = -1;
    while (std::getline(status, line)) {
      if (line.starts_with("Name:")) comm = line.substr(line.find_first_not_of(" \t", 5));
      if (line.starts_with("PPid:")) ppid = std::stoi(line.substr(5));
    }
    if (ppid == parent && comm == name) found.push_back(std::stoi(pid_text));
  }
  return found;
}

bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(stat, text);
  // Gone, or a zombie waiting for init to reap it.
  return !text.empty() && text.find(") Z ") == std::string::npos;
}

// Ctrl-C on `task run` left its private anvil running: the default action of SIGINT skips
// every destructor. The chain now dies with the command however the command ends.
TEST(Cli, CtrlCOnTaskRunStopsItsPrivateChain) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) {
    GTEST_SKIP() << "Fashion-MNIST is not installed (scripts/setup installs it)";
  }
  testing::TempDir dir;
  const std::string binary = testing::cairn_binary().string();
  const std::string out = (dir / "out").string();
  const pid_t cairn_pid = ::fork();
  ASSERT_GE(cairn_pid, 0);
  if (cairn_pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execl(binary.c_str(), binary.c_str(), "task", "run", "--out", out.c_str(), "--rounds", "5",
            "--paillier-bits", "1024", "--insecure-test-key", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::vector<pid_t> anvils;
  for (int i = 0; i < 600 && anvils.empty(); ++i) {
    anvils = children_named(cairn_pid, "anvil");
    if (anvils.empty()) ::usleep(100000);
  }
  ASSERT_EQ(anvils.size(), 1u) << "task run started no anvil";
  ::kill(cairn_pid, SIGINT);
  int status = 0;
  ::waitpid(cairn_pid, &status, 0);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = !alive(anvils[0]);
    if (!gone) ::usleep(50000);
  }
  if (!gone) ::kill(anvils[0], SIGKILL);
  EXPECT_TRUE(gone) << "anvil " << anvils[0] << " outlived task run";
}

}  // namespace
}  // namespace cairn
