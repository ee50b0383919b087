#pragma once
// A client for cairn's signing service (seal/http/server.hpp).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "seal/publication.hpp"
#include "seal/signature.hpp"

namespace httplib {
class Client;
}

namespace cairn::seal {

struct PublishResult {
  std::uint64_t publication_time = 0;
  std::string publication_string;
};

class SealClient {
 public:
  // `url`: http://host:port
  explicit SealClient(const std::string& url);
  ~SealClient();

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
  std::string url_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace cairn::seal
