#include "seal/http/server.hpp"

#include <future>
#include <nlohmann/json.hpp>

#include "net/router.hpp"
#include "net/server.hpp"
#include "seal/http_codec.hpp"

namespace cairn::seal {
namespace {

net::Response octets(ByteView bytes) {
  return net::Response::bytes(std::string(as_chars(bytes)), "application/octet-stream");
}

net::Router routes(SigningService& service) {
  net::Router router;
  router.post(
      "/sign",
      [&service](const net::Request& req) -> Result<net::Response> {
        CAIRN_TRY_ASSIGN(const Imprint imprint, parse_sign_body(as_bytes(req.body)));
        CAIRN_TRY_ASSIGN(const std::uint8_t level, parse_level(req.query_param("level")));
        const std::string client = req.query_param("client").value_or("anon");
        CAIRN_TRY_ASSIGN(const Signature signature, service.submit(imprint, level, client).get());
        return octets(signature.serialize());
      },
      net::RouteOptions::body(kMaxSignBody));

  router.post(
      "/sign-batch",
      [&service](const net::Request& req) -> Result<net::Response> {
        CAIRN_TRY_ASSIGN(const auto imprints, parse_sign_batch_body(as_bytes(req.body)));
        const std::string client = req.query_param("client").value_or("anon");
        std::vector<std::future<Result<Signature>>> futures;
        futures.reserve(imprints.size());
        for (const auto& imprint : imprints)
          futures.push_back(service.submit(imprint, 0, client));
        Bytes out;
        std::optional<Error> failure;
        for (auto& future : futures) {
          auto signature = future.get();  // every future is waited for, even after a failure
          if (!signature) {
            if (!failure) failure = std::move(signature).error();
            continue;
          }
          if (!failure) append(out, signature->serialize());
        }
        if (failure) return std::unexpected(std::move(*failure));
        return octets(out);
      },
      net::RouteOptions::body(kMaxSignBatchBody));

  router.get("/extend", [&service](const net::Request& req) -> Result<net::Response> {
    const auto text = req.query_param("aggregation_time");
    const auto aggregation_time = text ? parse_decimal(*text) : std::nullopt;
    if (!aggregation_time) {
      return fail(Errc::invalid_argument, "aggregation_time is required (a decimal number)");
    }
    std::optional<std::uint64_t> publication_time;
    if (const auto p = req.query_param("publication_time")) {
      publication_time = parse_decimal(*p);
      if (!publication_time)
        return fail(Errc::invalid_argument, "publication_time is not a number");
    }
    ExtendResponse response;
    response.request_id = 1;
    auto chain = service.extend(*aggregation_time, publication_time);
    if (chain) {
      response.calendar_chain = std::move(*chain);
    } else {
      response.status = 0x0101;
      response.error_message = chain.error().message;
    }
    response.calendar_last_time = service.calendar().head_time();
    return octets(build_extend_response(response));
  });

  router.get("/publications.bin", [&service](const net::Request&) -> Result<net::Response> {
    CAIRN_TRY_ASSIGN(const Bytes file, service.publications_file());
    return octets(file);
  });

  router.get("/publications-cert.pem", [&service](const net::Request&) -> Result<net::Response> {
    return net::Response::bytes(service.keys().publications_cert_pem, "application/x-pem-file");
  });

  router.post("/publish", [&service](const net::Request&) -> Result<net::Response> {
    CAIRN_TRY_ASSIGN(const auto record, service.publish());
    return net::Response::json(
        nlohmann::json{{"publication_time", record.data.publication_time},
                       {"publication_string", encode_publication_string(record.data)},
                       {"published_hash", record.data.published_hash.hex()}}
            .dump());
  });

  router.get("/status", [&service](const net::Request&) -> Result<net::Response> {
    const ServiceStats stats = service.stats();
    nlohmann::json body{{"requests", stats.requests},
                        {"rounds", stats.rounds},
                        {"seconds", stats.seconds},
                        {"publications", stats.publications}};
    body["calendar_head"] =
        stats.calendar_head ? nlohmann::json(*stats.calendar_head) : nlohmann::json();
    return net::Response::json(body.dump());
  });
  return router;
}

}  // namespace

SealServer::SealServer(SigningService& service, std::size_t threads)
    : service_(service), threads_(std::max<std::size_t>(1, threads)) {}

SealServer::~SealServer() {
  stop();
}

Status SealServer::start(const std::string& host, int port) {
  if (port < 0 || port > 65535) {
    return fail(Errc::invalid_argument, "port " + std::to_string(port) + " is out of range");
  }
  net::ServerOptions options;
  options.host = host;
  options.port = static_cast<std::uint16_t>(port);
  options.name = "seal";
  options.workers = threads_;
  // Every worker may hold a /sign for a round; as many again may wait for one.
  options.max_queued = std::max<std::size_t>(256, threads_);
  auto server = net::Server::start(routes(service_), options);
  if (!server) return std::unexpected(std::move(server).error());
  server_ = std::move(*server);
  port_ = server_->port();
  {
    std::lock_guard guard(mutex_);
    stopping_ = false;
  }
  return {};
}

Status SealServer::run(const std::string& host, int port) {
  CAIRN_TRY(start(host, port));
  std::unique_lock lock(mutex_);
  stopped_.wait(lock, [this] { return stopping_; });
  return {};
}

void SealServer::stop() {
  {
    std::lock_guard guard(mutex_);
    stopping_ = true;
  }
  stopped_.notify_all();
  if (server_) server_->stop();
}

}  // namespace cairn::seal
