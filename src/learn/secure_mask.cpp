#include "learn/secure_mask.hpp"

#include <fmt/format.h>

#include <cmath>

#include "crypto/chacha20.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"

namespace cairn::learn {
namespace {

constexpr std::string_view kShareContext = "cairn secagg shares v1";
constexpr std::string_view kMaskContext = "cairn secagg mask v1";

Result<ByteArray<32>> agreed_key(const crypto::X25519KeyPair& mine, const ByteArray<32>& peer,
                                 std::string_view context) {
  CAIRN_TRY_ASSIGN(const auto shared, crypto::x25519_agree(mine.secret_key, peer));
  // Hash the agreement with both public keys in a canonical order.
  const bool mine_first = std::lexicographical_compare(
      mine.public_key.begin(), mine.public_key.end(), peer.begin(), peer.end());
  crypto::Hasher hasher(crypto::HashAlgorithm::sha2_256);
  hasher.update(context);
  hasher.update(shared);
  hasher.update(mine_first ? ByteView(mine.public_key) : ByteView(peer));
  hasher.update(mine_first ? ByteView(peer) : ByteView(mine.public_key));
  ByteArray<32> key;
  hasher.finish(key);
  return key;
}

Bytes share_plaintext(std::uint32_t from, std::uint32_t to, const crypto::ShamirShare& s,
                      const crypto::ShamirShare& b) {
  Bytes out;
  append_be(out, from, 4);
  append_be(out, to, 4);
  append(out, crypto::encode_share(s));
  append(out, crypto::encode_share(b));
  return out;
}

}  // namespace

std::vector<std::uint64_t> mask_stream(const ByteArray<32>& seed, std::size_t length) {
  return crypto::chacha20_words(seed, ByteArray<12>{}, length);
}

Result<ByteArray<32>> pairwise_seed(const crypto::X25519KeyPair& mine,
                                    const ByteArray<32>& peer_public) {
  return agreed_key(mine, peer_public, kMaskContext);
}

MaskClient::MaskClient(std::uint32_t index, std::size_t clients, std::size_t threshold)
    : index_(index),
      clients_(clients),
      threshold_(threshold),
      cipher_key_(crypto::x25519_generate()),
      mask_key_(crypto::x25519_generate()),
      self_seed_(crypto::random_array<32>()) {}

MaskAdvertisement MaskClient::advertise() const {
  return {index_, cipher_key_.public_key, mask_key_.public_key};
}

Result<std::vector<SealedShares>> MaskClient::share_keys(
    const std::vector<MaskAdvertisement>& roster) {
  if (roster.size() < threshold_) {
    return fail(Errc::rejected, fmt::format("only {} clients advertised keys, the threshold is {}",
                                            roster.size(), threshold_));
  }
  roster_.clear();
  for (const auto& ad : roster)
    roster_[ad.client] = ad;
  if (!roster_.contains(index_))
    return fail(Errc::rejected, "the roster does not include this client");
  CAIRN_TRY_ASSIGN(auto s_shares, crypto::shamir_split(mask_key_.secret_key, threshold_, clients_));
  CAIRN_TRY_ASSIGN(auto b_shares, crypto::shamir_split(self_seed_, threshold_, clients_));
  std::vector<SealedShares> out;
  for (const auto& [peer, ad] : roster_) {
    if (peer == 0 || peer > clients_)
      return fail(Errc::rejected, fmt::format("roster names client {} of {}", peer, clients_));
    const auto& s = s_shares[peer - 1];
    const auto& b = b_shares[peer - 1];
    if (peer == index_) {
      held_[index_] = {s, b};
      continue;
    }
    CAIRN_TRY_ASSIGN(const auto key, agreed_key(cipher_key_, ad.cipher_public, kShareContext));
    out.push_back(
        SealedShares{index_, peer, crypto::aead_seal(key, share_plaintext(index_, peer, s, b))});
  }
  return out;
}

Status MaskClient::receive_shares(const std::vector<SealedShares>& shares) {
  constexpr std::size_t kShareBytes = 4 + crypto::kShamirValueBytes;
  for (const auto& sealed : shares) {
    if (sealed.to != index_)
      return fail(Errc::rejected,
                  fmt::format("share for client {} delivered to {}", sealed.to, index_));
    const auto sender = roster_.find(sealed.from);
    if (sender == roster_.end())
      return fail(Errc::rejected, fmt::format("share from unknown client {}", sealed.from));
    CAIRN_TRY_ASSIGN(const auto key,
                     agreed_key(cipher_key_, sender->second.cipher_public, kShareContext));
    auto plain = crypto::aead_open(key, sealed.sealed);
    if (!plain)
      return std::unexpected(
          std::move(plain).error().context(fmt::format("shares from client {}", sealed.from)));
    if (plain->size() != 8 + 2 * kShareBytes || read_be(ByteView(*plain).first(4)) != sealed.from ||
        read_be(ByteView(*plain).subspan(4, 4)) != index_) {
      return fail(Errc::rejected,
                  fmt::format("shares from client {} are malformed or misaddressed", sealed.from));
    }
    CAIRN_TRY_ASSIGN(auto s, crypto::decode_share(ByteView(*plain).subspan(8, kShareBytes)));
    CAIRN_TRY_ASSIGN(auto b,
                     crypto::decode_share(ByteView(*plain).subspan(8 + kShareBytes, kShareBytes)));
    held_[sealed.from] = {std::move(s), std::move(b)};
  }
  return {};
}

Result<std::vector<std::uint64_t>> MaskClient::masked_input(std::span<const double> values) const {
  const double scale = std::ldexp(1.0, kMaskFracBits);
  const double limit = std::ldexp(1.0, 62 - kMaskFracBits);
  std::vector<std::uint64_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]) || std::fabs(values[i]) >= limit) {
      return fail(
          Errc::invalid_argument,
          fmt::format("value {} at index {} cannot be masked in fixed point", values[i], i));
    }
    out[i] = static_cast<std::uint64_t>(std::llround(values[i] * scale));
  }
  const auto self_mask = mask_stream(self_seed_, values.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] += self_mask[i];
  for (const auto& [peer, ad] : roster_) {
    if (peer == index_) continue;
    CAIRN_TRY_ASSIGN(const auto seed, pairwise_seed(mask_key_, ad.mask_public));
    const auto mask = mask_stream(seed, values.size());
    // The lower index adds, the higher subtracts: the pair's masks cancel in the sum.
    if (index_ < peer) {
      for (std::size_t i = 0; i < out.size(); ++i)
        out[i] += mask[i];
    } else {
      for (std::size_t i = 0; i < out.size(); ++i)
        out[i] -= mask[i];
    }
  }
  return out;
}

