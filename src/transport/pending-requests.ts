/**
 * The dialer's table of requests sent to one peer and not yet answered: each has an id, a timeout, and is
 * settled by the matching RESPONSE, its timeout, or the loss of the connection it was sent on.
 */
import { RequestFailedError } from "./errors.js";
import { REQUESTS_IN_FLIGHT_MAX } from "./limits.js";
import type { ResponseFrame } from "./request-frames.js";
import { FreshMap } from "../runtime/fresh-tables.js";

interface Pending {
  readonly resolve: (body: Uint8Array) => void;
  readonly reject: (error: RequestFailedError) => void;
  readonly timer: NodeJS.Timeout;
}

/** Requests in flight to one peer. */
export class PendingRequests {
  readonly #peerId: number;
  readonly #pending = new FreshMap<number, Pending>();
  #nextId = 1;

  constructor(peerId: number) {
    this.#peerId = peerId;
  }

  /** Requests awaiting an answer. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Registers a request; `send(id)` must write it. The promise settles with the response body or a
   * RequestFailedError (tooManyRequests, timeout, connectionLost, remoteError).
   */
  start(timeoutMs: number, send: (requestId: number) => void): Promise<Uint8Array> {
    if (this.#pending.size >= REQUESTS_IN_FLIGHT_MAX) {
      return Promise.reject(new RequestFailedError(this.#peerId, "tooManyRequests", `${REQUESTS_IN_FLIGHT_MAX} requests already await an answer`));
    }
    const requestId = this.#nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new RequestFailedError(this.#peerId, "timeout", `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(requestId, { resolve, reject, timer });
      send(requestId);
    });
  }

  /** Settles the request a RESPONSE answers; answers to unknown ids (timed out already) are ignored. */
  settle(response: ResponseFrame): void {
    const pending = this.#pending.get(response.requestId);
    if (pending === undefined) return;
    this.#pending.delete(response.requestId);
    clearTimeout(pending.timer);
    if (response.ok) pending.resolve(Uint8Array.prototype.slice.call(response.body));
    else pending.reject(new RequestFailedError(this.#peerId, "remoteError", response.reason));
  }

  /** Fails every request in flight (their connection is gone, so no answer can come). */
  failAll(detail: string): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new RequestFailedError(this.#peerId, "connectionLost", detail));
    }
    this.#pending.clear();
  }
}
