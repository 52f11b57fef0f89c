// Signs fairgov's prepared transaction, unchanged, with ethers v6 and with viem.
// stdin: {"key": "0x…", "transaction": {…}}; stdout: {"ethers": "0x…", "viem": "0x…"}.
import { Wallet } from "ethers";
import { privateKeyToAccount } from "viem/accounts";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { key, transaction } = JSON.parse(input);
const ethers = await new Wallet(key).signTransaction(transaction);
const viem = await privateKeyToAccount(key).signTransaction(transaction);
process.stdout.write(JSON.stringify({ ethers, viem }) + "\n");
