import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const BENCH = fileURLToPath(new URL("./index.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [BENCH, ...args], { encoding: "utf8", timeout: 20_000 });

test("--help prints every flag and exits 0 without starting anything", () => {
  const result = run("--help");
  assert.equal(result.status, 0, result.stderr);
  for (const flag of ["--duration", "--warmup", "--long", "--quick", "--clients", "--streams", "--only", "--no-1m", "--pairs", "--shared-cores", "--json", "--help"]) {
    assert.match(result.stdout, new RegExp(`^  ${flag}\\b`, "m"), `${flag} missing from the usage`);
  }
});

test("an unknown flag or a bad number is one line on stderr and exit status 2", () => {
  for (const args of [["--bogus"], ["--duration=0"], ["--pairs=1.5"]]) {
    const result = run(...args);
    assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /^bench: .+\n$/, args.join(" "));
  }
});
