#include "seal/service.hpp"

#include <fmt/format.h>

#include <map>

#include "base/file.hpp"
#include "base/log.hpp"

namespace cairn::seal {
namespace {

std::int64_t now_second() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The publications list grows by one record (a few hundred bytes) per publication.
constexpr std::uint64_t kPublicationsCap = 64ull << 20;

}  // namespace

Result<PublicationsList> parse_publications_list(ByteView bytes) {
  PublicationsList list;
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    // Reading elements in order, only the last one can run past the end: a torn append.
    auto element = read_tlv(bytes, offset);
    if (!element) break;
    if (element->tag != 0x703) {
      return fail(Errc::parse, fmt::format("publication list: element at byte {} is TLV 0x{:x}, "
                                           "not a publication record (0x703)",
                                           list.intact_bytes, element->tag));
    }
    auto record = parse_publication_record(*element);
    if (!record) {
      return std::unexpected(std::move(record).error().context(
          fmt::format("publication list: the record at byte {}", list.intact_bytes)));
    }
    list.records.push_back(std::move(*record));
    list.intact_bytes = offset;
  }
  return list;
}

SigningService::SigningService(ServiceOptions options, ServiceKeys keys,
                               std::unique_ptr<Calendar> calendar)
    : options_(std::move(options)), keys_(std::move(keys)), calendar_(std::move(calendar)) {
  if (options_.round < std::chrono::milliseconds(10))
    options_.round = std::chrono::milliseconds(10);
  worker_ = std::thread([this] { run(); });
}

Result<std::unique_ptr<SigningService>> SigningService::open(ServiceOptions options) {
  CAIRN_TRY_ASSIGN(ServiceKeys keys, ServiceKeys::load_or_create(options.repo / "keys"));
  CAIRN_TRY_ASSIGN(auto calendar, Calendar::open(options.repo / "calendar"));
  PublicationsList publications;
  const auto list = options.repo / "publications.tlv";
  if (std::filesystem::exists(list)) {
    CAIRN_TRY_ASSIGN(Bytes bytes, file::read(list, kPublicationsCap));
    CAIRN_TRY_ASSIGN(publications, with_context(parse_publications_list(bytes), list.string()));
    if (publications.intact_bytes < bytes.size()) {
      // The torn record goes before anything is appended after it; the next append syncs
      // the file, its new size included.
      log::warn("{}: cutting a publication record torn by a crash ({} bytes)", list.string(),
                bytes.size() - publications.intact_bytes);
      std::error_code ec;
      std::filesystem::resize_file(list, publications.intact_bytes, ec);
      if (ec)
        return fail(Errc::io,
                    "cannot cut the torn record of " + list.string() + ": " + ec.message());
    }
  }
  std::unique_ptr<SigningService> service(
      new SigningService(std::move(options), std::move(keys), std::move(calendar)));
  service->publications_ = std::move(publications.records);
  return service;
}

Result<std::unique_ptr<SigningService>> SigningService::in_memory(ServiceOptions options,
                                                                  ServiceKeys keys) {
  options.repo.clear();
  return std::unique_ptr<SigningService>(
      new SigningService(std::move(options), std::move(keys), std::make_unique<Calendar>()));
}

SigningService::~SigningService() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  tick(true);  // whoever is still waiting gets an answer
}

std::future<Result<Signature>> SigningService::submit(const Imprint& hash, std::uint8_t level,
                                                      std::string client_id) {
  Pending pending{hash, level, std::move(client_id), {}};
  auto future = pending.promise.get_future();
  if (level >= 0xFE) {
    pending.promise.set_value(fail(Errc::invalid_argument, "request level must be below 254"));
    return future;
  }
  std::lock_guard lock(pending_mutex_);
  pending_.push_back(std::move(pending));
  return future;
}

void SigningService::run() {
  auto next = std::chrono::steady_clock::now() + options_.round;
  std::unique_lock lock(stop_mutex_);
  while (!stopping_) {
    if (stop_cv_.wait_until(lock, next, [this] { return stopping_; })) break;
    lock.unlock();
    tick(options_.round >= std::chrono::milliseconds(1000));
    lock.lock();
    next += options_.round;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + options_.round;  // fell behind: skip, do not burst
  }
}

void SigningService::tick(bool force_commit) {
  std::lock_guard lock(rounds_mutex_);
  const std::int64_t second = now_second();
  if (!closed_.empty() && (force_commit || second != open_second_)) commit_second();
  close_round();
  if (!closed_.empty() && force_commit) commit_second();
}

