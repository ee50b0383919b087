// Imports SIZE bytes of the test pattern (byte i = (i*7 ^ i>>11 ^ i>>19) & 0xff) with
// ipfs-unixfs-importer, generated on the fly and never stored, and prints {"cid","bytes"}.
// For sizes beyond memory (bench/store/run --deep: 174*174 chunks + 1 byte, three levels).
//   node tests/store/js/pattern.mjs SIZE
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'

const size = Number(process.argv[2])
if (!Number.isSafeInteger(size) || size < 0) {
  console.error('usage: node pattern.mjs SIZE')
  process.exit(2)
}

async function * pattern () {
  const piece = 4 << 20
  for (let done = 0; done < size; done += piece) {
    const n = Math.min(piece, size - done)
    const out = new Uint8Array(n)
    for (let k = 0; k < n; k++) {
      const i = done + k
      // i*7 exceeds 2^32 for large files: take it modulo 256 before the 32-bit xor.
      out[k] = (((i % 256) * 7) ^ Math.floor(i / 2048) ^ Math.floor(i / 524288)) & 0xff
    }
    yield out
  }
}

const options = {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 })
}
for await (const entry of importer([{ content: pattern() }], { put: async (c) => c }, options)) {
  console.log(JSON.stringify({ cid: entry.cid.toString(), bytes: size }))
}
