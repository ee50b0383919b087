// The HTTP layer against the cpp-httplib server it replaced, in one run on one machine:
//
//   blocks/s  256 KiB raw blocks out of a RocksDB blockstore: a cpp-httplib server (eight
//             workers, one Blockstore::get per request) against the same handler on
//             net::Server, and against the trustless gateway itself (store::Gateway on
//             net::Server, with its path resolution and format negotiation);
//   req/s     a small JSON route (the node API's shape: GET /v1/status) on net::Server
//             against the same route on cpp-httplib;
//   and both again while `--slowloris N` connections dribble a header byte every 500 ms.
//
// Every request goes through the same client (net::Client, keep-alive), so the ratios
// compare the servers. Usage:
//   http_bench [--seconds S] [--clients C] [--slowloris N]
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "net/client.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "store/blockstore.hpp"
#include "store/cid.hpp"
#include "store/gateway.hpp"

namespace {

using namespace cairn;
using Clock = std::chrono::steady_clock;

struct Options {
  double seconds = 3;
  int clients = 4;
  int slowloris = 0;
};

// Requests answered with `status` per second, `clients` threads each cycling through
// `paths` on one keep-alive connection.
double measure(const std::string& origin, const std::vector<std::string>& paths, const Options& o) {
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> failed{false};
  const auto stop_at = Clock::now() + std::chrono::duration<double>(o.seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      net::ClientOptions options;
      options.retries = 0;
      net::Client client(net::Url::parse(origin).value(), options);
      std::size_t i = static_cast<std::size_t>(c);
      while (Clock::now() < stop_at) {
        auto answer = client.get(paths[i++ % paths.size()]);
        if (!answer || answer->status != 200) {
          failed = true;
          return;
        }
        done.fetch_add(1);
      }
    });
  }
  const auto start = Clock::now();
  for (auto& thread : threads)
    thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (failed) std::fprintf(stderr, "  (some requests to %s failed)\n", origin.c_str());
  return static_cast<double>(done.load()) / elapsed;
}

// N connections that each send one header byte every 500 ms and never finish, for as long
// as the object lives.
class Slowloris {
 public:
  Slowloris(std::uint16_t port, int count) {
    for (int i = 0; i < count; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        continue;
      }
      const char* start = "GET /v1/status HTTP/1.1\r\nHost: x\r\n";
      (void)::send(fd, start, std::strlen(start), MSG_NOSIGNAL);
      fds_.push_back(fd);
    }
    dribbler_ = std::thread([this] {
      while (!stop_) {
        for (int fd : fds_)
          (void)::send(fd, "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        for (int i = 0; i < 10 && !stop_; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  ~Slowloris() {
    stop_ = true;
    dribbler_.join();
    for (int fd : fds_)
      ::close(fd);
  }

 private:
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::thread dribbler_;
};

void report(const char* what, double baseline, double ours) {
  std::printf("%-34s cpp-httplib %9.0f /s   net %9.0f /s   net/baseline %.2f\n", what, baseline,
              ours, baseline > 0 ? ours / baseline : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds") o.seconds = std::stod(argv[i + 1]);
    if (flag == "--clients") o.clients = std::stoi(argv[i + 1]);
    if (flag == "--slowloris") o.slowloris = std::stoi(argv[i + 1]);
  }
  char pattern[] = "/tmp/cairn-http-bench-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  auto store = store::Blockstore::open(dir + "/blocks").value();
  std::vector<std::string> block_paths;
  for (int b = 0; b < 64; ++b) {
    Bytes data(256 * 1024);
    for (std::size_t i = 0; i < data.size(); ++i)
      data[i] = static_cast<std::byte>((i * 31 + static_cast<std::size_t>(b) * 7) & 0xff);
    const auto cid = store::Cid::of(store::codec::kRaw, data);
    (void)store->put(cid, data);
    block_paths.push_back("/ipfs/" + cid.to_string() + "?format=raw");
  }
  (void)store->flush();
  const std::string status_body =
      R"({"name":"bench","chain":{"id":31337,"block":1234},"roles":[{"kind":"aggregator"}]})";

  // The baseline: cpp-httplib with eight workers, the same routes.
  httplib::Server baseline;
  baseline.new_task_queue = [] { return new httplib::ThreadPool(8); };
  baseline.Get(R"(/ipfs/([^?]+))", [&](const httplib::Request& req, httplib::Response& res) {
    const auto cid = store::Cid::parse(req.matches[1].str());
    auto block = cid ? store->get(*cid) : Result<Bytes>(fail(Errc::parse, "cid"));
    if (!block) {
      res.status = 404;
      return;
    }
    res.set_content(std::string(as_chars(*block)), "application/vnd.ipld.raw");
  });
  baseline.Get("/v1/status", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_body, "application/json");
  });
  const int baseline_port = baseline.bind_to_any_port("127.0.0.1");
  std::thread baseline_thread([&] { baseline.listen_after_bind(); });

  store::GatewayOptions gateway_options;
  gateway_options.deserialized = false;
  store::Gateway gateway(*store, gateway_options);
  if (!gateway.start()) return 1;
  net::Router api;
  api.get("/v1/status", [&](const net::Request&) -> Result<net::Response> {
    return net::Response::json(status_body);
  });
  // The baseline's block handler on net: the HTTP layer alone, without the gateway's path
  // resolution and format negotiation.
  api.get(net::PathPattern::regex("/ipfs/([^?]+)"),
          [&](const net::Request& req) -> Result<net::Response> {
            CAIRN_TRY_ASSIGN(const auto cid, store::Cid::parse(req.params.at(0)));
            CAIRN_TRY_ASSIGN(const Bytes block, store->get(cid));
            return net::Response::bytes(std::string(as_chars(block)), "application/vnd.ipld.raw");
          });
  auto api_server = net::Server::start(std::move(api)).value();

  const std::string base = "http://127.0.0.1:" + std::to_string(baseline_port);
  std::printf("%d clients, %.0f s a measurement, 64 blocks of 256 KiB in RocksDB\n", o.clients,
              o.seconds);
  const double baseline_blocks = measure(base, block_paths, o);
  report("blocks, same one-get handler", baseline_blocks,
         measure(api_server->url(), block_paths, o));
  report("blocks, the gateway (negotiation)", baseline_blocks,
         measure(gateway.url(), block_paths, o));
  report("small JSON route (API shape)", measure(base, {"/v1/status"}, o),
         measure(api_server->url(), {"/v1/status"}, o));
  if (o.slowloris > 0) {
    double before = 0, after = 0;
    {
      Slowloris held(static_cast<std::uint16_t>(baseline_port), o.slowloris);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      before = measure(base, {"/v1/status"}, o);
    }
    {
      Slowloris held(api_server->port(), o.slowloris);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      after = measure(api_server->url(), {"/v1/status"}, o);
    }
    const std::string label = "JSON route, " + std::to_string(o.slowloris) + " slowloris";
    report(label.c_str(), before, after);
  }
  baseline.stop();
  baseline_thread.join();
  gateway.stop();
  api_server->stop();
  store.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
