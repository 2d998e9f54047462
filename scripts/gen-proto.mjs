// Generates the protobuf code from proto/ with protobufjs-cli (an npm package; no network, no protoc).
// The JavaScript goes straight to dist/proto/gen/ (it is runtime code, not compiled by tsc) and its
// type declarations to src/proto/gen/ so that TypeScript sources can import "../proto/gen/armada.js".
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", "protobufjs-cli", "bin", name);
const jsOut = join(root, "dist", "proto", "gen", "armada.js");
const dtsOut = join(root, "src", "proto", "gen", "armada.d.ts");
const sources = ["mvcc", "api", "replication", "maintenance"].map((f) => join(root, "proto", "armada", "v1", `${f}.proto`));

mkdirSync(dirname(jsOut), { recursive: true });
mkdirSync(dirname(dtsOut), { recursive: true });
execFileSync(process.execPath, [
  bin("pbjs"), "-t", "static-module", "-w", "es6", "--no-verify", "--no-convert", "--no-delimited",
  "--no-beautify", "-p", join(root, "proto"), "-o", jsOut, ...sources,
], { cwd: join(root, "proto"), stdio: "inherit" });
// Node's ESM resolver needs the file extension that the generator leaves out.
const js = readFileSync(jsOut, "utf8").replace(/from "protobufjs\/minimal"/g, 'from "protobufjs/minimal.js"');
writeFileSync(jsOut, js);
execFileSync(process.execPath, [bin("pbts"), "--no-comments", "-o", dtsOut, jsOut], { stdio: "inherit" });
