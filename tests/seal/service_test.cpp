// The signing service, calendar, block signer and publications, checked end to end with
// the verifier's own policies.
#include "seal/service.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>

#include "seal/verify.hpp"
#include "testing/testing.hpp"

namespace cairn::seal {
namespace {

Imprint document(std::string_view text) {
  return hash_data(HashId::sha2_256, as_bytes(text));
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto keys = ServiceKeys::generate();
    ASSERT_TRUE(keys) << keys.error().to_string();
    ServiceOptions options;
    options.round = std::chrono::milliseconds(60'000);  // rounds only when the test ticks
    auto service = SigningService::in_memory(options, *keys);
    ASSERT_TRUE(service);
    service_ = std::move(*service);
  }

  Signature sign(const Imprint& hash) {
    auto future = service_->submit(hash);
    service_->tick(true);
    auto signature = future.get();
    EXPECT_TRUE(signature) << signature.error().to_string();
    return *signature;
  }

  PublicationsFile pubfile() {
    auto bytes = service_->publications_file();
    EXPECT_TRUE(bytes) << bytes.error().to_string();
    auto file = PublicationsFile::parse(*bytes);
    EXPECT_TRUE(file) << file.error().to_string();
    return *file;
  }

  VerificationContext context(const Signature& signature, const Imprint& hash) {
    VerificationContext ctx;
    ctx.signature = &signature;
    ctx.document_hash = hash;
    ctx.extender = [this](std::uint64_t aggregation_time, std::optional<std::uint64_t> to) {
      return service_->extend(aggregation_time, to);
    };
    return ctx;
  }

  std::unique_ptr<SigningService> service_;
};

TEST_F(ServiceTest, SignatureVerifiesWithInternalKeyAndCalendarPolicies) {
  const Imprint hash = document("model weights v1");
  const Signature signature = sign(hash);
  const PublicationsFile file = pubfile();
  const testing::TempDir dir;
  testing::write_file(dir / "pub.pem", as_bytes(service_->keys().publications_cert_pem));
  ASSERT_TRUE(verify_publications_file(file, {{(dir / "pub.pem").string()}, std::nullopt}));

  auto ctx = context(signature, hash);
  ctx.publications_file = &file;
  EXPECT_EQ(verify(ctx, Policy::internal).verdict, Verdict::ok);
  const auto key = verify(ctx, Policy::key_based);
  EXPECT_EQ(key.verdict, Verdict::ok) << key.error_code << " " << key.message;
  const auto calendar = verify(ctx, Policy::calendar);
  EXPECT_EQ(calendar.verdict, Verdict::ok) << calendar.error_code << " " << calendar.message;
  const auto general = verify(ctx, Policy::general);
  EXPECT_EQ(general.verdict, Verdict::ok);
  EXPECT_EQ(general.policy, "key");

  // The bytes survive a round trip through the parser.
  auto reparsed = Signature::parse(signature.serialize());
  ASSERT_TRUE(reparsed) << reparsed.error().to_string();
  EXPECT_EQ(reparsed->serialize(), signature.serialize());
}

TEST_F(ServiceTest, WrongDocumentIsGen01) {
  const Signature signature = sign(document("a"));
  auto ctx = context(signature, document("b"));
  const auto result = verify(ctx, Policy::internal);
  EXPECT_EQ(result.verdict, Verdict::fail);
  EXPECT_EQ(result.error_code, "GEN-01");
}

TEST_F(ServiceTest, ManyRequestsInSeveralRoundsOfOneSecondEachVerify) {
  std::vector<std::pair<Imprint, std::future<Result<Signature>>>> waiting;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 7 + round; ++i) {
      const Imprint hash = document("item " + std::to_string(round) + "/" + std::to_string(i));
      waiting.emplace_back(hash, service_->submit(hash, 0, "client-" + std::to_string(i)));
    }
    service_->tick(false);  // closes a round; the second commits with the last tick
  }
  service_->tick(true);
  std::set<std::uint64_t> times;
  for (auto& [hash, future] : waiting) {
    auto signature = future.get();
    ASSERT_TRUE(signature) << signature.error().to_string();
    times.insert(signature->aggregation_time());
    auto ctx = context(*signature, hash);
    const auto result = verify(ctx, Policy::calendar);
    EXPECT_EQ(result.verdict, Verdict::ok) << result.error_code << " " << result.message;
  }
  EXPECT_GE(times.size(), 1u);
}

