#include "learn/secure_paillier.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <thread>

namespace cairn::learn {
namespace {

constexpr std::string_view kMagic = "CRNPAIV1";
// magic | key fingerprint | 4 parameter bytes | version | value count | summands | count | width
constexpr std::size_t kEncryptedVectorHeader = 8 + 32 + 4 + 8 + 8 + 4 + 4 + 4;
constexpr std::size_t kMaxCiphertexts = std::size_t{1} << 24;

// Runs body(begin, end) over [0, count) cut into one contiguous chunk per thread; the
// calling thread takes the first chunk. Returns the error of the lowest failing chunk, so
// the message does not depend on scheduling.
Status parallel_chunks(std::size_t count, unsigned threads,
                       const std::function<Status(std::size_t, std::size_t)>& body) {
  const std::size_t chunks =
      std::max<std::size_t>(1, std::min<std::size_t>(paillier_threads(threads), count));
  if (chunks == 1) return body(0, count);
  std::vector<Status> results(chunks);
  std::vector<std::thread> workers;
  workers.reserve(chunks - 1);
  auto run = [&](std::size_t chunk) {
    results[chunk] = body(chunk * count / chunks, (chunk + 1) * count / chunks);
  };
  for (std::size_t chunk = 1; chunk < chunks; ++chunk)
    workers.emplace_back(run, chunk);
  run(0);
  for (auto& worker : workers)
    worker.join();
  for (auto& result : results) {
    if (!result) return result;
  }
  return {};
}

}  // namespace

unsigned paillier_threads(unsigned requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

std::size_t PackingParams::slots_per_ciphertext(std::size_t modulus_bits) const {
  if (!packed) return 1;
  return std::max<std::size_t>(1, (modulus_bits - 1) / slot_bits());
}

double PackingParams::max_magnitude() const {
  return std::ldexp(1.0, int{value_bits} - int{frac_bits} - 1);
}

PackingParams PackingParams::for_summands(std::size_t summands, bool packed) {
  PackingParams params;
  params.headroom_bits = static_cast<std::uint8_t>(
      std::max(1, static_cast<int>(std::bit_width(std::max<std::size_t>(summands, 1) - 1))));
  params.packed = packed;
  return params;
}

Status PackingParams::validate(std::size_t modulus_bits) const {
  if (frac_bits == 0 || value_bits <= frac_bits + 1 || value_bits > 62 || headroom_bits > 32) {
    return fail(Errc::invalid_argument,
                fmt::format("packing parameters frac {} / value {} / headroom {} are not usable",
                            frac_bits, value_bits, headroom_bits));
  }
  // A slot sum must fit in a uint64 and stay below 2^63 for the signed decoding.
  if (slot_bits() > 63) return fail(Errc::invalid_argument, "packing slot wider than 63 bits");
  if (slot_bits() + 1 >= modulus_bits)
    return fail(Errc::invalid_argument, "packing slot wider than the Paillier modulus");
  return {};
}

std::size_t ciphertexts_needed(std::uint64_t value_count, const PackingParams& params,
                               std::size_t modulus_bits) {
  const std::size_t slots = params.slots_per_ciphertext(modulus_bits);
  // Rounded up without value_count + slots - 1, which wraps for a hostile value_count near
  // 2^64 and would make a huge vector look like it needs a handful of ciphertexts.
  return static_cast<std::size_t>(value_count / slots + (value_count % slots != 0 ? 1 : 0));
}

Result<EncryptedVector> encrypt_vector(const crypto::PaillierEncryptor& encryptor,
                                       std::span<const double> values, const PackingParams& params,
                                       std::uint64_t model_version, unsigned threads) {
  const auto& key = encryptor.key();
  CAIRN_TRY(params.validate(key.bits));
  EncryptedVector out;
  out.key_fingerprint = key.fingerprint();
  out.params = params;
  out.model_version = model_version;
  out.value_count = values.size();
  const std::size_t slots = params.slots_per_ciphertext(key.bits);
  const double scale = std::ldexp(1.0, params.frac_bits);
  const double limit = params.max_magnitude();
  const std::uint64_t offset = std::uint64_t{1} << (params.value_bits - 1);
  // Range first, in order, so that the error names the first bad value.
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double x = values[i];
    if (!std::isfinite(x) || std::fabs(x) >= limit) {
      return fail(
          Errc::invalid_argument,
          fmt::format("value {} at index {} is outside the fixed-point range ±{}", x, i, limit));
    }
  }
  const std::size_t count = ciphertexts_needed(values.size(), params, key.bits);
  out.ciphertexts.resize(count);
  CAIRN_TRY(parallel_chunks(count, threads, [&](std::size_t from, std::size_t to) -> Status {
    crypto::Mpz plaintext, slot;
    for (std::size_t c = from; c < to; ++c) {
      mpz_set_ui(plaintext.get(), 0);
      const std::size_t begin = c * slots;
      const std::size_t end = std::min(values.size(), begin + slots);
      // Slot j of the plaintext sits at bit j * slot_bits; the first value in the lowest slot.
      for (std::size_t i = end; i-- > begin;) {
        const auto fixed = static_cast<std::int64_t>(std::llround(values[i] * scale));
        const std::uint64_t encoded = static_cast<std::uint64_t>(fixed) + offset;
        mpz_mul_2exp(plaintext.get(), plaintext.get(), params.slot_bits());
        mpz_set_ui(slot.get(), encoded);
        mpz_add(plaintext.get(), plaintext.get(), slot.get());
      }
      CAIRN_TRY_ASSIGN(out.ciphertexts[c], encryptor.encrypt(plaintext));
    }
    return {};
  }));
  return out;
}

Result<EncryptedVector> sum_encrypted(const crypto::PaillierPublicKey& key,
                                      std::span<const EncryptedVector* const> vectors,
                                      unsigned threads) {
  if (vectors.empty()) return fail(Errc::invalid_argument, "no encrypted vectors to add");
  const auto& first = *vectors[0];
  EncryptedVector out = first;
  out.summands = 0;
  for (const auto* v : vectors) {
    CAIRN_TRY(check_encrypted_vector(key, *v, threads));
    if (v->value_count != first.value_count || v->params.frac_bits != first.params.frac_bits ||
        v->params.value_bits != first.params.value_bits ||
        v->params.headroom_bits != first.params.headroom_bits ||
        v->params.packed != first.params.packed) {
      return fail(Errc::rejected,
                  "encrypted vectors with different lengths or packing cannot be added");
    }
    if (v->model_version != first.model_version) {
      return fail(Errc::rejected,
                  fmt::format("encrypted vectors for model versions {} and {} cannot be added",
                              first.model_version, v->model_version));
    }
    out.summands += v->summands;
  }
  if (out.summands > first.params.max_summands()) {
    return fail(Errc::rejected, fmt::format("{} summands exceed the packing headroom of {}",
                                            out.summands, first.params.max_summands()));
  }
  CAIRN_TRY(parallel_chunks(
      out.ciphertexts.size(), threads, [&](std::size_t from, std::size_t to) -> Status {
        for (std::size_t c = from; c < to; ++c) {
          for (std::size_t k = 1; k < vectors.size(); ++k) {
            crypto::paillier_add_into(key, out.ciphertexts[c], vectors[k]->ciphertexts[c]);
          }
        }
        return {};
      }));
  return out;
}

Result<std::vector<double>> decrypt_vector(const crypto::PaillierPrivateKey& key,
                                           const EncryptedVector& vector, unsigned threads) {
  const auto& pub = key.public_key;
  CAIRN_TRY(check_encrypted_vector(pub, vector, threads));
  const auto& params = vector.params;
  const std::size_t slots = params.slots_per_ciphertext(pub.bits);
  const double scale = std::ldexp(1.0, -int{params.frac_bits});
  // The slots hold sums of `summands` offset values: remove summands * 2^(value_bits-1).
  const auto offset_total =
      static_cast<std::int64_t>(std::uint64_t{vector.summands} << (params.value_bits - 1));
  std::vector<double> out(vector.value_count);
  CAIRN_TRY(parallel_chunks(
      vector.ciphertexts.size(), threads, [&](std::size_t from, std::size_t to) -> Status {
        crypto::Mpz slot;
        for (std::size_t c = from; c < to; ++c) {
          CAIRN_TRY_ASSIGN(auto plaintext, crypto::paillier_decrypt(key, vector.ciphertexts[c]));
          const std::size_t begin = c * slots;
          const std::size_t end = std::min<std::size_t>(vector.value_count, begin + slots);
          for (std::size_t i = begin; i < end; ++i) {
            mpz_fdiv_r_2exp(slot.get(), plaintext.get(), params.slot_bits());
            mpz_fdiv_q_2exp(plaintext.get(), plaintext.get(), params.slot_bits());
            const auto raw = static_cast<std::int64_t>(mpz_get_ui(slot.get()));
            out[i] = static_cast<double>(raw - offset_total) * scale;
          }
          if (mpz_sgn(plaintext.get()) != 0) {
            return fail(
                Errc::integrity,
                fmt::format("decrypted aggregate has bits beyond its slots in ciphertext {} "
                            "(overflow or wrong packing)",
                            c));
          }
        }
        return {};
      }));
  return out;
}

Status check_encrypted_vector(const crypto::PaillierPublicKey& key, const EncryptedVector& vector,
                              unsigned threads) {
  if (!equal(vector.key_fingerprint, key.fingerprint())) {
    return fail(Errc::rejected, "encrypted vector is for a different Paillier key");
  }
  CAIRN_TRY(vector.params.validate(key.bits));
  if (vector.summands == 0 || vector.summands > vector.params.max_summands()) {
    return fail(Errc::rejected, fmt::format("encrypted vector claims {} summands (headroom {})",
                                            vector.summands, vector.params.max_summands()));
  }
  const auto needed = ciphertexts_needed(vector.value_count, vector.params, key.bits);
  if (vector.ciphertexts.size() != needed) {
    return fail(Errc::rejected,
                fmt::format("encrypted vector of {} values has {} ciphertexts, needs {}",
                            vector.value_count, vector.ciphertexts.size(), needed));
  }
  return parallel_chunks(
      vector.ciphertexts.size(), threads, [&](std::size_t from, std::size_t to) -> Status {
        auto check_one = [&](std::size_t i) -> Status {
          auto status = crypto::paillier_check_ciphertext(key, vector.ciphertexts[i]);
          if (!status)
            return std::unexpected(
                std::move(status).error().context(fmt::format("ciphertext {}", i)));
          return {};
        };
        // gcd(c_1 ... c_k mod n, n) = 1 exactly when every c_i is coprime to n.
        crypto::Mpz product(1), gcd;
        for (std::size_t i = from; i < to; ++i) {
          const auto& c = vector.ciphertexts[i];
          if (mpz_sgn(c.get()) <= 0 || mpz_cmp(c.get(), key.n_squared.get()) >= 0)
            return check_one(i);
          mpz_mul(product.get(), product.get(), c.get());
          mpz_mod(product.get(), product.get(), key.n.get());
        }
        mpz_gcd(gcd.get(), product.get(), key.n.get());
        if (mpz_cmp_ui(gcd.get(), 1) == 0) return {};
        for (std::size_t i = from; i < to; ++i)
          CAIRN_TRY(check_one(i));
        return fail(Errc::internal,
                    "ciphertext product shares a factor with n but no ciphertext does");
      });
}

Bytes encode_encrypted_vector(const crypto::PaillierPublicKey& key, const EncryptedVector& vector) {
  Bytes out;
  const std::size_t width = key.ciphertext_bytes();
  out.reserve(kEncryptedVectorHeader + vector.ciphertexts.size() * width);
  append(out, kMagic);
  append(out, vector.key_fingerprint);
  out.push_back(static_cast<std::byte>(vector.params.frac_bits));
  out.push_back(static_cast<std::byte>(vector.params.value_bits));
  out.push_back(static_cast<std::byte>(vector.params.headroom_bits));
  out.push_back(static_cast<std::byte>(vector.params.packed ? 1 : 0));
  append_be(out, vector.model_version, 8);
  append_be(out, vector.value_count, 8);
  append_be(out, vector.summands, 4);
  append_be(out, vector.ciphertexts.size(), 4);
  append_be(out, width, 4);
  for (const auto& c : vector.ciphertexts)
    append(out, c.to_bytes(width));
  return out;
}

std::uint64_t encrypted_vector_bytes(const crypto::PaillierPublicKey& key,
                                     std::uint64_t value_count, const PackingParams& params) {
  return kEncryptedVectorHeader +
         std::uint64_t{ciphertexts_needed(value_count, params, key.bits)} * key.ciphertext_bytes();
}

Result<EncryptedVector> decode_encrypted_vector(ByteView bytes) {
  constexpr std::size_t kHeader = kEncryptedVectorHeader;
  if (bytes.size() < kHeader) {
    return fail(Errc::parse,
                fmt::format("encrypted vector of {} bytes is shorter than its {}-byte header",
                            bytes.size(), kHeader));
  }
  if (!equal(bytes.first(8), as_bytes(kMagic)))
    return fail(Errc::parse, "not a cairn encrypted vector (bad magic)");
  EncryptedVector out;
  out.key_fingerprint = to_bytes(bytes.subspan(8, 32));
  const auto params = bytes.subspan(40, 4);
  out.params.frac_bits = static_cast<std::uint8_t>(params[0]);
  out.params.value_bits = static_cast<std::uint8_t>(params[1]);
  out.params.headroom_bits = static_cast<std::uint8_t>(params[2]);
  const auto packed = static_cast<std::uint8_t>(params[3]);
  if (packed > 1) return fail(Errc::parse, "encrypted vector packing flag must be 0 or 1");
  out.params.packed = packed == 1;
  out.model_version = read_be(bytes.subspan(44, 8));
  out.value_count = read_be(bytes.subspan(52, 8));
  out.summands = static_cast<std::uint32_t>(read_be(bytes.subspan(60, 4)));
  const auto count = read_be(bytes.subspan(64, 4));
  const auto width = read_be(bytes.subspan(68, 4));
  if (count > kMaxCiphertexts)
    return fail(Errc::parse, fmt::format("{} ciphertexts is too many", count));
  if (width == 0 || width > 4096)
    return fail(Errc::parse, fmt::format("ciphertext width {} bytes is not usable", width));
  const auto body = bytes.subspan(kHeader);
  if (body.size() != count * width) {
    return fail(Errc::parse, fmt::format("encrypted vector promises {} ciphertexts of {} bytes ({} "
                                         "bytes) but carries {} (truncated?)",
                                         count, width, count * width, body.size()));
  }
  // A ciphertext of `width` bytes carries fewer than 8·width plaintext bits, and every value
  // takes at least one: a larger count is a lie (decryption would allocate it).
  if (out.value_count > count * width * 8) {
    return fail(Errc::parse,
                fmt::format("encrypted vector claims {} values in {} ciphertexts of {} bytes",
                            out.value_count, count, width));
  }
  out.ciphertexts.reserve(count);
  for (std::size_t i = 0; i < count; ++i)
    out.ciphertexts.push_back(crypto::Mpz::from_bytes(body.subspan(i * width, width)));
  return out;
}

}  // namespace cairn::learn
