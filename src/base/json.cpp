#include "base/json.hpp"

#include <fmt/format.h>

#include <cmath>

#include "base/encoding.hpp"

namespace cairn {

namespace {

// Deepest nesting of arrays and objects, counted outside strings. Cheap, and it lets the
// recursive parser run only on documents whose recursion is bounded.
std::size_t nesting_depth(std::string_view text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Thrown from the parser callback to stop at a duplicate key; caught in parse_json.
struct DuplicateKey {
  std::string key;
};

}  // namespace

Result<nlohmann::json> parse_json(std::string_view text, std::string_view what,
                                  std::size_t max_depth) {
  if (nesting_depth(text) > max_depth) {
    return fail(Errc::parse, fmt::format("{}: nested deeper than {} levels", what, max_depth));
  }
  // Duplicate keys are refused: two readers that keep different copies would see two
  // different documents under one hash.
  std::vector<std::set<std::string>> open_objects;
  auto callback = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      open_objects.emplace_back();
    } else if (event == Event::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == Event::key && !open_objects.empty()) {
      auto key = parsed.get<std::string>();
      if (!open_objects.back().insert(key).second) throw DuplicateKey{std::move(key)};
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback, true, false);
  } catch (const DuplicateKey& duplicate) {
    return fail(Errc::parse,
                fmt::format("{}: the key \"{}\" appears twice in one object", what, duplicate.key));
  } catch (const nlohmann::json::exception& e) {
    // nlohmann's text reads "[json.exception.parse_error.101] parse error at line 1, ...";
    // keep what follows the bracketed id.
    std::string_view detail = e.what();
    if (const auto close = detail.find("] "); close != std::string_view::npos) {
      detail.remove_prefix(close + 2);
    }
    return fail(Errc::parse, fmt::format("{}: not valid JSON ({})", what, detail));
  }
}

Result<nlohmann::json> parse_json(ByteView text, std::string_view what, std::size_t max_depth) {
  return parse_json(as_chars(text), what, max_depth);
}

Error JsonNode::error(std::string_view problem) const {
  return Error{Errc::parse,
               path_.empty() ? std::string(problem) : fmt::format("{}: {}", path_, problem)};
}

Result<std::string> JsonNode::string() const {
  if (!value_->is_string()) return std::unexpected(error("must be a string"));
  return value_->get<std::string>();
}

Result<std::string> JsonNode::non_empty_string() const {
  CAIRN_TRY_ASSIGN(auto text, string());
  if (text.empty()) return std::unexpected(error("must not be empty"));
  return text;
}

Result<std::uint64_t> JsonNode::u64(std::uint64_t min, std::uint64_t max) const {
  auto out_of_range = [&] {
    return std::unexpected(
        max == std::numeric_limits<std::uint64_t>::max()
            ? error(fmt::format("must be an integer of at least {}", min))
            : error(fmt::format("must be an integer between {} and {}", min, max)));
  };
  if (!value_->is_number_integer()) return out_of_range();
  if (value_->is_number_unsigned()) {
    const auto number = value_->get<std::uint64_t>();
    if (number < min || number > max) return out_of_range();
    return number;
  }
  const auto number = value_->get<std::int64_t>();
  if (number < 0 || static_cast<std::uint64_t>(number) < min ||
      static_cast<std::uint64_t>(number) > max) {
    return out_of_range();
  }
  return static_cast<std::uint64_t>(number);
}

Result<std::int64_t> JsonNode::i64(std::int64_t min, std::int64_t max) const {
  auto out_of_range = [&] {
    return std::unexpected(error(fmt::format("must be an integer between {} and {}", min, max)));
  };
  if (!value_->is_number_integer()) return out_of_range();
  // nlohmann keeps numbers above INT64_MAX unsigned; they are out of every range here.
  if (value_->is_number_unsigned() &&
      value_->get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return out_of_range();
  }
  const auto number = value_->get<std::int64_t>();
  if (number < min || number > max) return out_of_range();
  return number;
}

Result<double> JsonNode::number() const {
  if (!value_->is_number()) return std::unexpected(error("must be a number"));
  const double number = value_->get<double>();
  if (!std::isfinite(number)) return std::unexpected(error("must be a finite number"));
  return number;
}

Result<bool> JsonNode::boolean() const {
  if (!value_->is_boolean()) return std::unexpected(error("must be true or false"));
  return value_->get<bool>();
}

