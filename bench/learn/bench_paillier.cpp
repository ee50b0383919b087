// Paillier benchmarks, with baselines measured in the same run:
//   - cairn encryption with DJN precomputation against plain r^n encryption;
//   - packed against unpacked encryption of an update vector (per value);
//   - cairn against npm paillier-bigint on the same key size (node, same machine, now).
//   bench_learn_paillier [--bits 2048] [--values 44427] [--unpacked-values 2000]
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/paillier.hpp"
#include "learn/rng.hpp"
#include "learn/secure_paillier.hpp"

using namespace cairn;
using Clock = std::chrono::steady_clock;

namespace {

template <class F>
double seconds_per_op(std::size_t ops, F&& f) {
  const auto start = Clock::now();
  for (std::size_t i = 0; i < ops; ++i)
    f(i);
  return std::chrono::duration<double>(Clock::now() - start).count() / static_cast<double>(ops);
}

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe))
    out += buffer;
  pclose(pipe);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t bits = 2048, values = 44427, unpacked_values = 2000, ops = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--bits")) bits = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--values")) values = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--unpacked-values")) unpacked_values = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--ops")) ops = std::stoul(argv[i + 1]);
  }
  auto start = Clock::now();
  const auto keys = crypto::paillier_generate(bits).value();
  const double keygen = std::chrono::duration<double>(Clock::now() - start).count();
  start = Clock::now();
  const crypto::PaillierEncryptor encryptor(keys.public_key);
  const double precompute = std::chrono::duration<double>(Clock::now() - start).count();
  fmt::print("cairn Paillier, {}-bit n: keygen {:.2f} s, encryptor precomputation {:.2f} s\n", bits,
             keygen, precompute);

  learn::Rng rng(1);
  std::vector<crypto::Mpz> messages;
  for (std::size_t i = 0; i < ops; ++i) {
    messages.push_back(crypto::random_below(keys.public_key.n));
  }
  std::vector<crypto::Mpz> ciphertexts(ops);
  const double plain_enc = seconds_per_op(ops / 4, [&](std::size_t i) {
    ciphertexts[i] = crypto::paillier_encrypt(keys.public_key, messages[i]).value();
  });
  const double djn_enc = seconds_per_op(
      ops, [&](std::size_t i) { ciphertexts[i] = encryptor.encrypt(messages[i]).value(); });
  crypto::Mpz accumulator = ciphertexts[0];
  const double add = seconds_per_op(ops * 10, [&](std::size_t i) {
    crypto::paillier_add_into(keys.public_key, accumulator, ciphertexts[i % ops]);
  });
  const double dec_crt = seconds_per_op(ops / 2, [&](std::size_t i) {
    (void)crypto::paillier_decrypt(keys.private_key, ciphertexts[i]);
  });
  const double dec_text = seconds_per_op(ops / 8, [&](std::size_t i) {
    (void)crypto::paillier_decrypt_textbook(keys.private_key, ciphertexts[i]);
  });
  fmt::print("  encrypt, r^n per ciphertext   {:9.3f} ms\n", plain_enc * 1e3);
  fmt::print("  encrypt, DJN precomputed      {:9.3f} ms   ({:.1f}x faster)\n", djn_enc * 1e3,
             plain_enc / djn_enc);
  fmt::print("  add (homomorphic)             {:9.4f} ms\n", add * 1e3);
  fmt::print(
      "  decrypt, CRT                  {:9.3f} ms   ({:.1f}x faster than textbook {:.3f} ms)\n",
      dec_crt * 1e3, dec_text / dec_crt, dec_text * 1e3);

  // Packed against unpacked, per value of an update vector.
  std::vector<double> update(values);
  for (auto& v : update)
    v = (rng.uniform() * 2 - 1) * 0.01;
  const auto packed_params = learn::PackingParams::for_summands(10, true);
  // One thread, then one per hardware thread (the default), on the same vector.
  const unsigned threads = learn::paillier_threads();
  start = Clock::now();
  (void)learn::encrypt_vector(encryptor, update, packed_params, 0, 1).value();
  const double packed_time_1 = std::chrono::duration<double>(Clock::now() - start).count();
  start = Clock::now();
  const auto packed = learn::encrypt_vector(encryptor, update, packed_params, 0).value();
  const double packed_time = std::chrono::duration<double>(Clock::now() - start).count();
  start = Clock::now();
  (void)learn::decrypt_vector(keys.private_key, packed, 1).value();
  const double packed_decrypt_1 = std::chrono::duration<double>(Clock::now() - start).count();
  start = Clock::now();
  const auto decrypted = learn::decrypt_vector(keys.private_key, packed).value();
  const double packed_decrypt = std::chrono::duration<double>(Clock::now() - start).count();
  const auto unpacked_params = learn::PackingParams::for_summands(10, false);
  const std::vector<double> few(
      update.begin(),
      update.begin() + static_cast<std::ptrdiff_t>(std::min(unpacked_values, values)));
  start = Clock::now();
  const auto unpacked = learn::encrypt_vector(encryptor, few, unpacked_params, 0, 1).value();
  const double unpacked_time = std::chrono::duration<double>(Clock::now() - start).count();
  const double packed_per_value = packed_time_1 / static_cast<double>(values);
  const double unpacked_per_value = unpacked_time / static_cast<double>(few.size());
  fmt::print("update vector of {} values ({} slots of {} bits per ciphertext):\n", values,
             packed_params.slots_per_ciphertext(bits), packed_params.slot_bits());
  fmt::print(
      "  packed:   {} ciphertexts, {:.2f} MB on the wire\n", packed.ciphertexts.size(),
      static_cast<double>(packed.ciphertexts.size() * keys.public_key.ciphertext_bytes()) / 1e6);
  fmt::print("            encrypt {:.2f} s with 1 thread, {:.2f} s with {} ({:.2f}x)\n",
             packed_time_1, packed_time, threads, packed_time_1 / packed_time);
  fmt::print("            decrypt {:.2f} s with 1 thread, {:.2f} s with {} ({:.2f}x)\n",
             packed_decrypt_1, packed_decrypt, threads, packed_decrypt_1 / packed_decrypt);
  fmt::print("  unpacked: {} values took {:.2f} s -> {:.2f} s for all {} ({:.0f} MB on the wire)\n",
             few.size(), unpacked_time, unpacked_per_value * static_cast<double>(values), values,
             static_cast<double>(values * keys.public_key.ciphertext_bytes()) / 1e6);
  fmt::print("  packing speed-up (1 thread each): {:.1f}x per value\n",
             unpacked_per_value / packed_per_value);

  // npm paillier-bigint, same key size, timed by its own script in this run.
  const std::string script =
      std::string(CAIRN_SOURCE_DIR) + "/bench/learn/paillier_bigint_bench.mjs";
  const auto output = run(fmt::format("node {} {} {} 2>/dev/null", script, bits, ops / 4));
  try {
    const auto js = nlohmann::json::parse(output);
    const double js_enc = js["encrypt_ms"].get<double>() / 1e3;
    const double js_add = js["add_ms"].get<double>() / 1e3;
    const double js_dec = js["decrypt_ms"].get<double>() / 1e3;
    fmt::print("paillier-bigint {} (node {}), {}-bit n:\n", js["version"].get<std::string>(),
               js["node"].get<std::string>(), bits);
    fmt::print("  encrypt {:9.3f} ms  -> cairn DJN {:.1f}x faster, cairn r^n {:.1f}x faster\n",
               js_enc * 1e3, js_enc / djn_enc, js_enc / plain_enc);
    fmt::print("  add     {:9.4f} ms  -> cairn {:.1f}x faster\n", js_add * 1e3, js_add / add);
    fmt::print("  decrypt {:9.3f} ms  -> cairn CRT {:.1f}x faster\n", js_dec * 1e3,
               js_dec / dec_crt);
  } catch (const std::exception& e) {
    fmt::print("paillier-bigint comparison skipped (node or the npm package missing): {}\n",
               e.what());
  }
  return decrypted.size() == values && unpacked.ciphertexts.size() == few.size() ? 0 : 1;
}
