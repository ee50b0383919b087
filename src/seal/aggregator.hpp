#pragma once
// Aggregation trees with KSI's hashing: a node is H(left imprint ‖ right imprint ‖ level)
// where level = 1 + the higher child level; each leaf gets its own aggregation chain to the
// root. Used by the signing service for rounds and by the block signer (many items, one
// request).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "seal/signature.hpp"

namespace cairn::seal {

struct TreeLeaf {
  Imprint hash;
  std::uint8_t level = 0;
};

class AggregationTree {
 public:
  // REQUIRES: leaves not empty. Memory: one imprint per node (about two per leaf).
  static Result<AggregationTree> build(std::vector<TreeLeaf> leaves, HashId algorithm);

  const Imprint& root() const { return root_; }
  std::uint8_t root_level() const { return root_level_; }
  std::size_t size() const { return leaf_count_; }
  // The links from leaf `index` to the root (empty for a one-leaf tree).
  std::vector<AggregationLink> path(std::size_t index) const;

 private:
  struct Layer {
    Bytes imprints;  // fixed-size imprints, back to back
    std::vector<std::uint8_t> levels;
  };
  Imprint node(std::size_t layer, std::size_t index) const;

  HashId algorithm_ = HashId::sha2_256;
  std::size_t imprint_size_ = 33;
  std::size_t leaf_count_ = 0;
  std::vector<TreeLeaf> leaves_;
  std::vector<Layer> layers_;  // layers_[0] holds the first level of internal nodes
  Imprint root_;
  std::uint8_t root_level_ = 0;
};

// An aggregation chain for one leaf: its links, input and the index of its shape.
AggregationChain make_chain(const Imprint& input, std::vector<AggregationLink> links,
                            HashId algorithm, std::uint64_t aggregation_time,
                            std::vector<std::uint64_t> parent_index);

// The leaf a request becomes in the service's round: the request hash at `level`, joined
// with the requester's metadata (client id), one level up.
struct RequestLeaf {
  TreeLeaf leaf;
  AggregationLink metadata_link;
};
RequestLeaf request_leaf(const Imprint& request, std::uint8_t level, const std::string& client_id,
                         HashId algorithm);

}  // namespace cairn::seal
