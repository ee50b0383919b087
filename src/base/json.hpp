#pragma once
// The one strict JSON reader, for every config and every artifact a peer sends.
//
// parse_json() never throws, refuses nesting deeper than a cap (nlohmann's parser recurses
// once per level, so a deep document would otherwise exhaust the stack), and names what
// it was reading. JsonNode and JsonObject then read values by type with errors that name
// the full path ("roles.data_provider.epochs: must be an integer between 1 and 100"), and
// a JsonObject is closed: close() refuses every key nobody asked for, so a misspelt key is
// an error, never a silent default.

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn {

inline constexpr std::size_t kMaxJsonDepth = 64;

// Parses `text` as one JSON document. `what` names it in errors ("node config",
// "task spec 0xab…"). Depth beyond `max_depth` is refused before parsing.
[[nodiscard]] Result<nlohmann::json> parse_json(ByteView text, std::string_view what,
                                                std::size_t max_depth = kMaxJsonDepth);
[[nodiscard]] Result<nlohmann::json> parse_json(std::string_view text, std::string_view what,
                                                std::size_t max_depth = kMaxJsonDepth);

class JsonObject;

// One value inside a document, with the path that leads to it.
class JsonNode {
 public:
  JsonNode(const nlohmann::json& value, std::string path)
      : value_(&value), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  const nlohmann::json& raw() const { return *value_; }
  bool is_null() const { return value_->is_null(); }

  // An Errc::parse error naming this value: "spec.rounds: must be at least 1".
  [[nodiscard]] Error error(std::string_view problem) const;

  [[nodiscard]] Result<std::string> string() const;
  [[nodiscard]] Result<std::string> non_empty_string() const;
  // An integer in [min, max]; a float, a string of digits or a number out of range is refused.
  [[nodiscard]] Result<std::uint64_t> u64(
      std::uint64_t min = 0, std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const;
  [[nodiscard]] Result<std::int64_t> i64(
      std::int64_t min = std::numeric_limits<std::int64_t>::min(),
      std::int64_t max = std::numeric_limits<std::int64_t>::max()) const;
  // A finite number (an integer is accepted).
  [[nodiscard]] Result<double> number() const;
  [[nodiscard]] Result<bool> boolean() const;
  // Lower-case hex without a prefix (the form cairn writes); `size` when given is exact.
  [[nodiscard]] Result<Bytes> hex_bytes(std::optional<std::size_t> size = {}) const;
  [[nodiscard]] Result<std::vector<JsonNode>> array(
      std::size_t max_items = std::numeric_limits<std::size_t>::max()) const;
  [[nodiscard]] Result<JsonObject> object() const;

 private:
  const nlohmann::json* value_;
  std::string path_;
};

// A closed JSON object: every key read is remembered and close() refuses the others.
class JsonObject {
 public:
  // The document's top level; `path` prefixes every error (may be empty).
  [[nodiscard]] static Result<JsonObject> of(const nlohmann::json& value, std::string path = {});

  const std::string& path() const { return path_; }
  std::string where(std::string_view key) const;
  bool has(std::string_view key) const;

  [[nodiscard]] Result<JsonNode> required(std::string_view key);
  // Absent is nullopt; a present null is a value (its reader decides).
  std::optional<JsonNode> optional(std::string_view key);

  // Shorthands for the common types.
  [[nodiscard]] Result<std::string> string(std::string_view key);
  [[nodiscard]] Result<std::optional<std::string>> optional_string(std::string_view key);
  [[nodiscard]] Result<std::uint64_t> u64(
      std::string_view key, std::uint64_t min = 0,
      std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
  [[nodiscard]] Result<std::optional<std::uint64_t>> optional_u64(
      std::string_view key, std::uint64_t min = 0,
      std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
  [[nodiscard]] Result<double> number(std::string_view key);
  [[nodiscard]] Result<std::optional<double>> optional_number(std::string_view key);
  [[nodiscard]] Result<bool> boolean(std::string_view key);
  [[nodiscard]] Result<std::optional<bool>> optional_boolean(std::string_view key);
  [[nodiscard]] Result<JsonObject> object(std::string_view key);

  // Refuses keys nobody read: "config.chian: unknown key".
  [[nodiscard]] Status close() const;

 private:
  JsonObject(const nlohmann::json& value, std::string path)
      : value_(&value), path_(std::move(path)) {}

  const nlohmann::json* value_;
  std::string path_;
  std::set<std::string, std::less<>> used_;
};

}  // namespace cairn
