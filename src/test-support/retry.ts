/**
 * Test support: retrying an operation while a cluster settles (leaders being elected, nodes restarting).
 */

/** Runs `operation` until it succeeds, every `intervalMs`; after `timeoutMs` its last error is thrown. */
export async function retry<T>(operation: () => Promise<T>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(intervalMs);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
