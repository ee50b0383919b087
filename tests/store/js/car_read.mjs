// Reads a CAR with @ipld/car (the JS reference), checks every block against its CID with
// multiformats' sha2-256, and prints one JSON object: {"roots": [...], "blocks": [{"cid",
// "size"}...]} in file order. With --rewrite OUT, also writes the same roots and blocks,
// in the same order, with @ipld/car's CarWriter (so its bytes can be compared with cairn's).
//
//   node car_read.mjs FILE.car [--rewrite OUT.car]
import fs from 'node:fs'
import { CarReader } from '@ipld/car/reader'
import { CarWriter } from '@ipld/car/writer'
import { sha256 } from 'multiformats/hashes/sha2'

const args = process.argv.slice(2)
const file = args[0]
const rewriteAt = args.indexOf('--rewrite')
const rewrite = rewriteAt >= 0 ? args[rewriteAt + 1] : null

const reader = await CarReader.fromBytes(fs.readFileSync(file))
const roots = await reader.getRoots()
const blocks = []
for await (const { cid, bytes } of reader.blocks()) {
  if (cid.multihash.code !== sha256.code) throw new Error(`unexpected hash in ${cid}`)
  const digest = await sha256.digest(bytes)
  if (Buffer.compare(Buffer.from(digest.bytes), Buffer.from(cid.multihash.bytes)) !== 0) {
    throw new Error(`block ${cid} does not match its CID`)
  }
  blocks.push({ cid, bytes })
}

if (rewrite) {
  const { writer, out } = CarWriter.create(roots)
  const chunks = []
  const collect = (async () => { for await (const chunk of out) chunks.push(chunk) })()
  for (const block of blocks) await writer.put(block)
  await writer.close()
  await collect
  fs.writeFileSync(rewrite, Buffer.concat(chunks))
}

console.log(JSON.stringify({
  roots: roots.map(r => r.toString()),
  blocks: blocks.map(b => ({ cid: b.cid.toString(), size: b.bytes.length }))
}))
