#include "store/unixfs.hpp"

#include <fmt/format.h>

#include "store/protobuf.hpp"

namespace cairn::store::unixfs {
namespace {

constexpr std::uint32_t kType = 1;
constexpr std::uint32_t kData = 2;
constexpr std::uint32_t kFilesize = 3;
constexpr std::uint32_t kBlocksizes = 4;
constexpr std::uint32_t kHashType = 5;
constexpr std::uint32_t kFanout = 6;
constexpr std::uint32_t kMode = 7;
constexpr std::uint32_t kMtime = 8;

constexpr std::uint32_t kSeconds = 1;
constexpr std::uint32_t kNanos = 2;

void append_varint_field(Bytes& out, std::uint32_t field, std::uint64_t value) {
  pb::append_key(out, field, pb::kVarint);
  pb::append_varint(out, value);
}

Bytes encode_time(const UnixTime& time) {
  Bytes out;
  // int64 on the wire: negative seconds are ten-byte two's-complement varints.
  append_varint_field(out, kSeconds, static_cast<std::uint64_t>(time.seconds));
  if (time.fractional_nanoseconds) {
    pb::append_key(out, kNanos, pb::kFixed32);
    for (int i = 0; i < 4; ++i) {
      out.push_back(static_cast<std::byte>(*time.fractional_nanoseconds >> (8 * i)));
    }
  }
  return out;
}

Status check_wire(const pb::Key& key, pb::WireType expected, std::string_view what) {
  if (key.wire == expected) return {};
  return fail(Errc::parse, fmt::format("UnixFS {}: {} where {} is required", what,
                                       pb::wire_type_name(key.wire), pb::wire_type_name(expected)));
}

Result<UnixTime> decode_time(ByteView bytes) {
  pb::Reader reader(bytes);
  UnixTime time;
  bool have_seconds = false;
  std::uint32_t last = 0;
  while (!reader.done()) {
    CAIRN_TRY_ASSIGN(const auto key, reader.key());
    if (key.field != kSeconds && key.field != kNanos) {
      return fail(Errc::parse, fmt::format("UnixFS mtime: unknown field {}", key.field));
    }
    if (key.field <= last) {
      return fail(Errc::parse,
                  fmt::format("UnixFS mtime: field {} repeated or out of order", key.field));
    }
    last = key.field;
    if (key.field == kSeconds) {
      CAIRN_TRY(check_wire(key, pb::kVarint, "mtime Seconds"));
      CAIRN_TRY_ASSIGN(const auto seconds, reader.varint("UnixFS mtime Seconds"));
      time.seconds = static_cast<std::int64_t>(seconds);
      have_seconds = true;
    } else {
      CAIRN_TRY(check_wire(key, pb::kFixed32, "mtime FractionalNanoseconds"));
      CAIRN_TRY_ASSIGN(const auto nanos, reader.fixed32("UnixFS mtime FractionalNanoseconds"));
      if (nanos == 0 || nanos > 999'999'999) {
        return fail(Errc::parse, fmt::format("UnixFS mtime: {} fractional nanoseconds is out of "
                                             "range 1..999999999",
                                             nanos));
      }
      time.fractional_nanoseconds = nanos;
    }
  }
  if (!have_seconds) return fail(Errc::parse, "UnixFS mtime has no Seconds");
  return time;
}

}  // namespace

std::string_view data_type_name(DataType type) {
  switch (type) {
    case DataType::raw:
      return "raw";
    case DataType::directory:
      return "directory";
    case DataType::file:
      return "file";
    case DataType::metadata:
      return "metadata";
    case DataType::symlink:
      return "symlink";
    case DataType::hamt_shard:
      return "HAMT shard";
  }
  return "unknown";
}

void encode_to(const Data& data, Bytes& out) {
  append_varint_field(out, kType, static_cast<std::uint64_t>(data.type));
  if (data.data) pb::append_bytes_field(out, kData, *data.data);
  if (data.filesize) append_varint_field(out, kFilesize, *data.filesize);
  for (const auto size : data.blocksizes)
    append_varint_field(out, kBlocksizes, size);
  if (data.hash_type) append_varint_field(out, kHashType, *data.hash_type);
  if (data.fanout) append_varint_field(out, kFanout, *data.fanout);
  if (data.mode) append_varint_field(out, kMode, *data.mode);
  if (data.mtime) pb::append_bytes_field(out, kMtime, encode_time(*data.mtime));
}

Bytes encode(const Data& data) {
  Bytes out;
  encode_to(data, out);
  return out;
}

Bytes directory_data() {
  Data data;
  data.type = DataType::directory;
  return encode(data);
}

Result<Data> decode(ByteView bytes) {
  pb::Reader reader(bytes);
  Data data;
  bool have_type = false;
  std::uint32_t last = 0;
  while (!reader.done()) {
    const auto offset = reader.position();
    auto key = reader.key();
    if (!key) return std::unexpected(std::move(key).error().context("UnixFS Data"));
    if (key->field < kType || key->field > kMtime) {
      return fail(Errc::parse,
                  fmt::format("UnixFS Data: unknown field {} at byte {}", key->field, offset));
    }
    if (key->field < last || (key->field == last && key->field != kBlocksizes)) {
      return fail(Errc::parse, fmt::format("UnixFS Data: field {} at byte {} is {} (fields come "
                                           "once each, in ascending order)",
                                           key->field, offset,
                                           key->field == last ? "repeated" : "out of order"));
    }
    last = key->field;
    switch (key->field) {
      case kType: {
        CAIRN_TRY(check_wire(*key, pb::kVarint, "Type"));
        CAIRN_TRY_ASSIGN(const auto type, reader.varint("UnixFS Type"));
        if (type > static_cast<std::uint64_t>(DataType::hamt_shard)) {
          return fail(Errc::parse, fmt::format("UnixFS Data: unknown Type {}", type));
        }
        data.type = static_cast<DataType>(type);
        have_type = true;
        break;
      }
      case kData: {
        CAIRN_TRY(check_wire(*key, pb::kLengthDelimited, "Data"));
        CAIRN_TRY_ASSIGN(const auto view, reader.length_delimited("UnixFS Data field"));
        data.data = to_bytes(view);
        break;
      }
      case kMtime: {
        CAIRN_TRY(check_wire(*key, pb::kLengthDelimited, "mtime"));
        CAIRN_TRY_ASSIGN(const auto view, reader.length_delimited("UnixFS mtime"));
        CAIRN_TRY_ASSIGN(data.mtime, decode_time(view));
        break;
      }
      default: {
        static constexpr std::string_view kNames[] = {
            "", "", "", "filesize", "blocksizes", "hashType", "fanout", "mode"};
        const auto name = kNames[key->field];
        CAIRN_TRY(check_wire(*key, pb::kVarint, name));
        CAIRN_TRY_ASSIGN(const auto value, reader.varint(fmt::format("UnixFS {}", name)));
        if (key->field == kFilesize) data.filesize = value;
        if (key->field == kBlocksizes) data.blocksizes.push_back(value);
        if (key->field == kHashType) data.hash_type = value;
        if (key->field == kFanout) data.fanout = value;
        if (key->field == kMode) {
          if (value > 0xffffffffu) {
            return fail(Errc::parse, fmt::format("UnixFS mode {} does not fit 32 bits", value));
          }
          data.mode = static_cast<std::uint32_t>(value);
        }
        break;
      }
    }
  }
  if (!have_type) return fail(Errc::parse, "UnixFS Data has no Type");
  return data;
}

}  // namespace cairn::store::unixfs
