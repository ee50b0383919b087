#include "crypto/hash.hpp"

#include <gtest/gtest.h>

#include "base/encoding.hpp"

namespace cairn::crypto {
namespace {

std::string hex_of(HashAlgorithm a, std::string_view text) { return to_hex(hash(a, as_bytes(text))); }

TEST(Hash, MatchesFips180AndFips202Vectors) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_of(HashAlgorithm::sha2_256, ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of(HashAlgorithm::sha1, "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex_of(HashAlgorithm::sha2_384, "abc"),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(hex_of(HashAlgorithm::sha2_512, "abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(hex_of(HashAlgorithm::sha3_256, "abc"),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
  EXPECT_EQ(hex_of(HashAlgorithm::ripemd160, "abc"), "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
}

TEST(Hash, IncrementalEqualsOneShot) {
  Hasher h(HashAlgorithm::sha2_256);
  h.update("a").update("b").update("c");
  const auto digest = h.finish();
  EXPECT_EQ(to_hex(digest), to_hex(sha256("abc")));
  // finish() resets, so the hasher can be reused.
  h.update("abc");
  EXPECT_EQ(h.finish(), digest);
}

TEST(Hash, DigestSizesMatchOutput) {
  for (auto a : {HashAlgorithm::sha1, HashAlgorithm::sha2_224, HashAlgorithm::sha2_256,
                 HashAlgorithm::sha2_384, HashAlgorithm::sha2_512, HashAlgorithm::sha3_224,
                 HashAlgorithm::sha3_256, HashAlgorithm::sha3_384, HashAlgorithm::sha3_512,
                 HashAlgorithm::ripemd160}) {
    EXPECT_EQ(hash(a, as_bytes(std::string_view("x"))).size(), digest_size(a)) << hash_name(a);
  }
}

}  // namespace
}  // namespace cairn::crypto
