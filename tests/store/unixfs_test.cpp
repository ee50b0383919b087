#include "store/unixfs.hpp"

#include <gtest/gtest.h>

#include "base/encoding.hpp"

namespace cairn::store::unixfs {
namespace {

Bytes unhex(std::string_view text) {
  return from_hex(text).value();
}

TEST(Unixfs, EncodesLikeIpfsUnixfs) {
  // A file root over two chunks, as ipfs-unixfs marshals it: Type, filesize, blocksizes
  // one field each.
  Data file;
  file.type = DataType::file;
  file.filesize = 262145;
  file.blocksizes = {262144, 1};
  EXPECT_EQ(to_hex(encode(file)),
            "0802188180102080801020"
            "01");
  EXPECT_EQ(to_hex(directory_data()), "0801");
  EXPECT_EQ(decode(unhex("0802188180102080801020"
                         "01"))
                .value(),
            file);
}

TEST(Unixfs, RoundTripsEveryField) {
  Data data;
  data.type = DataType::hamt_shard;
  data.data = to_bytes(std::string_view("bitfield"));
  data.filesize = 0;
  data.blocksizes = {1, 300, 1ull << 40};
  data.hash_type = 0x22;
  data.fanout = 256;
  data.mode = 0755;
  data.mtime = UnixTime{-5, 123456789};
  const auto bytes = encode(data);
  EXPECT_EQ(decode(bytes).value(), data);
  data.mtime = UnixTime{1700000000, std::nullopt};
  EXPECT_EQ(decode(encode(data)).value(), data);
}

void expect_rejected(std::string_view hex, std::string_view message_part) {
  const auto decoded = decode(unhex(hex));
  ASSERT_FALSE(decoded) << hex << " decoded";
  EXPECT_EQ(decoded.error().code, Errc::parse);
  EXPECT_NE(decoded.error().message.find(message_part), std::string::npos)
      << "message: " << decoded.error().message;
}

TEST(Unixfs, RejectsMalformedData) {
  expect_rejected("", "no Type");
  expect_rejected("1200", "no Type");
  expect_rejected("0806", "unknown Type 6");
  expect_rejected("0a0102", "wire type 2");    // Type as bytes
  expect_rejected("08021a00", "wire type 2");  // filesize as bytes
}

TEST(Unixfs, RejectsStructuralProblems) {
  EXPECT_TRUE(decode(unhex("080218012001")));
  expect_rejected("0802080218", "repeated");        // Type twice
  expect_rejected("080218011802", "repeated");      // filesize twice
  expect_rejected("08022001180a", "out of order");  // filesize after blocksizes
  expect_rejected("0802200120011801", "out of order");
  expect_rejected("08024800", "unknown field 9");
  expect_rejected("0802120561", "runs past the end");  // Data overlong
  expect_rejected("080218", "truncated varint");
  expect_rejected("0802188000", "not minimally encoded");
  expect_rejected("08023a0101", "wire type 2");  // mode as bytes
  expect_rejected("080238ffffffff1f", "does not fit 32 bits");
  expect_rejected("08024200", "no Seconds");  // empty mtime
  expect_rejected("0802420108", "truncated varint");
  expect_rejected("0802420315000000", "truncated fixed32");
  expect_rejected("08024206080115000000", "truncated fixed32");
  expect_rejected("0802420708011500000000", "out of range");  // 0 nanoseconds
  expect_rejected("08024207080115ffffffff", "out of range");
  expect_rejected("080242021801", "unknown field 3");  // mtime field 3
  expect_rejected(
      "08024204"
      "08010801",
      "repeated or out of order");
}

}  // namespace
}  // namespace cairn::store::unixfs
