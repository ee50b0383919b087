#include "crypto/shamir.hpp"

#include <fmt/format.h>

#include <set>

#include "crypto/paillier.hpp"  // Mpz
#include "crypto/random.hpp"

namespace cairn::crypto {
namespace {

const Mpz& prime() {
  static const Mpz p = [] {
    Mpz value(1);
    mpz_mul_2exp(value.get(), value.get(), 521);
    mpz_sub_ui(value.get(), value.get(), 1);
    return value;
  }();
  return p;
}

}  // namespace

Result<std::vector<ShamirShare>> shamir_split(ByteView secret, std::size_t threshold, std::size_t count) {
  if (secret.size() > kShamirMaxSecret) {
    return fail(Errc::invalid_argument, fmt::format("Shamir secret of {} bytes (at most {})", secret.size(), kShamirMaxSecret));
  }
  if (threshold < 1 || threshold > count || count > 65535) {
    return fail(Errc::invalid_argument, fmt::format("Shamir threshold {} of {} shares is not possible", threshold, count));
  }
  const Mpz& p = prime();
  std::vector<Mpz> coefficients;
  coefficients.push_back(Mpz::from_bytes(secret));  // < 2^512 < p
  for (std::size_t i = 1; i < threshold; ++i) coefficients.push_back(random_below(p));
  std::vector<ShamirShare> out;
  Mpz y;
  for (std::size_t x = 1; x <= count; ++x) {
    // Horner: y = ((a_{t-1} x + a_{t-2}) x + ...) + a_0
    mpz_set_ui(y.get(), 0);
    for (std::size_t i = threshold; i-- > 0;) {
      mpz_mul_ui(y.get(), y.get(), x);
      mpz_add(y.get(), y.get(), coefficients[i].get());
      mpz_mod(y.get(), y.get(), p.get());
    }
    out.push_back(ShamirShare{static_cast<std::uint32_t>(x), y.to_bytes(kShamirValueBytes)});
  }
  return out;
}

Result<Bytes> shamir_reconstruct(const std::vector<ShamirShare>& shares, std::size_t threshold, std::size_t secret_size) {
  if (secret_size > kShamirMaxSecret) return fail(Errc::invalid_argument, "Shamir secret size too large");
  if (threshold < 1 || shares.size() < threshold) {
    return fail(Errc::invalid_argument, fmt::format("{} Shamir shares, {} needed", shares.size(), threshold));
  }
  const Mpz& p = prime();
  std::set<std::uint32_t> seen;
  std::vector<Mpz> xs, ys;
  for (std::size_t i = 0; i < threshold; ++i) {
    const auto& share = shares[i];
    if (share.x == 0 || !seen.insert(share.x).second) {
      return fail(Errc::invalid_argument, fmt::format("Shamir share point x = {} is zero or repeated", share.x));
    }
    if (share.y.size() != kShamirValueBytes) return fail(Errc::parse, "Shamir share value has the wrong length");
    Mpz y = Mpz::from_bytes(share.y);
    if (mpz_cmp(y.get(), p.get()) >= 0) return fail(Errc::parse, "Shamir share value outside the field");
    xs.push_back(Mpz(share.x));
    ys.push_back(std::move(y));
  }
  // f(0) = sum_i y_i prod_{j != i} x_j / (x_j - x_i)
  Mpz secret, numerator, denominator, term, diff;
  for (std::size_t i = 0; i < threshold; ++i) {
    mpz_set_ui(numerator.get(), 1);
    mpz_set_ui(denominator.get(), 1);
    for (std::size_t j = 0; j < threshold; ++j) {
      if (j == i) continue;
      mpz_mul(numerator.get(), numerator.get(), xs[j].get());
      mpz_mod(numerator.get(), numerator.get(), p.get());
      mpz_sub(diff.get(), xs[j].get(), xs[i].get());
      mpz_mul(denominator.get(), denominator.get(), diff.get());
      mpz_mod(denominator.get(), denominator.get(), p.get());
    }
    if (mpz_invert(denominator.get(), denominator.get(), p.get()) == 0) return fail(Errc::internal, "no inverse");
    mpz_mul(term.get(), ys[i].get(), numerator.get());
    mpz_mul(term.get(), term.get(), denominator.get());
    mpz_add(secret.get(), secret.get(), term.get());
    mpz_mod(secret.get(), secret.get(), p.get());
  }
  if (secret.bits() > secret_size * 8) {
    return fail(Errc::integrity, "Shamir shares do not reconstruct a secret of the expected size (wrong or corrupted shares)");
  }
  return secret.to_bytes(secret_size);
}

Bytes encode_share(const ShamirShare& share) {
  Bytes out;
  append_be(out, share.x, 4);
  append(out, share.y);
  return out;
}

Result<ShamirShare> decode_share(ByteView bytes) {
  if (bytes.size() != 4 + kShamirValueBytes) {
    return fail(Errc::parse, fmt::format("Shamir share of {} bytes (expected {})", bytes.size(), 4 + kShamirValueBytes));
  }
  ShamirShare share;
  share.x = static_cast<std::uint32_t>(read_be(bytes.first(4)));
  if (share.x == 0) return fail(Errc::parse, "Shamir share at x = 0");
  share.y = to_bytes(bytes.subspan(4));
  return share;
}

}  // namespace cairn::crypto
