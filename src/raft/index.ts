/**
 * Armada's Raft core: a synchronous, deterministic Raft state machine in the shape of etcd's raft
 * library, plus its storage interface and an in-memory storage. See RaftNode for the driving contract.
 */
export { RaftNode } from './raft-node.js';
export type { RaftConfig, UnsafeTestingKnobs } from './config.js';
export type { RaftStorage, InitialState } from './storage.js';
export { MemoryStorage } from './memory-storage.js';
export { bootstrapState, type BootstrapState } from './bootstrap.js';
export {
  encodeConfChange,
  decodeConfChange,
  type ConfChange,
  type ConfChangeType,
} from './confchange.js';
export { SeededRandom, type Random } from './prng.js';
export { entryBytes } from './entry-utils.js';
export * from './errors.js';
export * from './limits.js';
export * from './types.js';
