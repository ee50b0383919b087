#include "net/url.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace cairn::net {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// The URL as it may appear in an error message: no userinfo, no path (either may hold a
// credential), so that a typo in a configured URL does not print its API key.
std::string shown(std::string_view text) {
  const auto scheme_end = text.find("://");
  const std::size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const auto authority_end = text.find_first_of("/?#", authority_start);
  std::string_view authority = text.substr(authority_start, authority_end - authority_start);
  std::string out(text.substr(0, authority_start));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    out += "…@";
    authority.remove_prefix(at + 1);
  }
  out += authority;
  if (authority_end != std::string_view::npos) out += "/…";
  return out;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '%';
}

bool is_v6_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

}  // namespace

Result<Url> Url::parse(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, fmt::format("'{}' {}", shown(text), why));
  };
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return bad("is not an http(s) URL");
  Url url;
  for (const char c : text.substr(0, scheme_end))
    url.scheme.push_back(lower(c));
  if (url.scheme != "http" && url.scheme != "https") return bad("is not an http(s) URL");

  std::string_view rest = text.substr(scheme_end + 3);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  const auto authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  const std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);

  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    url.userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an unterminated IPv6 address");
    const std::string_view v6 = authority.substr(1, close - 1);
    if (v6.empty() || !std::all_of(v6.begin(), v6.end(), is_v6_char) ||
        v6.find(':') == std::string_view::npos) {
      return bad("has a malformed IPv6 address");
    }
    url.host = std::string(v6);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("has text after its IPv6 address");
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    std::string_view host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (host.empty()) return bad("has no host");
    if (!std::all_of(host.begin(), host.end(), is_host_char)) {
      return bad("has a malformed host name");
    }
    for (const char c : host)
      url.host.push_back(lower(c));
  }
  if (url.host.empty()) return bad("has no host");

  url.port = url.https() ? 443 : 80;
  if (has_port && !port_text.empty()) {
    if (!std::all_of(port_text.begin(), port_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return bad(fmt::format("has a port '{}' that is not a number", port_text));
    }
    if (port_text.size() > 5) return bad(fmt::format("has port {} out of range", port_text));
    const unsigned long port = std::stoul(std::string(port_text));
    if (port == 0 || port > 65535) return bad(fmt::format("has port {} out of range", port));
    url.port = static_cast<std::uint16_t>(port);
  }

  if (std::any_of(target.begin(), target.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7F;
      })) {
    return bad("contains a space or control character");
  }
  url.target =
      target.empty() || target.front() == '?' ? "/" + std::string(target) : std::string(target);
  return url;
}

std::string Url::authority() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::string Url::origin() const {
  return scheme + "://" + authority();
}

std::string redact_url(std::string_view url) {
  auto parsed = Url::parse(url);
  return parsed ? parsed->redacted() : std::string("(not an http(s) URL)");
}

std::string Url::redacted() const {
  return origin() + (target == "/" ? "" : "/…");
}

std::string Url::join(std::string_view path) const {
  const auto question = target.find('?');
  std::string base = target.substr(0, question);
  const std::string base_query = question == std::string::npos ? "" : target.substr(question + 1);
  while (!base.empty() && base.back() == '/')
    base.pop_back();

  const auto path_question = path.find('?');
  std::string_view extra_path = path.substr(0, path_question);
  const std::string_view extra_query =
      path_question == std::string_view::npos ? "" : path.substr(path_question + 1);

  std::string out = base;
  if (!extra_path.empty() && extra_path.front() != '/') out += '/';
  out += extra_path;
  if (out.empty()) out = "/";
  std::string query = base_query;
  if (!extra_query.empty()) query += (query.empty() ? "" : "&") + std::string(extra_query);
  if (!query.empty()) out += "?" + query;
  return out;
}

}  // namespace cairn::net
