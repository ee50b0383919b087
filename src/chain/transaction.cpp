#include "chain/transaction.hpp"

#include <algorithm>

#include "chain/rlp.hpp"
#include "crypto/keccak.hpp"

namespace cairn::chain {
namespace {

Bytes encode_to(const std::optional<Address>& to) {
  return to ? rlp::encode_bytes(to->bytes) : rlp::encode_bytes({});
}

Bytes encode_access_list(const std::vector<AccessListEntry>& list) {
  std::vector<Bytes> entries;
  for (const auto& entry : list) {
    std::vector<Bytes> keys;
    for (const auto& key : entry.storage_keys)
      keys.push_back(rlp::encode_bytes(key));
    entries.push_back(
        rlp::encode_list({rlp::encode_bytes(entry.address.bytes), rlp::encode_list(keys)}));
  }
  return rlp::encode_list(entries);
}

std::vector<Bytes> eip1559_fields(const Transaction& tx) {
  return {rlp::encode_uint(tx.chain_id),
          rlp::encode_uint(tx.nonce),
          rlp::encode_uint(tx.max_priority_fee_per_gas),
          rlp::encode_uint(tx.max_fee_per_gas),
          rlp::encode_uint(tx.gas_limit),
          encode_to(tx.to),
          rlp::encode_uint(tx.value),
          rlp::encode_bytes(tx.data),
          encode_access_list(tx.access_list)};
}

std::vector<Bytes> legacy_fields(const Transaction& tx) {
  return {rlp::encode_uint(tx.nonce),     rlp::encode_uint(tx.gas_price),
          rlp::encode_uint(tx.gas_limit), encode_to(tx.to),
          rlp::encode_uint(tx.value),     rlp::encode_bytes(tx.data)};
}

Bytes encode_signature_int(const ByteArray<32>& word) {
  return rlp::encode_uint(U256::from_be_bytes(word).value());
}

Result<ByteArray<32>> signature_word(const rlp::Item& item, const char* what) {
  CAIRN_TRY_ASSIGN(U256 value, rlp::to_uint(item));
  if (value.is_zero())
    return fail(Errc::parse, std::string("transaction: signature ") + what + " is zero");
  return value.to_be_bytes();
}

Result<std::optional<Address>> decode_to(const rlp::Item& item) {
  if (item.is_list()) return fail(Errc::parse, "transaction: 'to' is a list");
  if (item.bytes().empty()) return std::optional<Address>{};
  if (item.bytes().size() != 20) return fail(Errc::parse, "transaction: 'to' is not 20 bytes");
  Address a;
  std::copy(item.bytes().begin(), item.bytes().end(), a.bytes.begin());
  return std::optional<Address>(a);
}

Result<Bytes> decode_data(const rlp::Item& item) {
  if (item.is_list()) return fail(Errc::parse, "transaction: 'data' is a list");
  return item.bytes();
}

Result<std::vector<AccessListEntry>> decode_access_list(const rlp::Item& item) {
  if (!item.is_list()) return fail(Errc::parse, "transaction: access list is not a list");
  std::vector<AccessListEntry> list;
  for (const auto& entry : item.list()) {
    if (!entry.is_list() || entry.list().size() != 2 || entry.list()[0].is_list() ||
        entry.list()[0].bytes().size() != 20 || !entry.list()[1].is_list()) {
      return fail(Errc::parse, "transaction: malformed access list entry");
    }
    AccessListEntry decoded;
    std::copy(entry.list()[0].bytes().begin(), entry.list()[0].bytes().end(),
              decoded.address.bytes.begin());
    for (const auto& key : entry.list()[1].list()) {
      if (key.is_list() || key.bytes().size() != 32)
        return fail(Errc::parse, "transaction: storage key is not 32 bytes");
      ByteArray<32> k;
      std::copy(key.bytes().begin(), key.bytes().end(), k.begin());
      decoded.storage_keys.push_back(k);
    }
    list.push_back(std::move(decoded));
  }
  return list;
}

Result<SignedTransaction> finish(SignedTransaction signed_tx) {
  const auto digest = signed_tx.tx.signing_hash();
  CAIRN_TRY_ASSIGN(auto public_key, crypto::secp256k1_recover(digest, signed_tx.signature));
  signed_tx.from = Address::from_public_key(public_key);
  signed_tx.hash = crypto::keccak256(ByteView(signed_tx.raw));
  return signed_tx;
}

}  // namespace

ByteArray<32> Transaction::signing_hash() const {
  if (type == Type::eip1559) {
    Bytes payload{std::byte{0x02}};
    append(payload, rlp::encode_list(eip1559_fields(*this)));
    return crypto::keccak256(ByteView(payload));
  }
  auto fields = legacy_fields(*this);
  if (chain_id != 0) {
    fields.push_back(rlp::encode_uint(chain_id));
    fields.push_back(rlp::encode_uint(std::uint64_t{0}));
    fields.push_back(rlp::encode_uint(std::uint64_t{0}));
  }
  return crypto::keccak256(ByteView(rlp::encode_list(fields)));
}

Result<SignedTransaction> sign_transaction(const Transaction& tx,
                                           const crypto::Secp256k1SecretKey& secret_key) {
  if (tx.type == Transaction::Type::eip1559 && tx.max_priority_fee_per_gas > tx.max_fee_per_gas) {
    return fail(Errc::invalid_argument, "transaction: priority fee above the maximum fee");
  }
  SignedTransaction out;
  out.tx = tx;
  CAIRN_TRY_ASSIGN(out.signature, crypto::secp256k1_sign(secret_key, tx.signing_hash()));
  if (tx.type == Transaction::Type::eip1559) {
    auto fields = eip1559_fields(tx);
    fields.push_back(rlp::encode_uint(std::uint64_t{out.signature.recovery_id}));
    fields.push_back(encode_signature_int(out.signature.r));
    fields.push_back(encode_signature_int(out.signature.s));
    out.raw = {std::byte{0x02}};
    append(out.raw, rlp::encode_list(fields));
  } else {
    auto fields = legacy_fields(tx);
    const U256 v = tx.chain_id != 0 ? U256(tx.chain_id)
                                          .checked_mul(2)
                                          .value()
                                          .wrapping_add(U256(35u + out.signature.recovery_id))
                                    : U256(27u + out.signature.recovery_id);
    fields.push_back(rlp::encode_uint(v));
    fields.push_back(encode_signature_int(out.signature.r));
    fields.push_back(encode_signature_int(out.signature.s));
    out.raw = rlp::encode_list(fields);
  }
  return finish(std::move(out));
}

Result<SignedTransaction> decode_signed_transaction(ByteView raw) {
  if (raw.empty()) return fail(Errc::parse, "transaction: empty");
  SignedTransaction out;
  out.raw = Bytes(raw.begin(), raw.end());
  const auto first = std::to_integer<std::uint8_t>(raw[0]);
  if (first == 0x02) {
    CAIRN_TRY_ASSIGN(rlp::Item item, rlp::decode(raw.subspan(1)));
    if (!item.is_list() || item.list().size() != 12) {
      return fail(Errc::parse, "transaction: a type-2 transaction has 12 fields");
    }
    const auto& f = item.list();
    Transaction& tx = out.tx;
    tx.type = Transaction::Type::eip1559;
    CAIRN_TRY_ASSIGN(tx.chain_id, rlp::to_u64(f[0]));
    CAIRN_TRY_ASSIGN(tx.nonce, rlp::to_u64(f[1]));
    CAIRN_TRY_ASSIGN(tx.max_priority_fee_per_gas, rlp::to_uint(f[2]));
    CAIRN_TRY_ASSIGN(tx.max_fee_per_gas, rlp::to_uint(f[3]));
    CAIRN_TRY_ASSIGN(tx.gas_limit, rlp::to_u64(f[4]));
    CAIRN_TRY_ASSIGN(tx.to, decode_to(f[5]));
    CAIRN_TRY_ASSIGN(tx.value, rlp::to_uint(f[6]));
    CAIRN_TRY_ASSIGN(tx.data, decode_data(f[7]));
    CAIRN_TRY_ASSIGN(tx.access_list, decode_access_list(f[8]));
    CAIRN_TRY_ASSIGN(std::uint64_t parity, rlp::to_u64(f[9]));
    if (parity > 1) return fail(Errc::parse, "transaction: y parity is neither 0 nor 1");
    out.signature.recovery_id = static_cast<std::uint8_t>(parity);
    CAIRN_TRY_ASSIGN(out.signature.r, signature_word(f[10], "r"));
    CAIRN_TRY_ASSIGN(out.signature.s, signature_word(f[11], "s"));
    return finish(std::move(out));
  }
  if (first < 0xc0) return fail(Errc::parse, "transaction: unsupported transaction type");
  CAIRN_TRY_ASSIGN(rlp::Item item, rlp::decode(raw));
  if (!item.is_list() || item.list().size() != 9) {
    return fail(Errc::parse, "transaction: a legacy transaction has 9 fields");
  }
  const auto& f = item.list();
  Transaction& tx = out.tx;
  tx.type = Transaction::Type::legacy;
  CAIRN_TRY_ASSIGN(tx.nonce, rlp::to_u64(f[0]));
  CAIRN_TRY_ASSIGN(tx.gas_price, rlp::to_uint(f[1]));
  CAIRN_TRY_ASSIGN(tx.gas_limit, rlp::to_u64(f[2]));
  CAIRN_TRY_ASSIGN(tx.to, decode_to(f[3]));
  CAIRN_TRY_ASSIGN(tx.value, rlp::to_uint(f[4]));
  CAIRN_TRY_ASSIGN(tx.data, decode_data(f[5]));
  CAIRN_TRY_ASSIGN(std::uint64_t v, rlp::to_u64(f[6]));
  if (v == 27 || v == 28) {
    tx.chain_id = 0;
    out.signature.recovery_id = static_cast<std::uint8_t>(v - 27);
  } else if (v >= 35) {
    tx.chain_id = (v - 35) / 2;
    out.signature.recovery_id = static_cast<std::uint8_t>((v - 35) % 2);
  } else {
    return fail(Errc::parse, "transaction: invalid v value " + std::to_string(v));
  }
  CAIRN_TRY_ASSIGN(out.signature.r, signature_word(f[7], "r"));
  CAIRN_TRY_ASSIGN(out.signature.s, signature_word(f[8], "s"));
  return finish(std::move(out));
}

std::uint64_t calldata_gas(ByteView data) {
  std::uint64_t gas = 0;
  for (std::byte b : data)
    gas += (b == std::byte{0}) ? 4 : 16;
  return gas;
}

}  // namespace cairn::chain
