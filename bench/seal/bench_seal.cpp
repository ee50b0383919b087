// seal benchmarks, each against a baseline measured in the same run:
//   aggregate   tree building (KSI node hashing) vs raw SHA-256 of 65-byte messages
//   size        signature size against round size
//   verify      verification time per signature, by policy
//   http        signing over loopback HTTP with N concurrent clients (requests/s, p50, p99)
// usage: bench_seal [aggregate|size|verify|http] [--leaves N] [--clients N,N,...]
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "seal/http/client.hpp"
#include "seal/http/server.hpp"
#include "seal/service.hpp"
#include "seal/verify.hpp"

using namespace cairn;
using namespace cairn::seal;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<TreeLeaf> make_leaves(std::size_t n) {
  std::vector<TreeLeaf> leaves;
  leaves.reserve(n);
  Bytes seed(8);
  for (std::size_t i = 0; i < n; ++i) {
    for (int b = 0; b < 8; ++b)
      seed[b] = static_cast<std::byte>(i >> (8 * b));
    leaves.push_back({hash_data(HashId::sha2_256, seed), 0});
  }
  return leaves;
}

void bench_aggregate(std::size_t n) {
  const auto leaves = make_leaves(n);
  // Baseline: the machine's raw SHA-256 rate on 65-byte messages (two digests + a byte),
  // the same EVP interface and context reuse the tree uses.
  std::vector<unsigned char> message(65, 0x5a);
  unsigned char digest[32];
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const std::size_t baseline_count = n;
  double raw_seconds = 1e9;
  for (int run = 0; run < 3; ++run) {
    const auto begin = Clock::now();
    for (std::size_t i = 0; i < baseline_count; ++i) {
      message[0] = static_cast<unsigned char>(i);
      EVP_DigestInit_ex(ctx, md, nullptr);
      EVP_DigestUpdate(ctx, message.data(), message.size());
      unsigned int length = 0;
      EVP_DigestFinal_ex(ctx, digest, &length);
    }
    raw_seconds = std::min(raw_seconds, seconds_since(begin));
  }
  const double raw_rate = static_cast<double>(baseline_count) / raw_seconds;
  auto start = Clock::now();
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);

  // Best of three: the machine is shared, and the first run also pays for page faults.
  double tree_seconds = 1e9;
  double cold_seconds = 0;
  for (int run = 0; run < 3; ++run) {
    std::vector<TreeLeaf> input = leaves;  // copied outside the timed part
    start = Clock::now();
    auto tree = AggregationTree::build(std::move(input), HashId::sha2_256);
    if (!tree) std::abort();
    const double took = seconds_since(start);
    if (run == 0) cold_seconds = took;
    tree_seconds = std::min(tree_seconds, took);
  }
  const double tree_rate = static_cast<double>(n - 1) / tree_seconds;  // n-1 internal nodes

  // A whole round as the service does it: request leaves (with client metadata), the tree,
  // and every requester's chain.
  std::vector<TreeLeaf> request_leaves;
  std::vector<AggregationLink> metadata;
  start = Clock::now();
  for (const auto& leaf : leaves) {
    auto request = request_leaf(leaf.hash, 0, "bench", HashId::sha2_256);
    request_leaves.push_back(request.leaf);
    metadata.push_back(std::move(request.metadata_link));
  }
  auto round = AggregationTree::build(std::move(request_leaves), HashId::sha2_256);
  std::size_t links = 0;
  for (std::size_t i = 0; i < n; ++i)
    links += round->path(i).size();
  const double round_seconds = seconds_since(start);
  fmt::print("aggregate: {} leaves, 1 core\n", n);
  fmt::print("  raw SHA-256, 65-byte messages : {:>12.0f} hashes/s (baseline)\n", raw_rate);
  fmt::print(
      "  KSI tree nodes (67-byte input): {:>12.0f} hashes/s = {:.2f} x baseline (best of 3)\n",
      tree_rate, tree_rate / raw_rate);
  const double cold_rate = static_cast<double>(n - 1) / cold_seconds;
  fmt::print("  first build (touches fresh memory): {:.0f} hashes/s = {:.2f} x\n", cold_rate,
             cold_rate / raw_rate);
  fmt::print("  full round (leaf metadata hash + tree + {} chains): {:.3f} s = {:.0f} requests/s\n",
             n, round_seconds, static_cast<double>(n) / round_seconds);
  fmt::print("  mean chain length {:.1f} links\n",
             static_cast<double>(links) / static_cast<double>(n));

  // The service itself: submit, close the round, commit the second, deliver every signature.
  const std::size_t service_n = std::min<std::size_t>(n, 100000);
  ServiceOptions options;
  options.round = std::chrono::milliseconds(3'600'000);
  auto service = std::move(*SigningService::in_memory(options, *ServiceKeys::generate()));
  std::vector<std::future<Result<Signature>>> futures;
  futures.reserve(service_n);
  start = Clock::now();
  for (std::size_t i = 0; i < service_n; ++i) {
    futures.push_back(service->submit(leaves[i].hash, 0, "bench"));
  }
  service->tick(true);
  std::size_t delivered = 0;
  for (auto& future : futures)
    delivered += future.get().has_value() ? 1 : 0;
  const double service_seconds = seconds_since(start);
  fmt::print(
      "  service round of {} requests (submit, tree, calendar, Ed25519, {} signatures): "
      "{:.3f} s = {:.0f} signatures/s\n",
      service_n, delivered, service_seconds, static_cast<double>(service_n) / service_seconds);
}

