#pragma once
// The abuse of issue #11 against any server on net::Server: 300 slowloris connections that
// dribble a request head one byte every 50 ms, and four POSTs that announce 4 GiB bodies and
// stream them as fast as the server takes them. Meanwhile one legitimate request is made; the
// outcome says whether it was answered, how long it took, and how much the serving process's
// resident memory grew.

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/raw_socket.hpp"

namespace cairn::net::testing {

struct AbuseTarget {
  std::uint16_t port = 0;
  // A request line and headers without the final CRLF; the slow connections send it a byte
  // at a time and then an endless header value.
  std::string slow_head;
  // A request line and headers without Content-Length and the final CRLF; each poster adds
  // "Content-Length: 4294967296" and streams.
  std::string post_head;
  // Makes the legitimate request; true when it got the answer it expected.
  std::function<bool()> legitimate;
  // The process that serves (0: this one), for its resident memory.
  pid_t pid = 0;
};

struct AbuseOutcome {
  int slow_connected = 0;
  bool legitimate_answered = false;
  std::chrono::milliseconds legitimate_took{0};
  std::int64_t rss_growth_kib = 0;  // the peak during the abuse minus the value before
};

// VmRSS of `pid` (0: this process) in KiB; 0 when unreadable.
inline std::int64_t resident_kib(pid_t pid) {
  std::ifstream status(pid == 0 ? std::string("/proc/self/status")
                                : "/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      std::int64_t kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0;
}

inline AbuseOutcome run_abuse(const AbuseTarget& target) {
  using namespace std::chrono_literals;
  AbuseOutcome outcome;
  const std::int64_t before = resident_kib(target.pid);
  std::atomic<std::int64_t> peak{before};
  std::atomic<bool> done{false};

  std::vector<std::unique_ptr<RawSocket>> slow;
  for (int i = 0; i < 300; ++i) {
    slow.push_back(std::make_unique<RawSocket>(target.port));
    if (slow.back()->connected()) ++outcome.slow_connected;
  }
  std::thread dribbler([&] {
    const std::string head = target.slow_head + "\r\nX-Slow: ";
    for (std::size_t at = 0; !done; ++at) {
      for (auto& socket : slow)
        (void)socket->send(at < head.size() ? head.substr(at, 1) : std::string("a"));
      peak = std::max(peak.load(), resident_kib(target.pid));
      std::this_thread::sleep_for(50ms);
    }
  });
  std::vector<std::thread> posters;
  for (int i = 0; i < 4; ++i) {
    posters.emplace_back([&] {
      RawSocket socket(target.port);
      if (!socket.connected()) return;
      timeval timeout{0, 200'000};
      ::setsockopt(socket.fd(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      if (!socket.send(target.post_head + "\r\nContent-Length: 4294967296\r\n\r\n")) return;
      const std::string chunk(64 * 1024, 'z');
      const auto end = std::chrono::steady_clock::now() + 3s;
      while (std::chrono::steady_clock::now() < end && !done) {
        if (::send(socket.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL) <= 0)
          std::this_thread::sleep_for(20ms);  // refused or blocked: keep trying until the end
      }
    });
  }

  std::this_thread::sleep_for(500ms);  // let the abuse settle in
  const auto started = std::chrono::steady_clock::now();
  outcome.legitimate_answered = target.legitimate();
  outcome.legitimate_took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  std::this_thread::sleep_for(1s);  // the abuse goes on: memory must stay flat meanwhile
  done = true;
  dribbler.join();
  for (auto& poster : posters)
    poster.join();
  outcome.rss_growth_kib = peak.load() - before;
  return outcome;
}

}  // namespace cairn::net::testing