TEST_F(ServiceTest, ExtendedToAPublicationVerifiesWithPublicationsFileAndUserPublication) {
  const Imprint hash = document("dataset manifest");
  const Signature signature = sign(hash);
  sign(document("a later round"));
  auto publication = service_->publish();
  ASSERT_TRUE(publication) << publication.error().to_string();
  EXPECT_GT(publication->data.publication_time, signature.aggregation_time());

  auto chain = service_->extend(signature.aggregation_time(), publication->data.publication_time);
  ASSERT_TRUE(chain);
  auto extended = extend_signature(signature, *chain, *publication);
  ASSERT_TRUE(extended);
  auto reparsed = Signature::parse(extended->serialize());
  ASSERT_TRUE(reparsed) << reparsed.error().to_string();

  const PublicationsFile file = pubfile();
  auto ctx = context(*reparsed, hash);
  ctx.publications_file = &file;
  const auto by_file = verify(ctx, Policy::publications_file);
  EXPECT_EQ(by_file.verdict, Verdict::ok) << by_file.error_code << " " << by_file.message;

  auto user = decode_publication_string(encode_publication_string(publication->data));
  ASSERT_TRUE(user);
  ctx.user_publication = *user;
  EXPECT_EQ(verify(ctx, Policy::user_publication).verdict, Verdict::ok);

  // An unextended signature reaches the same publication by extending, where permitted.
  auto fresh = context(signature, hash);
  fresh.user_publication = *user;
  EXPECT_EQ(verify(fresh, Policy::user_publication).verdict, Verdict::na);
  fresh.extending_permitted = true;
  EXPECT_EQ(verify(fresh, Policy::user_publication).verdict, Verdict::ok);

  // A publication string for another root is PUB-04 against the extended signature.
  PublishedData forged = *user;
  forged.published_hash = document("not the calendar root");
  ctx.user_publication = forged;
  EXPECT_EQ(verify(ctx, Policy::user_publication).error_code, "PUB-04");
}

TEST_F(ServiceTest, BlockSignerGivesEachItemItsOwnSignature) {
  std::vector<Imprint> items;
  for (int i = 0; i < 37; ++i)
    items.push_back(document("log line " + std::to_string(i)));
  int requests = 0;
  auto signatures = sign_block(items, [&](const Imprint& root, std::uint8_t level) {
    ++requests;
    auto future = service_->submit(root, level, "block-signer");
    service_->tick(true);
    return future.get();
  });
  ASSERT_TRUE(signatures) << signatures.error().to_string();
  EXPECT_EQ(requests, 1);
  ASSERT_EQ(signatures->size(), items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto reparsed = Signature::parse((*signatures)[i].serialize());
    ASSERT_TRUE(reparsed);
    auto ctx = context(*reparsed, items[i]);
    const auto result = verify(ctx, Policy::calendar);
    EXPECT_EQ(result.verdict, Verdict::ok)
        << i << " " << result.error_code << " " << result.message;
    auto other = context(*reparsed, items[(i + 1) % items.size()]);
    EXPECT_EQ(verify(other, Policy::internal).error_code, "GEN-01");
  }
}

TEST_F(ServiceTest, RoundsOfOneSecondMeetInASecondChain) {
  // Two rounds closed within one second share a calendar leaf through a second tree.
  for (int attempt = 0; attempt < 5; ++attempt) {
    const Imprint a = document("round a " + std::to_string(attempt));
    const Imprint b = document("round b " + std::to_string(attempt));
    auto first = service_->submit(a);
    service_->tick(false);
    auto second = service_->submit(b);
    service_->tick(false);
    service_->tick(true);
    auto sa = first.get();
    auto sb = second.get();
    ASSERT_TRUE(sa && sb);
    if (sa->aggregation_time() != sb->aggregation_time()) continue;  // crossed a second
    ASSERT_EQ(sa->aggregation_chains.size(), 2u);
    ASSERT_EQ(sb->aggregation_chains.size(), 2u);
    EXPECT_EQ(sa->aggregation_chains[0].chain_index.size(), 2u);
    for (const auto& [signature, hash] : {std::pair{&*sa, a}, std::pair{&*sb, b}}) {
      auto ctx = context(*signature, hash);
      const auto result = verify(ctx, Policy::calendar);
      EXPECT_EQ(result.verdict, Verdict::ok) << result.error_code << " " << result.message;
    }
    return;
  }
  FAIL() << "every attempt crossed a second boundary";
}

