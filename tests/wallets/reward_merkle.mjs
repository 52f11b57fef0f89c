// Builds OpenZeppelin's StandardMerkleTree of fairgov's reward leaves and checks given proofs.
// stdin: {"values": [["0x<provider>", "<amount, decimal>"], …], "check": [{"value": […], "proof": […]}, …]}
// stdout: {"root": "0x…", "proofs": [[…] per value, in input order], "verified": [bool per check]}.
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const ENCODING = ["address", "uint256"];
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { values, check = [] } = JSON.parse(input);
const tree = StandardMerkleTree.of(values, ENCODING);
const proofs = values.map((_, i) => tree.getProof(i));
const verified = check.map(({ value, proof }) =>
  StandardMerkleTree.verify(tree.root, ENCODING, value, proof),
);
process.stdout.write(JSON.stringify({ root: tree.root, proofs, verified }) + "\n");
