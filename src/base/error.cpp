#include "base/error.hpp"

namespace cairn {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid argument";
    case Errc::parse: return "malformed input";
    case Errc::integrity: return "integrity failure";
    case Errc::not_found: return "not found";
    case Errc::io: return "i/o error";
    case Errc::crypto: return "cryptographic failure";
    case Errc::unavailable: return "unavailable";
    case Errc::rejected: return "rejected";
    case Errc::conflict: return "conflict";
    case Errc::unsupported: return "unsupported";
    case Errc::internal: return "internal error";
  }
  return "unknown error";
}

std::string Error::to_string() const {
  return std::string(errc_name(code)) + ": " + message;
}

}  // namespace cairn
