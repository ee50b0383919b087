// Kills a real `cairn add` of a large file part-way (SIGKILL, no chance to clean up) and
// then checks the store: no root may claim to be complete, every block that made it to
// disk must verify, and adding the file again must complete and pin it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "store/blockstore.hpp"
#include "store/exporter.hpp"
#include "store/importer.hpp"
#include "testing/testing.hpp"

namespace cairn::store {
namespace {

constexpr std::size_t kFileBytes = 160u << 20;

TEST(Crash, AddKilledMidwayLeavesNoCompleteRootAndReAddCompletes) {
  testing::TempDir dir;
  const auto file = dir / "big.bin";
  const auto content = testing::pseudo_random_bytes(kFileBytes, 42);
  testing::write_file(file, content);
  const auto repo = dir / "repo";
  const Cid expected = [&] {
    DiscardingSink sink;
    return import_bytes(content, sink).value().cid;
  }();

  int err_pipe[2];
  ASSERT_EQ(::pipe(err_pipe), 0);
  const std::string binary = testing::cairn_binary().string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(err_pipe[1], STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::close(err_pipe[0]);
    ::execl(binary.c_str(), binary.c_str(), "--repo", repo.c_str(), "add", file.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  // Wait for the sixth progress line (96 MiB imported), then kill without warning. Blocks
  // reach disk when a 32 MiB memtable flushes, and with two memtables RocksDB stalls writes
  // until the first flush is done, so by then some blocks are on disk and more are in flight.
  std::string seen;
  char buffer[512];
  bool progressed = false;
  while (!progressed) {
    const ssize_t n = ::read(err_pipe[0], buffer, sizeof buffer);
    if (n <= 0) break;
    seen.append(buffer, static_cast<std::size_t>(n));
    std::size_t lines = 0;
    for (std::size_t at = seen.find("adding "); at != std::string::npos;
         at = seen.find("adding ", at + 1)) {
      lines += seen.find('\n', at) != std::string::npos;
    }
    progressed = lines >= 6;
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(err_pipe[0]);
  ASSERT_TRUE(progressed) << "cairn add printed no progress: " << seen;
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "cairn add finished before it could be killed; the test needs a larger file";

  {
    auto store = Blockstore::open(repo / "blocks");
    ASSERT_TRUE(store) << store.error().to_string();
    EXPECT_TRUE((*store)->pins().value().empty()) << "a root claims to be complete after a crash";
    const auto report = (*store)->verify_all().value();
    EXPECT_TRUE(report.ok()) << report.problems.front();
    EXPECT_GT(report.blocks, 0u) << "nothing reached the store before the kill";
    EXPECT_LT(report.bytes, kFileBytes);
    std::printf("after SIGKILL: %llu blocks (%llu bytes) on disk, all verified, no pin\n",
                static_cast<unsigned long long>(report.blocks),
                static_cast<unsigned long long>(report.bytes));
  }

  const auto again =
      testing::run_command(binary + " --repo " + repo.string() + " --json add " + file.string());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("\"root\":\"" + expected.to_string() + "\""), std::string::npos)
      << again.out;

  auto store = Blockstore::open(repo / "blocks").value();
  const auto pins = store->pins().value();
  ASSERT_EQ(pins.size(), 1u);
  EXPECT_EQ(pins[0].cid, expected);
  std::uint64_t exported = 0;
  bool same = true;
  ASSERT_TRUE(export_file(expected, *store, [&](ByteView piece) -> Status {
    same = same && equal(piece, ByteView(content).subspan(exported, piece.size()));
    exported += piece.size();
    return {};
  }));
  EXPECT_EQ(exported, kFileBytes);
  EXPECT_TRUE(same);
}

}  // namespace
}  // namespace cairn::store
