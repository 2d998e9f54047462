import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { fullGc } from "../test-support/full-gc.js";
import { CommandType, withTable } from "./testkit.js";

const VALUE_BYTES = 1024 * 1024;
const VALUE_COUNT = 96;
/** Allowed growth of JS memory while streaming 96 MiB: a few responses or chunks in flight (measured: about 4 MiB for IterateRange, 10 MiB for snapshot plus recovery), never the table. */
const GROWTH_BYTES_MAX = 24 * 1024 * 1024;

/** Tracks the peak of heap plus ArrayBuffer memory above a baseline, measured after forced collections. */
class MemoryProbe {
  readonly #baseline: number;
  peak = 0;

  private constructor(baseline: number) {
    this.#baseline = baseline;
  }

  static async start(): Promise<MemoryProbe> {
    await settle();
    return new MemoryProbe(MemoryProbe.#used());
  }

  static #used(): number {
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  }

  async sample(): Promise<void> {
    await settle();
    this.peak = Math.max(this.peak, MemoryProbe.#used() - this.#baseline);
  }
}

/** Collects garbage twice around a turn of the event loop, so native buffers' finalizers have run. */
async function settle(): Promise<void> {
  fullGc();
  await new Promise((resolve) => setImmediate(resolve));
  fullGc();
}

test("IterateRange, snapshot and recovery of 96 MiB stay within bounded memory", async () => {
  // Proves streaming: walking a 96 MiB table through IterateRange, snapshot() and recoverFromSnapshot
  // never holds more than a few MiB of it in memory at once.
  await withTable(async (table) => {
    for (let i = 0; i < VALUE_COUNT; i += 8) {
      const batch = Array.from({ length: 8 }, (_, j) => ({ type: CommandType.PUT_BATCH, batch: [{ key: Buffer.from(`big-${String(i + j).padStart(3, "0")}`), value: randomBytes(VALUE_BYTES) }] }));
      await table.apply(...batch);
    }
    const all = { key: Buffer.of(0), rangeEnd: Buffer.of(0) };

    const iterateProbe = await MemoryProbe.start();
    let seen = 0;
    for (const chunk of table.sm.iterateRange(all)) {
      seen += chunk.count;
      await iterateProbe.sample();
    }
    assert.equal(seen, VALUE_COUNT);
    assert.ok(iterateProbe.peak < GROWTH_BYTES_MAX, `IterateRange grew memory by ${iterateProbe.peak} bytes`);

    const snapshotProbe = await MemoryProbe.start();
    const snapshot = table.sm.snapshot();
    let framedBytes = 0;
    let pieces = 0;
    await withTable(async (target) => {
      async function* counted(): AsyncGenerator<Uint8Array> {
        for await (const piece of snapshot.chunks()) {
          framedBytes += piece.length;
          if (++pieces % 8 === 0) await snapshotProbe.sample();
          yield piece;
        }
      }
      const recovered = await target.sm.recoverFromSnapshot(counted());
      assert.equal(recovered.keys, VALUE_COUNT);
      assert.equal(target.sm.range({ ...all, countOnly: true }).count, VALUE_COUNT);
      const [sourceLast] = table.sm.range({ key: Buffer.from("big-095") }).kvs;
      const [targetLast] = target.sm.range({ key: Buffer.from("big-095") }).kvs;
      assert.ok(Buffer.from(sourceLast!.value!).equals(Buffer.from(targetLast!.value!)));
    });
    assert.ok(framedBytes > VALUE_COUNT * VALUE_BYTES, "random values are stored uncompressed");
    assert.ok(snapshotProbe.peak < GROWTH_BYTES_MAX, `snapshot + recovery grew memory by ${snapshotProbe.peak} bytes`);
  });
});
