/**
 * Gives busy Maps and Sets a young hash table again after each full garbage collection, so that they
 * stop dragging every entry they ever held into the old generation.
 *
 * Why. A Map or Set keeps its entries in a hash table. When the table fills up with deleted entries, V8
 * builds a new one and leaves in the old one a link to it (and the entries it held), for iterators that
 * are still walking the old one. A full collection moves every live young object to the old generation,
 * so right after one, the table of a busy Map is old. The next time that table is replaced, the dead old
 * table points at its young successor, and a scavenge (which cannot tell a dead old object from a live
 * one) keeps the successor alive; it is promoted in turn and keeps its own successor alive, and so on:
 * every table, and every value that sat in one when it was replaced, goes to the old generation, until
 * the next full collection, which starts the chain again. node:http2 keeps such a Map per connection
 * (its open streams, by id), so under load every stream was promoted with its headers and buffers: on a
 * bare node:http2 server at 10,600 calls/s, 1.2–1.4 MB per scavenge (every scavenge), a full collection
 * every 0.5–3 s, each stopping the process for 15–130 ms. Copying the Map after each full collection
 * (the copy's table is young, and the promoted one is never written again, so it links to nothing) took
 * that to ~0.1 MB per scavenge and the server's CPU per call down by a tenth (docs/performance.md, change 33).
 *
 * What. {@link renewAfterFullGc} runs a callback after every full collection; {@link watchHttp2Session}
 * registers one that renews a node:http2 session's collections of streams for as long as it is open;
 * {@link FreshMap} is a Map that renews itself, for Armada's own tables of requests in flight.
 *
 * Renewals run in a task of their own, so code that walks a collection synchronously never sees it
 * change under it; a walk that spans an await keeps walking the copy it started with.
 *
 * How a full collection is noticed: by the death of a sentinel object held only by a FinalizationRegistry.
 * V8's scavenges keep such objects alive; only a full collection frees them, and the registry's callback
 * then runs in a task of its own. Until 2026-12-03 a PerformanceObserver on "gc" entries did it (Node then
 * builds an entry object at every collection); with it, or prom-client's GC histogram, in the process, a
 * node serving only reads promoted 3,184 bytes at every scavenge whatever the load, garbage that only a
 * full collection frees. With no "gc" observer in the process nothing is promoted (docs/performance.md,
 * change 53).
 */
import type { Http2Session } from "node:http2";

type Renewal = () => void;

const renewals = new Set<Renewal>();

/** Calls the renewals when its sentinel dies (in a full collection), and sets a new sentinel. */
const fullCollections = new FinalizationRegistry<undefined>(onFullCollection);
/** Whether a sentinel is alive (one at a time). */
let sentinelSet = false;

function setSentinel(): void {
  if (sentinelSet || renewals.size === 0) return;
  sentinelSet = true;
  // Held by nothing but the registry: the next full collection frees it.
  fullCollections.register({}, undefined);
}

function onFullCollection(): void {
  sentinelSet = false;
  for (const each of renewals) each();
  setSentinel();
}

/** Runs `renew` shortly after every full collection (in a task of its own) until the returned function is called. */
export function renewAfterFullGc(renew: Renewal): () => void {
  renewals.add(renew);
  setSentinel();
  // A sentinel left set when the last renewal goes dies at the next full collection and calls nobody.
  return () => {
    renewals.delete(renew);
  };
}

/** How many renewals are registered (for tests). */
export function registeredRenewals(): number {
  return renewals.size;
}

/** Sessions already watched (a property would change the session's shape; a WeakSet does not). */
const watched = new WeakSet<Http2Session>();

/**
 * Renews `session`'s collections of open and pending streams after every full collection while it is
 * open (idempotent; cheap enough to call for every stream). node:http2 keeps them in its private state
 * object and reads them through it on every use, never holding one across tasks, so swapping in a copy
 * between tasks is invisible to it. A Node.js whose sessions are shaped differently is left alone.
 */
export function watchHttp2Session(session: Http2Session | undefined): void {
  if (session === undefined || watched.has(session)) return;
  watched.add(session);
  const state = privateState(session);
  if (state === undefined) return;
  const stop = renewAfterFullGc(() => {
    state.streams = copyOf(state.streams);
    state.pendingStreams = copyOf(state.pendingStreams);
  });
  session.once("close", stop);
}

interface StreamCollections {
  streams: Map<number, unknown>;
  pendingStreams: Set<unknown>;
}

function privateState(session: Http2Session): StreamCollections | undefined {
  const key = Object.getOwnPropertySymbols(session).find((symbol) => symbol.description === "state");
  const state = key === undefined ? undefined : (session as unknown as Record<symbol, unknown>)[key];
  if (typeof state !== "object" || state === null) return undefined;
  const candidate = state as Partial<StreamCollections>;
  // node:http2 uses its own Map and Set subclasses, which are not instances of the global ones.
  if (kindOf(candidate.streams) !== "[object Map]" || kindOf(candidate.pendingStreams) !== "[object Set]") return undefined;
  return candidate as StreamCollections;
}

function kindOf(value: unknown): string {
  return Object.prototype.toString.call(value);
}

/** A copy of the same class (node:http2's "safe" subclasses take an iterable, as Map and Set do). */
function copyOf<C extends Map<unknown, unknown> | Set<unknown>>(collection: C): C {
  const Class = collection.constructor as new (entries: Iterable<unknown>) => C;
  return new Class(collection as Iterable<unknown>);
}

/**
 * A Map for entries that come and go quickly (requests in flight, by id) that moves to a fresh hash table
 * after each full collection. Offers the part of Map's interface this code base uses.
 */
export class FreshMap<K, V> implements Iterable<[K, V]> {
  #map = new Map<K, V>();

  constructor() {
    trackFreshMap(this as FreshMap<unknown, unknown>);
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): this {
    this.#map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Empties the map (with a new table: Map.prototype.clear would link the old table to the new one). */
  clear(): void {
    this.#map = new Map();
  }

  keys(): IterableIterator<K> {
    return this.#map.keys();
  }

  values(): IterableIterator<V> {
    return this.#map.values();
  }

  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.#map.entries();
  }

  /** Moves the entries to a fresh table (after a full collection). */
  renew(): void {
    this.#map = new Map(this.#map);
  }
}

/** Every FreshMap alive, held weakly so that a map dropped with its owner is not kept. */
const freshMaps = new Set<WeakRef<FreshMap<unknown, unknown>>>();

function trackFreshMap(map: FreshMap<unknown, unknown>): void {
  if (freshMaps.size === 0) renewAfterFullGc(renewFreshMaps);
  freshMaps.add(new WeakRef(map));
}

function renewFreshMaps(): void {
  for (const ref of freshMaps) {
    const map = ref.deref();
    if (map === undefined) freshMaps.delete(ref);
    else map.renew();
  }
}
