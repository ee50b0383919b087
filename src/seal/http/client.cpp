#include "seal/http/client.hpp"

#include "net/client.hpp"
#include "net/http.hpp"
#include "net/url.hpp"

namespace cairn::seal {

SealClient::SealClient(const std::string& url) {
  auto parsed = net::Url::parse(url);
  if (!parsed) {
    url_error_ = std::move(parsed).error().context("the signing service's URL");
    return;
  }
  net::ClientOptions options;
  options.connect_timeout = std::chrono::seconds(10);
  // A signature waits for its round (a second by default); a batch for all of its rounds.
  options.read_timeout = std::chrono::seconds(60);
  options.deadline = std::chrono::seconds(180);
  // A busy service refuses connections beyond its listen backlog: retry with a growing pause.
  options.retries = 8;
  options.backoff = std::chrono::milliseconds(25);
  options.max_backoff = std::chrono::seconds(2);
  client_ = std::make_unique<net::Client>(std::move(*parsed), std::move(options));
}

SealClient::~SealClient() = default;

Result<std::string> SealClient::exchange(std::string method, std::string path, std::string body,
                                         std::size_t cap, bool idempotent, std::string_view what) {
  if (url_error_) return std::unexpected(*url_error_);
  net::ClientRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.body = std::move(body);
  if (!request.body.empty()) request.content_type = "application/octet-stream";
  request.idempotent = idempotent;
  request.max_response_bytes = cap;
  auto response = client_->send(request);
  if (!response) return std::unexpected(std::move(response).error().context(what));
  return std::move(response->body);
}

Result<Signature> SealClient::sign(const Imprint& hash, std::uint8_t level,
                                   const std::string& client_id) {
  const std::string path =
      net::with_query("/sign", {{"level", std::to_string(level)}, {"client", client_id}});
  CAIRN_TRY_ASSIGN(std::string body, exchange("POST", path, std::string(as_chars(hash.bytes())),
                                              kMaxSignatureAnswer, true, "signing"));
  return parse_sign_answer(as_bytes(body), hash);
}

Result<std::vector<Signature>> SealClient::sign_batch(const std::vector<Imprint>& hashes,
                                                      const std::string& client_id) {
  Bytes request;
  for (const auto& hash : hashes)
    append(request, hash.bytes());
  const std::string path = net::with_query("/sign-batch", {{"client", client_id}});
  const std::size_t cap = kMaxSignatureAnswer + hashes.size() * kMaxSignatureBytes;
  CAIRN_TRY_ASSIGN(std::string body, exchange("POST", path, std::string(as_chars(request)), cap,
                                              true, "batch signing"));
  return parse_sign_batch_answer(as_bytes(body), hashes);
}

Result<CalendarChain> SealClient::extend(std::uint64_t aggregation_time,
                                         std::optional<std::uint64_t> publication_time) {
  std::vector<std::pair<std::string, std::string>> params{
      {"aggregation_time", std::to_string(aggregation_time)}};
  if (publication_time) params.emplace_back("publication_time", std::to_string(*publication_time));
  CAIRN_TRY_ASSIGN(std::string body, exchange("GET", net::with_query("/extend", params), {},
                                              kMaxExtendAnswer, true, "extending"));
  return parse_extend_answer(as_bytes(body));
}

Result<Bytes> SealClient::publications_file() {
  CAIRN_TRY_ASSIGN(std::string body, exchange("GET", "/publications.bin", {},
                                              kMaxPublicationsAnswer, true, "publications file"));
  return to_bytes(body);
}

Result<std::string> SealClient::publications_certificate() {
  return exchange("GET", "/publications-cert.pem", {}, kMaxPublicationsAnswer, true,
                  "publications certificate");
}

Result<PublishResult> SealClient::publish() {
  CAIRN_TRY_ASSIGN(std::string body,
                   exchange("POST", "/publish", {}, kMaxJsonAnswer, false, "publishing"));
  return parse_publish_answer(body);
}

Result<std::string> SealClient::status() {
  return exchange("GET", "/status", {}, kMaxJsonAnswer, true, "status");
}

}  // namespace cairn::seal
