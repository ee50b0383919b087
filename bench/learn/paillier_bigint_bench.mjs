// Times npm paillier-bigint on one machine, for bench_learn_paillier's comparison.
//   node paillier_bigint_bench.mjs BITS OPS  -> one JSON line (milliseconds per operation)
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as paillier from 'paillier-bigint'

const bits = Number(process.argv[2] || 2048)
const ops = Number(process.argv[3] || 50)
const { publicKey, privateKey } = await paillier.generateRandomKeys(bits, true)
const messages = []
for (let i = 0; i < ops; i++) messages.push(BigInt(i) * 1234567890123456789n % publicKey.n)
const time = (f) => { const t = process.hrtime.bigint(); f(); return Number(process.hrtime.bigint() - t) / 1e6 }
let cs = []
const enc = time(() => { cs = messages.map((m) => publicKey.encrypt(m)) }) / ops
let acc = cs[0]
const addOps = ops * 10
const add = time(() => { for (let i = 0; i < addOps; i++) acc = publicKey.addition(acc, cs[i % ops]) }) / addOps
const dec = time(() => { for (const c of cs) privateKey.decrypt(c) }) / ops
const require = createRequire(import.meta.url)
const version = JSON.parse(readFileSync(require.resolve('paillier-bigint').replace(/dist\/.*$/, 'package.json'), 'utf8')).version
console.log(JSON.stringify({ bits, ops, encrypt_ms: enc, add_ms: add, decrypt_ms: dec, version, node: process.version }))
