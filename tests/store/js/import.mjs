// Imports files and directory trees with the JS reference importer (ipfs-unixfs-importer)
// and prints one JSON line per entry it yields: {"path": ..., "cid": ..., "size": ...}.
// The options are spelled out as `ipfs add --cid-version=1` has them, rather than left to
// the package's defaults (which a profile option can change).
//
//   node import.mjs [--only-hash] [--bytes] [--chunk-size=N] [--max-links=N] [--file-leaves]
//                  [--shard-threshold=N] PATH...
//
// Each PATH is imported separately; a directory as a tree rooted at its own name, entries
// in name order (byte-wise), hidden files included, empty directories kept. --bytes: read each file fully into
// memory first rather than streaming it (for the benchmark).
import fs from 'node:fs'
import path from 'node:path'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { MemoryBlockstore } from 'blockstore-core/memory'

const args = process.argv.slice(2)
const numberOption = (name, fallback) => {
  const given = args.find(a => a.startsWith(`--${name}=`))
  return given === undefined ? fallback : Number(given.split('=')[1])
}

const options = {
  cidVersion: 1,
  rawLeaves: !args.includes('--file-leaves'),
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: numberOption('chunk-size', 262144) }),
  layout: balanced({ maxChildrenPerNode: numberOption('max-links', 174) }),
  shardSplitThresholdBytes: numberOption('shard-threshold', 262144),
  shardSplitStrategy: 'links-bytes',
  wrapWithDirectory: false
}

const onlyHash = args.includes('--only-hash')
const wholeFiles = args.includes('--bytes')
const paths = args.filter(a => !a.startsWith('--'))
if (paths.length === 0) {
  console.error('usage: node import.mjs [--only-hash] [--bytes] PATH...')
  process.exit(2)
}

const discard = { put: async (cid) => cid }

function byteCompare (a, b) {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

function * candidates (fsPath, displayPath) {
  const stat = fs.lstatSync(fsPath)
  if (stat.isDirectory()) {
    // A directory is implied by the paths of what is in it; only an empty one is given as
    // an entry of its own. (Given as an entry first, a directory would count toward its
    // parent's sharding estimate until its first child arrives, making the parent's shape
    // depend on the order entries arrive in.)
    const names = fs.readdirSync(fsPath).sort(byteCompare)
    if (names.length === 0) yield { path: displayPath }
    for (const name of names) {
      yield * candidates(path.join(fsPath, name), `${displayPath}/${name}`)
    }
  } else if (stat.isFile()) {
    yield {
      path: displayPath,
      content: wholeFiles ? fs.readFileSync(fsPath) : fs.createReadStream(fsPath, { highWaterMark: 4 << 20 })
    }
  } else {
    throw new Error(`${fsPath}: not a regular file or directory`)
  }
}

for (const p of paths) {
  const blockstore = onlyHash ? discard : new MemoryBlockstore()
  const name = path.basename(path.resolve(p))
  for await (const entry of importer(candidates(p, name), blockstore, options)) {
    console.log(JSON.stringify({ path: entry.path, cid: entry.cid.toString(), size: Number(entry.size) }))
  }
}
