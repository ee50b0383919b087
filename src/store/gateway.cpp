#include "store/gateway.hpp"

#include <fmt/format.h>

#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "base/log.hpp"
#include "net/http.hpp"
#include "store/car.hpp"
#include "store/dag_pb.hpp"
#include "store/exporter.hpp"
#include "store/unixfs.hpp"

namespace cairn::store {
namespace {

constexpr const char* kRawType = "application/vnd.ipld.raw";
constexpr const char* kCarType = "application/vnd.ipld.car; version=1; order=dfs; dups=n";
constexpr const char* kImmutable = "public, max-age=29030400, immutable";

enum class Format { raw, car, deserialized };
enum class Scope { all, entity, block };

struct Negotiated {
  std::optional<Format> format;  // nullopt: 406
  bool explicit_format = false;  // from ?format= (no Content-Location needed)
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return std::string(text);
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto at = text.find(separator, start);
    parts.push_back(
        trim(text.substr(start, at == std::string_view::npos ? text.npos : at - start)));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return parts;
}

// Content negotiation on Accept (RFC 9110 12.5.1): the supported type with the highest q
// wins, ties going to the earlier one. CAR parameters the gateway cannot honour (a version
// other than 1, an order other than dfs/unk) make that entry unacceptable.
std::optional<Format> negotiate_accept(std::string_view accept, bool deserialized) {
  std::optional<Format> best;
  double best_q = 0;
  for (const std::string& range : split(accept, ',')) {
    if (range.empty()) continue;
    const auto params = split(range, ';');
    const std::string type = lower(params[0]);
    double q = 1;
    bool usable = true;
    for (std::size_t i = 1; i < params.size(); ++i) {
      const auto eq = params[i].find('=');
      if (eq == std::string::npos) continue;
      const std::string key = lower(trim(params[i].substr(0, eq)));
      const std::string value = lower(trim(params[i].substr(eq + 1)));
      if (key == "q") {
        q = std::strtod(value.c_str(), nullptr);
      } else if (type == "application/vnd.ipld.car") {
        if (key == "version" && value != "1") usable = false;
        if (key == "order" && value != "dfs" && value != "unk") usable = false;
      }
    }
    std::optional<Format> format;
    if (type == "application/vnd.ipld.raw") {
      format = Format::raw;
    } else if (type == "application/vnd.ipld.car") {
      format = Format::car;
    } else if (deserialized &&
               (type == "*/*" || type == "application/*" || type == "application/octet-stream" ||
                type == "text/html" || type == "text/*" || type == "text/plain")) {
      format = Format::deserialized;
    }
    if (!format || !usable || q <= 0) continue;
    if (!best || q > best_q) {
      best = format;
      best_q = q;
    }
  }
  return best;
}

std::string etag_for(const Cid& cid, Format format, Scope scope, const std::string& path) {
  const std::string suffix =
      path.empty() ? "" : fmt::format(".{:x}", std::hash<std::string>()(path));
  switch (format) {
    case Format::raw:
      return fmt::format("\"{}.raw\"", cid.to_string());
    case Format::car: {
      const char* scope_name = scope == Scope::all      ? "all"
                               : scope == Scope::entity ? "entity"
                                                        : "block";
      return fmt::format("\"{}.car.dfs.n.{}{}\"", cid.to_string(), scope_name, suffix);
    }
    case Format::deserialized:
      return fmt::format("\"{}{}\"", cid.to_string(), suffix);
  }
  return {};
}

net::Response plain_error(int status, const std::string& message) {
  net::Response res = net::error_response(status, message);
  res.headers.set("X-Content-Type-Options", "nosniff");
  res.headers.set("Cache-Control", "no-cache");
  return res;
}

net::Response plain_error(const Error& error) {
  return plain_error(net::status_for(error.code), error.message);
}

// The UnixFS node behind `cid`, when it is a dag-pb UnixFS node.
Result<std::pair<PbNode, unixfs::Data>> unixfs_node(const Cid& cid, BlockSource& source) {
  CAIRN_TRY_ASSIGN(const Bytes block, source.get(cid));
  CAIRN_TRY_ASSIGN(auto node, decode_pb_node(block));
  if (!node.data) return fail(Errc::parse, fmt::format("{} has no UnixFS data", cid.to_string()));
  CAIRN_TRY_ASSIGN(auto data, unixfs::decode(*node.data));
  return std::pair{std::move(node), std::move(data)};
}

// Follows `segments` from `root` through UnixFS directories; returns the CIDs of every
// block on the way, the terminal one last.
Result<std::vector<Cid>> resolve(const Cid& root, const std::vector<std::string>& segments,
                                 BlockSource& source) {
  std::vector<Cid> chain{root};
  for (const std::string& segment : segments) {
    const Cid current = chain.back();
    if (current.codec() != codec::kDagPb) {
      return fail(Errc::not_found, fmt::format("{} is not a directory (no path '{}' below it)",
                                               current.to_string(), segment));
    }
    CAIRN_TRY_ASSIGN(auto node, unixfs_node(current, source));
    if (node.second.type == unixfs::DataType::hamt_shard) {
      return fail(Errc::unsupported, "paths through HAMT-sharded directories are not supported");
    }
    if (node.second.type != unixfs::DataType::directory) {
      return fail(Errc::not_found, fmt::format("{} is not a directory (no path '{}' below it)",
                                               current.to_string(), segment));
    }
    const auto link = std::find_if(node.first.links.begin(), node.first.links.end(),
                                   [&](const PbLink& l) { return l.name && *l.name == segment; });
    if (link == node.first.links.end()) {
      return fail(Errc::not_found,
                  fmt::format("no '{}' in directory {}", segment, current.to_string()));
    }
    chain.push_back(link->cid);
  }
  return chain;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Sends CAR or file bytes as a chunked body: the work runs once, writing as it goes; a
// failure part-way ends the response early (the client sees a truncated body).
net::BodyProducer streaming(std::function<Status(const ByteWriter&)> produce, std::string what) {
  return [produce = std::move(produce), what = std::move(what)](const net::ByteSink& sink) {
    const ByteWriter write = [&sink](ByteView bytes) { return sink(bytes); };
    auto status = produce(write);
    if (!status) log::warn("gateway: {} ended early: {}", what, status.error().message);
    return status;
  };
}

}  // namespace

Gateway::Gateway(BlockSource& source, GatewayOptions options)
    : source_(source), options_(std::move(options)) {}

Gateway::~Gateway() {
  stop();
}

std::string Gateway::url() const {
  return fmt::format("http://{}:{}", options_.host, port_);
}

Status Gateway::start() {
  if (server_) return fail(Errc::conflict, "the gateway is already started");
  net::Router router;
  router.get(net::PathPattern::prefix("/ipfs/"),
             [this](const net::Request& request) { return serve(request); });
  net::ServerOptions server_options = options_.server;
  server_options.host = options_.host;
  server_options.port = options_.port;
  CAIRN_TRY_ASSIGN(server_, net::Server::start(std::move(router), server_options));
  port_ = server_->port();
  return {};
}

void Gateway::stop() {
  if (server_) server_->stop();
}

Result<net::Response> Gateway::serve(const net::Request& req) {
  const std::string rest = req.params.empty() ? std::string() : req.params[0];
  const auto slash = rest.find('/');
  const std::string cid_text = rest.substr(0, slash);
  std::vector<std::string> segments;
  if (slash != std::string::npos) {
    for (auto& segment : split(std::string_view(rest).substr(slash + 1), '/')) {
      if (!segment.empty()) segments.push_back(std::move(segment));
    }
  }
  auto cid = Cid::parse(cid_text);
  if (!cid) return plain_error(400, cid.error().message);

  // Format: ?format= wins over Accept (spec).
  Negotiated negotiated;
  const auto accept = req.header("Accept");
  if (const auto format = req.query_param("format")) {
    negotiated.explicit_format = true;
    if (*format == "raw") {
      negotiated.format = Format::raw;
    } else if (*format == "car") {
      negotiated.format = Format::car;
    } else {
      return plain_error(400, fmt::format("unsupported format '{}' (raw or car)", *format));
    }
  } else if (accept) {
    negotiated.format = negotiate_accept(*accept, options_.deserialized);
    if (!negotiated.format) {
      return plain_error(406, fmt::format("cannot produce any of '{}'; this gateway serves {} and "
                                          "application/vnd.ipld.car",
                                          *accept, kRawType));
    }
  } else if (options_.deserialized) {
    negotiated.format = Format::deserialized;
  } else {
    return plain_error(400, "a trustless gateway needs ?format= or an Accept header");
  }
  const Format format = *negotiated.format;
  if (format == Format::raw && !segments.empty()) {
    return plain_error(400, "a raw block request takes a bare CID, not a path");
  }

  Scope scope = Scope::all;
  if (format == Format::car) {
    if (const auto value = req.query_param("dag-scope")) {
      if (*value == "all") {
        scope = Scope::all;
      } else if (*value == "entity") {
        scope = Scope::entity;
      } else if (*value == "block") {
        scope = Scope::block;
      } else {
        return plain_error(400, fmt::format("unsupported dag-scope '{}'", *value));
      }
    }
  }

  // The root block must be here (404, or 412 for only-if-cached), before committing to 200.
  auto present = source_.has(*cid);
  if (!present) return plain_error(present.error());
  if (!*present) {
    const auto cache_control = req.header("Cache-Control");
    const bool only_if_cached =
        cache_control && cache_control->find("only-if-cached") != std::string_view::npos;
    return plain_error(only_if_cached ? 412 : 404,
                       fmt::format("block {} is not on this gateway", cid->to_string()));
  }
  auto chain = resolve(*cid, segments, source_);
  if (!chain) return plain_error(chain.error());
  const Cid terminal = chain->back();
  const std::string path_text = rest.substr(cid_text.size());
  const std::string etag = etag_for(*cid, format, scope, path_text);

  net::Response res;
  res.headers.set("X-Content-Type-Options", "nosniff");
  res.headers.set("Cache-Control", kImmutable);
  res.headers.set("Etag", etag);
  res.headers.set("Vary", "Accept");
  res.headers.set("X-Ipfs-Path", "/ipfs/" + rest);
  {
    std::string roots;
    for (const auto& c : *chain)
      roots += (roots.empty() ? "" : ",") + c.to_string();
    res.headers.set("X-Ipfs-Roots", roots);
  }
  if (!negotiated.explicit_format && format != Format::deserialized) {
    res.headers.set("Content-Location",
                    fmt::format("/ipfs/{}?format={}", rest, format == Format::raw ? "raw" : "car"));
  }
  if (const auto match = req.header("If-None-Match");
      match && !match->empty() && (*match == etag || *match == "*" || *match == "W/" + etag)) {
    res.status = 304;
    return res;
  }

  switch (format) {
    case Format::raw: {
      auto block = source_.get(*cid);
      if (!block) return plain_error(block.error());
      res.headers.set("Content-Disposition",
                      fmt::format("attachment; filename=\"{}.bin\"", cid->to_string()));
      res.content_type = kRawType;
      res.body = std::string(as_chars(*block));
      return res;
    }
    case Format::car: {
      res.headers.set("Content-Disposition",
                      fmt::format("attachment; filename=\"{}.car\"", cid->to_string()));
      res.headers.set("Accept-Ranges", "none");
      if (scope == Scope::entity && terminal.codec() == codec::kDagPb) {
        auto node = unixfs_node(terminal, source_);
        if (node && node->second.type != unixfs::DataType::file &&
            node->second.type != unixfs::DataType::raw) {
          scope = Scope::block;  // a directory's entity is its own node
        }
      } else if (scope == Scope::entity) {
        scope = Scope::block;  // a raw block is its own entity
      }
      // For HEAD the server sends the headers and never calls the producer, so the DAG is
      // not walked.
      const Cid root = *cid;
      const std::vector<Cid> path_blocks(chain->begin(), chain->end() - 1);
      res.content_type = kCarType;
      res.producer = streaming(
          [this, root, terminal, path_blocks, scope](const ByteWriter& write) -> Status {
            // Header names the requested CID; path blocks first, then the terminus.
            const Cid roots[] = {root};
            CAIRN_TRY(write(encode_car_header(roots)));
            for (const Cid& c : path_blocks) {
              CAIRN_TRY_ASSIGN(const Bytes block, source_.get(c));
              Bytes section;
              append_car_section(section, c, block);
              CAIRN_TRY(write(section));
            }
            if (scope == Scope::block) {
              CAIRN_TRY_ASSIGN(const Bytes block, source_.get(terminal));
              Bytes section;
              append_car_section(section, terminal, block);
              return write(section);
            }
            return write_car_sections(terminal, source_, write);
          },
          "CAR of " + root.to_string());
      return res;
    }
    case Format::deserialized: {
      if (terminal.codec() == codec::kDagPb) {
        auto node = unixfs_node(terminal, source_);
        if (!node) return plain_error(node.error());
        if (node->second.type == unixfs::DataType::directory) {
          std::ostringstream html;
          html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>/ipfs/"
               << html_escape(rest) << "</title></head><body>\n<h1>/ipfs/" << html_escape(rest)
               << "</h1>\n<ul>\n";
          for (const auto& link : node->first.links) {
            const std::string name = link.name.value_or("");
            html << "<li><a href=\"/ipfs/" << html_escape(rest) << "/" << html_escape(name) << "\">"
                 << html_escape(name) << "</a> " << link.cid.to_string() << "</li>\n";
          }
          html << "</ul>\n</body></html>\n";
          res.content_type = "text/html; charset=utf-8";
          res.body = html.str();
          return res;
        }
      }
      res.content_type = "application/octet-stream";
      res.producer = streaming(
          [this, terminal](const ByteWriter& write) -> Status {
            return export_file(terminal, source_, write);
          },
          "file " + terminal.to_string());
      return res;
    }
  }
  return plain_error(500, "unreachable");
}

}  // namespace cairn::store
