/**
 * Cancellation of a waiting call, as the engine reads it: whether it fired, why, and a listener for when
 * it fires. An AbortSignal is one; {@link Canceller} is a cheaper one for the API's per-call use.
 *
 * Why not AbortSignal everywhere: making one (an AbortController, its EventTarget) was the largest single
 * item of a linearizable read's CPU profile, 5% of it, and every write and linearizable read needs one to
 * wait (docs/performance.md, change 21).
 */
import { AbortedError } from "./errors.js";

export interface Cancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** A Cancellation fired by calling {@link abort}; each listener runs once, in the order added. */
export class Canceller implements Cancellation {
  aborted = false;
  reason: unknown = undefined;
  #listeners: (() => void)[] | null = null;

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.aborted) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const listeners = this.#listeners;
    if (listeners === null) return;
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  }

  /** Fires (once): `aborted` becomes true, `reason` is set, every listener runs. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = null;
    if (listeners) for (const listener of listeners) listener();
  }
}

/** Why `cancellation` fired, as the error a waiter is rejected with (a reason that is not an Error reads as "cancelled"). */
export function cancellationError(cancellation: Cancellation): Error {
  const reason: unknown = cancellation.reason;
  return reason instanceof Error ? reason : new AbortedError("cancelled");
}

/** `cancellation` as an AbortSignal, for the APIs that need a real one (AbortSignal.any, timers). */
export function toAbortSignal(cancellation: Cancellation): AbortSignal {
  if (cancellation instanceof AbortSignal) return cancellation;
  const controller = new AbortController();
  if (cancellation.aborted) controller.abort(cancellation.reason);
  else cancellation.addEventListener("abort", () => controller.abort(cancellation.reason), { once: true });
  return controller.signal;
}