class RecordingAnchor : public PublicationAnchor {
 public:
  Result<AnchorReceipt> anchor(std::uint64_t publication_time, const Imprint& root) override {
    anchored.emplace_back(publication_time, root);
    return AnchorReceipt{"test-ledger", "0xabc", 7};
  }
  std::vector<std::pair<std::uint64_t, Imprint>> anchored;
};

TEST_F(ServiceTest, PublishingAnchorsTheRootAndRecordsTheReceipt) {
  RecordingAnchor anchor;
  service_->set_anchor(&anchor);
  sign(document("anchored"));
  auto publication = service_->publish();
  ASSERT_TRUE(publication);
  ASSERT_EQ(anchor.anchored.size(), 1u);
  EXPECT_EQ(anchor.anchored[0].first, publication->data.publication_time);
  EXPECT_EQ(anchor.anchored[0].second, publication->data.published_hash);
  EXPECT_EQ(anchor.anchored[0].second,
            *service_->calendar().root(publication->data.publication_time));
  bool recorded = false;
  for (const auto& reference : publication->references) {
    recorded |= reference.find("0xabc") != std::string::npos;
  }
  EXPECT_TRUE(recorded);
}

TEST_F(ServiceTest, RefusesRequestLevelsThatWouldOverflow) {
  auto future = service_->submit(document("x"), 254);
  auto result = future.get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::invalid_argument);
}

TEST(Calendar, ChainsHaveTheShapeOfTheirTimeAndReachTheRoot) {
  Calendar calendar;
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> times;
  std::uint64_t t = 1'700'000'000;
  for (int i = 0; i < 40; ++i) {
    t += 1 + rng() % 5000;
    times.push_back(t);
    ASSERT_TRUE(calendar.append(t, hash_data(HashId::sha2_256, as_bytes(std::to_string(t)))));
  }
  EXPECT_FALSE(calendar.append(t, Calendar::empty_leaf()));  // time must advance
  for (int i = 0; i < 40; ++i) {
    const std::size_t from = rng() % times.size();
    const std::size_t to = std::min(times.size() - 1, from + rng() % 3);
    const std::uint64_t aggregation = times[from];
    const std::uint64_t publication = times[to];
    auto chain = calendar.chain(aggregation, publication);
    ASSERT_TRUE(chain) << chain.error().to_string();
    auto shape_time = calendar_chain_time(*chain);
    ASSERT_TRUE(shape_time);
    EXPECT_EQ(*shape_time, aggregation);
    auto root = compute_calendar_chain(*chain);
    ASSERT_TRUE(root);
    EXPECT_EQ(*root, *calendar.root(publication));
  }
}

TEST(Calendar, PersistsAndCutsATornRecord) {
  const testing::TempDir dir;
  Imprint root;
  {
    auto calendar = Calendar::open(dir.path());
    ASSERT_TRUE(calendar);
    for (std::uint64_t t = 1000; t < 1010; ++t) {
      ASSERT_TRUE((*calendar)->append(t, hash_data(HashId::sha2_256, as_bytes(std::to_string(t)))));
    }
    root = *(*calendar)->root(1009);
  }
  {
    std::ofstream out(dir / "calendar.dat", std::ios::binary | std::ios::app);
    out << "torn";  // a crash in the middle of the next append
  }
  auto reopened = Calendar::open(dir.path());
  ASSERT_TRUE(reopened) << reopened.error().to_string();
  EXPECT_EQ((*reopened)->leaf_count(), 10u);
  EXPECT_EQ(*(*reopened)->root(1009), root);
  ASSERT_TRUE((*reopened)->append(1010, Calendar::empty_leaf()));

  // Damage in the middle is not a torn write: refuse rather than lose history.
  reopened->reset();
  auto bytes = testing::read_file(dir / "calendar.dat");
  bytes[50] ^= std::byte{0x01};
  testing::write_file(dir / "calendar.dat", bytes);
  EXPECT_FALSE(Calendar::open(dir.path()));
}

