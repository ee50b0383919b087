#include "chain/anvil.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "base/encoding.hpp"
#include "base/process.hpp"
#include "chain/rpc.hpp"

#ifndef CAIRN_SOURCE_DIR
#define CAIRN_SOURCE_DIR ""
#endif

namespace cairn::chain {
namespace {

Result<std::uint16_t> pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return fail(Errc::io, "anvil: cannot create a socket to find a free port");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return fail(Errc::io, "anvil: cannot find a free loopback port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

Result<std::filesystem::path> find_anvil() {
  if (const char* explicit_path = std::getenv("CAIRN_ANVIL"); explicit_path && *explicit_path) {
    return std::filesystem::path(explicit_path);
  }
  std::vector<std::filesystem::path> roots;
  if (const char* source = std::getenv("CAIRN_SOURCE_DIR"); source && *source)
    roots.emplace_back(source);
  if (std::string_view(CAIRN_SOURCE_DIR).size() > 0) roots.emplace_back(CAIRN_SOURCE_DIR);
  for (const auto& root : roots) {
    const auto candidate = root / "node_modules" / ".bin" / "anvil";
    if (std::filesystem::exists(candidate)) return candidate;
  }
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest(path);
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const auto dir = rest.substr(0, colon);
      const auto candidate = std::filesystem::path(dir) / "anvil";
      if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  return fail(Errc::not_found,
              "anvil not found: run scripts/setup (it installs node_modules/.bin/anvil) or set "
              "CAIRN_ANVIL");
}

Result<std::unique_ptr<Anvil>> Anvil::start(AnvilOptions options) {
  std::filesystem::path binary;
  if (options.binary) {
    binary = *options.binary;
  } else {
    CAIRN_TRY_ASSIGN(binary, find_anvil());
  }
  Error last{Errc::unavailable, "anvil did not start"};
  // A port that was free a moment ago can be taken before anvil binds it: try again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::uint16_t port = options.port;
    if (port == 0) {
      CAIRN_TRY_ASSIGN(port, pick_free_port());
    }
    std::vector<std::string> args = {binary.string(),
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(port),
                                     "--chain-id",
                                     std::to_string(options.chain_id)};
    if (options.block_time) {
      args.push_back("--block-time");
      args.push_back(std::to_string(*options.block_time));
    }
    if (options.state_file) {
      args.push_back("--state");
      args.push_back(options.state_file->string());
    }
    for (const auto& extra : options.extra_args)
      args.push_back(extra);
    const std::string log = options.log_file ? options.log_file->string() : "/dev/null";

    // Unless told to outlive cairn, anvil gets a SIGTERM from the kernel when cairn goes
    // however it goes (Ctrl-C's default action skips every destructor).
    CAIRN_TRY_ASSIGN(const pid_t pid,
                     process::spawn(std::move(args), {log, !options.outlive_parent}));
    std::unique_ptr<Anvil> anvil(new Anvil(pid, port));
    auto rpc = RpcClient::create(anvil->url(), RpcOptions{std::chrono::milliseconds(1000), 1,
                                                          std::chrono::milliseconds(10)});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        anvil->pid_ = -1;
        last = Error{Errc::unavailable, "anvil exited during start-up (status " +
                                            std::to_string(status) + "); see its log: " + log};
        break;
      }
      auto id = rpc->chain_id();
      if (id) {
        if (*id != options.chain_id) {
          return fail(Errc::conflict, "anvil answered with chain id " + std::to_string(*id));
        }
        return anvil;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (anvil->pid_ > 0)
      last = Error{Errc::unavailable, "anvil did not answer on " + anvil->url() + " within 20 s"};
    if (options.port != 0) break;
  }
  return std::unexpected(last);
}

void Anvil::stop() {
  if (pid_ > 0 && !detached_) {
    (void)process::stop(pid_);
  }
  pid_ = -1;
}

Anvil::~Anvil() {
  stop();
}

Status check_dev_account_allowed(std::uint64_t chain_id) {
  if (chain_id == kLocalChainId) return {};
  return fail(Errc::invalid_argument,
              fmt::format("a dev account's key is public: it signs only on a local chain (chain id "
                          "{}), and this chain's id is {}; use a keystore",
                          kLocalChainId, chain_id));
}

const crypto::Secp256k1SecretKey& dev_account_key(std::size_t index) {
  static const auto keys = [] {
    constexpr std::string_view hex_keys[kDevAccountCount] = {
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
        "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
        "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
        "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
        "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
        "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
    };
    std::array<crypto::Secp256k1SecretKey, kDevAccountCount> out{};
    for (std::size_t i = 0; i < kDevAccountCount; ++i) {
      const auto bytes = from_hex(hex_keys[i]).value();
      std::copy(bytes.begin(), bytes.end(), out[i].begin());
    }
    return out;
  }();
  return keys.at(index);
}

}  // namespace cairn::chain
