/**
 * Helpers of the replication integration tests: retries while leaders are elected, polling for a
 * condition, and the flags that make a follower react within a second instead of the production defaults.
 */
import type { ArmadaClient } from "../../client/index.js";

/** Fast follower timing for tests: poll 100 ms, reconcile 500 ms, lease interval 300 ms (lease 1.2 s). */
export const FAST_FOLLOWER_FLAGS = [
  "--replication.poll-interval=100ms",
  "--replication.reconcile-interval=500ms",
  "--replication.lease-interval=300ms",
  "--replication.log-rpc-timeout=10s",
];

/** Polls `check` until it holds; fails with `what` when it does not within `timeoutMs`. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms${lastError ? ` (last error: ${String(lastError)})` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export { retry, sleep } from "../../test-support/retry.js";

/** Every key-value pair of `table` as "key=value" strings, read from the node's local replica. */
export async function dump(client: ArmadaClient, table: string): Promise<string[]> {
  const result = await client.range(table, "\0", { rangeEnd: "\0" });
  return result.kvs.map((kv) => `${Buffer.from(kv.key).toString()}=${Buffer.from(kv.value ?? []).toString()}`);
}
