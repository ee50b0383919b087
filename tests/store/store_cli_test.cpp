// The store's commands, run as the real `cairn` binary in temporary repositories.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "store/car.hpp"
#include "testing/testing.hpp"

namespace cairn::store {
namespace {

using testing::CommandResult;

class StoreCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "files" / "sub");
    testing::write_file(dir_ / "files" / "hello.txt", as_bytes(std::string_view("hello world")));
    testing::write_file(dir_ / "files" / "sub" / "data.bin",
                        testing::pseudo_random_bytes(600000, 3));
  }

  CommandResult cairn(const std::string& repo, const std::string& args) {
    return testing::run_command(testing::cairn_binary().string() + " --repo " +
                                (dir_ / repo).string() + " " + args);
  }
  static nlohmann::json json_of(const CommandResult& r) {
    const auto last = r.out.find_last_of('\n', r.out.size() - 2);
    return nlohmann::json::parse(r.out.substr(last == std::string::npos ? 0 : last + 1));
  }
  std::string add_files(const std::string& repo) {
    const auto added = cairn(repo, "--json add " + (dir_ / "files").string());
    EXPECT_EQ(added.exit_code, 0) << added.err;
    return json_of(added).at("root").get<std::string>();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  testing::TempDir dir_;
};

TEST_F(StoreCli, AddPrintsEveryEntryRootLastLikeIpfs) {
  const auto added = cairn("a", "add " + path("files"));
  ASSERT_EQ(added.exit_code, 0) << added.err;
  std::vector<std::string> lines;
  std::istringstream in(added.out);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u) << added.out;  // hello.txt, sub/data.bin, sub, files
  EXPECT_EQ(lines[0],
            "added bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e files/hello.txt");
  EXPECT_TRUE(lines.back().starts_with("added bafybei")) << lines.back();
  EXPECT_TRUE(lines.back().ends_with(" files"));
  const auto json = json_of(cairn("a", "--json add " + path("files")));
  EXPECT_EQ(json.at("entries").size(), 4u);
  EXPECT_EQ("added " + json.at("root").get<std::string>() + " files", lines.back());
}

TEST_F(StoreCli, OnlyHashNeedsNoRepository) {
  const auto hashed = cairn("never-created", "add --only-hash " + path("files/hello.txt"));
  ASSERT_EQ(hashed.exit_code, 0) << hashed.err;
  EXPECT_EQ(hashed.out,
            "added bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e hello.txt\n");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "never-created"));
}

