// The trustless gateway and its client, over real HTTP on loopback.
#include "store/gateway.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <thread>
#include <vector>

#include "net/abuse.hpp"
#include "store/blockstore.hpp"
#include "store/car.hpp"
#include "store/gateway_client.hpp"
#include "store/importer.hpp"
#include "testing/testing.hpp"

namespace cairn::store {
namespace {

// Serves whatever bytes it was given for a CID, without checking them: a lying gateway.
class LyingSource final : public BlockSource {
 public:
  explicit LyingSource(BlockSource& real) : real_(real) {}
  Result<Bytes> get(const Cid& cid) override {
    CAIRN_TRY_ASSIGN(Bytes block, real_.get(cid));
    if (cid == victim && !block.empty()) block[0] ^= std::byte{1};
    return block;
  }
  Result<bool> has(const Cid& cid) override { return real_.has(cid); }
  Cid victim;

 private:
  BlockSource& real_;
};

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Blockstore::open(dir_ / "served").value();
    content_ = testing::pseudo_random_bytes(3 * 262144 + 17, 11);
    file_ = import_bytes(content_, *store_).value().cid;
    ASSERT_TRUE(store_->pin(file_));
    gateway_ = std::make_unique<Gateway>(*store_, GatewayOptions{});
    ASSERT_TRUE(gateway_->start());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", gateway_->port());
  }
  void TearDown() override { gateway_->stop(); }

  std::string path(const Cid& cid, const std::string& query = "") {
    return "/ipfs/" + cid.to_string() + query;
  }

