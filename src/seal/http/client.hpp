#pragma once
// A client for cairn's signing service (seal/http/server.hpp), on net::Client: timeouts,
// retries (signing the same hash again is harmless, so /sign and /sign-batch are retried
// after a connection failure or a 5xx; /publish is not), and every answer capped
// (seal/http_codec.hpp).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "seal/http_codec.hpp"
#include "seal/publication.hpp"
#include "seal/signature.hpp"

namespace cairn::net {
class Client;
}

namespace cairn::seal {

class SealClient {
 public:
  // `url`: http(s)://host:port (net::Url). A URL that does not parse makes every call fail
  // with the reason.
  explicit SealClient(const std::string& url);
  ~SealClient();
  SealClient(const SealClient&) = delete;
  SealClient& operator=(const SealClient&) = delete;

  Result<Signature> sign(const Imprint& hash, std::uint8_t level = 0,
                         const std::string& client_id = "anon");
  Result<std::vector<Signature>> sign_batch(const std::vector<Imprint>& hashes,
                                            const std::string& client_id = "anon");
  Result<CalendarChain> extend(std::uint64_t aggregation_time,
                               std::optional<std::uint64_t> publication_time);
  Result<Bytes> publications_file();
  Result<std::string> publications_certificate();
  Result<PublishResult> publish();
  Result<std::string> status();

 private:
  Result<std::string> exchange(std::string method, std::string path, std::string body,
                               std::size_t cap, bool idempotent, std::string_view what);
  std::unique_ptr<net::Client> client_;
  std::optional<Error> url_error_;
};

}  // namespace cairn::seal