Result<UnmaskResponse> MaskClient::unmask(const UnmaskRequest& request) const {
  std::set<std::uint32_t> survivors(request.survivors.begin(), request.survivors.end());
  for (auto d : request.dropped) {
    if (survivors.contains(d)) {
      return fail(Errc::rejected,
                  fmt::format("server asked for both shares of client {}; refusing", d));
    }
  }
  if (survivors.size() < threshold_) {
    return fail(Errc::rejected, fmt::format("only {} survivors, fewer than the threshold {}",
                                            survivors.size(), threshold_));
  }
  UnmaskResponse response;
  response.from = index_;
  for (auto u : request.survivors) {
    const auto it = held_.find(u);
    if (it == held_.end())
      return fail(Errc::rejected, fmt::format("no shares held for survivor {}", u));
    response.self_seed_shares[u] = it->second.second;
  }
  for (auto u : request.dropped) {
    const auto it = held_.find(u);
    if (it == held_.end())
      return fail(Errc::rejected, fmt::format("no shares held for dropped client {}", u));
    response.mask_key_shares[u] = it->second.first;
  }
  return response;
}

MaskServer::MaskServer(std::size_t clients, std::size_t threshold, std::size_t vector_length)
    : clients_(clients), threshold_(threshold), length_(vector_length) {}

