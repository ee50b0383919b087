#include "seal/http/server.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>

namespace cairn::seal {
namespace {

void error_reply(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

int status_for(const Error& error) {
  switch (error.code) {
    case Errc::parse:
    case Errc::invalid_argument:
      return 400;
    case Errc::not_found:
      return 404;
    default:
      return 500;
  }
}

std::optional<std::uint64_t> query_uint(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  const std::string text = req.get_param_value(name);
  if (text.empty() || text.size() > 19 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(text);
}

}  // namespace

SealServer::SealServer(SigningService& service, std::size_t threads)
    : service_(service), server_(std::make_unique<httplib::Server>()) {
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(64 << 20);

  server_->Post("/sign", [this](const httplib::Request& req, httplib::Response& res) {
    auto imprint = Imprint::parse(as_bytes(req.body));
    if (!imprint) return error_reply(res, 400, imprint.error().message);
    const auto level = query_uint(req, "level").value_or(0);
    if (level > 253) return error_reply(res, 400, "level must be below 254");
    const std::string client = req.has_param("client") ? req.get_param_value("client") : "anon";
    auto signature = service_.submit(*imprint, static_cast<std::uint8_t>(level), client).get();
    if (!signature)
      return error_reply(res, status_for(signature.error()), signature.error().message);
    const Bytes bytes = signature->serialize();
    res.set_content(std::string(as_chars(bytes)), "application/octet-stream");
  });

  server_->Post("/sign-batch", [this](const httplib::Request& req, httplib::Response& res) {
    const ByteView body = as_bytes(req.body);
    std::vector<std::future<Result<Signature>>> futures;
    const std::string client = req.has_param("client") ? req.get_param_value("client") : "anon";
    for (std::size_t offset = 0; offset < body.size();) {
      const HashInfo* info = hash_info(static_cast<std::uint8_t>(body[offset]));
      if (info == nullptr || body.size() - offset < 1 + info->digest_size) {
        return error_reply(res, 400, "batch body is not a sequence of imprints");
      }
      auto imprint = Imprint::parse(body.subspan(offset, 1 + info->digest_size));
      futures.push_back(service_.submit(*imprint, 0, client));
      offset += 1 + info->digest_size;
    }
    Bytes out;
    for (auto& future : futures) {
      auto signature = future.get();
      if (!signature) return error_reply(res, 500, signature.error().message);
      append(out, signature->serialize());
    }
    res.set_content(std::string(as_chars(out)), "application/octet-stream");
  });

  server_->Get("/extend", [this](const httplib::Request& req, httplib::Response& res) {
    const auto aggregation_time = query_uint(req, "aggregation_time");
    if (!aggregation_time) return error_reply(res, 400, "aggregation_time is required");
    ExtendResponse response;
    response.request_id = 1;
    auto chain = service_.extend(*aggregation_time, query_uint(req, "publication_time"));
    if (chain) {
      response.calendar_chain = std::move(*chain);
    } else {
      response.status = 0x0101;
      response.error_message = chain.error().message;
    }
    response.calendar_last_time = service_.calendar().head_time();
    const Bytes bytes = build_extend_response(response);
    res.set_content(std::string(as_chars(bytes)), "application/octet-stream");
  });

  server_->Get("/publications.bin", [this](const httplib::Request&, httplib::Response& res) {
    auto file = service_.publications_file();
    if (!file) return error_reply(res, 500, file.error().message);
    res.set_content(std::string(as_chars(*file)), "application/octet-stream");
  });

  server_->Get("/publications-cert.pem", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(service_.keys().publications_cert_pem, "application/x-pem-file");
  });

  server_->Post("/publish", [this](const httplib::Request&, httplib::Response& res) {
    auto record = service_.publish();
    if (!record) return error_reply(res, status_for(record.error()), record.error().message);
    res.set_content(nlohmann::json{{"publication_time", record->data.publication_time},
                                   {"publication_string", encode_publication_string(record->data)},
                                   {"published_hash", record->data.published_hash.hex()}}
                        .dump(),
                    "application/json");
  });

  server_->Get("/status", [this](const httplib::Request&, httplib::Response& res) {
    const ServiceStats stats = service_.stats();
    nlohmann::json body{{"requests", stats.requests},
                        {"rounds", stats.rounds},
                        {"seconds", stats.seconds},
                        {"publications", stats.publications}};
    body["calendar_head"] =
        stats.calendar_head ? nlohmann::json(*stats.calendar_head) : nlohmann::json();
    res.set_content(body.dump(), "application/json");
  });
}

SealServer::~SealServer() {
  stop();
}

Status SealServer::start(const std::string& host, int port) {
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0)
    return fail(Errc::unavailable, "cannot listen on " + host + ":" + std::to_string(port));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return {};
}

Status SealServer::run(const std::string& host, int port) {
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0)
    return fail(Errc::unavailable, "cannot listen on " + host + ":" + std::to_string(port));
  if (!server_->listen_after_bind()) return fail(Errc::unavailable, "server stopped with an error");
  return {};
}

void SealServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cairn::seal
