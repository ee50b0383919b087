#include "net/http.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace cairn::net {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [key, value] : fields_) {
    if (iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::size_t Headers::count(std::string_view name) const {
  return static_cast<std::size_t>(std::count_if(
      fields_.begin(), fields_.end(), [&](const Field& f) { return iequals(f.first, name); }));
}

void Headers::set(std::string_view name, std::string value) {
  remove(name);
  fields_.emplace_back(std::string(name), std::move(value));
}

void Headers::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  std::erase_if(fields_, [&](const Field& f) { return iequals(f.first, name); });
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return std::nullopt;
}

Response Response::text(std::string body, int status) {
  return bytes(std::move(body), "text/plain; charset=utf-8", status);
}

Response Response::json(std::string body, int status) {
  return bytes(std::move(body), "application/json", status);
}

Response Response::bytes(std::string body, std::string content_type, int status) {
  Response response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

Response Response::stream(std::string content_type, BodyProducer producer, int status) {
  Response response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.producer = std::move(producer);
  return response;
}

Response Response::empty(int status) {
  Response response;
  response.status = status;
  return response;
}

int status_for(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
    case Errc::parse:
      return 400;
    case Errc::not_found:
      return 404;
    // A refusal of well-formed input on its merits (a policy, a failed check) rather than a
    // permission problem: 422, like integrity. Authentication failures answer 401 directly.
    case Errc::rejected:
    case Errc::integrity:
      return 422;
    case Errc::conflict:
      return 409;
    case Errc::unavailable:
      return 503;
    case Errc::unsupported:
      return 501;
    case Errc::io:
    case Errc::crypto:
    case Errc::internal:
      return 500;
  }
  return 500;
}

Errc errc_for_status(int status) {
  if (status == 404 || status == 410) return Errc::not_found;
  if (status == 409) return Errc::conflict;
  if (status >= 300 && status < 500) return Errc::rejected;
  if (status >= 500 && status < 600) return Errc::unavailable;
  return Errc::parse;
}

std::string_view errc_identifier(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::parse:
      return "parse";
    case Errc::integrity:
      return "integrity";
    case Errc::not_found:
      return "not_found";
    case Errc::io:
      return "io";
    case Errc::crypto:
      return "crypto";
    case Errc::unavailable:
      return "unavailable";
    case Errc::rejected:
      return "rejected";
    case Errc::conflict:
      return "conflict";
    case Errc::unsupported:
      return "unsupported";
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

namespace {

Errc errc_of_status(int status) {
  switch (status) {
    case 400:
    case 405:
    case 411:
    case 413:
    case 414:
    case 417:
    case 431:
      return Errc::invalid_argument;
    case 404:
      return Errc::not_found;
    case 408:
    case 503:
    case 504:
      return Errc::unavailable;
    case 409:
      return Errc::conflict;
    case 501:
    case 505:
      return Errc::unsupported;
    case 422:
      return Errc::rejected;
    default:
      break;
  }
  if (status >= 400 && status < 500) return Errc::rejected;
  return Errc::internal;
}

Response error_body(int status, Errc code, std::string_view message) {
  nlohmann::json body{{"error", {{"code", errc_identifier(code)}, {"message", message}}}};
  // Messages can carry bytes from the request; replace invalid UTF-8 rather than throw.
  return Response::json(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                        status);
}

}  // namespace

Response error_response(int status, std::string_view message) {
  return error_body(status, errc_of_status(status), message);
}

Response error_response(const Error& error) {
  return error_body(status_for(error.code), error.code, error.message);
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

bool bearer_matches(const Request& request, std::string_view token) {
  const auto header = request.header("Authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (!header || header->size() <= kScheme.size() || token.empty()) return false;
  if (!iequals(header->substr(0, kScheme.size()), kScheme)) return false;
  return constant_time_equal(as_bytes(header->substr(kScheme.size())), as_bytes(token));
}

Response unauthorized(std::string_view realm, std::string_view message) {
  Response response = error_body(401, Errc::rejected, message);
  response.headers.set("WWW-Authenticate", fmt::format("Bearer realm=\"{}\"", realm));
  return response;
}

Result<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const int high = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
      const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return fail(Errc::parse, fmt::format("malformed percent-escape at byte {}", i));
      }
      const char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '\0') return fail(Errc::parse, "an encoded NUL (%00) is not accepted");
      out.push_back(decoded);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
                            (u >= '0' && u <= '9') || u == '-' || u == '.' || u == '_' ||
                            u == '~' || (keep_slash && u == '/');
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0F]);
    }
  }
  return out;
}

std::string with_query(std::string_view path,
                       const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out(path);
  char separator = out.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [key, value] : params) {
    out += separator;
    out += percent_encode(key);
    out += '=';
    out += percent_encode(value);
    separator = '&';
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    CAIRN_TRY_ASSIGN(std::string key, percent_decode(part.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      CAIRN_TRY_ASSIGN(value, percent_decode(part.substr(eq + 1), true));
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace cairn::net
