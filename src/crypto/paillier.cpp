#include "crypto/paillier.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstring>

#include "crypto/hash.hpp"
#include "crypto/random.hpp"

namespace cairn::crypto {
namespace {

constexpr std::string_view kPublicMagic = "CRNPAIPK";
constexpr std::string_view kPrivateMagic = "CRNPAISK";
constexpr std::uint64_t kKeyFormatVersion = 1;
constexpr std::size_t kMaxKeyBits = 16384;

// L(x) = (x - 1) / d.
void l_function(Mpz& out, const Mpz& x, const Mpz& d) {
  mpz_sub_ui(out.get(), x.get(), 1);
  mpz_fdiv_q(out.get(), out.get(), d.get());
}

Mpz random_prime(std::size_t bits) {
  Bytes bytes = random_bytes((bits + 7) / 8);
  Mpz candidate = Mpz::from_bytes(bytes);
  // Exactly `bits` bits with the top two set, so the product of two has 2*bits bits.
  mpz_fdiv_r_2exp(candidate.get(), candidate.get(), bits);
  mpz_setbit(candidate.get(), bits - 1);
  mpz_setbit(candidate.get(), bits - 2);
  mpz_setbit(candidate.get(), 0);
  mpz_nextprime(candidate.get(), candidate.get());
  return candidate;
}

void put_field(Bytes& out, ByteView field) {
  append_be(out, field.size(), 4);
  append(out, field);
}

class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  Result<ByteView> take(std::size_t count, std::string_view what) {
    if (count > data_.size() - offset_) return fail(Errc::parse, fmt::format("truncated {}", what));
    auto out = data_.subspan(offset_, count);
    offset_ += count;
    return out;
  }
  // A big-endian integer in its minimal encoding (no leading zero byte), so every key has
  // exactly one encoding and its fingerprint is well defined.
  Result<ByteView> field(std::string_view what) {
    CAIRN_TRY_ASSIGN(auto length_bytes, take(4, what));
    const auto length = read_be(length_bytes);
    if (length > kMaxKeyBits / 4)
      return fail(Errc::parse, fmt::format("{} of {} bytes is too long", what, length));
    CAIRN_TRY_ASSIGN(auto bytes, take(length, what));
    if (bytes.empty() || bytes[0] == std::byte{0}) {
      return fail(Errc::parse, fmt::format("{} is empty or has a leading zero byte", what));
    }
    return bytes;
  }
  Result<ByteView> blob(std::string_view what) {
    CAIRN_TRY_ASSIGN(auto length_bytes, take(4, what));
    const auto length = read_be(length_bytes);
    if (length > kMaxKeyBits / 4)
      return fail(Errc::parse, fmt::format("{} of {} bytes is too long", what, length));
    return take(length, what);
  }
  bool done() const { return offset_ == data_.size(); }

 private:
  ByteView data_;
  std::size_t offset_ = 0;
};

}  // namespace

// ---- Mpz ----

Bytes Mpz::to_bytes(std::size_t width) const {
  const std::size_t size = mpz_sgn(value_) == 0 ? 0 : (mpz_sizeinbase(value_, 2) + 7) / 8;
  const std::size_t total = std::max(size, width);
  Bytes out(total, std::byte{0});
  if (size > 0) {
    std::size_t written = 0;
    mpz_export(out.data() + (total - size), &written, 1, 1, 1, 0, value_);
  }
  return out;
}

Mpz Mpz::from_bytes(ByteView big_endian) {
  Mpz out;
  if (!big_endian.empty()) mpz_import(out.get(), big_endian.size(), 1, 1, 1, 0, big_endian.data());
  return out;
}

