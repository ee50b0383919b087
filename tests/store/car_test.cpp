#include "store/car.hpp"

#include <gtest/gtest.h>

#include <map>

#include "base/encoding.hpp"
#include "base/varint.hpp"
#include "store/blockstore.hpp"
#include "store/importer.hpp"
#include "testing/testing.hpp"

namespace cairn::store {
namespace {

// An in-memory BlockSink/BlockSource that records every put.
class MapStore final : public BlockSink, public BlockSource {
 public:
  Status put(const Cid& cid, ByteView data) override {
    blocks[cid.to_v1()] = to_bytes(data);
    ++puts;
    return {};
  }
  Result<Bytes> get(const Cid& cid) override {
    const auto it = blocks.find(cid.to_v1());
    if (it == blocks.end()) return fail(Errc::not_found, "missing " + cid.to_string());
    return it->second;
  }
  Result<bool> has(const Cid& cid) override { return blocks.contains(cid.to_v1()); }
  std::map<Cid, Bytes> blocks;
  int puts = 0;
};

Bytes unhex(std::string_view text) {
  return from_hex(text).value();
}

struct Fixture {
  MapStore store;
  Cid root;
  Bytes car;
};

// A three-leaf file (four blocks) and its CAR.
Fixture make_fixture() {
  Fixture f;
  const auto content = testing::pseudo_random_bytes(2 * 262144 + 100, 7);
  f.root = import_bytes(content, f.store).value().cid;
  f.car = export_car(f.root, f.store).value();
  return f;
}

TEST(Car, HeaderBytesMatchGoCarAndIpldCar) {
  // {roots: [bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e], version: 1} as
  // @ipld/car 5.4 writes it (CarWriter.create([cid])).
  const Cid root =
      Cid::parse("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e").value();
  const Cid roots[] = {root};
  EXPECT_EQ(to_hex(encode_car_header(roots)),
            "3aa265726f6f747381d82a58250001551220b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee90"
            "88f7ace2efcde9"
            "6776657273696f6e01");
}

TEST(Car, ExportIsDepthFirstAndParsesBack) {
  auto f = make_fixture();
  const auto parsed = parse_car(f.car).value();
  ASSERT_EQ(parsed.header.roots.size(), 1u);
  EXPECT_EQ(parsed.header.roots[0], f.root);
  ASSERT_EQ(parsed.sections.size(), 4u);
  EXPECT_EQ(parsed.sections[0].cid, f.root);  // root first, then its leaves in link order
  for (const auto& section : parsed.sections) {
    EXPECT_TRUE(equal(section.block, f.store.get(section.cid).value()));
  }
}

TEST(Car, ImportRoundTripsIntoAnotherStore) {
  auto f = make_fixture();
  MapStore other;
  const auto report = import_car(f.car, other).value();
  EXPECT_EQ(report.roots, std::vector<Cid>{f.root});
  EXPECT_EQ(report.blocks, 4u);
  EXPECT_EQ(other.blocks, f.store.blocks);
}

TEST(Car, StreamingReaderYieldsTheSameBlocks) {
  auto f = make_fixture();
  std::size_t at = 0;
  auto reader =
      CarReader::open([&](MutableByteView buffer) -> Result<std::size_t> {
        // Hand out odd-sized pieces to exercise reads that straddle sections.
        const std::size_t n = std::min({buffer.size(), f.car.size() - at, std::size_t{7777}});
        std::memcpy(buffer.data(), f.car.data() + at, n);
        at += n;
        return n;
      }).value();
  EXPECT_EQ(reader->header().roots, std::vector<Cid>{f.root});
  std::size_t count = 0;
  while (auto block = reader->next().value()) {
    EXPECT_EQ(block->block, f.store.get(block->cid).value());
    ++count;
  }
  EXPECT_EQ(count, 4u);
  EXPECT_EQ(reader->offset(), f.car.size());
}

// Every malformed CAR is rejected, and the sink sees no put at all.
void expect_rejected(ByteView car, std::string_view needle) {
  MapStore sink;
  const auto result = import_car(car, sink, {.require_complete = false});
  ASSERT_FALSE(result) << "accepted a CAR that should fail with '" << needle << "'";
  EXPECT_NE(result.error().message.find(needle), std::string::npos) << result.error().message;
  EXPECT_EQ(sink.puts, 0);
  // The streaming reader agrees.
  testing::TempDir dir;
  testing::write_file(dir / "bad.car", car);
  MapStore file_sink;
  const auto from_file = import_car_file(dir / "bad.car", file_sink, {.require_complete = false});
  ASSERT_FALSE(from_file);
  EXPECT_EQ(file_sink.puts, 0);
}

TEST(Car, RejectsABlockThatDoesNotMatchItsCid) {
  auto f = make_fixture();
  Bytes bad = f.car;
  bad[bad.size() - 10] ^= std::byte{1};  // inside the last leaf
  expect_rejected(bad, "does not match its CID");
}

TEST(Car, RejectsTruncation) {
  auto f = make_fixture();
  expect_rejected(ByteView(f.car).first(f.car.size() - 1), "truncated");
  expect_rejected(ByteView(f.car).first(20), "truncated");
  expect_rejected({}, "empty");
}

TEST(Car, RejectsMalformedHeaders) {
  const Cid root =
      Cid::parse("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e").value();
  const std::string cid_hex =
      "d82a58250001551220b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
  auto with_length = [](const std::string& body_hex) {
    const Bytes body = unhex(body_hex);
    Bytes out;
    varint_append(out, body.size());
    append(out, body);
    return out;
  };
  // CARv2 pragma.
  expect_rejected(unhex("0aa16776657273696f6e02"), "CARv2");
  // version 3.
  expect_rejected(with_length("a265726f6f747381" + cid_hex + "6776657273696f6e03"), "version 3");
  // an extra key.
  expect_rejected(with_length("a365726f6f747381" + cid_hex + "6776657273696f6e01" + "6178" + "01"),
                  "unexpected key");
  // duplicate roots.
  expect_rejected(
      with_length("a365726f6f747381" + cid_hex + "65726f6f747381" + cid_hex + "6776657273696f6e01"),
      "duplicate");
  // version as a non-minimal integer (0x18 0x01).
  expect_rejected(with_length("a265726f6f747381" + cid_hex + "6776657273696f6e1801"), "minimally");
  // a root without tag 42.
  expect_rejected(with_length("a265726f6f74738158250001551220b94d27b9934d3e08a52e52d7da7dabfac484ef"
                              "e37a5380ee9088f7ace2efcde9"
                              "6776657273696f6e01"),
                  "major type");
  // indefinite-length map.
  expect_rejected(with_length("bf65726f6f747381" + cid_hex + "6776657273696f6e01ff"), "indefinite");
  // bytes after the map.
  expect_rejected(with_length("a265726f6f747381" + cid_hex + "6776657273696f6e0100"),
                  "after the header");
  // header length past the input.
  expect_rejected(unhex("ff01a2"), "truncated");
  // zero-length section after a good header.
  const Cid roots[] = {root};
  Bytes zero = encode_car_header(roots);
  zero.push_back(std::byte{0});
  expect_rejected(zero, "empty section");
  // a section length beyond the limit.
  Bytes huge = encode_car_header(roots);
  varint_append(huge, kMaxCarSectionBytes + 1);
  expect_rejected(huge, "limit");
}

TEST(Car, IncompleteCarIsRejectedNamingTheMissingBlock) {
  auto f = make_fixture();
  // Drop the last section (a leaf).
  const auto parsed = parse_car(f.car).value();
  const Cid roots[] = {f.root};
  Bytes partial = encode_car_header(roots);
  for (std::size_t i = 0; i + 1 < parsed.sections.size(); ++i) {
    append_car_section(partial, parsed.sections[i].cid, parsed.sections[i].block);
  }
  MapStore sink;
  const auto result = import_car(partial, sink);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::not_found);
  EXPECT_NE(result.error().message.find(parsed.sections.back().cid.to_string()), std::string::npos);
  EXPECT_EQ(sink.puts, 0);
  // ...but completes against a store that already has the missing block.
  MapStore existing;
  ASSERT_TRUE(existing.put(parsed.sections.back().cid, parsed.sections.back().block));
  EXPECT_TRUE(import_car(partial, sink, {.existing = &existing}));
}

TEST(Car, FailedImportLeavesTheBlockstoreUnchanged) {
  auto f = make_fixture();
  testing::TempDir dir;
  auto store = Blockstore::open(dir / "blocks").value();
  Bytes bad = f.car;
  bad[bad.size() - 1] ^= std::byte{0x80};
  testing::write_file(dir / "bad.car", bad);
  ASSERT_FALSE(import_car_file(dir / "bad.car", *store, {.existing = store.get()}));
  EXPECT_EQ(store->verify_all().value().blocks, 0u);
  testing::write_file(dir / "good.car", f.car);
  const auto report = import_car_file(dir / "good.car", *store, {.existing = store.get()}).value();
  EXPECT_EQ(report.blocks, 4u);
  ASSERT_TRUE(store->pin(f.root));
}

TEST(Car, ExpectedRootIsEnforced) {
  auto f = make_fixture();
  MapStore sink;
  const Cid other = Cid::of(codec::kRaw, to_bytes("other"));
  const auto result = import_car(f.car, sink, {.expected_root = other});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::integrity);
}

TEST(Car, RootOnlyCarHoldsJustTheRoot) {
  auto f = make_fixture();
  Bytes car;
  ASSERT_TRUE(write_car_root_only(f.root, f.store, [&](ByteView b) -> Status {
    append(car, b);
    return {};
  }));
  const auto parsed = parse_car(car).value();
  ASSERT_EQ(parsed.sections.size(), 1u);
  EXPECT_EQ(parsed.sections[0].cid, f.root);
}

}  // namespace
}  // namespace cairn::store
