#pragma once
// The signing service over HTTP (loopback or behind a TLS proxy), on net::Server:
//   POST /sign?level=N&client=ID      body: imprint bytes  -> KSI signature (TLV 0x0800)
//   POST /sign-batch?client=ID        body: imprints back to back -> signatures back to back
//   GET  /extend?aggregation_time=A[&publication_time=P]  -> KSI extend response PDU (0x0321)
//   GET  /publications.bin            the signed publications file
//   GET  /publications-cert.pem       the certificate that signs it (pin it once)
//   POST /publish                     publishes the calendar head -> JSON
//   GET  /status                      JSON
// Requests wait for their round's second to enter the calendar, so one connection gets at
// most one signature per second from /sign; bulk callers use /sign-batch or a block signer.
// Bodies are refused (413) before they are read past kMaxSignBody for /sign and
// kMaxSignBatchBody for /sign-batch (seal/http_codec.hpp); errors are net's error body.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/error.hpp"
#include "seal/service.hpp"

namespace cairn::net {
class Server;
}

namespace cairn::seal {

class SealServer {
 public:
  // `threads`: requests handled at once (each /sign holds one until its round closes).
  explicit SealServer(SigningService& service, std::size_t threads = 256);
  ~SealServer();
  SealServer(const SealServer&) = delete;
  SealServer& operator=(const SealServer&) = delete;

  // Binds and serves on background threads; port 0 picks a free port.
  Status start(const std::string& host, int port);
  // Binds and serves until stop() (from another thread).
  Status run(const std::string& host, int port);
  void stop();
  int port() const { return port_; }

 private:
  SigningService& service_;
  std::size_t threads_;
  std::unique_ptr<net::Server> server_;
  int port_ = 0;
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stopping_ = false;
};

}  // namespace cairn::seal
