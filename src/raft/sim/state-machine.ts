import type { Entry } from '../types.js';

/** 32-bit FNV-1a of a byte array. */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.byteLength; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Folds one applied entry into a running state hash. */
export function chainHash(previous: number, index: number, dataHash: number): number {
  let h = Math.imul(previous ^ dataHash, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ index, 0x85ebca77);
  return (h ^ (h >>> 13)) >>> 0;
}

const SNAPSHOT_BYTES = 12;

/**
 * The simulated application: its whole state is (last applied index, hash of every applied entry's
 * data in order). Two replicas with equal hashes at equal indices applied the same commands; a snapshot
 * is just that pair, so installing one is checked against the history like any apply.
 */
export class SimStateMachine {
  index = 0;
  hash = 0;

  apply(entry: Entry): void {
    this.index = entry.index;
    this.hash = chainHash(this.hash, entry.index, fnv1a(entry.data));
  }

  snapshotData(): Uint8Array {
    const out = new Uint8Array(SNAPSHOT_BYTES);
    const view = new DataView(out.buffer);
    view.setUint32(0, Math.floor(this.index / 2 ** 32));
    view.setUint32(4, this.index >>> 0);
    view.setUint32(8, this.hash);
    return out;
  }

  restore(data: Uint8Array): void {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.index = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
    this.hash = view.getUint32(8);
  }
}
