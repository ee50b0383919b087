#include "chain/watcher.hpp"

#include <thread>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "chain/contract.hpp"

namespace cairn::chain {

std::string_view finality_name(Finality finality) {
  switch (finality) {
    case Finality::pending:
      return "pending";
    case Finality::final:
      return "final";
    case Finality::removed:
      return "removed";
  }
  return "?";
}

nlohmann::json ChainEvent::to_json() const {
  nlohmann::json args = nlohmann::json::object();
  if (event) {
    for (std::size_t i = 0; i < event->inputs.size() && i < values.size(); ++i) {
      const auto& input = event->inputs[i];
      args[input.name.empty() ? std::to_string(i) : input.name] =
          abi::to_json(input.type, values[i]);
    }
  }
  return {{"finality", finality_name(finality)},
          {"contract", contract},
          {"address", log.address.to_checksum()},
          {"event", name},
          {"block", log.block_number},
          {"blockHash", "0x" + to_hex(log.block_hash)},
          {"tx", "0x" + to_hex(log.transaction_hash)},
          {"logIndex", log.log_index},
          {"args", args}};
}

Result<std::unique_ptr<EventWatcher>> EventWatcher::create(RpcClient rpc, WatcherOptions options) {
  std::unique_ptr<EventWatcher> watcher(new EventWatcher(std::move(rpc), std::move(options)));
  for (const auto& contract : watcher->options_.contracts) {
    CAIRN_TRY_ASSIGN(auto abi, embedded_abi(contract.name));
    watcher->abis_.emplace_back(contract, std::move(abi));
  }
  CAIRN_TRY(watcher->load_cursor());
  return watcher;
}

std::uint64_t EventWatcher::subscribe(Subscriber subscriber, std::string event_name) {
  std::lock_guard guard(subscribers_mutex_);
  const auto id = next_subscriber_id_++;
  subscribers_.emplace_back(id, std::move(event_name), std::move(subscriber));
  return id;
}

void EventWatcher::unsubscribe(std::uint64_t id) {
  std::lock_guard guard(subscribers_mutex_);
  std::erase_if(subscribers_, [id](const auto& s) { return std::get<0>(s) == id; });
}

std::optional<std::uint64_t> EventWatcher::final_block() const {
  if (!final_) return std::nullopt;
  return final_->number;
}

Status EventWatcher::load_cursor() {
  if (!options_.cursor_file || !std::filesystem::exists(*options_.cursor_file)) return {};
  const std::string where = "watcher cursor " + options_.cursor_file->string();
  CAIRN_TRY_ASSIGN(const auto text, file::read(*options_.cursor_file, file::kSmallFileCap));
  CAIRN_TRY_ASSIGN(const auto doc, parse_json(ByteView(text), where));
  CAIRN_TRY_ASSIGN(auto cursor, JsonObject::of(doc, where));
  BlockRecord record;
  CAIRN_TRY_ASSIGN(record.number, cursor.u64("block"));
  CAIRN_TRY_ASSIGN(const auto hash_node, cursor.required("hash"));
  CAIRN_TRY(cursor.close());
  auto hash = parse_hash(hash_node.raw(), where + " hash");
  if (!hash) return std::unexpected(hash.error());
  record.hash = *hash;
  // The chain must still contain the block we stopped at; if not, it was reorganised
  // deeper than our confirmations while we were away, and events we called final are gone.
  auto header = rpc_.block(record.number);
  if (!header) return std::unexpected(std::move(header).error().context(where));
  if (header->hash != record.hash) {
    return fail(
        Errc::conflict,
        where + ": block " + std::to_string(record.number) +
            " has changed since it was final (reorganisation deeper than the confirmations)");
  }
  final_ = std::move(record);
  return {};
}

Status EventWatcher::save_cursor() const {
  if (!options_.cursor_file || !final_) return {};
  const nlohmann::json doc = {{"block", final_->number}, {"hash", "0x" + to_hex(final_->hash)}};
  return file::write_atomic(*options_.cursor_file, doc.dump() + "\n");
}

Result<std::vector<ChainEvent>> EventWatcher::events_of(const BlockHeader& header) {
  std::vector<ChainEvent> events;
  if (abis_.empty()) return events;
  LogFilter filter;
  for (const auto& [contract, abi] : abis_)
    filter.addresses.push_back(contract.address);
  filter.from_block = header.number;
  filter.to_block = header.number;
  CAIRN_TRY_ASSIGN(std::vector<Log> logs, rpc_.logs(filter));
  for (auto& log : logs) {
    // The block at this height may have been replaced between the two calls.
    if (log.block_hash != header.hash || log.removed) {
      return fail(Errc::conflict,
                  "block " + std::to_string(header.number) + " changed while reading its logs");
    }
    for (const auto& [contract, abi] : abis_) {
      if (contract.address != log.address || log.topics.empty()) continue;
      const abi::Event* event = abi->event_by_topic(log.topics[0]);
      if (!event) continue;
      auto values = event->decode_log(log.topics, log.data);
      if (!values) {
        log::warn("skipping undecodable {} log in block {}: {}", contract.name, log.block_number,
                  values.error().message);
        continue;
      }
      ChainEvent e;
      e.contract = contract.name;
      e.name = event->name;
      e.event = event;
      e.values = std::move(*values);
      e.log = log;
      events.push_back(std::move(e));
    }
  }
  return events;
}

std::size_t EventWatcher::dispatch(const std::vector<ChainEvent>& events, Finality finality) {
  std::vector<std::tuple<std::uint64_t, std::string, Subscriber>> subscribers;
  {
    std::lock_guard guard(subscribers_mutex_);
    subscribers = subscribers_;
  }
  for (const auto& original : events) {
    ChainEvent e = original;
    e.finality = finality;
    for (const auto& [id, name, subscriber] : subscribers) {
      if (name.empty() || name == e.name) subscriber(e);
    }
  }
  return events.size();
}

Result<std::size_t> EventWatcher::poll_once() {
  CAIRN_TRY_ASSIGN(std::uint64_t head, rpc_.block_number());
  std::size_t delivered = 0;
  // Is our tip still on the chain? A reorganisation to a chain no longer than ours shows
  // only here, since no new block would point at the abandoned one.
  while (!unconfirmed_.empty()) {
    auto tip = rpc_.block(unconfirmed_.back().number);
    if (tip && tip->hash == unconfirmed_.back().hash) break;
    if (!tip && tip.error().code != Errc::not_found) return std::unexpected(tip.error());
    delivered += dispatch(unconfirmed_.back().events, Finality::removed);
    unconfirmed_.pop_back();
  }
  if (unconfirmed_.empty() && final_) {
    auto tip = rpc_.block(final_->number);
    if (!tip && tip.error().code != Errc::not_found) return std::unexpected(tip.error());
    if (!tip || tip->hash != final_->hash) {
      return fail(Errc::conflict, "reorganisation below final block " +
                                      std::to_string(final_->number) +
                                      ": more confirmations are needed on this chain (now " +
                                      std::to_string(options_.confirmations) + ")");
    }
  }
  for (;;) {
    const std::uint64_t next = !unconfirmed_.empty() ? unconfirmed_.back().number + 1
                               : final_              ? final_->number + 1
                                                     : options_.start_block;
    if (next > head) break;
    auto header = rpc_.block(next);
    if (!header) {
      if (header.error().code == Errc::not_found) {
        // The head moved back (a reorganisation to a shorter chain): re-check from the top.
        CAIRN_TRY_ASSIGN(head, rpc_.block_number());
        if (!unconfirmed_.empty() && unconfirmed_.back().number > head) {
          delivered += dispatch(unconfirmed_.back().events, Finality::removed);
          unconfirmed_.pop_back();
        }
        continue;
      }
      return std::unexpected(header.error());
    }
    const BlockRecord* parent = !unconfirmed_.empty() ? &unconfirmed_.back()
                                : final_              ? &*final_
                                                      : nullptr;
    if (parent && parent->number + 1 == header->number && parent->hash != header->parent_hash) {
      if (unconfirmed_.empty()) {
        return fail(Errc::conflict, "reorganisation below final block " +
                                        std::to_string(parent->number) +
                                        ": more confirmations are needed on this chain (now " +
                                        std::to_string(options_.confirmations) + ")");
      }
      // Abandon our tip and look again at its height.
      delivered += dispatch(unconfirmed_.back().events, Finality::removed);
      unconfirmed_.pop_back();
      continue;
    }
    auto events = events_of(*header);
    if (!events) {
      if (events.error().code == Errc::conflict) continue;  // re-read this height
      return std::unexpected(events.error());
    }
    BlockRecord record{header->number, header->hash, std::move(*events)};
    if (options_.confirmations > 0) delivered += dispatch(record.events, Finality::pending);
    unconfirmed_.push_back(std::move(record));
    CAIRN_TRY_ASSIGN(head, rpc_.block_number());
    // Promote what is now deep enough.
    while (!unconfirmed_.empty() && unconfirmed_.front().number + options_.confirmations <= head) {
      // The block must still be on the chain before anything in it is called final.
      CAIRN_TRY_ASSIGN(BlockHeader check, rpc_.block(unconfirmed_.front().number));
      if (check.hash != unconfirmed_.front().hash) break;  // a reorg: the next round unwinds it
      delivered += dispatch(unconfirmed_.front().events, Finality::final);
      final_ = BlockRecord{unconfirmed_.front().number, unconfirmed_.front().hash, {}};
      unconfirmed_.pop_front();
      CAIRN_TRY(save_cursor());
    }
  }
  return delivered;
}

Status EventWatcher::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    auto polled = poll_once();
    if (!polled && polled.error().code != Errc::unavailable) return std::unexpected(polled.error());
    if (!polled) log::warn("event watcher: {}; retrying", polled.error().message);
    const auto until = std::chrono::steady_clock::now() + options_.poll_interval;
    while (!stop.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return {};
}

}  // namespace cairn::chain
