#include "net/router.hpp"

#include <algorithm>

namespace cairn::net {

PathPattern::PathPattern(Kind kind, std::string text) : kind_(kind), text_(std::move(text)) {
  if (kind_ == Kind::regex) {
    regex_ = std::make_shared<const std::regex>(text_, std::regex::ECMAScript);
  }
}

PathPattern PathPattern::prefix(std::string prefix) {
  return PathPattern(Kind::prefix, std::move(prefix));
}

PathPattern PathPattern::regex(std::string pattern) {
  return PathPattern(Kind::regex, std::move(pattern));
}

bool PathPattern::match(const std::string& path, std::vector<std::string>& params) const {
  params.clear();
  switch (kind_) {
    case Kind::exact:
      return path == text_;
    case Kind::prefix:
      if (!path.starts_with(text_)) return false;
      params.push_back(path.substr(text_.size()));
      return true;
    case Kind::regex: {
      if (path.size() > kMaxRegexPath) return false;
      std::smatch groups;
      if (!std::regex_match(path, groups, *regex_)) return false;
      for (std::size_t i = 1; i < groups.size(); ++i)
        params.push_back(groups[i].str());
      return true;
    }
  }
  return false;
}

Router& Router::add(std::string method, PathPattern pattern, Handler handler,
                    RouteOptions options) {
  routes_.push_back(
      Route{std::move(method), std::move(pattern), std::move(handler), std::move(options)});
  return *this;
}

Router& Router::get(PathPattern pattern, Handler handler, RouteOptions options) {
  return add("GET", std::move(pattern), std::move(handler), std::move(options));
}
Router& Router::post(PathPattern pattern, Handler handler, RouteOptions options) {
  return add("POST", std::move(pattern), std::move(handler), std::move(options));
}
Router& Router::put(PathPattern pattern, Handler handler, RouteOptions options) {
  return add("PUT", std::move(pattern), std::move(handler), std::move(options));
}
Router& Router::del(PathPattern pattern, Handler handler, RouteOptions options) {
  return add("DELETE", std::move(pattern), std::move(handler), std::move(options));
}

Router::Match Router::match(const std::string& method, const std::string& path) const {
  Match result;
  std::vector<std::string> allowed;
  std::vector<std::string> params;
  for (const Route& route : routes_) {
    if (!route.pattern.match(path, params)) continue;
    const bool serves = route.method == method || (method == "HEAD" && route.method == "GET");
    if (serves) {
      result.route = &route;
      result.params = std::move(params);
      return result;
    }
    auto note = [&](const std::string& m) {
      if (std::find(allowed.begin(), allowed.end(), m) == allowed.end()) allowed.push_back(m);
    };
    note(route.method);
    if (route.method == "GET") note("HEAD");
  }
  if (allowed.empty()) {
    result.status = 404;
    return result;
  }
  result.status = 405;
  for (const auto& m : allowed)
    result.allow += (result.allow.empty() ? "" : ", ") + m;
  return result;
}

}  // namespace cairn::net
