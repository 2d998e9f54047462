import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { LEADER_RECONNECT_BACKOFF_MAX_MS, LeaderConnection } from "./leader-connection.js";

const NO_TLS = { certFilename: "", keyFilename: "", caFilename: "", insecureSkipVerify: false, serverName: "" };
/** grpc-js spreads each wait by up to ±20%; the rest is the event loop's slack. */
const LONGEST_GAP_MS = LEADER_RECONNECT_BACKOFF_MAX_MS * 1.2 + 500;
/** Seven attempts: with grpc-js's own growth (1 s × 1.6ⁿ) the sixth wait alone is over 8 s. */
const ATTEMPTS = 7;

test("a follower whose leader keeps refusing retries at least every few seconds, not after minutes", { timeout: 45_000 }, async () => {
  // A "leader" that accepts each connection and drops it at once: every attempt of the channel fails.
  const attemptsAt: number[] = [];
  const server = createServer((socket) => {
    attemptsAt.push(Date.now());
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const connection = new LeaderConnection({ address: `http://127.0.0.1:${port}`, tls: NO_TLS, maxRecvMessageBytes: 0, keepaliveTimeMs: 60_000, keepaliveTimeoutMs: 10_000 });
  const stop = new AbortController();
  // A Replicate call waits for the connection (waitForReady), so the channel keeps trying while it is out.
  const call = connection.replicate("edge", 1, 60_000, stop.signal)[Symbol.asyncIterator]().next().catch(() => undefined);
  try {
    const gaps = () => attemptsAt.slice(1).map((at, i) => at - attemptsAt[i]!);
    while (attemptsAt.length < ATTEMPTS && !gaps().some((gap) => gap > LONGEST_GAP_MS) && (attemptsAt.length === 0 || Date.now() - attemptsAt.at(-1)! <= LONGEST_GAP_MS)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const waited = attemptsAt.length > 0 ? Date.now() - attemptsAt.at(-1)! : 0;
    assert.ok(attemptsAt.length >= ATTEMPTS, `only ${attemptsAt.length} attempts, gaps ${gaps().join(", ")} ms, then ${waited} ms without one`);
    assert.ok(gaps().every((gap) => gap <= LONGEST_GAP_MS), `gaps between attempts ${gaps().join(", ")} ms, over ${LONGEST_GAP_MS}`);
  } finally {
    stop.abort();
    await call;
    connection.close();
    server.close();
  }
});
