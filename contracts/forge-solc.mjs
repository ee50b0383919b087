#!/usr/bin/env node
// The solc npm package (solcjs) behind the native solc command line that forge speaks, so
// that `forge test` (foundry.toml: `solc = "contracts/forge-solc.mjs"`, `offline = true`)
// compiles with the very compiler contracts/build.mjs uses, and never downloads one.
//
// forge calls a solc binary in two ways:
//   solc --version                 → prints "solc, the solidity compiler commandline
//                                     interface" and "Version: <version>", from which forge
//                                     reads the version (e.g. 0.8.37+commit.….Emscripten.clang);
//   solc [options] --standard-json → reads standard JSON input on stdin and prints standard
//                                     JSON output on stdout. forge passes the source texts in
//                                     the input; an import it left out is read from disk,
//                                     under the roots named by --base-path and --include-path,
//                                     then the working directory, as the native compiler does.
// The other options forge passes (--allow-paths) only restrict where the native compiler
// may read; solcjs reads nothing but through the callback below.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

// The repository's solc (node_modules next to package.json), not whatever NODE_PATH finds.
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "package.json"));
const solc = require("solc");

const args = process.argv.slice(2);

// Where imports that forge did not put in the input are looked up, in order.
const bases = [];
for (const flag of ["--base-path", "--include-path"]) {
  for (let i = args.indexOf(flag); i >= 0 && i + 1 < args.length; i = args.indexOf(flag, i + 2)) {
    bases.push(args[i + 1]);
  }
}
bases.push(process.cwd());

const readImport = (file) => {
  for (const base of path.isAbsolute(file) ? [""] : bases) {
    try {
      return { contents: fs.readFileSync(path.resolve(base, file), "utf8") };
    } catch {
      // not under this base: try the next
    }
  }
  return { error: `forge-solc: file not found: ${file}` };
};

if (args.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
} else if (args.includes("--standard-json")) {
  const chunks = [];
  process.stdin.on("data", (chunk) => chunks.push(chunk));
  process.stdin.on("end", () => {
    const input = Buffer.concat(chunks).toString("utf8");
    process.stdout.write(solc.compile(input, { import: readImport }));
  });
} else {
  process.stderr.write(`forge-solc: only --version and --standard-json are supported (got: ${args.join(" ")})\n`);
  process.exitCode = 2;
}
