#include "base/json.hpp"

#include <gtest/gtest.h>

namespace cairn {
namespace {

std::string message_of(const Error& error) {
  return error.message;
}

TEST(Json, ParseNamesTheDocumentAndThePosition) {
  auto bad = parse_json(std::string_view("{\"a\": tru}"), "task spec");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::parse);
  EXPECT_TRUE(message_of(bad.error()).starts_with("task spec: not valid JSON (parse error"))
      << bad.error().message;
  EXPECT_FALSE(parse_json(std::string_view(""), "x"));
  EXPECT_FALSE(parse_json(std::string_view("{} {}"), "x"));
  EXPECT_FALSE(parse_json(std::string_view("\"\xff\""), "x"));  // not UTF-8
  EXPECT_TRUE(parse_json(std::string_view(" {\"a\": [1, 2]} "), "x").has_value());
}

TEST(Json, DeepNestingIsRefusedBeforeParsing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto result = parse_json(std::string_view(deep), "peer answer");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "peer answer: nested deeper than 64 levels");
  // Brackets inside strings do not count.
  const std::string quoted = "[\"" + std::string(1000, '[') + "\\\"[\"]";
  EXPECT_TRUE(parse_json(std::string_view(quoted), "x").has_value());
  EXPECT_TRUE(parse_json(std::string_view(std::string(64, '[') + std::string(64, ']')), "x"));
}

TEST(Json, DuplicateKeysAreRefused) {
  auto result = parse_json(std::string_view(R"({"a": 1, "b": {"c": 1, "c": 2}})"), "manifest");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "manifest: the key \"c\" appears twice in one object");
  // The same key in sibling objects is fine.
  EXPECT_TRUE(parse_json(std::string_view(R"([{"a": 1}, {"a": 2}])"), "x").has_value());
}

TEST(Json, ClosedObjectRefusesUnknownKeysWithTheirPath) {
  auto doc = parse_json(std::string_view(R"({"chain": {"rpc": "x", "rcp": "y"}})"), "config");
  ASSERT_TRUE(doc);
  auto top = JsonObject::of(*doc, "config");
  ASSERT_TRUE(top);
  auto chain = top->object("chain");
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->string("rpc").value(), "x");
  auto closed = chain->close();
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().message, "config.chain.rcp: unknown key");
  EXPECT_TRUE(top->close().has_value());
}

TEST(Json, TypedReadersNameTheProblem) {
  auto doc =
      parse_json(std::string_view(
                     R"({"n": -1, "big": 18446744073709551615, "f": 1.5, "s": "", "h": "ABCD",
                                "a": [1, "x"], "b": 1})"),
                 "x");
  ASSERT_TRUE(doc);
  auto object = JsonObject::of(*doc);
  ASSERT_TRUE(object);
  EXPECT_EQ(object->u64("n").error().message, "n: must be an integer of at least 0");
  EXPECT_EQ(object->u64("big").value(), UINT64_MAX);
  EXPECT_EQ(object->u64("big", 0, 10).error().message, "big: must be an integer between 0 and 10");
  EXPECT_FALSE(object->required("big")->i64());
  EXPECT_EQ(object->u64("f").error().message, "f: must be an integer of at least 0");
  EXPECT_EQ(object->number("f").value(), 1.5);
  EXPECT_EQ(object->required("s")->non_empty_string().error().message, "s: must not be empty");
  EXPECT_EQ(object->required("h")->hex_bytes().error().message, "h: hex must be lower case");
  auto items = object->required("a")->array();
  ASSERT_TRUE(items);
  EXPECT_EQ((*items)[1].u64().error().message, "a[1]: must be an integer of at least 0");
  EXPECT_EQ(object->required("a")->array(1).error().message, "a: must have at most 1 items");
  EXPECT_EQ(object->boolean("b").error().message, "b: must be true or false");
  EXPECT_EQ(object->string("missing").error().message, "missing: missing");
  EXPECT_FALSE(object->optional_u64("absent").value().has_value());
}

}  // namespace
}  // namespace cairn
