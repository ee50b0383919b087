#pragma once
// The signing service: an aggregator that batches requests into rounds and builds each
// round's tree with KSI's hashing, a calendar with one leaf per second, calendar
// authentication records signed with Ed25519, extension of signatures to later
// publications, and the signed publications file.
//
// Rounds may be shorter than a second (down to 10 ms). Round roots of the same second are
// aggregated once more (a second aggregation chain, as KSI's aggregator hierarchy does),
// and that root becomes the second's calendar leaf.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "seal/aggregator.hpp"
#include "seal/anchor.hpp"
#include "seal/calendar.hpp"
#include "seal/keys.hpp"
#include "seal/publication.hpp"
#include "seal/signature.hpp"

namespace cairn::seal {

struct ServiceOptions {
  std::filesystem::path repo;  // empty: everything in memory (tests, benchmarks)
  std::chrono::milliseconds round{1000};
  HashId algorithm = HashId::sha2_256;
};

struct ServiceStats {
  std::uint64_t requests = 0;
  std::uint64_t rounds = 0;
  std::uint64_t seconds = 0;
  std::optional<std::uint64_t> calendar_head;
  std::size_t publications = 0;
};

// The service's own record of its publications (<repo>/publications.tlv): publication
// records (TLV 0x703) back to back, each appended and synced before the publication is
// acknowledged. A last record cut short by a crash was never acknowledged: `intact_bytes`
// ends before it, and the service cuts it off before it appends again. Damage anywhere
// else is an error, never guessed around.
struct PublicationsList {
  std::vector<PublicationRecord> records;
  std::size_t intact_bytes = 0;
};
[[nodiscard]] Result<PublicationsList> parse_publications_list(ByteView bytes);

class SigningService {
 public:
  static Result<std::unique_ptr<SigningService>> open(ServiceOptions options);
  static Result<std::unique_ptr<SigningService>> in_memory(ServiceOptions options,
                                                           ServiceKeys keys);
  ~SigningService();
  SigningService(const SigningService&) = delete;
  SigningService& operator=(const SigningService&) = delete;

  // Queues `hash` (a request made at tree level `level`, 0 for a single document) for the
  // next round; the future yields its signature once the round's second is in the calendar.
  std::future<Result<Signature>> submit(const Imprint& hash, std::uint8_t level = 0,
                                        std::string client_id = "anon");

  // The calendar chain from `aggregation_time` to `publication_time` (default: the head).
  Result<CalendarChain> extend(std::uint64_t aggregation_time,
                               std::optional<std::uint64_t> publication_time) const;
  // Publishes the calendar root at its head: adds the publication to the publications file
  // (signed again) and to the anchor, if one is set.
  Result<PublicationRecord> publish();
  std::vector<PublicationRecord> publications() const;
  Result<Bytes> publications_file() const;
  void set_anchor(PublicationAnchor* anchor);
  ServiceStats stats() const;
  const ServiceKeys& keys() const { return keys_; }
  const Calendar& calendar() const { return *calendar_; }

  // Closes the open round now and, at a second's end, commits it (used by the round thread;
  // callable directly to make tests deterministic).
  void tick(bool force_commit);

 private:
  struct Pending {
    Imprint hash;
    std::uint8_t level;
    std::string client_id;
    std::promise<Result<Signature>> promise;
  };
  struct ClosedRound {
    std::vector<Pending> requests;
    std::vector<AggregationLink> metadata_links;  // one per distinct (client id, level)
    std::vector<std::uint32_t> metadata_index;    // each request's entry in metadata_links
    std::optional<AggregationTree> tree;
  };

  SigningService(ServiceOptions options, ServiceKeys keys, std::unique_ptr<Calendar> calendar);
  void run();
  void close_round();
  void commit_second();
  Result<Bytes> build_file(const std::vector<PublicationRecord>& records) const;

  ServiceOptions options_;
  ServiceKeys keys_;
  std::unique_ptr<Calendar> calendar_;
  PublicationAnchor* anchor_ = nullptr;

  mutable std::mutex pending_mutex_;
  std::vector<Pending> pending_;
  std::mutex rounds_mutex_;  // held while closing and committing rounds
  std::vector<ClosedRound> closed_;
  std::int64_t open_second_ = -1;

  mutable std::mutex publications_mutex_;
  std::vector<PublicationRecord> publications_;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread worker_;
  ServiceStats stats_;
  mutable std::mutex stats_mutex_;
};

// Signs many items with one request (KSI's block signer): builds a local tree over the
// item hashes, has its root signed, and gives each item its own signature that starts with
// its path in the local tree.
using RootSigner = std::function<Result<Signature>(const Imprint& root, std::uint8_t level)>;
Result<std::vector<Signature>> sign_block(const std::vector<Imprint>& items,
                                          const RootSigner& sign_root,
                                          HashId algorithm = HashId::sha2_256);

}  // namespace cairn::seal
