#include "seal/aggregator.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace cairn::seal {
namespace {

// One EVP context reused for every node: tree building is the service's hot loop.
class NodeHasher {
 public:
  explicit NodeHasher(HashId id) : id_(id), ctx_(EVP_MD_CTX_new()) {
    md_ = EVP_MD_fetch(
        nullptr,
        std::string(crypto::hash_name(hash_info(static_cast<std::uint8_t>(id))->algorithm)).c_str(),
        nullptr);
    if (md_ == nullptr)
      md_ = const_cast<EVP_MD*>(EVP_get_digestbyname(
          std::string(crypto::hash_name(hash_info(static_cast<std::uint8_t>(id))->algorithm))
              .c_str()));
  }
  ~NodeHasher() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  NodeHasher(const NodeHasher&) = delete;
  NodeHasher& operator=(const NodeHasher&) = delete;
  bool usable() const { return md_ != nullptr && ctx_ != nullptr; }

  // Writes id ‖ H(left ‖ right ‖ level) to out.
  void hash(ByteView left, ByteView right, std::uint8_t level, std::byte* out) {
    // One contiguous update: for 67-byte inputs the per-call cost of EVP_DigestUpdate is a
    // large part of the total.
    std::array<std::byte, 2 * 65 + 1> buffer;
    std::memcpy(buffer.data(), left.data(), left.size());
    std::memcpy(buffer.data() + left.size(), right.data(), right.size());
    buffer[left.size() + right.size()] = static_cast<std::byte>(level);
    EVP_DigestInit_ex(ctx_, md_, nullptr);
    EVP_DigestUpdate(ctx_, buffer.data(), left.size() + right.size() + 1);
    out[0] = static_cast<std::byte>(id_);
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_, reinterpret_cast<unsigned char*>(out + 1), &length);
  }

 private:
  HashId id_;
  EVP_MD_CTX* ctx_;
  EVP_MD* md_ = nullptr;
};

}  // namespace

Result<AggregationTree> AggregationTree::build(std::vector<TreeLeaf> leaves_in, HashId algorithm) {
  if (leaves_in.empty()) return fail(Errc::invalid_argument, "aggregation tree needs a leaf");
  AggregationTree tree;
  tree.algorithm_ = algorithm;
  tree.imprint_size_ = 1 + hash_info(static_cast<std::uint8_t>(algorithm))->digest_size;
  tree.leaf_count_ = leaves_in.size();
  tree.leaves_ = std::move(leaves_in);
  const std::vector<TreeLeaf>& leaves = tree.leaves_;
  NodeHasher hasher(algorithm);
  if (!hasher.usable()) return fail(Errc::crypto, "hash function unavailable");
  const std::size_t size = tree.imprint_size_;
  std::size_t count = leaves.size();
  auto child = [&](std::size_t layer, std::size_t i) -> std::pair<ByteView, std::uint8_t> {
    if (layer == 0) return {leaves[i].hash.bytes(), leaves[i].level};
    const Layer& below = tree.layers_[layer - 1];
    return {ByteView(below.imprints).subspan(i * size, size), below.levels[i]};
  };
  std::size_t layer = 0;
  while (count > 1) {
    Layer next;
    const std::size_t parents = (count + 1) / 2;
    next.imprints.resize(parents * size);
    next.levels.resize(parents);
    for (std::size_t p = 0; p < parents; ++p) {
      const auto [left, left_level] = child(layer, 2 * p);
      if (2 * p + 1 == count) {  // an odd node moves up unchanged
        std::copy(left.begin(), left.end(),
                  next.imprints.begin() + static_cast<std::ptrdiff_t>(p * size));
        next.levels[p] = left_level;
        continue;
      }
      const auto [right, right_level] = child(layer, 2 * p + 1);
      const int level = std::max(left_level, right_level) + 1;
      if (level > 0xFF) return fail(Errc::invalid_argument, "aggregation tree deeper than 255");
      next.levels[p] = static_cast<std::uint8_t>(level);
      hasher.hash(left, right, next.levels[p], next.imprints.data() + p * size);
    }
    tree.layers_.push_back(std::move(next));
    count = parents;
    ++layer;
  }
  if (tree.layers_.empty()) {
    tree.root_ = leaves[0].hash;
    tree.root_level_ = leaves[0].level;
  } else {
    tree.root_ = tree.node(tree.layers_.size(), 0);
    tree.root_level_ = tree.layers_.back().levels[0];
  }
  return tree;
}

Imprint AggregationTree::node(std::size_t layer, std::size_t index) const {
  if (layer == 0) return leaves_[index].hash;
  auto parsed = Imprint::parse(
      ByteView(layers_[layer - 1].imprints).subspan(index * imprint_size_, imprint_size_));
  return parsed ? *parsed : Imprint();
}

std::vector<AggregationLink> AggregationTree::path(std::size_t index) const {
  std::vector<AggregationLink> links;
  std::size_t count = leaf_count_;
  std::uint8_t level = leaves_[index].level;
  for (std::size_t layer = 0; layer < layers_.size(); ++layer) {
    const std::size_t parent = index / 2;
    const std::uint8_t parent_level = layers_[layer].levels[parent];
    const bool has_sibling = !(index % 2 == 0 && index + 1 == count);
    if (has_sibling) {
      AggregationLink link;
      link.left = index % 2 == 0;
      const std::size_t sibling = link.left ? index + 1 : index - 1;
      link.sibling = node(layer, sibling);
      link.level_correction = static_cast<std::uint64_t>(parent_level - level - 1);
      links.push_back(std::move(link));
    }
    level = parent_level;
    index = parent;
    count = (count + 1) / 2;
  }
  return links;
}

AggregationChain make_chain(const Imprint& input, std::vector<AggregationLink> links,
                            HashId algorithm, std::uint64_t aggregation_time,
                            std::vector<std::uint64_t> parent_index) {
  AggregationChain chain;
  chain.input_hash = input;
  chain.links = std::move(links);
  chain.algorithm = static_cast<std::uint64_t>(algorithm);
  chain.aggregation_time = aggregation_time;
  chain.chain_index = std::move(parent_index);
  chain.chain_index.push_back(chain_shape(chain));
  return chain;
}

RequestLeaf request_leaf(const Imprint& request, std::uint8_t level, const std::string& client_id,
                         HashId algorithm) {
  RequestLeaf out;
  out.metadata_link.left = true;
  out.metadata_link.kind = AggregationLink::Kind::metadata;
  out.metadata_link.metadata = std::make_shared<const LinkMetadata>(LinkMetadata::make(client_id));
  out.metadata_link.level_correction = level;
  ImprintHasher hasher(algorithm);
  hasher.update(request.bytes()).update(out.metadata_link.metadata->content);
  hasher.update(static_cast<std::uint8_t>(level + 1));
  out.leaf.hash = hasher.finish();
  out.leaf.level = static_cast<std::uint8_t>(level + 1);
  return out;
}

}  // namespace cairn::seal
