import { test } from "node:test";
import assert from "node:assert/strict";
import { collectOwnGarbage } from "./own-gc.js";

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test("an object nothing refers to is gone after collectOwnGarbage, without --expose-gc on the command line", async () => {
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined", "run this test without --expose-gc");
  let garbage: object | null = { payload: new Array(1000).fill(7) };
  const ref = new WeakRef(garbage);
  garbage = null;
  // A WeakRef keeps its target alive until the end of the turn that made or read it.
  await turn();
  collectOwnGarbage();
  assert.equal(ref.deref(), undefined);
});

test("an object still referred to survives it", async () => {
  const kept = { payload: new Array(1000).fill(7) };
  const ref = new WeakRef(kept);
  await turn();
  collectOwnGarbage();
  assert.equal(ref.deref(), kept);
});
