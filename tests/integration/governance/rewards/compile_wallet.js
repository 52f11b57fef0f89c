// Compiles contracts/src/test/ProviderWallet.sol (the EIP-1271 test wallet) with the
// project's npm solc and prints {abi, bytecode} for the Python claim tests.
'use strict';
const fs = require('fs');
const path = require('path');
const CONTRACTS = path.resolve(__dirname, '..', '..', '..', '..', 'contracts');
const solc = require(path.join(CONTRACTS, 'node_modules', 'solc'));
const file = 'src/test/ProviderWallet.sol';
const input = {
  language: 'Solidity',
  sources: { [file]: { content: fs.readFileSync(path.join(CONTRACTS, file), 'utf8') } },
  settings: { outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
};
const resolve = (p) => {
  for (const base of [CONTRACTS, path.join(CONTRACTS, 'node_modules')]) {
    const full = path.resolve(base, p);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, 'utf8') };
  }
  return { error: 'not found: ' + p };
};
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: resolve }));
const errors = (out.errors || []).filter((e) => e.severity === 'error');
if (errors.length) { process.stderr.write(JSON.stringify(errors)); process.exit(1); }
const c = out.contracts[file].ProviderWallet;
process.stdout.write(JSON.stringify({ abi: c.abi, bytecode: '0x' + c.evm.bytecode.object }));