Status MaskServer::advertise(const MaskAdvertisement& ad) {
  if (ad.client == 0 || ad.client > clients_)
    return fail(Errc::rejected, fmt::format("client index {} out of range", ad.client));
  if (roster_.contains(ad.client))
    return fail(Errc::rejected, fmt::format("client {} advertised twice", ad.client));
  roster_[ad.client] = ad;
  return {};
}

std::vector<MaskAdvertisement> MaskServer::roster() const {
  std::vector<MaskAdvertisement> out;
  for (const auto& [_, ad] : roster_)
    out.push_back(ad);
  return out;
}

Result<std::map<std::uint32_t, std::vector<SealedShares>>> MaskServer::route(
    const std::vector<SealedShares>& all) {
  std::map<std::uint32_t, std::vector<SealedShares>> out;
  std::map<std::uint32_t, std::size_t> sent;
  for (const auto& s : all) {
    if (!roster_.contains(s.from) || !roster_.contains(s.to)) {
      return fail(Errc::rejected,
                  fmt::format("shares between unknown clients {} -> {}", s.from, s.to));
    }
    out[s.to].push_back(s);
    ++sent[s.from];
  }
  // A client counts as having shared only if it sent a share to every other roster member.
  for (const auto& [client, count] : sent) {
    if (count + 1 == roster_.size()) shared_.insert(client);
  }
  if (shared_.size() < threshold_) {
    return fail(Errc::rejected, fmt::format("only {} clients shared their keys, threshold {}",
                                            shared_.size(), threshold_));
  }
  return out;
}

Status MaskServer::submit(std::uint32_t client, std::vector<std::uint64_t> masked) {
  if (!shared_.contains(client))
    return fail(Errc::rejected, fmt::format("client {} did not share keys this round", client));
  if (masked.size() != length_) {
    return fail(Errc::rejected,
                fmt::format("masked input from client {} has {} values, expected {}", client,
                            masked.size(), length_));
  }
  if (masked_.contains(client))
    return fail(Errc::rejected, fmt::format("client {} sent two masked inputs", client));
  masked_[client] = std::move(masked);
  return {};
}

Result<UnmaskRequest> MaskServer::unmask_request() const {
  UnmaskRequest request;
  for (auto client : shared_) {
    if (masked_.contains(client))
      request.survivors.push_back(client);
    else
      request.dropped.push_back(client);
  }
  if (request.survivors.size() < threshold_) {
    return fail(Errc::rejected,
                fmt::format("{} clients dropped out; {} survivors are fewer than the threshold {}",
                            request.dropped.size(), request.survivors.size(), threshold_));
  }
  return request;
}

