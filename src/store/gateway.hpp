#pragma once
// A trustless HTTP gateway (specs.ipfs.tech/http-gateways/trustless-gateway) over a
// BlockSource, on cpp-httplib.
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

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "base/error.hpp"
#include "store/block.hpp"

namespace httplib {
class Server;
}

namespace cairn::store {

struct GatewayOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see Gateway::port())
  // Serve UnixFS files and directory listings when no format is asked for. When false
  // the gateway is strictly trustless and answers such requests with 400.
  bool deserialized = true;
};

class Gateway {
 public:
  // `source` must outlive the gateway and be safe to read from several threads.
  Gateway(BlockSource& source, GatewayOptions options);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds and starts serving on a background thread. Fails with `io` when the address
  // cannot be bound (in use, not local).
  [[nodiscard]] Status start();
  // Stops accepting, finishes the requests in flight, joins the thread. Idempotent.
  void stop();
  std::uint16_t port() const { return port_; }
  std::string url() const;

 private:
  void install_routes();

  BlockSource& source_;
  GatewayOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

}  // namespace cairn::store
