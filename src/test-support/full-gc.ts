/**
 * `fullGc()`: one full garbage collection of this process, now, whatever its command line.
 *
 * Node gives `gc()` only to processes started with --expose-gc; setting the flag at run time and taking
 * the function from a new context gives it to this one. For tests that need a collection at a known
 * point, and for the bench, which keeps its own collections out of measured runs (bench/own-gc.ts).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let collect: (() => void) | null = null;

export function fullGc(): void {
  if (collect === null) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as () => void;
  }
  collect();
}