// A second signing service on the same repository started before (calendar serve took no
// lock), and extended the hash chain from its own view of it.
TEST(Calendar, OneProcessAtATimeExtendsIt) {
  const testing::TempDir dir;
  auto first = Calendar::open(dir.path());
  ASSERT_TRUE(first);
  const auto second = Calendar::open(dir.path());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::conflict);
  EXPECT_NE(second.error().message.find("is in use by another process (pid " +
                                        std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.error().message;
  first->reset();
  EXPECT_TRUE(Calendar::open(dir.path()));
}

TEST(ServiceRepo, KeysCalendarAndPublicationsSurviveARestart) {
  const testing::TempDir dir;
  ServiceOptions options;
  options.repo = dir.path();
  options.round = std::chrono::milliseconds(60'000);
  std::uint64_t head = 0;
  Bytes cert;
  {
    auto service = SigningService::open(options);
    ASSERT_TRUE(service) << service.error().to_string();
    auto future = (*service)->submit(document("x"));
    (*service)->tick(true);
    ASSERT_TRUE(future.get());
    ASSERT_TRUE((*service)->publish());
    head = *(*service)->calendar().head_time();
    cert = (*service)->keys().calendar_cert_der;
  }
  auto service = SigningService::open(options);
  ASSERT_TRUE(service);
  EXPECT_EQ(*(*service)->calendar().head_time(), head);
  EXPECT_EQ((*service)->keys().calendar_cert_der, cert);
  EXPECT_EQ((*service)->publications().size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(dir / "publications.bin"));
}

// A crash in the middle of appending a publication leaves a torn record at the end of the
// list: it was never acknowledged, so the service cuts it and the next record follows the
// intact ones. Damage before the end is refused.
TEST(ServiceRepo, ATornPublicationRecordIsCutAndDamageElsewhereRefused) {
  const testing::TempDir dir;
  ServiceOptions options;
  options.repo = dir.path();
  options.round = std::chrono::milliseconds(60'000);
  const auto publish_one = [&](SigningService& service, std::string_view text) {
    auto future = service.submit(document(text));
    service.tick(true);
    ASSERT_TRUE(future.get());
    ASSERT_TRUE(service.publish());
  };
  const auto list = dir / "publications.tlv";
  {
    auto service = SigningService::open(options);
    ASSERT_TRUE(service) << service.error().to_string();
    publish_one(**service, "first");
  }
  const Bytes intact = testing::read_file(list);
  ASSERT_FALSE(intact.empty());
  Bytes torn = intact;
  torn.insert(torn.end(), intact.begin(),
              intact.begin() + static_cast<std::ptrdiff_t>(intact.size() / 2));
  testing::write_file(list, torn);
  {
    auto service = SigningService::open(options);
    ASSERT_TRUE(service) << service.error().to_string();
    EXPECT_EQ((*service)->publications().size(), 1u);
    EXPECT_EQ(std::filesystem::file_size(list), intact.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a later calendar second
    publish_one(**service, "second");
  }
  {
    auto service = SigningService::open(options);
    ASSERT_TRUE(service) << service.error().to_string();
    EXPECT_EQ((*service)->publications().size(), 2u);
  }
  Bytes damaged = testing::read_file(list);
  damaged[0] ^= std::byte{0xff};  // the first record's header: another element
  testing::write_file(list, damaged);
  const auto refused = SigningService::open(options);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().to_string().find("publications.tlv"), std::string::npos)
      << refused.error().to_string();
}

TEST(PublicationsList, EmptyAndForeignInput) {
  const auto empty = parse_publications_list({});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->records.empty());
  // A complete element of another type is damage, not a torn append.
  const Bytes other = {std::byte{0x01}, std::byte{0x01}, std::byte{0x00}};
  EXPECT_FALSE(parse_publications_list(other));
  // Half a header is a torn append.
  const Bytes half = {std::byte{0x87}};
  const auto torn = parse_publications_list(half);
  ASSERT_TRUE(torn);
  EXPECT_EQ(torn->intact_bytes, 0u);
}

}  // namespace
}  // namespace cairn::seal
