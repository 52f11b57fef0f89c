#!/usr/bin/env node
// Compiles contracts/src with npm solc and writes governance/abi/<Contract>.json: abi, bytecode,
// compiler version, settings and the sha256 of every source that went in. `--check` writes
// nothing and exits 1 when the committed artifacts differ from a fresh compile.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const CONTRACTS_DIR = path.resolve(__dirname, '..');
const SRC_DIR = path.join(CONTRACTS_DIR, 'src');
const OUT_DIR = path.resolve(CONTRACTS_DIR, '..', 'governance', 'abi');
const EXPORTED = [
  'GovernanceToken',
  'FairnessGovernor',
  'TimelockController',
  'TrainingPolicy',
  'AuditRegistry',
  'PolicyChangeClassifier',
  'ProviderRewards',
];
const check = process.argv.includes('--check');

const settings = JSON.parse(fs.readFileSync(path.join(__dirname, 'compiler-settings.json'), 'utf8'));

function sourceFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.sol') ? [full] : [];
  });
}

const sources = {};
for (const file of sourceFiles(SRC_DIR).sort()) {
  sources[path.relative(CONTRACTS_DIR, file).split(path.sep).join('/')] = { content: fs.readFileSync(file, 'utf8') };
}

function findImports(importPath) {
  const candidate = path.resolve(CONTRACTS_DIR, importPath);
  if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
  return { error: 'File not found: ' + importPath };
}

const input = {
  language: 'Solidity',
  sources,
  settings: {
    ...settings,
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'metadata'] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
if (errors.length) {
  for (const e of errors) process.stderr.write(e.formattedMessage + '\n');
  process.exitCode = 1;
  return;
}

const sha256 = (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');
const stale = [];
fs.mkdirSync(OUT_DIR, { recursive: true });
for (const name of EXPORTED) {
  const unit = Object.keys(output.contracts).find((file) => output.contracts[file][name]);
  const compiled = output.contracts[unit][name];
  const metadata = JSON.parse(compiled.metadata);
  const sourceHashes = {};
  for (const file of Object.keys(metadata.sources).sort()) {
    sourceHashes[file] = sha256(sources[file] ? sources[file].content : findImports(file).contents);
  }
  const artifact = {
    contractName: name,
    sourceName: unit,
    abi: compiled.abi,
    bytecode: '0x' + compiled.evm.bytecode.object,
    deployedBytecode: '0x' + compiled.evm.deployedBytecode.object,
    compiler: { name: 'solc', version: solc.version(), settings },
    sources: sourceHashes,
  };
  const text = JSON.stringify(artifact, null, 1) + '\n';
  const target = path.join(OUT_DIR, name + '.json');
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : null;
  if (current === text) continue;
  if (check) stale.push(name);
  else fs.writeFileSync(target, text);
  process.stdout.write((check ? 'stale: ' : 'wrote: ') + path.relative(process.cwd(), target) + '\n');
}
if (check && stale.length) {
  process.stderr.write('governance/abi is out of date for ' + stale.join(', ') + ': run ./dev.sh contracts and commit.\n');
  process.exitCode = 1;
}
