// Cross-checks cairn's Paillier against npm paillier-bigint, both ways.
//   node paillier_cross.mjs IN.json OUT.json
// IN (written by cairn): { key: {n, g, lambda, mu, p, q} as hex, from_cairn: [{m, c}] hex, js_key_bits,
//                          to_encrypt: [m] hex, add: [[ci, cj], ...] indexes into from_cairn }
// OUT: { decrypted: [m] (paillier-bigint's decryption of cairn's ciphertexts),
//        from_js: [{m, c}] (paillier-bigint's encryptions), sums: [c] (its homomorphic sums),
//        js_key: {n, g, lambda, mu} hex, from_js_key: [{m, c}] (encrypted under its own key) }
import { readFileSync, writeFileSync } from 'node:fs'
import * as paillier from 'paillier-bigint'

const hex = (x) => x.toString(16)
const big = (h) => BigInt('0x' + h)

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const k = input.key
const publicKey = new paillier.PublicKey(big(k.n), big(k.g))
const privateKey = new paillier.PrivateKey(big(k.lambda), big(k.mu), publicKey, big(k.p), big(k.q))

const decrypted = input.from_cairn.map(({ c }) => hex(privateKey.decrypt(big(c))))
const fromJs = input.to_encrypt.map((m) => ({ m, c: hex(publicKey.encrypt(big(m))) }))
const sums = (input.add || []).map(([i, j]) => hex(publicKey.addition(big(input.from_cairn[i].c), big(input.from_cairn[j].c))))

// A key of paillier-bigint's own (random g, not n + 1) for cairn to import; its size is
// the caller's choice (prime generation in JavaScript is slow).
const bits = input.js_key_bits || publicKey.bitLength
const own = await paillier.generateRandomKeys(bits, false)
const fromJsKey = input.to_encrypt.map((m) => ({ m, c: hex(own.publicKey.encrypt(big(m))) }))

writeFileSync(process.argv[3], JSON.stringify({
  decrypted,
  from_js: fromJs,
  sums,
  js_key: { n: hex(own.publicKey.n), g: hex(own.publicKey.g), lambda: hex(own.privateKey.lambda), mu: hex(own.privateKey.mu) },
  from_js_key: fromJsKey
}))
