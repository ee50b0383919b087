// Offline signing: transactions (EIP-155, EIP-1559), EIP-191 messages, keystore v3.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "chain/eip191.hpp"
#include "chain/keystore.hpp"
#include "chain/transaction.hpp"
#include "testing/testing.hpp"

namespace cairn::chain {
namespace {

Bytes hex(std::string_view text) {
  return from_hex(text, true).value();
}

crypto::Secp256k1SecretKey key46() {
  crypto::Secp256k1SecretKey key;
  key.fill(std::byte{0x46});
  return key;
}

// The example of EIP-155 itself.
TEST(Transaction, Eip155Example) {
  Transaction tx;
  tx.type = Transaction::Type::legacy;
  tx.chain_id = 1;
  tx.nonce = 9;
  tx.gas_price = U256(20000000000ULL);
  tx.gas_limit = 21000;
  tx.to = Address::parse("0x3535353535353535353535353535353535353535").value();
  tx.value = U256(1000000000000000000ULL);
  EXPECT_EQ(to_hex(tx.signing_hash()),
            "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
  const auto signed_tx = sign_transaction(tx, key46()).value();
  EXPECT_EQ(to_hex(signed_tx.raw),
            "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7640000"
            "8025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f"
            "761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
  EXPECT_EQ(signed_tx.from.to_checksum(), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  const auto decoded = decode_signed_transaction(signed_tx.raw).value();
  EXPECT_EQ(decoded.tx, tx);
  EXPECT_EQ(decoded.from, signed_tx.from);
  EXPECT_EQ(decoded.hash, signed_tx.hash);
}

// Vectors produced by ethers 6 (Wallet.signTransaction) for the same key.
TEST(Transaction, Eip1559MatchesEthers) {
  Transaction tx;
  tx.chain_id = 31337;
  tx.nonce = 7;
  tx.max_priority_fee_per_gas = U256(1000000000ULL);
  tx.max_fee_per_gas = U256(30000000000ULL);
  tx.gas_limit = 100000;
  tx.to = Address::parse("0x3535353535353535353535353535353535353535").value();
  tx.value = U256(1000000000000000000ULL);
  tx.data = hex("deadbeef");
  EXPECT_EQ(to_hex(tx.signing_hash()),
            "0607cc63b0a4d506c99681efc6ad6603c8153c5a2229ceb1011dc3e6c9405913");
  const auto signed_tx = sign_transaction(tx, key46()).value();
  EXPECT_EQ("0x" + to_hex(signed_tx.raw),
            "0x02f87a827a6907843b9aca008506fc23ac00830186a09435353535353535353535353535353535353535"
            "35880de0b6b3a764"
            "000084deadbeefc080a0031f9e94b3551c86c75e44a4704fb0963462fa324500c450c2f8119ad5ba2ca9a0"
            "6ea8e603a70e57b8"
            "c0e53756edd795766898098c6ec3858be1b04dd36a07b748");
  EXPECT_EQ(to_hex(signed_tx.hash),
            "78f3e6887bf36cb05eaf65e0470499d19e913b15ba61d603b2a69f16cb37899a");
  const auto decoded = decode_signed_transaction(signed_tx.raw).value();
  EXPECT_EQ(decoded.tx, tx);
  EXPECT_EQ(decoded.from.to_checksum(), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
}

TEST(Transaction, Eip1559CreationWithAccessListMatchesEthers) {
  Transaction tx;
  tx.chain_id = 1;
  tx.nonce = 0;
  tx.max_fee_per_gas = U256(1);
  tx.gas_limit = 3000000;
  tx.data = hex("6080");
  ByteArray<32> slot{};
  slot[31] = std::byte{1};
  tx.access_list = {{Address::parse("0x3535353535353535353535353535353535353535").value(), {slot}}};
  const auto signed_tx = sign_transaction(tx, key46()).value();
  EXPECT_EQ(to_hex(signed_tx.raw),
            "02f88a01808001832dc6c08080826080f838f7943535353535353535353535353535353535353535e1a000"
            "000000000000"
            "0000000000000000000000000000000000000000000000000180a015abba025f58f5ce8575dd83c4033f40"
            "bfa7f4366873a2"
            "14ae75b185fc2853dfa0014eed80f3a0f8eed08177235bec1d6d0335095b67eb52865b961e8de88195e8");
  EXPECT_EQ(decode_signed_transaction(signed_tx.raw).value().tx, tx);
}

TEST(Transaction, RejectsMalformedRawTransactions) {
  EXPECT_FALSE(decode_signed_transaction({}));
  EXPECT_FALSE(decode_signed_transaction(hex("01c0")));                  // type 1 unsupported
  EXPECT_FALSE(decode_signed_transaction(hex("02c0")));                  // wrong field count
  EXPECT_FALSE(decode_signed_transaction(hex("c9808080808080808080")));  // v = 0, r = s = 0
  // A flipped bit in s changes the recovered sender or fails; never the original sender.
  Transaction tx;
  tx.to = Address::parse("0x3535353535353535353535353535353535353535").value();
  auto raw = sign_transaction(tx, key46()).value().raw;
  raw[raw.size() - 1] ^= std::byte{1};
  const auto tampered = decode_signed_transaction(raw);
  EXPECT_TRUE(!tampered ||
              tampered->from.to_checksum() != "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  Transaction greedy;
  greedy.max_priority_fee_per_gas = U256(2);
  greedy.max_fee_per_gas = U256(1);
  EXPECT_FALSE(sign_transaction(greedy, key46()));
}

TEST(Transaction, CalldataGas) {
  EXPECT_EQ(calldata_gas(hex("00ff0001")), 4u + 16 + 4 + 16);
}

// ethers: wallet.signMessage("hello cairn") with the EIP-155 example key.
TEST(Eip191, MatchesEthersPersonalSign) {
  const auto message = as_bytes(std::string_view("hello cairn"));
  EXPECT_EQ(to_hex(eip191_message_hash(message)),
            "d9480dd8639dfd63bdc5ae4c6f46237ccfad0647a6720e5e3eeca535c267b91c");
  const auto signature = eip191_sign(key46(), message).value();
  EXPECT_EQ(to_hex(signature),
            "aafb56e6fffc600ab2f1619a2e1632a4742eff834416682b6793771fecc991a06349ba6c065a6eb3e5a542"
            "045f7097583eae3e"
            "9a7ccb6c8c6698552f1bc036b11c");
  EXPECT_EQ(eip191_recover(message, signature).value().to_checksum(),
            "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  const auto other = eip191_recover(as_bytes(std::string_view("hello cairn!")), signature);
  EXPECT_TRUE(!other || other->to_checksum() != "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  EXPECT_FALSE(eip191_recover(message, ByteView(signature).first(64)));
}

// Web3 Secret Storage definition, PBKDF2 test vector (password "testpassword").
TEST(Keystore, DecryptsSpecPbkdf2Vector) {
  const std::string file =
      R"({"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"6087dab2f9fdbbfaddc31a909735c1e6"},
    "ciphertext":"5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46","kdf":"pbkdf2",
    "kdfparams":{"c":262144,"dklen":32,"prf":"hmac-sha256","salt":"ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"},
    "mac":"517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"},"id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3})";
  const auto key = keystore_decrypt(file, "testpassword");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(to_hex(*key), "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d");
  const auto wrong = keystore_decrypt(file, "testpassword!");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::crypto);
  EXPECT_NE(wrong.error().message.find("wrong password"), std::string::npos);
}

// The specification's scrypt vector uses n = 2^18 with r = 1, which RFC 7914 (and so
// OpenSSL and ethers) forbids; cairn says so instead of failing obscurely.
TEST(Keystore, ExplainsTheSpecsInvalidScryptVector) {
  const std::string file =
      R"({"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"83dbcc02d8ccb40e466191a123791e0e"},
    "ciphertext":"d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c","kdf":"scrypt",
    "kdfparams":{"dklen":32,"n":262144,"p":8,"r":1,"salt":"ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"},
    "mac":"2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"},"id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3})";
  const auto result = keystore_decrypt(file, "testpassword");
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("2^(16r)"), std::string::npos) << result.error().message;
}

TEST(Keystore, RoundTripsScryptAndPbkdf2) {
  const auto key = crypto::secp256k1_generate();
  for (const auto& options :
       {KeystoreOptions::light(), KeystoreOptions{KeystoreOptions::Kdf::pbkdf2, 0, 0, 0, 4096}}) {
    const auto file = keystore_encrypt(key, "correct horse", options).value();
    EXPECT_EQ(keystore_decrypt(file, "correct horse").value(), key);
    EXPECT_EQ(keystore_address(file).value(), Address::from_secret_key(key));
    EXPECT_FALSE(keystore_decrypt(file, "wrong horse"));
  }
}

TEST(Keystore, RejectsMalformedFiles) {
  EXPECT_FALSE(keystore_decrypt("", "x"));
  EXPECT_FALSE(keystore_decrypt(R"({"version":2})", "x"));
  EXPECT_FALSE(keystore_decrypt(R"({"version":3})", "x"));
  EXPECT_FALSE(keystore_decrypt(R"({"version":3,"crypto":{"cipher":"aes-256-gcm"}})", "x"));
  auto doc = nlohmann::json::parse(
      keystore_encrypt(crypto::secp256k1_generate(), "pw", KeystoreOptions::light()).value());
  doc["crypto"]["kdfparams"]["n"] = 1 << 30;  // 128 GiB of scrypt memory: refused, not attempted
  EXPECT_EQ(keystore_decrypt(doc.dump(), "pw").error().code, Errc::unsupported);
  doc["crypto"]["kdfparams"]["n"] = 4095;
  EXPECT_FALSE(keystore_decrypt(doc.dump(), "pw"));
}

// Interoperability: a keystore written by ethers (what MetaMask and geth also read and
// write) decrypts here, and one written here decrypts in ethers.
TEST(Keystore, InteroperatesWithEthers) {
  const auto node = testing::source_dir() / "node_modules" / "ethers";
  ASSERT_TRUE(std::filesystem::exists(node)) << "run scripts/setup to install ethers";
  testing::TempDir dir;
  const auto script = dir / "keystore.cjs";
  const std::string js = R"(
const { Wallet, encryptKeystoreJsonSync, decryptKeystoreJsonSync } = require(process.argv[2]);
const fs = require("fs");
const mode = process.argv[3];
if (mode === "encrypt") {
  const w = new Wallet("0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d");
  // Scrypt with geth's light parameters: the format is the same, the test is faster.
  process.stdout.write(encryptKeystoreJsonSync({address: w.address, privateKey: w.privateKey}, "from ethers",
                                               {scrypt: {N: 4096, r: 8, p: 6}}));
} else {
  process.stdout.write(decryptKeystoreJsonSync(fs.readFileSync(process.argv[4], "utf8"), "from cairn").privateKey);
}
)";
  testing::write_file(script, as_bytes(js));
  const auto encrypted =
      testing::run_command("node " + script.string() + " " + node.string() + " encrypt");
  ASSERT_EQ(encrypted.exit_code, 0) << encrypted.err;
  const auto key = keystore_decrypt(encrypted.out, "from ethers");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(to_hex(*key), "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d");

  const auto mine = crypto::secp256k1_generate();
  testing::write_file(
      dir / "mine.json",
      as_bytes(keystore_encrypt(mine, "from cairn", KeystoreOptions::light()).value()));
  const auto decrypted = testing::run_command("node " + script.string() + " " + node.string() +
                                              " decrypt " + (dir / "mine.json").string());
  ASSERT_EQ(decrypted.exit_code, 0) << decrypted.err;
  EXPECT_EQ(decrypted.out, "0x" + to_hex(mine));
}

}  // namespace
}  // namespace cairn::chain