std::unique_ptr<SigningService> memory_service() {
  ServiceOptions options;
  options.round = std::chrono::milliseconds(3'600'000);
  return std::move(*SigningService::in_memory(options, *ServiceKeys::generate()));
}

void bench_size() {
  auto service = memory_service();
  auto future = service->submit(hash_data(HashId::sha2_256, as_bytes("x")), 0, "bench");
  service->tick(true);
  const Signature single = *future.get();
  fmt::print("size: signature bytes by round size (cairn service, SHA-256, Ed25519 auth record)\n");
  for (std::size_t n : {1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u}) {
    const auto leaves = make_leaves(n);
    std::vector<TreeLeaf> request_leaves;
    std::vector<AggregationLink> metadata;
    for (const auto& leaf : leaves) {
      auto request = request_leaf(leaf.hash, 0, "bench", HashId::sha2_256);
      request_leaves.push_back(request.leaf);
      metadata.push_back(std::move(request.metadata_link));
    }
    auto tree = AggregationTree::build(std::move(request_leaves), HashId::sha2_256);
    const std::size_t index = n / 3;
    std::vector<AggregationLink> links{metadata[index]};
    for (auto& link : tree->path(index))
      links.push_back(std::move(link));
    Signature signature = single;
    signature.aggregation_chains = {make_chain(leaves[index].hash, std::move(links),
                                               HashId::sha2_256, single.aggregation_time(), {})};
    fmt::print("  round of {:>8} requests: {:>5} bytes\n", n, signature.serialize().size());
  }
}

