// Signs EIP-712 typed data, as fairgov serves it, with ethers v6 and with viem.
// stdin: {"key": "0x…", "typed_data": {types, primaryType, domain, message}};
// stdout: {"ethers": "0x…", "viem": "0x…"}.
import { Wallet } from "ethers";
import { privateKeyToAccount } from "viem/accounts";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { key, typed_data: typed } = JSON.parse(input);
const { EIP712Domain, ...types } = typed.types; // ethers derives the domain type itself
const ethers = await new Wallet(key).signTypedData(typed.domain, types, typed.message);
// fairgov sends integers as decimal strings (they may exceed 2^53); viem takes bigints.
const message = Object.fromEntries(
  types[typed.primaryType].map(({ name, type }) => [
    name,
    /^u?int/.test(type) ? BigInt(typed.message[name]) : typed.message[name],
  ]),
);
const viem = await privateKeyToAccount(key).signTypedData({
  domain: typed.domain,
  types,
  primaryType: typed.primaryType,
  message,
});
process.stdout.write(JSON.stringify({ ethers, viem }) + "\n");
