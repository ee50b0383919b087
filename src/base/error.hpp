#pragma once
// The error type every cairn library returns for failures its caller must handle.
// Exceptions are for programming errors and the CLI boundary only (DESIGN.md).

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace cairn {

// Broad classes of failure. The message names the specific problem; the code lets a
// caller decide what to do (retry on `unavailable`, report `integrity` as tampering, ...).
enum class Errc {
  invalid_argument,  // the caller passed something unusable (bad flag, bad CID text)
  parse,             // bytes that do not follow their format (truncated, garbage)
  integrity,         // data that parses but does not match its hash, signature or proof
  not_found,         // a block, file, key or record that is not there
  io,                // the operating system refused: unreadable file, full disk
  crypto,            // a cryptographic operation failed (bad key, failed decryption)
  unavailable,       // a remote service or process is not reachable; may be retried
  rejected,          // a remote party understood and refused (reverted tx, HTTP 4xx)
  conflict,          // the state changed under us (nonce taken, lock held)
  unsupported,       // a valid input that uses something cairn does not support
  internal,          // a broken invariant; a bug in cairn
};

std::string_view errc_name(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string message;

  // Adds what the caller was doing: "reading block bafy…: truncated varint".
  [[nodiscard]] Error context(std::string_view what) && {
    message = std::string(what) + ": " + message;
    return std::move(*this);
  }
  [[nodiscard]] Error context(std::string_view what) const& {
    return Error{code, std::string(what) + ": " + message};
  }
  std::string to_string() const;
};

// The value or the error of an operation. [[nodiscard]] at the type: a dropped Result or
// Status is a compiler warning everywhere, so an unhandled failure is seen at build time.
// It is a std::expected in every other respect, and converts from one.
template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using std::expected<T, Error>::expected;
  Result() = default;
  Result(const std::expected<T, Error>& other) : std::expected<T, Error>(other) {}
  Result(std::expected<T, Error>&& other) : std::expected<T, Error>(std::move(other)) {}
};
using Status = Result<void>;

// Prefixes a failure with what the caller was doing; a success passes through.
template <class T>
[[nodiscard]] Result<T> with_context(Result<T> result, std::string_view what) {
  if (!result) return std::unexpected(std::move(result).error().context(what));
  return result;
}

[[nodiscard]] inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace cairn

// Propagates a failure from an expression returning Result<T> / Status; otherwise yields
// nothing. Use CAIRN_TRY_ASSIGN to keep the value.
#define CAIRN_TRY(expr)                                             \
  do {                                                              \
    auto&& cairn_try_result_ = (expr);                              \
    if (!cairn_try_result_) {                                       \
      return std::unexpected(std::move(cairn_try_result_).error()); \
    }                                                               \
  } while (false)

#define CAIRN_CONCAT_INNER_(a, b) a##b
#define CAIRN_CONCAT_(a, b) CAIRN_CONCAT_INNER_(a, b)
#define CAIRN_TRY_ASSIGN_IMPL_(tmp, lhs, expr)              \
  auto tmp = (expr);                                        \
  if (!tmp) return std::unexpected(std::move(tmp).error()); \
  lhs = std::move(*tmp)
#define CAIRN_TRY_ASSIGN(lhs, expr) \
  CAIRN_TRY_ASSIGN_IMPL_(CAIRN_CONCAT_(cairn_try_value_, __LINE__), lhs, expr)