void SigningService::close_round() {
  std::vector<Pending> requests;
  {
    std::lock_guard lock(pending_mutex_);
    requests.swap(pending_);
  }
  if (requests.empty()) return;
  ClosedRound round;
  std::vector<TreeLeaf> leaves;
  leaves.reserve(requests.size());
  round.metadata_index.reserve(requests.size());
  // Requesters share a metadata link per (client id, level): memory per request stays a
  // few dozen bytes however large the round.
  std::map<std::pair<std::string, std::uint8_t>, std::uint32_t> distinct;
  ImprintHasher hasher(options_.algorithm);
  for (const auto& request : requests) {
    auto [it, added] =
        distinct.try_emplace({request.client_id, request.level},
                             static_cast<std::uint32_t>(round.metadata_links.size()));
    if (added) {
      round.metadata_links.push_back(
          request_leaf(request.hash, request.level, request.client_id, options_.algorithm)
              .metadata_link);
    }
    const AggregationLink& link = round.metadata_links[it->second];
    hasher.update(request.hash.bytes()).update(link.metadata->content);
    hasher.update(static_cast<std::uint8_t>(request.level + 1));
    leaves.push_back({hasher.finish(), static_cast<std::uint8_t>(request.level + 1)});
    round.metadata_index.push_back(it->second);
  }
  auto tree = AggregationTree::build(std::move(leaves), options_.algorithm);
  if (!tree) {
    for (auto& request : requests)
      request.promise.set_value(std::unexpected(tree.error()));
    return;
  }
  round.tree = std::move(*tree);
  round.requests = std::move(requests);
  if (closed_.empty()) open_second_ = now_second();
  closed_.push_back(std::move(round));
  std::lock_guard lock(stats_mutex_);
  ++stats_.rounds;
}

void SigningService::commit_second() {
  std::vector<ClosedRound> rounds;
  rounds.swap(closed_);
  auto fail_all = [&](const Error& error) {
    for (auto& round : rounds) {
      for (auto& request : round.requests)
        request.promise.set_value(std::unexpected(error));
    }
  };
  // Round roots of one second meet in a second tree, whose root is the calendar leaf.
  std::optional<AggregationTree> top;
  Imprint leaf = rounds.front().tree->root();
  if (rounds.size() > 1) {
    std::vector<TreeLeaf> roots;
    for (const auto& round : rounds)
      roots.push_back({round.tree->root(), round.tree->root_level()});
    auto built = AggregationTree::build(std::move(roots), options_.algorithm);
    if (!built) return fail_all(built.error());
    top = std::move(*built);
    leaf = top->root();
  }
  if (leaf.algorithm() != HashId::sha2_256) leaf = hash_data(HashId::sha2_256, leaf.bytes());
  const auto head = calendar_->head_time();
  std::uint64_t second =
      static_cast<std::uint64_t>(std::max<std::int64_t>(open_second_, now_second() - 1));
  if (head && second <= *head) second = *head + 1;
  if (auto appended = calendar_->append(second, leaf); !appended) return fail_all(appended.error());
  auto calendar_chain = calendar_->chain(second, second);
  if (!calendar_chain) return fail_all(calendar_chain.error());
  CalendarAuthRecord auth;
  auth.data.publication_time = second;
  auth.data.published_hash = *calendar_->root(second);
  auth.data_raw = auth.data.encode();
  auto signed_data = keys_.sign_calendar(auth.data_raw);
  if (!signed_data) return fail_all(signed_data.error());
  auth.signature.type = std::string(kEd25519SignatureType);
  auth.signature.value = std::move(*signed_data);
  auth.signature.certificate_id = keys_.calendar_cert_id;

  std::uint64_t signed_count = 0;
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    auto& round = rounds[r];
    std::optional<AggregationChain> top_chain;
    std::vector<std::uint64_t> parent_index;
    if (top) {
      top_chain = make_chain(round.tree->root(), top->path(r), options_.algorithm, second, {});
      parent_index = top_chain->chain_index;
    }
    for (std::size_t i = 0; i < round.requests.size(); ++i) {
      auto& request = round.requests[i];
      std::vector<AggregationLink> links;
      links.reserve(1 + 24);
      links.push_back(round.metadata_links[round.metadata_index[i]]);
      for (auto& link : round.tree->path(i))
        links.push_back(std::move(link));
      Signature signature;
      signature.aggregation_chains.push_back(
          make_chain(request.hash, std::move(links), options_.algorithm, second, parent_index));
      if (top_chain) signature.aggregation_chains.push_back(*top_chain);
      signature.calendar_chain = *calendar_chain;
      signature.calendar_auth = auth;
      request.promise.set_value(std::move(signature));
      ++signed_count;
    }
  }
  std::lock_guard lock(stats_mutex_);
  stats_.requests += signed_count;
  ++stats_.seconds;
}

