#pragma once
// A trustless HTTP gateway (specs.ipfs.tech/http-gateways/trustless-gateway) over a
// BlockSource, on net::Server (GET and HEAD only; anything else is 405, its body unread).
//
//   GET|HEAD /ipfs/{cid}              ?format=raw or Accept: application/vnd.ipld.raw
//                                     -> the block (application/vnd.ipld.raw)
//   GET|HEAD /ipfs/{cid}[/{path}]     ?format=car or Accept: application/vnd.ipld.car
//                                     -> a CARv1 of the DAG, depth-first, no duplicates
//                                        (application/vnd.ipld.car; version=1; order=dfs;
//                                        dups=n), ?dag-scope=all|entity|block
//   GET|HEAD /ipfs/{cid}[/{path}]     no format: the file's bytes (UnixFS deserialised),
//                                     or a listing of a directory, as a convenience
//
// Status codes: 400 for a malformed CID, a path on a raw request, or an unknown format;
// 404 when the block (or a path segment) is not in the store; 406 when Accept names only
// types the gateway cannot produce; 412 for `Cache-Control: only-if-cached` and a missing
// root; 304 when If-None-Match names the response's Etag. A missing block found while a
// CAR or file is already streaming ends the stream early (the spec's rule; clients verify).
// Error bodies are net's JSON error shape (docs/net.md).

#include <cstdint>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "net/server.hpp"
#include "store/block.hpp"

namespace cairn::store {

struct GatewayOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see Gateway::port())
  // Serve UnixFS files and directory listings when no format is asked for. When false
  // the gateway is strictly trustless and answers such requests with 400.
  bool deserialized = true;
  // Limits, deadlines and workers of the HTTP server (docs/net.md). Its host and port are
  // ignored: `host` and `port` above decide where the gateway listens.
  net::ServerOptions server = default_server_options();

  static net::ServerOptions default_server_options() {
    net::ServerOptions options;
    options.name = "gateway";
    return options;
  }
};

class Gateway {
 public:
  // `source` must outlive the gateway and be safe to read from several threads.
  Gateway(BlockSource& source, GatewayOptions options);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds exclusively and starts serving on background threads. Fails with `conflict` when
  // the port is in use, `io` when the address cannot be bound otherwise.
  [[nodiscard]] Status start();
  // Stops accepting, closes every connection, joins the threads. Idempotent.
  void stop();
  std::uint16_t port() const { return port_; }
  std::string url() const;

 private:
  Result<net::Response> serve(const net::Request& request);

  BlockSource& source_;
  GatewayOptions options_;
  std::unique_ptr<net::Server> server_;
  std::uint16_t port_ = 0;
};

}  // namespace cairn::store
