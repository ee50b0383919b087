// Prints the reference CIDs that importer_test.cpp pins, computed by ipfs-unixfs-importer
// over the pattern file of each size (byte i = (i*7 ^ i>>11 ^ i>>19) & 0xff), with the
// same options as import.mjs, and with rawLeaves false for the sizes marked so.
//   node tests/store/js/vectors.mjs
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'

const K = 262144
const sizes = [0, 1, 11, K - 1, K, K + 1, 2 * K, 3 * K + 5, 174 * K - 1, 174 * K, 174 * K + 1, 175 * K, 348 * K + 7]

function pattern (size) {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = ((i * 7) ^ (i >>> 11) ^ (i >>> 19)) & 0xff
  return out
}

async function cidOf (bytes, rawLeaves) {
  const options = {
    cidVersion: 1,
    rawLeaves,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: K }),
    layout: balanced({ maxChildrenPerNode: 174 })
  }
  for await (const entry of importer([{ content: bytes }], { put: async (c) => c }, options)) {
    return [entry.cid.toString(), Number(entry.size)]
  }
}

for (const size of sizes) {
  const bytes = pattern(size)
  const [raw, rawSize] = await cidOf(bytes, true)
  const [wrapped, wrappedSize] = await cidOf(bytes, false)
  console.log(`{${size}, "${raw}", ${rawSize}, "${wrapped}", ${wrappedSize}},`)
}
