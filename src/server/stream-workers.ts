/**
 * `--api.stream-workers` (spec §14.4): the reference sizes a pool of goroutines that run stream handlers.
 * Node has one event loop, so the equivalent that matters is a bound on the streaming handlers running at
 * once (IterateRange holds an LMDB read view and memory for its whole life). A stream past the bound
 * waits for a running one to end, like work queued for a busy pool, for at most `waitMs` or until the
 * call is cancelled or its deadline passes; then it is answered RESOURCE_EXHAUSTED.
 */
import { availableParallelism } from "node:os";
import type { CallContext, Handler, ServerStreamHandler } from "../api/bind.js";
import { Code, StatusError } from "../api/status.js";
import type { ServiceSpec } from "../proto/services.js";

/** Longest wait of a stream for a free worker before RESOURCE_EXHAUSTED. */
export const STREAM_WORKER_WAIT_MS = 5000;

/** The bound from the flag value: 0 means CPUs + 1 (the reference's default), negative means none. */
export function streamWorkersLimit(flag: number, cpus = availableParallelism()): number | undefined {
  if (flag < 0) return undefined;
  return flag === 0 ? cpus + 1 : flag;
}

/** A counting semaphore whose waiters give up on a signal or a timeout. */
export class StreamWorkers {
  private running = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly limit: number, private readonly waitMs = STREAM_WORKER_WAIT_MS) {}

  /** Streams running and waiting, for tests and diagnostics. */
  counts(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiters.length };
  }

  /** Runs `work` once a worker is free; throws RESOURCE_EXHAUSTED if none frees in time. */
  async run<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    await this.acquire(signal);
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const give = () => {
        cleanup();
        this.running++;
        resolve();
      };
      const giveUp = (error: Error) => {
        cleanup();
        const at = this.waiters.indexOf(give);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(error);
      };
      const timer = setTimeout(
        () => giveUp(new StatusError(Code.RESOURCE_EXHAUSTED, `all ${this.limit} stream workers are busy (--api.stream-workers); retry later`)),
        this.waitMs,
      );
      const onAbort = () => giveUp(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      const cleanup = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(give);
    });
  }

  private release(): void {
    this.running--;
    this.waiters.shift()?.();
  }
}

/** `handlers` with every server-streaming method of `spec` run through `workers`. */
export function limitStreams(spec: ServiceSpec, handlers: Readonly<Record<string, Handler>>, workers: StreamWorkers): Record<string, Handler> {
  const limited: Record<string, Handler> = { ...handlers };
  for (const [name, method] of Object.entries(spec.methods)) {
    const handler = handlers[name];
    if (!handler || method.kind !== "serverStream") continue;
    const stream = handler as ServerStreamHandler;
    limited[name] = ((request: never, context: CallContext, send: (message: object) => Promise<void>) =>
      workers.run(context.signal, () => stream(request, context, send))) as ServerStreamHandler;
  }
  return limited;
}
