#pragma once
// The signing service over HTTP (loopback or behind a TLS proxy):
//   POST /sign?level=N&client=ID      body: imprint bytes  -> KSI signature (TLV 0x0800)
//   POST /sign-batch?client=ID        body: imprints back to back -> signatures back to back
//   GET  /extend?aggregation_time=A[&publication_time=P]  -> KSI extend response PDU (0x0321)
//   GET  /publications.bin            the signed publications file
//   GET  /publications-cert.pem       the certificate that signs it (pin it once)
//   POST /publish                     publishes the calendar head -> JSON
//   GET  /status                      JSON
// Requests wait for their round's second to enter the calendar, so one connection gets at
// most one signature per second from /sign; bulk callers use /sign-batch or a block signer.

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "base/error.hpp"
#include "seal/service.hpp"

namespace httplib {
class Server;
}

namespace cairn::seal {

class SealServer {
 public:
  explicit SealServer(SigningService& service, std::size_t threads = 256);
  ~SealServer();
  SealServer(const SealServer&) = delete;
  SealServer& operator=(const SealServer&) = delete;

  // Binds and serves on a background thread; port 0 picks a free port.
  Status start(const std::string& host, int port);
  // Binds and serves on this thread until stop().
  Status run(const std::string& host, int port);
  void stop();
  int port() const { return port_; }

 private:
  SigningService& service_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace cairn::seal
