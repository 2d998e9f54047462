#!/usr/bin/env -S node --max-semi-space-size=8 --no-memory-reducer
// Entry point of the `armada` command; the implementation is compiled into dist/.
import { main } from "../dist/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === "number") process.exitCode = code; },
  (err) => { process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`); process.exit(1); },
);
