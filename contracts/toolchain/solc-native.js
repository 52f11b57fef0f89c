#!/usr/bin/env node
// Serves npm `solc` (solc-js) through the two parts of the native solc command line that
// py-solc-x and brownie use: `--version` and `--standard-json` (stdin -> stdout).
// Imports that the standard JSON input does not carry are read from the base path, the
// allow paths and node_modules, so OpenZeppelin remappings resolve offline.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const args = process.argv.slice(2);

function optionValues(name) {
  const values = [];
  args.forEach((arg, i) => {
    if (arg === name && i + 1 < args.length) values.push(args[i + 1]);
    else if (arg.startsWith(name + '=')) values.push(arg.slice(name.length + 1));
  });
  return values.flatMap((v) => v.split(',')).filter(Boolean);
}

if (args.includes('--version')) {
  // Native solc prints this banner; py-solc-x parses the "Version:" line.
  process.stdout.write('solc, the solidity compiler commandline interface\n');
  process.stdout.write('Version: ' + solc.version() + '\n');
} else if (args.includes('--standard-json')) {
  const roots = [process.cwd(), ...optionValues('--base-path'), ...optionValues('--allow-paths'),
    ...optionValues('--include-path'), path.join(__dirname, '..')];
  const findImports = (importPath) => {
    for (const root of roots) {
      for (const candidate of [path.resolve(root, importPath), path.resolve(root, 'node_modules', importPath)]) {
        if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
      }
    }
    return { error: 'File not found: ' + importPath };
  };
  const input = fs.readFileSync(0, 'utf8');
  // Let Node exit on its own: an explicit exit right after a large write truncates a pipe.
  process.stdout.write(solc.compile(input, { import: findImports }));
} else {
  process.stderr.write('solc-native.js supports only --version and --standard-json\n');
  process.exitCode = 2;
}
