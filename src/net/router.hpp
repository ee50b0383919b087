#pragma once
// Routes requests by method and path to handlers. The server consults the router as soon
// as a request head arrives, before any body is read, so per-route limits (body size,
// bearer token) are enforced on bytes that have not been received yet.

#include <cstddef>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "net/http.hpp"

namespace cairn::net {

using Handler = std::function<Result<Response>(const Request&)>;

struct RouteOptions {
  // Largest request body accepted, checked against Content-Length before the body is read
  // (413 otherwise). 0: the route takes no body at all.
  std::size_t max_body = 0;
  // When not empty, requests must carry "Authorization: Bearer <token>"; others get 401
  // before their body is read.
  std::string bearer_token;
  // The realm named in WWW-Authenticate on a 401.
  std::string realm = "cairn";

  // One-line route declarations (GCC 12 warns on designated initializers that leave
  // members out): RouteOptions::body(1 << 20).bearer(token, "cairn-node").
  static RouteOptions body(std::size_t max_body_bytes) {
    RouteOptions options;
    options.max_body = max_body_bytes;
    return options;
  }
  RouteOptions& bearer(std::string token, std::string realm_name = "cairn") {
    bearer_token = std::move(token);
    realm = std::move(realm_name);
    return *this;
  }
};

// Which paths a route serves.
class PathPattern {
 public:
  enum class Kind { exact, prefix, regex };

  // An exact path ("/v1/status"); implicit so that router.get("/x", ...) reads naturally.
  PathPattern(const char* path) : PathPattern(Kind::exact, path) {}             // NOLINT
  PathPattern(std::string path) : PathPattern(Kind::exact, std::move(path)) {}  // NOLINT

  // Every path starting with `prefix`; the rest of the path is captured as params[0]
  // ("/ipfs/" matches "/ipfs/bafy.../a/b" with params[0] = "bafy.../a/b").
  static PathPattern prefix(std::string prefix);
  // A whole-path ECMAScript regex; its groups are captured into params in order
  // (R"(/v1/roles/([a-z_]+)/(pause|resume))"). Only paths up to kMaxRegexPath bytes are
  // tried: libstdc++'s std::regex recurses per character and can exhaust the stack.
  static PathPattern regex(std::string pattern);

  static constexpr std::size_t kMaxRegexPath = 2048;

  Kind kind() const { return kind_; }
  const std::string& text() const { return text_; }
  // Whether `path` matches; on a match `params` holds the captures.
  bool match(const std::string& path, std::vector<std::string>& params) const;

 private:
  PathPattern(Kind kind, std::string text);
  Kind kind_;
  std::string text_;
  std::shared_ptr<const std::regex> regex_;
};

class Router {
 public:
  Router& add(std::string method, PathPattern pattern, Handler handler, RouteOptions options = {});
  // GET routes also answer HEAD, with the body suppressed.
  Router& get(PathPattern pattern, Handler handler, RouteOptions options = {});
  Router& post(PathPattern pattern, Handler handler, RouteOptions options = {});
  Router& put(PathPattern pattern, Handler handler, RouteOptions options = {});
  Router& del(PathPattern pattern, Handler handler, RouteOptions options = {});

  struct Route {
    std::string method;
    PathPattern pattern;
    Handler handler;
    RouteOptions options;
  };

  // The outcome of looking up a method and path.
  struct Match {
    const Route* route = nullptr;     // set when found
    std::vector<std::string> params;  // captures of that route
    int status = 0;                   // 404 or 405 when no route
    std::string allow;                // for 405: "GET, HEAD, POST"
  };
  Match match(const std::string& method, const std::string& path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace cairn::net