Result<Bytes> JsonNode::hex_bytes(std::optional<std::size_t> size) const {
  CAIRN_TRY_ASSIGN(auto text, string());
  auto bytes = from_hex(text);
  if (!bytes) return std::unexpected(error("must be hex"));
  if (to_hex(*bytes) != text) return std::unexpected(error("hex must be lower case"));
  if (size && bytes->size() != *size) {
    return std::unexpected(error(fmt::format("must be {} bytes of hex", *size)));
  }
  return *bytes;
}

Result<std::vector<JsonNode>> JsonNode::array(std::size_t max_items) const {
  if (!value_->is_array()) return std::unexpected(error("must be an array"));
  if (value_->size() > max_items) {
    return std::unexpected(error(fmt::format("must have at most {} items", max_items)));
  }
  std::vector<JsonNode> items;
  items.reserve(value_->size());
  for (std::size_t i = 0; i < value_->size(); ++i) {
    items.emplace_back((*value_)[i], fmt::format("{}[{}]", path_, i));
  }
  return items;
}

Result<JsonObject> JsonNode::object() const {
  return JsonObject::of(*value_, path_);
}

Result<JsonObject> JsonObject::of(const nlohmann::json& value, std::string path) {
  if (!value.is_object()) {
    return fail(Errc::parse,
                path.empty() ? std::string("must be an object") : path + ": must be an object");
  }
  return JsonObject(value, std::move(path));
}

std::string JsonObject::where(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

bool JsonObject::has(std::string_view key) const {
  return value_->contains(key);
}

std::optional<JsonNode> JsonObject::optional(std::string_view key) {
  used_.emplace(key);
  const auto it = value_->find(key);
  if (it == value_->end()) return std::nullopt;
  return JsonNode(*it, where(key));
}

Result<JsonNode> JsonObject::required(std::string_view key) {
  auto node = optional(key);
  if (!node) return fail(Errc::parse, where(key) + ": missing");
  return *std::move(node);
}

Result<std::string> JsonObject::string(std::string_view key) {
  CAIRN_TRY_ASSIGN(auto node, required(key));
  return node.string();
}

Result<std::optional<std::string>> JsonObject::optional_string(std::string_view key) {
  auto node = optional(key);
  if (!node) return std::optional<std::string>{};
  CAIRN_TRY_ASSIGN(auto text, node->string());
  return std::optional<std::string>{std::move(text)};
}

Result<std::uint64_t> JsonObject::u64(std::string_view key, std::uint64_t min, std::uint64_t max) {
  CAIRN_TRY_ASSIGN(auto node, required(key));
  return node.u64(min, max);
}

Result<std::optional<std::uint64_t>> JsonObject::optional_u64(std::string_view key,
                                                              std::uint64_t min,
                                                              std::uint64_t max) {
  auto node = optional(key);
  if (!node) return std::optional<std::uint64_t>{};
  CAIRN_TRY_ASSIGN(auto number, node->u64(min, max));
  return std::optional<std::uint64_t>{number};
}

Result<double> JsonObject::number(std::string_view key) {
  CAIRN_TRY_ASSIGN(auto node, required(key));
  return node.number();
}

Result<std::optional<double>> JsonObject::optional_number(std::string_view key) {
  auto node = optional(key);
  if (!node) return std::optional<double>{};
  CAIRN_TRY_ASSIGN(auto number, node->number());
  return std::optional<double>{number};
}

Result<bool> JsonObject::boolean(std::string_view key) {
  CAIRN_TRY_ASSIGN(auto node, required(key));
  return node.boolean();
}

Result<std::optional<bool>> JsonObject::optional_boolean(std::string_view key) {
  auto node = optional(key);
  if (!node) return std::optional<bool>{};
  CAIRN_TRY_ASSIGN(auto flag, node->boolean());
  return std::optional<bool>{flag};
}

Result<JsonObject> JsonObject::object(std::string_view key) {
  CAIRN_TRY_ASSIGN(auto node, required(key));
  return node.object();
}

Status JsonObject::close() const {
  for (const auto& [key, unused] : value_->items()) {
    if (!used_.contains(key)) return fail(Errc::parse, where(key) + ": unknown key");
  }
  return {};
}

}  // namespace cairn