void bench_verify() {
  auto service = memory_service();
  const Imprint hash = hash_data(HashId::sha2_256, as_bytes("document"));
  auto future = service->submit(hash, 0, "bench");
  service->tick(true);
  const Signature signature = *future.get();
  const Bytes bytes = signature.serialize();
  auto file = PublicationsFile::parse(*service->publications_file());
  const int rounds = 5000;
  auto time_policy = [&](Policy policy, const char* name) {
    const auto start = Clock::now();
    for (int i = 0; i < rounds; ++i) {
      auto parsed = Signature::parse(bytes);
      VerificationContext ctx;
      ctx.signature = &*parsed;
      ctx.document_hash = hash;
      ctx.publications_file = &*file;
      ctx.extender = [&](std::uint64_t t, std::optional<std::uint64_t> to) {
        return service->extend(t, to);
      };
      if (!verify(ctx, policy).ok()) std::abort();
    }
    fmt::print("  {:<10} parse + verify: {:>8.1f} us per signature\n", name,
               seconds_since(start) * 1e6 / rounds);
  };
  fmt::print("verify: a {}-byte cairn signature ({} runs each)\n", bytes.size(), rounds);
  const auto start = Clock::now();
  for (int i = 0; i < rounds; ++i) {
    if (!Signature::parse(bytes)) std::abort();
  }
  fmt::print("  parse only (baseline)    : {:>8.1f} us per signature\n",
             seconds_since(start) * 1e6 / rounds);
  time_policy(Policy::internal, "internal");
  time_policy(Policy::key_based, "key");
  time_policy(Policy::calendar, "calendar");
  const std::filesystem::path pack = std::filesystem::path(CAIRN_SOURCE_DIR) / ".." / "shared" /
                                     "vectors" / "ksi-test-pack" / "valid-signatures" /
                                     "signature-extended.ksig";
  if (std::filesystem::exists(pack)) {
    std::ifstream in(pack, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const Bytes ksi = to_bytes(text);
    const auto begin = Clock::now();
    for (int i = 0; i < rounds; ++i) {
      auto parsed = Signature::parse(ksi);
      VerificationContext ctx;
      ctx.signature = &*parsed;
      if (!verify(ctx, Policy::internal).ok()) std::abort();
    }
    fmt::print("  a Guardtime KSI signature ({} bytes), internal: {:.1f} us\n", ksi.size(),
               seconds_since(begin) * 1e6 / rounds);
  }
}

void bench_http(const std::vector<int>& client_counts) {
  auto service = [] {
    ServiceOptions options;
    options.round = std::chrono::milliseconds(100);
    return std::move(*SigningService::in_memory(options, *ServiceKeys::generate()));
  }();
  SealServer server(*service, 2048);
  if (!server.start("127.0.0.1", 0)) std::abort();
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  fmt::print("http: POST /sign over loopback, 100 ms rounds, one calendar second per commit\n");
  for (int clients : client_counts) {
    const int per_client = clients <= 100 ? 3 : 1;
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    const auto start = Clock::now();
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        SealClient client(url);
        for (int r = 0; r < per_client; ++r) {
          const Imprint hash = hash_data(HashId::sha2_256, as_bytes(fmt::format("{}/{}", c, r)));
          const auto begin = Clock::now();
          if (!client.sign(hash)) ++failures;
          latencies[static_cast<std::size_t>(c)].push_back(seconds_since(begin));
        }
      });
    }
    for (auto& thread : threads)
      thread.join();
    const double elapsed = seconds_since(start);
    std::vector<double> all;
    for (const auto& list : latencies)
      all.insert(all.end(), list.begin(), list.end());
    std::sort(all.begin(), all.end());
    const auto at = [&](double q) {
      return all[std::min(all.size() - 1,
                          static_cast<std::size_t>(q * static_cast<double>(all.size())))];
    };
    fmt::print(
        "  {:>6} clients: {:>7} requests in {:6.2f} s = {:>8.1f} req/s, p50 {:.3f} s, p99 {:.3f} "
        "s, failures {}\n",
        clients, all.size(), elapsed, static_cast<double>(all.size()) / elapsed, at(0.5), at(0.99),
        failures.load());
  }
  // Bulk: one /sign-batch request with many hashes (same round, one HTTP exchange).
  SealClient client(url);
  std::vector<Imprint> hashes;
  for (int i = 0; i < 20000; ++i)
    hashes.push_back(hash_data(HashId::sha2_256, as_bytes(std::to_string(i))));
  const auto start = Clock::now();
  auto signatures = client.sign_batch(hashes);
  const double elapsed = seconds_since(start);
  fmt::print("  /sign-batch: {} signatures in {:.2f} s = {:.0f} signatures/s\n",
             signatures ? signatures->size() : 0, elapsed,
             static_cast<double>(hashes.size()) / elapsed);
  server.stop();
}

}  // namespace

int main(int argc, char** argv) {
  std::string what = argc > 1 ? argv[1] : "all";
  std::size_t leaves = 1 << 20;
  std::vector<int> clients{1, 100, 10000};
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--leaves") leaves = std::stoul(argv[i + 1]);
    if (flag == "--clients") {
      clients.clear();
      std::string list = argv[i + 1];
      for (std::size_t pos = 0; pos < list.size();) {
        const auto comma = list.find(',', pos);
        clients.push_back(std::stoi(list.substr(pos, comma - pos)));
        pos = comma == std::string::npos ? list.size() : comma + 1;
      }
    }
  }
  if (what == "aggregate" || what == "all") bench_aggregate(leaves);
  if (what == "size" || what == "all") bench_size();
  if (what == "verify" || what == "all") bench_verify();
  if (what == "http" || what == "all") bench_http(clients);
  return 0;
}
