import assert from "node:assert/strict";
import { test } from "node:test";
import { ToolLog } from "./tool-log.js";

async function drain(source: AsyncIterable<Uint8Array>): Promise<number> {
  let count = 0;
  for await (const _ of source) count++;
  return count;
}

async function* pieces(): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(1024 * 1024);
}

test("progress is drawn on a terminal's stderr only, and cleared before the next log line", async () => {
  // Proves the progress bar never reaches JSON logs, pipes or stdout.
  const sink = (isTTY: boolean) => {
    const out = { stdout: "", stderr: "" };
    const output = { stdout: { write: (t: string) => (out.stdout += t) }, stderr: { isTTY, write: (t: string) => (out.stderr += t) } };
    return { out, output };
  };
  const terminal = sink(true);
  const log = new ToolLog(terminal.output, false);
  assert.equal(await drain(log.progress("table 't'", pieces(), 2 * 1024 * 1024)), 1);
  log.info("done");
  assert.equal(terminal.out.stderr, "\rtable 't': 1.0 / 2.0 MiB (50%)\x1b[K\r\x1b[K");
  assert.equal(terminal.out.stdout, "done\n");
  for (const [isTTY, json] of [[false, false], [true, true]] as const) {
    const other = sink(isTTY);
    await drain(new ToolLog(other.output, json).progress("t", pieces()));
    assert.equal(other.out.stderr, "");
  }
});