TEST_F(StoreCli, CatAndGetGiveBackTheOriginals) {
  const auto root = add_files("a");
  const auto cat = cairn("a", "cat bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(cat.out, "hello world");
  ASSERT_EQ(cairn("a", "get " + root + " -o " + path("out")).exit_code, 0);
  EXPECT_EQ(testing::read_file(dir_ / "out" / "sub" / "data.bin"),
            testing::read_file(dir_ / "files" / "sub" / "data.bin"));
  // -o through a symbolic link writes the link's target and leaves the link in place.
  std::filesystem::create_symlink(dir_ / "target.txt", dir_ / "link.txt");
  ASSERT_EQ(cairn("a", "cat bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e -o " +
                           path("link.txt"))
                .exit_code,
            0);
  EXPECT_TRUE(std::filesystem::is_symlink(dir_ / "link.txt"));
  EXPECT_EQ(testing::read_file(dir_ / "target.txt"), to_bytes("hello world"));
  // cat of a directory is refused with a message.
  const auto dir_cat = cairn("a", "cat " + root);
  EXPECT_EQ(dir_cat.exit_code, 1);
  EXPECT_NE(dir_cat.err.find("director"), std::string::npos) << dir_cat.err;
}

TEST_F(StoreCli, CarExportImportPinAndGcAcrossRepositories) {
  const auto root = add_files("a");
  ASSERT_EQ(cairn("a", "car export " + root + " -o " + path("x.car")).exit_code, 0);
  const auto imported = cairn("b", "car import " + path("x.car"));
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NE(imported.out.find(root), std::string::npos);
  const auto pins = cairn("b", "pin ls");
  EXPECT_EQ(pins.out, root + " recursive x.car\n");
  // The exported CAR is what `cairn car export` of the imported copy writes too.
  ASSERT_EQ(cairn("b", "car export " + root + " -o " + path("y.car")).exit_code, 0);
  EXPECT_EQ(testing::read_file(dir_ / "x.car"), testing::read_file(dir_ / "y.car"));
  EXPECT_EQ(cairn("b", "repo verify").exit_code, 0);
  // Unpinned, everything is garbage.
  ASSERT_EQ(cairn("b", "pin rm " + root).exit_code, 0);
  const auto gc = json_of(cairn("b", "--json gc"));
  // hello.txt (1 block), data.bin (3 leaves + 1 node), sub, files.
  EXPECT_EQ(gc.at("blocks_removed").get<int>(), 7);
  EXPECT_EQ(gc.at("blocks_kept").get<int>(), 0);
  EXPECT_EQ(cairn("b", "cat bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e").exit_code,
            1);
}

TEST_F(StoreCli, BadInputsGetAMessageAndExitOne) {
  const auto root = add_files("a");
  const auto bad_cid = cairn("a", "cat bafyNOTACID");
  EXPECT_EQ(bad_cid.exit_code, 2);
  EXPECT_NE(bad_cid.err.find("not a CID"), std::string::npos) << bad_cid.err;

  const auto missing =
      cairn("a", "cat bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
            std::string::npos);

  const auto unreadable = cairn("a", "add " + path("no-such-file"));
  EXPECT_EQ(unreadable.exit_code, 1);
  EXPECT_NE(unreadable.err.find("no-such-file"), std::string::npos) << unreadable.err;

  // A truncated CAR is rejected whole and the repository is unchanged.
  ASSERT_EQ(cairn("a", "car export " + root + " -o " + path("x.car")).exit_code, 0);
  auto car = testing::read_file(dir_ / "x.car");
  car.resize(car.size() - 100);
  testing::write_file(dir_ / "cut.car", car);
  const auto truncated = cairn("b", "car import " + path("cut.car"));
  EXPECT_EQ(truncated.exit_code, 1);
  EXPECT_NE(truncated.err.find("truncated"), std::string::npos) << truncated.err;
  EXPECT_EQ(json_of(cairn("b", "--json repo verify")).at("blocks").get<int>(), 0);

  const auto garbage = cairn("b", "car import " + path("files/hello.txt"));
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_NE(garbage.err.find("CAR header"), std::string::npos) << garbage.err;

  const auto incomplete = cairn("b", "pin add " + root);
  EXPECT_EQ(incomplete.exit_code, 1);
  EXPECT_NE(incomplete.err.find("not complete"), std::string::npos) << incomplete.err;

  EXPECT_EQ(cairn("a", "add").exit_code, 2);
  EXPECT_EQ(cairn("a", "cat").exit_code, 2);
  EXPECT_EQ(cairn("a", "fetch " + root).exit_code, 2);  // --from missing
  EXPECT_EQ(cairn("a", "gateway serve --listen nonsense").exit_code, 2);

  const auto not_repo = testing::run_command(testing::cairn_binary().string() + " --repo " +
                                             path("files") + " add " + path("files/hello.txt"));
  EXPECT_EQ(not_repo.exit_code, 1);
  EXPECT_NE(not_repo.err.find("not a cairn repository"), std::string::npos) << not_repo.err;
}

// What a kubo user types works, or is refused by name: -r and -Q on add, /ipfs/CID, a path
// inside a DAG; and --json never runs into data written to standard output.
TEST_F(StoreCli, KuboHabitsAndJsonBesideData) {
  const auto quiet = cairn("a", "add -r -Q " + path("files"));
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  const std::string root = quiet.out.substr(0, quiet.out.find('\n'));
  EXPECT_EQ(quiet.out, root + "\n");  // the root's CID alone
  const auto hello = cairn("a", "--json add " + path("files/hello.txt"));
  const std::string hello_cid = json_of(hello).at("root").get<std::string>();

  const auto by_path = cairn("a", "cat /ipfs/" + hello_cid);
  EXPECT_EQ(by_path.exit_code, 0) << by_path.err;
  EXPECT_EQ(by_path.out, "hello world");

  const auto inside = cairn("a", "cat " + root + "/hello.txt");
  EXPECT_EQ(inside.exit_code, 2);
  EXPECT_NE(inside.err.find("path inside a DAG"), std::string::npos) << inside.err;

  for (const std::string& command : {"cat " + hello_cid, "car export " + root + " -o -"}) {
    const auto glued = cairn("a", "--json " + command);
    EXPECT_EQ(glued.exit_code, 2) << command;
    EXPECT_NE(glued.err.find("--json needs --output FILE"), std::string::npos) << glued.err;
  }
  const auto to_file = cairn("a", "--json cat " + hello_cid + " -o " + path("out.txt"));
  EXPECT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_EQ(json_of(to_file).at("bytes").get<int>(), 11);
}

TEST_F(StoreCli, FullDiskIsReportedAndHarmsNothing) {
  const auto root = add_files("a");
  const auto full =
      cairn("a", "cat bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e -o /dev/full");
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_NE(full.err.find("No space left on device"), std::string::npos) << full.err;

  // A file-size limit makes the store's own writes fail as a full disk would (SIGXFSZ is
  // ignored, so write() returns EFBIG).
  testing::write_file(dir_ / "big.bin", testing::pseudo_random_bytes(24u << 20, 9));
  const auto limited = testing::run_command("sh -c \"trap '' XFSZ; ulimit -f 8192; exec " +
                                            testing::cairn_binary().string() + " --repo " +
                                            path("a") + " add " + path("big.bin") + "\"");
  EXPECT_EQ(limited.exit_code, 1) << limited.out;
  EXPECT_NE(limited.err.find("File too large"), std::string::npos) << limited.err;
  // The repository still opens, and what was pinned before is intact.
  const auto verify = cairn("a", "--json repo verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_EQ(json_of(verify).at("pins").get<int>(), 1);
  EXPECT_EQ(cairn("a", "pin ls").out.find(root), 0u);
}

// A background `cairn gateway serve`, stopped with SIGTERM.
class ServeProcess {
 public:
  ServeProcess(const std::filesystem::path& repo, const std::filesystem::path& port_file) {
    const std::string binary = testing::cairn_binary().string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl(binary.c_str(), binary.c_str(), "--quiet", "--repo", repo.c_str(), "gateway", "serve",
              "--listen", "127.0.0.1:0", "--port-file", port_file.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !std::filesystem::exists(port_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    port_ = std::stoi(std::string(as_chars(testing::read_file(port_file))));
  }
  int stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ~ServeProcess() {
    if (pid_ > 0) stop();
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST_F(StoreCli, GatewayServeAndFetchBetweenRepositories) {
  const auto root = add_files("a");
  ServeProcess gateway(dir_ / "a", dir_ / "port");
  const std::string url = "http://127.0.0.1:" + std::to_string(gateway.port());
  // As with kubo, `add` works while the gateway serves the repository, and the gateway
  // serves what was added (it follows the store without holding its lock).
  testing::write_file(dir_ / "later.txt", to_bytes("added while the gateway serves"));
  const auto added = cairn("a", "--json add " + path("later.txt"));
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string later = json_of(added).at("root").get<std::string>();
  httplib::Client client("127.0.0.1", gateway.port());
  int status = 0;
  std::string body;
  for (int i = 0; i < 40 && status != 200; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (auto served = client.Get("/ipfs/" + later)) {
      status = served->status;
      body = served->body;
    }
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, "added while the gateway serves");
  EXPECT_EQ(cairn("a", "cat bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e").out,
            "hello world");

  const auto fetched = cairn("c", "fetch --from " + url + " " + root);
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  const auto fetched_blocks = cairn("d", "fetch --blocks --from " + url + " " + root);
  ASSERT_EQ(fetched_blocks.exit_code, 0) << fetched_blocks.err;
  ASSERT_EQ(cairn("c", "get " + root + " -o " + path("c-out")).exit_code, 0);
  EXPECT_EQ(testing::read_file(dir_ / "c-out" / "hello.txt"), to_bytes("hello world"));
  EXPECT_EQ(cairn("d", "pin ls").out.find(root), 0u);

  const auto absent = cairn(
      "c", "fetch --from " + url + " bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_NE(absent.err.find("404"), std::string::npos) << absent.err;
  EXPECT_EQ(gateway.stop(), 0);

  const auto down = cairn("c", "fetch --timeout 2 --from " + url + " " + root);
  EXPECT_EQ(down.exit_code, 1);
}

}  // namespace
}  // namespace cairn::store
