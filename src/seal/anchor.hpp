#pragma once
// Where a calendar publication is anchored beyond the publications file: the chain module
// implements this with its `Anchor` contract (the ledger is the newspaper). seal itself
// knows nothing about ledgers.

#include <cstdint>
#include <string>

#include "base/error.hpp"
#include "seal/imprint.hpp"

namespace cairn::seal {

struct AnchorReceipt {
  std::string ledger;       // e.g. "eip155:31337"
  std::string transaction;  // the transaction that recorded the publication
  std::uint64_t block = 0;
};

class PublicationAnchor {
 public:
  virtual ~PublicationAnchor() = default;
  // Records (publication_time, root) durably; returns where it was recorded.
  virtual Result<AnchorReceipt> anchor(std::uint64_t publication_time, const Imprint& root) = 0;
};

}  // namespace cairn::seal