Result<std::vector<double>> MaskServer::finish(const std::vector<UnmaskResponse>& responses) const {
  CAIRN_TRY_ASSIGN(const auto request, unmask_request());
  std::vector<UnmaskResponse> valid;
  for (const auto& r : responses) {
    if (masked_.contains(r.from)) valid.push_back(r);
  }
  if (valid.size() < threshold_) {
    return fail(Errc::rejected,
                fmt::format("{} unmasking responses, threshold {}", valid.size(), threshold_));
  }
  std::vector<std::uint64_t> sum(length_, 0);
  for (const auto& [_, y] : masked_) {
    for (std::size_t i = 0; i < length_; ++i)
      sum[i] += y[i];
  }
  auto collect = [&](std::uint32_t u, bool self_seed) {
    std::vector<crypto::ShamirShare> shares;
    for (const auto& r : valid) {
      const auto& map = self_seed ? r.self_seed_shares : r.mask_key_shares;
      if (auto it = map.find(u); it != map.end()) shares.push_back(it->second);
    }
    return shares;
  };
  for (auto u : request.survivors) {
    CAIRN_TRY_ASSIGN(const auto seed_bytes,
                     crypto::shamir_reconstruct(collect(u, true), threshold_, 32));
    ByteArray<32> seed;
    std::copy(seed_bytes.begin(), seed_bytes.end(), seed.begin());
    const auto mask = mask_stream(seed, length_);
    for (std::size_t i = 0; i < length_; ++i)
      sum[i] -= mask[i];
  }
  for (auto d : request.dropped) {
    CAIRN_TRY_ASSIGN(const auto secret_bytes,
                     crypto::shamir_reconstruct(collect(d, false), threshold_, 32));
    ByteArray<32> secret;
    std::copy(secret_bytes.begin(), secret_bytes.end(), secret.begin());
    const auto dropped_key = crypto::x25519_from_secret(secret);
    if (!equal(dropped_key.public_key, roster_.at(d).mask_public)) {
      return fail(
          Errc::integrity,
          fmt::format("reconstructed mask key of client {} does not match its public key", d));
    }
    for (auto v : request.survivors) {
      CAIRN_TRY_ASSIGN(const auto seed, pairwise_seed(dropped_key, roster_.at(v).mask_public));
      const auto mask = mask_stream(seed, length_);
      // Survivor v added the mask if v < d, subtracted it if v > d: undo that.
      if (v < d) {
        for (std::size_t i = 0; i < length_; ++i)
          sum[i] -= mask[i];
      } else {
        for (std::size_t i = 0; i < length_; ++i)
          sum[i] += mask[i];
      }
    }
  }
  std::vector<double> out(length_);
  const double scale = std::ldexp(1.0, -kMaskFracBits);
  for (std::size_t i = 0; i < length_; ++i)
    out[i] = static_cast<double>(static_cast<std::int64_t>(sum[i])) * scale;
  return out;
}

Result<std::vector<double>> mask_aggregate(
    const std::map<std::uint32_t, std::vector<double>>& inputs, std::size_t threshold,
    const std::set<std::uint32_t>& drop_after_sharing) {
  if (inputs.empty()) return fail(Errc::invalid_argument, "no inputs to aggregate");
  const std::size_t n = inputs.size();
  const std::size_t length = inputs.begin()->second.size();
  MaskServer server(n, threshold, length);
  std::vector<MaskClient> clients;
  std::vector<std::uint32_t> original;
  std::uint32_t next = 1;
  for (const auto& [id, values] : inputs) {
    if (values.size() != length)
      return fail(Errc::rejected,
                  fmt::format("input {} has {} values, expected {}", id, values.size(), length));
    clients.emplace_back(next++, n, threshold);
    original.push_back(id);
  }
  for (const auto& c : clients)
    CAIRN_TRY(server.advertise(c.advertise()));
  const auto roster = server.roster();
  std::vector<SealedShares> all;
  for (auto& c : clients) {
    CAIRN_TRY_ASSIGN(auto shares, c.share_keys(roster));
    all.insert(all.end(), shares.begin(), shares.end());
  }
  CAIRN_TRY_ASSIGN(auto routed, server.route(all));
  for (auto& c : clients)
    CAIRN_TRY(c.receive_shares(routed[c.index()]));
  std::size_t k = 0;
  for (const auto& [id, values] : inputs) {
    auto& c = clients[k++];
    if (drop_after_sharing.contains(id)) continue;
    CAIRN_TRY_ASSIGN(auto masked, c.masked_input(values));
    CAIRN_TRY(server.submit(c.index(), std::move(masked)));
  }
  CAIRN_TRY_ASSIGN(const auto request, server.unmask_request());
  std::vector<UnmaskResponse> responses;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (drop_after_sharing.contains(original[i])) continue;
    CAIRN_TRY_ASSIGN(auto response, clients[i].unmask(request));
    responses.push_back(std::move(response));
  }
  return server.finish(responses);
}

}  // namespace cairn::learn
