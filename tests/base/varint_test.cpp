#include "base/varint.hpp"

#include <gtest/gtest.h>

#include "base/encoding.hpp"

namespace cairn {
namespace {

// Vectors from the multiformats unsigned-varint specification.
TEST(Varint, EncodesSpecificationVectors) {
  const std::pair<std::uint64_t, std::string_view> vectors[] = {
      {1, "01"}, {127, "7f"}, {128, "8001"}, {255, "ff01"}, {300, "ac02"}, {16384, "808001"},
  };
  for (const auto& [value, hex] : vectors) {
    Bytes out;
    varint_append(out, value);
    EXPECT_EQ(to_hex(out), hex) << value;
    EXPECT_EQ(varint_size(value), out.size());
    const auto decoded = varint_decode(out).value();
    EXPECT_EQ(decoded.value, value);
    EXPECT_EQ(decoded.length, out.size());
  }
}

TEST(Varint, DecodesOnlyItsOwnBytes) {
  const auto bytes = from_hex("ac02ff").value();
  const auto decoded = varint_decode(bytes).value();
  EXPECT_EQ(decoded.value, 300u);
  EXPECT_EQ(decoded.length, 2u);
}

TEST(Varint, RoundTripsTheLargestValue) {
  const std::uint64_t max = (std::uint64_t{1} << 63) - 1;
  Bytes out;
  varint_append(out, max);
  EXPECT_EQ(out.size(), 9u);
  EXPECT_EQ(varint_decode(out).value().value, max);
}

TEST(Varint, RejectsTruncatedInput) {
  EXPECT_EQ(varint_decode(from_hex("80").value()).error().code, Errc::parse);
  EXPECT_EQ(varint_decode({}).error().code, Errc::parse);
}

TEST(Varint, RejectsNonMinimalEncodings) {
  EXPECT_FALSE(varint_decode(from_hex("8100").value()).has_value());
  EXPECT_FALSE(varint_decode(from_hex("ff8000").value()).has_value());
}

TEST(Varint, RejectsMoreThanNineBytes) {
  EXPECT_FALSE(varint_decode(from_hex("ffffffffffffffffff01").value()).has_value());
  EXPECT_FALSE(varint_decode(from_hex("ffffffffffffffffff").value()).has_value());
}

}  // namespace
}  // namespace cairn
