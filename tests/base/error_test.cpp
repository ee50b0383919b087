#include "base/error.hpp"

#include <gtest/gtest.h>

namespace cairn {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return fail(Errc::invalid_argument, "not positive");
  return v;
}

Result<int> doubled(int v) {
  CAIRN_TRY_ASSIGN(const int checked, parse_positive(v));
  return checked * 2;
}

Status check(int v) {
  CAIRN_TRY(parse_positive(v));
  return {};
}

TEST(Error, TryMacrosPropagateFailuresAndValues) {
  EXPECT_EQ(doubled(4).value(), 8);
  EXPECT_EQ(doubled(-1).error().code, Errc::invalid_argument);
  EXPECT_TRUE(check(1).has_value());
  EXPECT_EQ(check(0).error().message, "not positive");
}

TEST(Error, ContextPrefixesTheMessage) {
  const Error e{Errc::parse, "truncated varint"};
  EXPECT_EQ(e.context("reading block").message, "reading block: truncated varint");
  EXPECT_EQ(e.to_string(), "malformed input: truncated varint");
}

}  // namespace
}  // namespace cairn