std::string Mpz::to_hex() const {
  std::string out(mpz_sizeinbase(value_, 16) + 2, '\0');
  mpz_get_str(out.data(), 16, value_);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string Mpz::to_decimal() const {
  std::string out(mpz_sizeinbase(value_, 10) + 2, '\0');
  mpz_get_str(out.data(), 10, value_);
  out.resize(std::strlen(out.c_str()));
  return out;
}

namespace {
Result<Mpz> parse_base(std::string_view text, int base, std::string_view what) {
  if (text.empty() || text.size() > kMaxKeyBits)
    return fail(Errc::parse, fmt::format("bad {} number", what));
  for (char c : text) {
    const bool ok =
        base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : (c >= '0' && c <= '9');
    if (!ok) return fail(Errc::parse, fmt::format("'{}' is not a {} digit", c, what));
  }
  Mpz out;
  const std::string copy(text);
  if (mpz_set_str(out.get(), copy.c_str(), base) != 0)
    return fail(Errc::parse, fmt::format("bad {} number", what));
  return out;
}
}  // namespace

Result<Mpz> Mpz::from_hex(std::string_view hex) {
  if (hex.starts_with("0x")) hex.remove_prefix(2);
  return parse_base(hex, 16, "hexadecimal");
}
Result<Mpz> Mpz::from_decimal(std::string_view text) {
  return parse_base(text, 10, "decimal");
}

Mpz random_below(const Mpz& bound) {
  const Bytes bytes = random_bytes((bound.bits() + 7) / 8 + 16);  // 128 extra bits: negligible bias
  Mpz out = Mpz::from_bytes(bytes);
  mpz_mod(out.get(), out.get(), bound.get());
  return out;
}

// ---- keys ----

bool PaillierPublicKey::simple_g() const {
  Mpz n_plus_one;
  mpz_add_ui(n_plus_one.get(), n.get(), 1);
  return g == n_plus_one;
}

Bytes PaillierPublicKey::fingerprint() const {
  const auto digest = sha256(encode_public_key(*this));
  return Bytes(digest.begin(), digest.end());
}

Result<PaillierPublicKey> paillier_public_key(const Mpz& n, const Mpz& g) {
  if (n.bits() < 16 || n.bits() > kMaxKeyBits || mpz_even_p(n.get())) {
    return fail(Errc::crypto, fmt::format("Paillier modulus of {} bits is not usable", n.bits()));
  }
  PaillierPublicKey key;
  key.n = n;
  mpz_mul(key.n_squared.get(), n.get(), n.get());
  key.g = g;
  key.bits = n.bits();
  if (mpz_cmp_ui(g.get(), 1) <= 0 || mpz_cmp(g.get(), key.n_squared.get()) >= 0) {
    return fail(Errc::crypto, "Paillier generator g must be in (1, n^2)");
  }
  return key;
}

Result<PaillierPrivateKey> paillier_private_from_primes(const Mpz& p, const Mpz& q, const Mpz& g) {
  if (p == q || mpz_cmp_ui(p.get(), 3) < 0 || mpz_cmp_ui(q.get(), 3) < 0 ||
      mpz_probab_prime_p(p.get(), 25) == 0 || mpz_probab_prime_p(q.get(), 25) == 0) {
    return fail(Errc::crypto, "Paillier private key needs two distinct odd primes");
  }
  Mpz n;
  mpz_mul(n.get(), p.get(), q.get());
  CAIRN_TRY_ASSIGN(auto pub, paillier_public_key(n, g));
  PaillierPrivateKey key;
  key.public_key = std::move(pub);
  key.p = p;
  key.q = q;
  Mpz p1, q1, phi;
  mpz_sub_ui(p1.get(), p.get(), 1);
  mpz_sub_ui(q1.get(), q.get(), 1);
  mpz_mul(phi.get(), p1.get(), q1.get());
  Mpz gcd;
  mpz_gcd(gcd.get(), n.get(), phi.get());
  if (mpz_cmp_ui(gcd.get(), 1) != 0) return fail(Errc::crypto, "gcd(n, phi(n)) != 1");
  mpz_lcm(key.lambda.get(), p1.get(), q1.get());
  Mpz x, l;
  const auto& pk = key.public_key;
  mpz_powm(x.get(), pk.g.get(), key.lambda.get(), pk.n_squared.get());
  l_function(l, x, pk.n);
  if (mpz_invert(key.mu.get(), l.get(), pk.n.get()) == 0)
    return fail(Errc::crypto, "g is not a valid Paillier generator");
  mpz_mul(key.p_squared.get(), p.get(), p.get());
  mpz_mul(key.q_squared.get(), q.get(), q.get());
  // h_p = L_p(g^(p-1) mod p^2)^-1 mod p, and the same for q.
  mpz_powm(x.get(), pk.g.get(), p1.get(), key.p_squared.get());
  l_function(l, x, p);
  if (mpz_invert(key.hp.get(), l.get(), p.get()) == 0)
    return fail(Errc::crypto, "g is not a valid generator mod p^2");
  mpz_powm(x.get(), pk.g.get(), q1.get(), key.q_squared.get());
  l_function(l, x, q);
  if (mpz_invert(key.hq.get(), l.get(), q.get()) == 0)
    return fail(Errc::crypto, "g is not a valid generator mod q^2");
  if (mpz_invert(key.q_inverse_mod_p.get(), q.get(), p.get()) == 0)
    return fail(Errc::crypto, "q is not invertible mod p");
  return key;
}

Result<PaillierPrivateKey> paillier_private_from_lambda(const Mpz& n, const Mpz& g,
                                                        const Mpz& lambda) {
  if (mpz_sgn(lambda.get()) <= 0 || mpz_odd_p(lambda.get()))
    return fail(Errc::crypto, "lambda must be positive and even");
  // lambda = 2^t r with r odd; for random a, the sequence a^r, a^(2r), ... reaches 1, and
  // the element before it is a non-trivial square root of 1 with probability >= 1/2.
  Mpz r = lambda;
  const auto t = mpz_scan1(r.get(), 0);
  mpz_fdiv_q_2exp(r.get(), r.get(), t);
  Mpz n_minus_one, x, y, factor;
  mpz_sub_ui(n_minus_one.get(), n.get(), 1);
  for (int attempt = 0; attempt < 128; ++attempt) {
    Mpz a = random_below(n);
    if (mpz_cmp_ui(a.get(), 2) < 0) continue;
    mpz_gcd(factor.get(), a.get(), n.get());
    if (mpz_cmp_ui(factor.get(), 1) != 0) break;  // found a factor by luck
    mpz_powm(x.get(), a.get(), r.get(), n.get());
    for (unsigned long i = 0; i < t; ++i) {
      mpz_powm_ui(y.get(), x.get(), 2, n.get());
      if (mpz_cmp_ui(y.get(), 1) == 0 && mpz_cmp_ui(x.get(), 1) != 0 &&
          mpz_cmp(x.get(), n_minus_one.get()) != 0) {
        mpz_sub_ui(x.get(), x.get(), 1);
        mpz_gcd(factor.get(), x.get(), n.get());
        break;
      }
      x = y;
    }
    if (mpz_cmp_ui(factor.get(), 1) > 0 && mpz_cmp(factor.get(), n.get()) < 0) break;
    mpz_set_ui(factor.get(), 1);
  }
  if (mpz_cmp_ui(factor.get(), 1) <= 0 || mpz_cmp(factor.get(), n.get()) >= 0) {
    return fail(Errc::crypto,
                "lambda does not factor n: not a Paillier private key for this modulus");
  }
  Mpz other;
  mpz_divexact(other.get(), n.get(), factor.get());
  return paillier_private_from_primes(factor, other, g);
}

Status check_paillier_bits(std::size_t bits, bool insecure_test_key) {
  const std::size_t minimum = insecure_test_key ? kMinInsecurePaillierBits : kMinPaillierBits;
  if (bits < minimum || bits > kMaxPaillierBits || bits % 2 != 0) {
    return fail(
        Errc::invalid_argument,
        insecure_test_key
            ? fmt::format("a Paillier key of {} bits: test keys must be even and {} to {} bits",
                          bits, kMinInsecurePaillierBits, kMaxPaillierBits)
            : fmt::format("a Paillier key of {} bits: keys must be even and {} to {} bits "
                          "(below {} is breakable: tests only, with --insecure-test-key or "
                          "\"insecure_test_key\": true)",
                          bits, kMinPaillierBits, kMaxPaillierBits, kMinPaillierBits));
  }
  return {};
}

Result<PaillierKeyPair> paillier_generate(std::size_t bits, bool allow_small) {
  if (bits < kMinPaillierBits && !allow_small) {
    return fail(
        Errc::invalid_argument,
        fmt::format("Paillier keys need at least {} bits (asked for {})", kMinPaillierBits, bits));
  }
  if (bits < 64 || bits > kMaxKeyBits || bits % 2 != 0) {
    return fail(
        Errc::invalid_argument,
        fmt::format("Paillier key size {} must be even and in [64, {}]", bits, kMaxKeyBits));
  }
  for (;;) {
    Mpz p = random_prime(bits / 2);
    Mpz q = random_prime(bits / 2);
    if (p == q) continue;
    Mpz n;
    mpz_mul(n.get(), p.get(), q.get());
    if (n.bits() != bits) continue;
    Mpz g;
    mpz_add_ui(g.get(), n.get(), 1);
    auto private_key = paillier_private_from_primes(p, q, g);
    if (!private_key) continue;
    PaillierKeyPair pair;
    pair.public_key = private_key->public_key;
    pair.private_key = std::move(*private_key);
    return pair;
  }
}

// ---- encryption ----

Result<Mpz> paillier_encrypt_with(const PaillierPublicKey& key, const Mpz& m, const Mpz& r) {
  if (mpz_sgn(m.get()) < 0 || mpz_cmp(m.get(), key.n.get()) >= 0) {
    return fail(Errc::invalid_argument, "Paillier plaintext must be in [0, n)");
  }
  Mpz c, rn;
  if (key.simple_g()) {
    // g^m = (1 + n)^m = 1 + m n (mod n^2): one multiplication instead of an exponentiation.
    mpz_mul(c.get(), m.get(), key.n.get());
    mpz_add_ui(c.get(), c.get(), 1);
  } else {
    mpz_powm(c.get(), key.g.get(), m.get(), key.n_squared.get());
  }
  mpz_powm(rn.get(), r.get(), key.n.get(), key.n_squared.get());
  mpz_mul(c.get(), c.get(), rn.get());
  mpz_mod(c.get(), c.get(), key.n_squared.get());
  return c;
}

Result<Mpz> paillier_encrypt(const PaillierPublicKey& key, const Mpz& m) {
  Mpz r;
  Mpz gcd;
  do {
    r = random_below(key.n);
    mpz_gcd(gcd.get(), r.get(), key.n.get());
  } while (mpz_sgn(r.get()) == 0 || mpz_cmp_ui(gcd.get(), 1) != 0);
  return paillier_encrypt_with(key, m, r);
}

PaillierEncryptor::PaillierEncryptor(PaillierPublicKey key) : key_(std::move(key)) {
  // h = -x^2 mod n generates the squares' subgroup (up to sign); hs = h^n mod n^2.
  Mpz x = random_below(key_.n);
  Mpz h, hs;
  mpz_mul(h.get(), x.get(), x.get());
  mpz_neg(h.get(), h.get());
  mpz_mod(h.get(), h.get(), key_.n.get());
  mpz_powm(hs.get(), h.get(), key_.n.get(), key_.n_squared.get());
  exponent_bits_ = (key_.bits + 1) / 2;
  const std::size_t windows = (exponent_bits_ + kWindowBits - 1) / kWindowBits;
  auto table = std::make_shared<std::vector<std::vector<Mpz>>>(windows);
  Mpz base = hs;  // hs^(2^(w i))
  for (std::size_t i = 0; i < windows; ++i) {
    auto& row = (*table)[i];
    row.resize(std::size_t{1} << kWindowBits);
    row[0] = Mpz(1);
    row[1] = base;
    for (std::size_t j = 2; j < row.size(); ++j) {
      mpz_mul(row[j].get(), row[j - 1].get(), base.get());
      mpz_mod(row[j].get(), row[j].get(), key_.n_squared.get());
    }
    // next base = base^(2^w) = row[last] * base
    mpz_mul(base.get(), row.back().get(), base.get());
    mpz_mod(base.get(), base.get(), key_.n_squared.get());
  }
  table_ = std::move(table);
}

Mpz PaillierEncryptor::randomiser() const {
  const Bytes a = random_bytes((exponent_bits_ + 7) / 8);
  Mpz out(1);
  // a as little-endian windows of kWindowBits (= 8: one byte each), from the last byte.
  const auto& table = *table_;
  const std::size_t windows = table.size();
  for (std::size_t i = 0; i < windows && i < a.size(); ++i) {
    const auto digit = static_cast<std::size_t>(a[a.size() - 1 - i]);
    if (digit == 0) continue;
    mpz_mul(out.get(), out.get(), table[i][digit].get());
    mpz_mod(out.get(), out.get(), key_.n_squared.get());
  }
  return out;
}

void PaillierEncryptor::precompute(std::size_t count) const {
  // Made outside the lock, in batches, so encryptions can take from the pool meanwhile.
  constexpr std::size_t kBatch = 16;
  std::vector<Mpz> batch;
  batch.reserve(kBatch);
  for (std::size_t made = 0; made < count;) {
    batch.clear();
    for (std::size_t i = 0; i < kBatch && made < count; ++i, ++made)
      batch.push_back(randomiser());
    std::lock_guard lock(pool_->mutex);
    for (auto& r : batch)
      pool_->randomisers.push_back(std::move(r));
  }
}

std::size_t PaillierEncryptor::precomputed() const {
  std::lock_guard lock(pool_->mutex);
  return pool_->randomisers.size();
}

Mpz PaillierEncryptor::take_randomiser() const {
  {
    std::lock_guard lock(pool_->mutex);
    if (!pool_->randomisers.empty()) {
      Mpz r = std::move(pool_->randomisers.back());
      pool_->randomisers.pop_back();
      return r;
    }
  }
  return randomiser();
}

Result<Mpz> PaillierEncryptor::encrypt(const Mpz& m) const {
  if (mpz_sgn(m.get()) < 0 || mpz_cmp(m.get(), key_.n.get()) >= 0) {
    return fail(Errc::invalid_argument, "Paillier plaintext must be in [0, n)");
  }
  Mpz c;
  if (key_.simple_g()) {
    mpz_mul(c.get(), m.get(), key_.n.get());
    mpz_add_ui(c.get(), c.get(), 1);
  } else {
    mpz_powm(c.get(), key_.g.get(), m.get(), key_.n_squared.get());
  }
  const Mpz r = take_randomiser();
  mpz_mul(c.get(), c.get(), r.get());
  mpz_mod(c.get(), c.get(), key_.n_squared.get());
  return c;
}

Mpz paillier_add(const PaillierPublicKey& key, const Mpz& a, const Mpz& b) {
  Mpz out;
  mpz_mul(out.get(), a.get(), b.get());
  mpz_mod(out.get(), out.get(), key.n_squared.get());
  return out;
}

void paillier_add_into(const PaillierPublicKey& key, Mpz& accumulator, const Mpz& c) {
  mpz_mul(accumulator.get(), accumulator.get(), c.get());
  mpz_mod(accumulator.get(), accumulator.get(), key.n_squared.get());
}

Mpz paillier_scale(const PaillierPublicKey& key, const Mpz& c, const Mpz& k) {
  Mpz out;
  mpz_powm(out.get(), c.get(), k.get(), key.n_squared.get());
  return out;
}

Status paillier_check_ciphertext(const PaillierPublicKey& key, const Mpz& c) {
  if (mpz_sgn(c.get()) <= 0 || mpz_cmp(c.get(), key.n_squared.get()) >= 0) {
    return fail(Errc::crypto, "Paillier ciphertext out of range [1, n^2)");
  }
  Mpz gcd;
  mpz_gcd(gcd.get(), c.get(), key.n.get());
  if (mpz_cmp_ui(gcd.get(), 1) != 0)
    return fail(Errc::crypto, "Paillier ciphertext shares a factor with n");
  return {};
}

Result<Mpz> paillier_decrypt(const PaillierPrivateKey& key, const Mpz& c) {
  CAIRN_TRY(paillier_check_ciphertext(key.public_key, c));
  Mpz exponent, x, mp, mq;
  mpz_sub_ui(exponent.get(), key.p.get(), 1);
  mpz_powm(x.get(), c.get(), exponent.get(), key.p_squared.get());
  l_function(mp, x, key.p);
  mpz_mul(mp.get(), mp.get(), key.hp.get());
  mpz_mod(mp.get(), mp.get(), key.p.get());
  mpz_sub_ui(exponent.get(), key.q.get(), 1);
  mpz_powm(x.get(), c.get(), exponent.get(), key.q_squared.get());
  l_function(mq, x, key.q);
  mpz_mul(mq.get(), mq.get(), key.hq.get());
  mpz_mod(mq.get(), mq.get(), key.q.get());
  // m = mq + q ((mp - mq) q^-1 mod p)
  Mpz m;
  mpz_sub(m.get(), mp.get(), mq.get());
  mpz_mul(m.get(), m.get(), key.q_inverse_mod_p.get());
  mpz_mod(m.get(), m.get(), key.p.get());
  mpz_mul(m.get(), m.get(), key.q.get());
  mpz_add(m.get(), m.get(), mq.get());
  return m;
}

Result<Mpz> paillier_decrypt_textbook(const PaillierPrivateKey& key, const Mpz& c) {
  CAIRN_TRY(paillier_check_ciphertext(key.public_key, c));
  Mpz x, m;
  mpz_powm(x.get(), c.get(), key.lambda.get(), key.public_key.n_squared.get());
  l_function(m, x, key.public_key.n);
  mpz_mul(m.get(), m.get(), key.mu.get());
  mpz_mod(m.get(), m.get(), key.public_key.n.get());
  return m;
}

// ---- encodings ----

Bytes encode_public_key(const PaillierPublicKey& key) {
  Bytes out;
  append(out, kPublicMagic);
  append_be(out, kKeyFormatVersion, 2);
  put_field(out, key.n.to_bytes());
  put_field(out, key.g.to_bytes());
  return out;
}

Result<PaillierPublicKey> decode_public_key(ByteView bytes) {
  Reader in(bytes);
  CAIRN_TRY_ASSIGN(auto magic, in.take(kPublicMagic.size(), "magic"));
  if (!equal(magic, as_bytes(kPublicMagic)))
    return fail(Errc::parse, "not a cairn Paillier public key (bad magic)");
  CAIRN_TRY_ASSIGN(auto version, in.take(2, "version"));
  if (read_be(version) != kKeyFormatVersion) {
    return fail(Errc::unsupported, fmt::format("Paillier key format version {}", read_be(version)));
  }
  CAIRN_TRY_ASSIGN(auto n, in.field("modulus n"));
  CAIRN_TRY_ASSIGN(auto g, in.field("generator g"));
  if (!in.done()) return fail(Errc::parse, "trailing bytes after the Paillier public key");
  return paillier_public_key(Mpz::from_bytes(n), Mpz::from_bytes(g));
}

Bytes encode_private_key(const PaillierPrivateKey& key) {
  Bytes out;
  append(out, kPrivateMagic);
  append_be(out, kKeyFormatVersion, 2);
  put_field(out, encode_public_key(key.public_key));
  put_field(out, key.p.to_bytes());
  put_field(out, key.q.to_bytes());
  return out;
}

Result<PaillierPrivateKey> decode_private_key(ByteView bytes) {
  Reader in(bytes);
  CAIRN_TRY_ASSIGN(auto magic, in.take(kPrivateMagic.size(), "magic"));
  if (!equal(magic, as_bytes(kPrivateMagic)))
    return fail(Errc::parse, "not a cairn Paillier private key (bad magic)");
  CAIRN_TRY_ASSIGN(auto version, in.take(2, "version"));
  if (read_be(version) != kKeyFormatVersion) {
    return fail(Errc::unsupported, fmt::format("Paillier key format version {}", read_be(version)));
  }
  CAIRN_TRY_ASSIGN(auto public_bytes, in.blob("public key"));
  CAIRN_TRY_ASSIGN(auto pub, decode_public_key(public_bytes));
  CAIRN_TRY_ASSIGN(auto p, in.field("prime p"));
  CAIRN_TRY_ASSIGN(auto q, in.field("prime q"));
  if (!in.done()) return fail(Errc::parse, "trailing bytes after the Paillier private key");
  CAIRN_TRY_ASSIGN(auto key,
                   paillier_private_from_primes(Mpz::from_bytes(p), Mpz::from_bytes(q), pub.g));
  if (!(key.public_key.n == pub.n))
    return fail(Errc::integrity, "Paillier private key primes do not match n");
  return key;
}

Bytes encode_ciphertext(const PaillierPublicKey& key, const Mpz& c) {
  return c.to_bytes(key.ciphertext_bytes());
}

Result<Mpz> decode_ciphertext(const PaillierPublicKey& key, ByteView bytes) {
  if (bytes.size() != key.ciphertext_bytes()) {
    return fail(Errc::parse, fmt::format("Paillier ciphertext of {} bytes, the key needs {}",
                                         bytes.size(), key.ciphertext_bytes()));
  }
  Mpz c = Mpz::from_bytes(bytes);
  CAIRN_TRY(paillier_check_ciphertext(key, c));
  return c;
}

}  // namespace cairn::crypto
