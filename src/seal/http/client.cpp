#include "seal/http/client.hpp"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

namespace cairn::seal {
namespace {

Result<std::string> body_of(const httplib::Result& result, std::string_view what) {
  if (!result) {
    return fail(Errc::unavailable, std::string(what) + ": " + httplib::to_string(result.error()));
  }
  if (result->status != 200) {
    std::string message = result->body;
    try {
      message = nlohmann::json::parse(result->body).value("error", result->body);
    } catch (const std::exception&) {
    }
    return fail(result->status < 500 ? Errc::rejected : Errc::unavailable,
                std::string(what) + ": HTTP " + std::to_string(result->status) + ": " + message);
  }
  return result->body;
}

}  // namespace

SealClient::SealClient(const std::string& url)
    : url_(url), client_(std::make_unique<httplib::Client>(url)) {
  client_->set_read_timeout(60, 0);
  client_->set_connection_timeout(10, 0);
  client_->set_keep_alive(true);
}

SealClient::~SealClient() = default;

Result<Signature> SealClient::sign(const Imprint& hash, std::uint8_t level,
                                   const std::string& client_id) {
  httplib::Params params{{"level", std::to_string(level)}, {"client", client_id}};
  const std::string path = httplib::append_query_params("/sign", params);
  // A busy service refuses connections beyond its listen backlog; failed exchanges (no
  // HTTP answer at all) are retried with a growing pause, answers are final.
  const std::string request(as_chars(hash.bytes()));
  httplib::Result result = client_->Post(path, request, "application/octet-stream");
  for (int attempt = 1; !result && attempt <= 8; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25 * attempt * attempt));
    result = client_->Post(path, request, "application/octet-stream");
  }
  CAIRN_TRY_ASSIGN(std::string body, body_of(result, "signing"));
  auto signature = Signature::parse(as_bytes(body));
  if (!signature) return std::unexpected(signature.error().context("the service's signature"));
  if (!(signature->aggregation_chains.front().input_hash == hash)) {
    return fail(Errc::integrity, "the service signed a different hash");
  }
  return signature;
}

Result<std::vector<Signature>> SealClient::sign_batch(const std::vector<Imprint>& hashes,
                                                      const std::string& client_id) {
  Bytes request;
  for (const auto& hash : hashes)
    append(request, hash.bytes());
  const std::string path = httplib::append_query_params("/sign-batch", {{"client", client_id}});
  CAIRN_TRY_ASSIGN(std::string body, body_of(client_->Post(path, std::string(as_chars(request)),
                                                           "application/octet-stream"),
                                             "batch signing"));
  std::vector<Signature> signatures;
  const ByteView bytes = as_bytes(body);
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const std::size_t start = offset;
    CAIRN_TRY(read_tlv(bytes, offset));
    CAIRN_TRY_ASSIGN(Signature signature, Signature::parse(bytes.subspan(start, offset - start)));
    signatures.push_back(std::move(signature));
  }
  if (signatures.size() != hashes.size()) {
    return fail(Errc::integrity, "the service returned a different number of signatures");
  }
  return signatures;
}

Result<CalendarChain> SealClient::extend(std::uint64_t aggregation_time,
                                         std::optional<std::uint64_t> publication_time) {
  httplib::Params params{{"aggregation_time", std::to_string(aggregation_time)}};
  if (publication_time) params.emplace("publication_time", std::to_string(*publication_time));
  CAIRN_TRY_ASSIGN(
      std::string body,
      body_of(client_->Get(httplib::append_query_params("/extend", params)), "extending"));
  CAIRN_TRY_ASSIGN(ExtendResponse response, parse_extend_response(as_bytes(body)));
  if (response.status != 0 || !response.calendar_chain) {
    return fail(Errc::rejected, "extender refused: " + response.error_message);
  }
  return *response.calendar_chain;
}

Result<Bytes> SealClient::publications_file() {
  CAIRN_TRY_ASSIGN(std::string body,
                   body_of(client_->Get("/publications.bin"), "publications file"));
  return to_bytes(body);
}

Result<std::string> SealClient::publications_certificate() {
  return body_of(client_->Get("/publications-cert.pem"), "publications certificate");
}

Result<PublishResult> SealClient::publish() {
  CAIRN_TRY_ASSIGN(std::string body, body_of(client_->Post("/publish"), "publishing"));
  try {
    const auto json = nlohmann::json::parse(body);
    return PublishResult{json.at("publication_time").get<std::uint64_t>(),
                         json.at("publication_string").get<std::string>()};
  } catch (const std::exception& e) {
    return fail(Errc::parse, std::string("publish reply: ") + e.what());
  }
}

Result<std::string> SealClient::status() {
  return body_of(client_->Get("/status"), "status");
}

}  // namespace cairn::seal
