#pragma once
// The notification hub: follows new blocks, decodes the platform contracts' logs into
// events, and dispatches them to subscribers.
//
// Finality: with `confirmations` = N, a log is delivered as `pending` when its block is
// first seen and as `final` once N more blocks are built on it. A reorganisation is found
// by block hash (each new block's parent must be the block we hold at the height below);
// the logs of abandoned blocks are delivered as `removed` and are never delivered as
// final. The cursor (last final block number and hash) is written atomically to a file
// after each final block, and a restarted watcher resumes right after it.
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chain/abi.hpp"
#include "chain/rpc.hpp"

namespace cairn::chain {

enum class Finality { pending, final, removed };
std::string_view finality_name(Finality finality);

struct WatchedContract {
  std::string name;  // "DataTransfer": the embedded ABI of that name decodes its logs
  Address address;
};

struct ChainEvent {
  Finality finality = Finality::pending;
  std::string contract;  // which watched contract emitted it
  std::string name;      // event name, e.g. "DealInitiated"
  const abi::Event* event = nullptr;
  abi::ValueList values;  // in declaration order
  Log log;
  // {"finality", "contract", "event", "block", "tx", "logIndex", "args": {name: value}}
  nlohmann::json to_json() const;
};

struct WatcherOptions {
  std::vector<WatchedContract> contracts;
  std::uint64_t confirmations = 0;
  std::optional<std::filesystem::path> cursor_file;
  std::uint64_t start_block = 0;  // where to begin without a cursor file
  std::chrono::milliseconds poll_interval{500};
};

class EventWatcher {
 public:
  using Subscriber = std::function<void(const ChainEvent&)>;

  static Result<std::unique_ptr<EventWatcher>> create(RpcClient rpc, WatcherOptions options);

  // `event_name` empty: every event. Returns an id for unsubscribe().
  std::uint64_t subscribe(Subscriber subscriber, std::string event_name = {});
  void unsubscribe(std::uint64_t id);

  // Processes every block up to the node's head once. Returns the number of events
  // delivered (pending, final and removed).
  Result<std::size_t> poll_once();
  // Polls until `stop` becomes true; transient node failures are retried, others returned.
  Status run(const std::atomic<bool>& stop);

  // The last block whose events were delivered as final (nullopt before the first).
  std::optional<std::uint64_t> final_block() const;

 private:
  struct BlockRecord {
    std::uint64_t number = 0;
    ByteArray<32> hash{};
    std::vector<ChainEvent> events;
  };
  EventWatcher(RpcClient rpc, WatcherOptions options)
      : rpc_(std::move(rpc)), options_(std::move(options)) {}
  Status load_cursor();
  Status save_cursor() const;
  Result<std::vector<ChainEvent>> events_of(const BlockHeader& header);
  std::size_t dispatch(const std::vector<ChainEvent>& events, Finality finality);

  RpcClient rpc_;
  WatcherOptions options_;
  std::vector<std::pair<WatchedContract, std::shared_ptr<const abi::ContractAbi>>> abis_;
  std::optional<BlockRecord> final_;  // last final block (events not kept)
  std::deque<BlockRecord> unconfirmed_;
  std::mutex subscribers_mutex_;
  std::vector<std::tuple<std::uint64_t, std::string, Subscriber>> subscribers_;
  std::uint64_t next_subscriber_id_ = 1;
};

}  // namespace cairn::chain