Result<CalendarChain> SigningService::extend(std::uint64_t aggregation_time,
                                             std::optional<std::uint64_t> publication_time) const {
  const auto head = calendar_->head_time();
  if (!head) return fail(Errc::not_found, "the calendar is empty");
  return calendar_->chain(aggregation_time, publication_time.value_or(*head));
}

Result<PublicationRecord> SigningService::publish() {
  const auto head = calendar_->head_time();
  if (!head) return fail(Errc::not_found, "the calendar is empty: nothing to publish");
  std::lock_guard lock(publications_mutex_);
  if (!publications_.empty() && publications_.back().data.publication_time == *head) {
    return publications_.back();
  }
  PublicationRecord record;
  record.data.publication_time = *head;
  CAIRN_TRY_ASSIGN(record.data.published_hash, calendar_->root(*head));
  record.references.push_back("cairn calendar publication " +
                              encode_publication_string(record.data));
  if (anchor_ != nullptr) {
    CAIRN_TRY_ASSIGN(AnchorReceipt receipt, anchor_->anchor(*head, record.data.published_hash));
    record.references.push_back(fmt::format("anchored {} tx {} block {}", receipt.ledger,
                                            receipt.transaction, receipt.block));
  }
  if (!options_.repo.empty()) {
    Bytes entry = encode_publication_record(record, 0x703);
    CAIRN_TRY(with_context(file::append_synced(options_.repo / "publications.tlv", as_chars(entry)),
                           "recording the publication"));
  }
  publications_.push_back(record);
  if (!options_.repo.empty()) {
    CAIRN_TRY_ASSIGN(Bytes contents, build_file(publications_));
    CAIRN_TRY(file::write_atomic(options_.repo / "publications.bin", ByteView(contents)));
  }
  return record;
}

std::vector<PublicationRecord> SigningService::publications() const {
  std::lock_guard lock(publications_mutex_);
  return publications_;
}

Result<Bytes> SigningService::publications_file() const {
  std::lock_guard lock(publications_mutex_);
  return build_file(publications_);
}

Result<Bytes> SigningService::build_file(const std::vector<PublicationRecord>& records) const {
  std::vector<CertificateRecord> certificates{{keys_.calendar_cert_id, keys_.calendar_cert_der}};
  const auto created = static_cast<std::uint64_t>(now_second());
  return build_publications_file(created, certificates, records, keys_.publications_key_pem,
                                 keys_.publications_cert_pem);
}

void SigningService::set_anchor(PublicationAnchor* anchor) {
  anchor_ = anchor;
}

ServiceStats SigningService::stats() const {
  ServiceStats stats;
  {
    std::lock_guard lock(stats_mutex_);
    stats = stats_;
  }
  stats.calendar_head = calendar_->head_time();
  std::lock_guard publications_lock(publications_mutex_);
  stats.publications = publications_.size();
  return stats;
}

Result<std::vector<Signature>> sign_block(const std::vector<Imprint>& items,
                                          const RootSigner& sign_root, HashId algorithm) {
  if (items.empty()) return fail(Errc::invalid_argument, "nothing to sign");
  std::vector<TreeLeaf> leaves;
  leaves.reserve(items.size());
  for (const auto& item : items)
    leaves.push_back({item, 0});
  CAIRN_TRY_ASSIGN(AggregationTree tree, AggregationTree::build(std::move(leaves), algorithm));
  CAIRN_TRY_ASSIGN(Signature root_signature, sign_root(tree.root(), tree.root_level()));
  if (root_signature.aggregation_chains.empty() ||
      root_signature.aggregation_chains.front().links.empty() ||
      !(root_signature.aggregation_chains.front().input_hash == tree.root())) {
    return fail(Errc::integrity, "the service signed something other than the block's root");
  }
  // The service's first link raised the root from its level; below it now sits our tree,
  // which already accounts for those levels.
  AggregationChain& service_first = root_signature.aggregation_chains.front();
  if (service_first.links.front().level_correction < tree.root_level()) {
    return fail(Errc::integrity, "the service ignored the block's tree level");
  }
  service_first.links.front().level_correction -= tree.root_level();
  std::vector<Signature> signatures;
  signatures.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    Signature signature = root_signature;
    if (items.size() > 1) {
      signature.aggregation_chains.insert(
          signature.aggregation_chains.begin(),
          make_chain(items[i], tree.path(i), algorithm, service_first.aggregation_time,
                     service_first.chain_index));
    }
    signatures.push_back(std::move(signature));
  }
  return signatures;
}

}  // namespace cairn::seal