  testing::TempDir dir_;
  std::unique_ptr<Blockstore> store_;
  Bytes content_;
  Cid file_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(GatewayTest, RawBlockByFormatParameterWithSpecHeaders) {
  auto res = client_->Get(path(file_, "?format=raw"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/vnd.ipld.raw");
  EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(res->get_header_value("Cache-Control"), "public, max-age=29030400, immutable");
  EXPECT_EQ(res->get_header_value("Etag"), "\"" + file_.to_string() + ".raw\"");
  EXPECT_NE(res->get_header_value("Content-Disposition").find("attachment"), std::string::npos);
  EXPECT_TRUE(equal(as_bytes(res->body), store_->get(file_).value()));
  EXPECT_FALSE(res->has_header("Content-Location"));  // the format was explicit
}

TEST_F(GatewayTest, RawBlockByAcceptHeader) {
  auto res = client_->Get(path(file_), {{"Accept", "application/vnd.ipld.raw"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/vnd.ipld.raw");
  EXPECT_EQ(res->get_header_value("Content-Location"), path(file_, "?format=raw"));
  EXPECT_TRUE(equal(as_bytes(res->body), store_->get(file_).value()));
}

TEST_F(GatewayTest, CarOfTheWholeDagIsWhatExportWrites) {
  auto res = client_->Get(path(file_), {{"Accept", "application/vnd.ipld.car; version=1"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"),
            "application/vnd.ipld.car; version=1; order=dfs; dups=n");
  EXPECT_EQ(res->get_header_value("Cache-Control"), "public, max-age=29030400, immutable");
  EXPECT_TRUE(equal(as_bytes(res->body), export_car(file_, *store_).value()));
  const auto scoped = client_->Get(path(file_, "?format=car&dag-scope=block"));
  ASSERT_TRUE(scoped);
  EXPECT_EQ(parse_car(as_bytes(scoped->body)).value().sections.size(), 1u);
}

TEST_F(GatewayTest, DeserializedFileWithoutAFormat) {
  auto res = client_->Get(path(file_));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(equal(as_bytes(res->body), content_));
}

TEST_F(GatewayTest, PathsResolveThroughDirectories) {
  testing::TempDir tree;
  std::filesystem::create_directories(tree / "site" / "docs");
  testing::write_file(tree / "site" / "docs" / "note.txt", as_bytes(std::string_view("a note")));
  const auto entries = import_path(tree / "site", *store_).value();
  const Cid root = entries.back().cid;
  auto file = client_->Get(path(root, "/docs/note.txt"));
  ASSERT_TRUE(file);
  EXPECT_EQ(file->status, 200);
  EXPECT_EQ(file->body, "a note");
  auto car = client_->Get(path(root, "/docs/note.txt?format=car"));
  ASSERT_TRUE(car);
  const auto parsed = parse_car(as_bytes(car->body)).value();
  EXPECT_EQ(parsed.sections.size(), 3u);  // site, docs, note.txt
  auto missing = client_->Get(path(root, "/docs/absent.txt"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto listing = client_->Get(path(root));
  ASSERT_TRUE(listing);
  EXPECT_NE(listing->body.find("docs"), std::string::npos);
}

TEST_F(GatewayTest, ErrorStatuses) {
  auto bad_cid = client_->Get("/ipfs/not-a-cid?format=raw");
  ASSERT_TRUE(bad_cid);
  EXPECT_EQ(bad_cid->status, 400);
  EXPECT_NE(bad_cid->body.find("not a CID"), std::string::npos);
  EXPECT_EQ(bad_cid->get_header_value("Content-Type"), "application/json");
  EXPECT_NE(bad_cid->body.find("\"code\":\"invalid_argument\""), std::string::npos)
      << bad_cid->body;

  const Cid absent = Cid::of(codec::kRaw, to_bytes("nobody stored this"));
  auto missing = client_->Get(path(absent, "?format=raw"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto missing_car = client_->Get(path(absent, "?format=car"));
  ASSERT_TRUE(missing_car);
  EXPECT_EQ(missing_car->status, 404);

  auto unacceptable = client_->Get(path(file_), {{"Accept", "application/vnd.ipld.dag-json"}});
  ASSERT_TRUE(unacceptable);
  EXPECT_EQ(unacceptable->status, 406);
  auto car_v2 = client_->Get(path(file_), {{"Accept", "application/vnd.ipld.car; version=2"}});
  ASSERT_TRUE(car_v2);
  EXPECT_EQ(car_v2->status, 406);

  auto bad_format = client_->Get(path(file_, "?format=tar"));
  ASSERT_TRUE(bad_format);
  EXPECT_EQ(bad_format->status, 400);
  auto raw_with_path = client_->Get(path(file_, "/x?format=raw"));
  ASSERT_TRUE(raw_with_path);
  EXPECT_EQ(raw_with_path->status, 400);

  auto only_cached =
      client_->Get(path(absent, "?format=raw"), {{"Cache-Control", "only-if-cached"}});
  ASSERT_TRUE(only_cached);
  EXPECT_EQ(only_cached->status, 412);
}

TEST_F(GatewayTest, HeadAndConditionalRequests) {
  auto head = client_->Head(path(file_, "?format=car"));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
  EXPECT_EQ(head->get_header_value("Content-Type"),
            "application/vnd.ipld.car; version=1; order=dfs; dups=n");
  const Cid absent = Cid::of(codec::kRaw, to_bytes("absent"));
  auto head_missing = client_->Head(path(absent, "?format=raw"));
  ASSERT_TRUE(head_missing);
  EXPECT_EQ(head_missing->status, 404);

  const std::string etag = "\"" + file_.to_string() + ".raw\"";
  auto cached = client_->Get(path(file_, "?format=raw"), {{"If-None-Match", etag}});
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->status, 304);
  EXPECT_TRUE(cached->body.empty());
}

TEST_F(GatewayTest, FetchPullsAndVerifiesTheWholeDag) {
  for (const bool blocks_only : {false, true}) {
    testing::TempDir local;
    auto target = Blockstore::open(local / "blocks").value();
    FetchOptions options;
    options.temp_dir = local.path();
    options.blocks_only = blocks_only;
    options.existing = target.get();
    const auto report = fetch(gateway_->url(), file_, *target, options);
    ASSERT_TRUE(report) << report.error().to_string();
    EXPECT_EQ(report->blocks, 5u);  // root and four leaves
    ASSERT_TRUE(target->pin(file_));
    EXPECT_TRUE(target->verify_all().value().ok());
    // Nothing of the download is left behind.
    std::size_t leftovers = 0;
    for (const auto& entry : std::filesystem::directory_iterator(local.path())) {
      leftovers += entry.path().extension() == ".car";
    }
    EXPECT_EQ(leftovers, 0u);
  }
}

TEST_F(GatewayTest, FetchFromALyingGatewayStoresNothing) {
  LyingSource liar(*store_);
  liar.victim = Cid::of(codec::kRaw, ByteView(content_).subspan(262144, 262144));
  Gateway lying_gateway(liar, GatewayOptions{});
  ASSERT_TRUE(lying_gateway.start());
  for (const bool blocks_only : {false, true}) {
    testing::TempDir local;
    auto target = Blockstore::open(local / "blocks").value();
    FetchOptions options;
    options.temp_dir = local.path();
    options.blocks_only = blocks_only;
    const auto report = fetch(lying_gateway.url(), file_, *target, options);
    ASSERT_FALSE(report);
    EXPECT_EQ(report.error().code, Errc::integrity) << report.error().to_string();
    EXPECT_EQ(target->verify_all().value().blocks, 0u);
  }
  lying_gateway.stop();
}

TEST_F(GatewayTest, AGatewayMissingAChildBlockEndsTheCarAndTheFetchStoresNothing) {
  const Cid third_leaf = Cid::of(codec::kRaw, ByteView(content_).subspan(2 * 262144, 262144));
  ASSERT_TRUE(store_->remove(third_leaf));
  // The root is there, so the gateway commits to 200 and then stops short.
  auto res = client_->Get(path(file_, "?format=car"));
  if (res) {
    EXPECT_FALSE(parse_car(as_bytes(res->body)) &&
                 parse_car(as_bytes(res->body))->sections.size() == 5u);
  }
  for (const bool blocks_only : {false, true}) {
    testing::TempDir local;
    auto target = Blockstore::open(local / "blocks").value();
    FetchOptions options;
    options.temp_dir = local.path();
    options.blocks_only = blocks_only;
    const auto report = fetch(gateway_->url(), file_, *target, options);
    ASSERT_FALSE(report);
    EXPECT_EQ(target->verify_all().value().blocks, 0u) << report.error().to_string();
  }
}

TEST_F(GatewayTest, FetchOfAMissingCidIsNotFound) {
  testing::TempDir local;
  auto target = Blockstore::open(local / "blocks").value();
  const auto report = fetch(gateway_->url(), Cid::of(codec::kRaw, to_bytes("absent")), *target,
                            FetchOptions{.temp_dir = local.path()});
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Errc::not_found);
}

// The whole download is capped: a CAR, or the raw blocks together, past max_bytes is
// refused while it arrives, and nothing is stored.
TEST_F(GatewayTest, FetchRefusesMoreThanItsCap) {
  for (const bool blocks_only : {false, true}) {
    testing::TempDir local;
    auto target = Blockstore::open(local / "blocks").value();
    FetchOptions options;
    options.temp_dir = local.path();
    options.blocks_only = blocks_only;
    options.max_bytes = 300'000;  // the file is 3 * 262144 + 17 bytes
    const auto report = fetch(gateway_->url(), file_, *target, options);
    ASSERT_FALSE(report) << blocks_only;
    EXPECT_EQ(report.error().code, Errc::rejected) << report.error().to_string();
    EXPECT_NE(report.error().message.find("cap"), std::string::npos) << report.error().message;
    EXPECT_NE(report.error().message.find(file_.to_string()), std::string::npos)
        << report.error().message;
    EXPECT_EQ(target->verify_all().value().blocks, 0u);
    std::size_t leftovers = 0;
    for (const auto& entry : std::filesystem::directory_iterator(local.path())) {
      leftovers += entry.path().extension() == ".car";
    }
    EXPECT_EQ(leftovers, 0u);
  }
}

// A peer that answers a raw-block request with more than a block can be is refused at the
// block size limit, whatever the fetch cap; an HTML page instead of a CAR is named, not
// pasted.
TEST(GatewayClient, APeerServingMoreThanABlockIsRefused) {
  httplib::Server peer;
  peer.Get(R"(/ipfs/.*)", [](const httplib::Request& request, httplib::Response& response) {
    if (request.get_param_value("format") == "raw") {
      response.set_content(std::string(kMaxFetchedBlockBytes + 1, 'x'), "application/vnd.ipld.raw");
    } else {
      response.status = 502;
      response.set_content("<html><body>bad gateway</body></html>", "text/html");
    }
  });
  const int port = peer.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { peer.listen_after_bind(); });
  while (!peer.is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  testing::TempDir local;
  auto target = Blockstore::open(local / "blocks").value();
  const Cid cid = Cid::of(codec::kRaw, to_bytes("a block"));
  FetchOptions options;
  options.temp_dir = local.path();
  options.blocks_only = true;
  const auto blocks = fetch(url, cid, *target, options);
  ASSERT_FALSE(blocks);
  EXPECT_EQ(blocks.error().code, Errc::rejected);
  EXPECT_NE(blocks.error().message.find("the block cap is 8 MiB"), std::string::npos)
      << blocks.error().message;
  options.blocks_only = false;
  const auto car = fetch(url, cid, *target, options);
  ASSERT_FALSE(car);
  EXPECT_EQ(car.error().code, Errc::unavailable);
  EXPECT_NE(car.error().message.find("answered HTTP 502 (text/html, 37 bytes)"), std::string::npos)
      << car.error().message;
  EXPECT_EQ(car.error().message.find("<html"), std::string::npos) << car.error().message;
  peer.stop();
  thread.join();
}

TEST_F(GatewayTest, OtherMethodsAre405WithoutReadingTheBody) {
  auto res = client_->Post(path(file_, "?format=raw"), std::string(1000, 'x'), "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_NE(res->get_header_value("Allow").find("GET"), std::string::npos);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
}

// Slowloris connections and endless POST bodies cost the gateway file descriptors, never
// its workers or its memory: a real request is still answered promptly. And the port is its own.
TEST_F(GatewayTest, AbuseDoesNotStarveARealRequestAndThePortIsExclusive) {
  using namespace std::chrono_literals;
  const std::uint16_t port = gateway_->port();
  net::testing::AbuseTarget target;
  target.port = port;
  target.slow_head = "GET " + path(file_, "?format=raw") + " HTTP/1.1";
  target.post_head = "POST /ipfs/" + file_.to_string() + " HTTP/1.1\r\nHost: x";
  target.legitimate = [&] {
    httplib::Client legit("127.0.0.1", port);
    legit.set_connection_timeout(2, 0);
    legit.set_read_timeout(2, 0);
    auto res = legit.Get(path(file_, "?format=raw"));
    return res && res->status == 200 && equal(as_bytes(res->body), store_->get(file_).value());
  };
  const auto outcome = net::testing::run_abuse(target);
  EXPECT_EQ(outcome.slow_connected, 300);
  EXPECT_TRUE(outcome.legitimate_answered);
  EXPECT_LT(outcome.legitimate_took, 2s);
  EXPECT_LT(outcome.rss_growth_kib, 64 * 1024) << "resident memory grew under abuse";

  GatewayOptions same_port;
  same_port.port = port;
  Gateway second(*store_, same_port);
  const auto started_second = second.start();
  ASSERT_FALSE(started_second);
  EXPECT_EQ(started_second.error().code, Errc::conflict) << started_second.error().to_string();
}

TEST(GatewayClient, UnreachableGatewayIsUnavailable) {
  testing::TempDir local;
  auto target = Blockstore::open(local / "blocks").value();
  const auto port = testing::free_port();
  const auto report =
      fetch("http://127.0.0.1:" + std::to_string(port), Cid::of(codec::kRaw, to_bytes("x")),
            *target, FetchOptions{.temp_dir = local.path(), .timeout_seconds = 2});
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Errc::unavailable);
  EXPECT_FALSE(fetch("ftp://x", Cid::of(codec::kRaw, to_bytes("x")), *target,
                     FetchOptions{.temp_dir = local.path()}));
}

}  // namespace
}  // namespace cairn::store
