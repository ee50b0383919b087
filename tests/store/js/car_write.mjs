// Imports a file or directory with the JS reference importer (ipfs-unixfs-importer, with
// `ipfs add --cid-version=1`'s settings) and writes its blocks as a CAR with @ipld/car's
// CarWriter, root first then the rest in the order the importer produced them (leaves
// first), as a CAR from another implementation may well be ordered. Prints {"root": CID}.
//
//   node car_write.mjs PATH OUT.car
import fs from 'node:fs'
import path from 'node:path'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CarWriter } from '@ipld/car/writer'

const [input, output] = process.argv.slice(2)
const blocks = []
const seen = new Set()
const store = {
  async put (cid, bytes) {
    const key = cid.toString()
    if (!seen.has(key)) { seen.add(key); blocks.push({ cid, bytes }) }
    return cid
  },
  async has (cid) { return seen.has(cid.toString()) },
  async get (cid) { return blocks.find(b => b.cid.equals(cid)).bytes }
}

function * sources (p, name) {
  if (fs.statSync(p).isDirectory()) {
    yield { path: name }
    for (const entry of fs.readdirSync(p).sort()) yield * sources(path.join(p, entry), `${name}/${entry}`)
  } else {
    yield { path: name, content: fs.createReadStream(p) }
  }
}

let root
for await (const entry of importer(sources(input, path.basename(input)), store, {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 }),
  shardSplitThresholdBytes: 262144,
  wrapWithDirectory: false
})) root = entry.cid

const ordered = [blocks.find(b => b.cid.equals(root)), ...blocks.filter(b => !b.cid.equals(root))]
const { writer, out } = CarWriter.create([root])
const chunks = []
const collect = (async () => { for await (const chunk of out) chunks.push(chunk) })()
for (const block of ordered) await writer.put(block)
await writer.close()
await collect
fs.writeFileSync(output, Buffer.concat(chunks))
console.log(JSON.stringify({ root: root.toString(), blocks: ordered.length }))
