import { invariant } from './assert.js';
import type { ConfState } from './types.js';

/**
 * Membership changes, one node at a time. A change takes effect on each node when the entry carrying it
 * is applied (advance() does this), so every node moves through the same sequence of configurations, and
 * consecutive configurations differ by one voter: their majorities always overlap.
 */
export type ConfChangeType = 'addVoter' | 'addLearner' | 'removeNode';

/** One membership change. `addVoter` on a learner promotes it; `addLearner` on a voter demotes it. */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: number;
  /** Opaque application data (for example the new node's address), carried through the log. */
  readonly context?: Uint8Array;
}

const FORMAT_VERSION = 1;
const HEADER_BYTES = 10;
const TYPE_CODES: Record<ConfChangeType, number> = { addVoter: 1, addLearner: 2, removeNode: 3 };
const TYPES_BY_CODE: readonly (ConfChangeType | undefined)[] = [undefined, 'addVoter', 'addLearner', 'removeNode'];

/** Encodes a change as a confChange entry's data: version, type, node id (8 bytes, big endian), context. */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const context = change.context ?? new Uint8Array(0);
  const out = new Uint8Array(HEADER_BYTES + context.byteLength);
  const view = new DataView(out.buffer);
  out[0] = FORMAT_VERSION;
  out[1] = TYPE_CODES[change.type];
  view.setUint32(2, Math.floor(change.nodeId / 2 ** 32));
  view.setUint32(6, change.nodeId >>> 0);
  out.set(context, HEADER_BYTES);
  return out;
}

/** Decodes a confChange entry's data; throws InvariantError when it is malformed (a corrupted log). */
export function decodeConfChange(data: Uint8Array): ConfChange {
  invariant(data.byteLength >= HEADER_BYTES && data[0] === FORMAT_VERSION, () =>
    `conf change entry of ${data.byteLength} bytes has an unknown format (first byte ${data[0]}, expected ${FORMAT_VERSION})`);
  const type = TYPES_BY_CODE[data[1]!];
  invariant(type !== undefined, () => `conf change entry has unknown type code ${data[1]}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const nodeId = view.getUint32(2) * 2 ** 32 + view.getUint32(6);
  const context = data.byteLength > HEADER_BYTES ? data.slice(HEADER_BYTES) : undefined;
  return context === undefined ? { type, nodeId } : { type, nodeId, context };
}

/**
 * Why `change` cannot be applied to `conf`, or undefined if it can. Used both when proposing (to refuse
 * early) and when applying (an invalid change becomes a no-op identically on every node).
 */
export function confChangeProblem(conf: ConfState, change: ConfChange): string | undefined {
  const { nodeId } = change;
  if (!Number.isSafeInteger(nodeId) || nodeId < 1) return `node id ${nodeId} is not a positive integer`;
  const isVoter = conf.voters.includes(nodeId);
  const isLearner = conf.learners.includes(nodeId);
  switch (change.type) {
    case 'addVoter':
      return isVoter ? `node ${nodeId} is already a voter` : undefined;
    case 'addLearner':
      if (isLearner) return `node ${nodeId} is already a learner`;
      return isVoter && conf.voters.length === 1 ? `node ${nodeId} is the only voter` : undefined;
    case 'removeNode':
      if (!isVoter && !isLearner) return `node ${nodeId} is not a member`;
      return isVoter && conf.voters.length === 1 ? `node ${nodeId} is the only voter` : undefined;
  }
}

/** The configuration after `change` (which must be valid for `conf`). */
export function applyToConfState(conf: ConfState, change: ConfChange): ConfState {
  const voters = conf.voters.filter((id) => id !== change.nodeId);
  const learners = conf.learners.filter((id) => id !== change.nodeId);
  if (change.type === 'addVoter') voters.push(change.nodeId);
  if (change.type === 'addLearner') learners.push(change.nodeId);
  return { voters: voters.sort((a, b) => a - b), learners: learners.sort((a, b) => a - b) };
}
