import type { RaftStorage } from '../storage.js';
import type { Entry, Snapshot } from '../types.js';
import { fnv1a } from './state-machine.js';

/** The safety properties the simulator checks after every step. */
export type ViolationKind =
  | 'electionSafety'
  | 'logMatching'
  | 'leaderCompleteness'
  | 'committedEntryChanged'
  | 'stateMachineSafety'
  | 'applyOrder'
  | 'linearizableRead'
  | 'liveness'
  | 'raftInvariant';

/** A broken property, with enough detail to start debugging from the seed. */
export class SimViolation extends Error {
  constructor(readonly kind: ViolationKind, detail: string) {
    super(`${kind}: ${detail}`);
    this.name = 'SimViolation';
  }
}

/** Identity of a log entry as seen in some log: its data hash and the term of the entry before it. */
interface EntryIdentity {
  readonly dataHash: number;
  readonly previousTerm: number;
}

const TERM_KEY_SPACE = 1 << 20;

/**
 * Global knowledge accumulated over a run, checked incrementally as nodes persist, commit, apply and win
 * elections. Each check is O(change), except leader completeness, which is O(committed log) per election.
 */
export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, number>();
  /** Term of every entry known committed, by index. */
  private readonly committedTerm: number[] = [];
  private maxCommitted = 0;
  /** (index, term) → identity, for the log matching property. */
  private readonly identities = new Map<number, EntryIdentity>();
  /** State hash after applying each index, and the term of the entry applied there. */
  private readonly appliedHash: number[] = [];
  private readonly appliedTerm: number[] = [];

  /** At most one leader per term (§5.2 election safety). */
  onBecameLeader(nodeId: number, term: number, storage: RaftStorage): void {
    const existing = this.leaderOfTerm.get(term);
    if (existing !== undefined && existing !== nodeId) {
      throw new SimViolation('electionSafety', `nodes ${existing} and ${nodeId} are both leader of term ${term}`);
    }
    this.leaderOfTerm.set(term, nodeId);
    this.checkLeaderCompleteness(nodeId, term, storage);
  }

  /** Appends, heartbeats and snapshots are sent only by the leader of their term. */
  onLeaderMessage(nodeId: number, term: number): void {
    const existing = this.leaderOfTerm.get(term);
    if (existing === undefined) this.leaderOfTerm.set(term, nodeId);
    else if (existing !== nodeId) {
      throw new SimViolation('electionSafety', `node ${nodeId} sends leader messages in term ${term}, whose leader is node ${existing}`);
    }
  }

  /** A new leader's log holds every entry committed so far (§5.4 leader completeness). */
  private checkLeaderCompleteness(nodeId: number, term: number, storage: RaftStorage): void {
    if (storage.lastIndex() < this.maxCommitted) {
      throw new SimViolation('leaderCompleteness',
        `node ${nodeId} became leader of term ${term} with last index ${storage.lastIndex()} but index ${this.maxCommitted} is committed`);
    }
    for (let i = Math.max(storage.firstIndex(), 1); i <= this.maxCommitted; i++) {
      const expected = this.committedTerm[i];
      if (expected !== undefined && storage.term(i) !== expected) {
        throw new SimViolation('leaderCompleteness',
          `node ${nodeId} became leader of term ${term} with term ${storage.term(i)} at committed index ${i} (committed term ${expected})`);
      }
    }
  }

  /**
   * Called before `entries` are written to `storage`: a node must never replace an entry it holds that is
   * committed. (It may hold a different, uncommitted entry at a committed index, e.g. as a deposed leader.)
   */
  beforePersist(nodeId: number, entries: readonly Entry[], storage: RaftStorage): void {
    for (const e of entries) {
      if (e.index > this.maxCommitted) break;
      const expected = this.committedTerm[e.index];
      if (expected === undefined || expected === e.term) continue;
      if (e.index >= storage.firstIndex() && e.index <= storage.lastIndex() && storage.term(e.index) === expected) {
        throw new SimViolation('committedEntryChanged',
          `node ${nodeId} overwrites committed entry ${e.index} (term ${expected}) with term ${e.term}`);
      }
    }
  }

  /** Called after `entries` were written: two logs with an entry of equal (index, term) agree on it and everything before. */
  afterPersist(nodeId: number, entries: readonly Entry[], storage: RaftStorage): void {
    for (const e of entries) {
      if (e.index < storage.firstIndex()) continue;
      const previousTerm = storage.term(e.index - 1);
      const key = e.index * TERM_KEY_SPACE + e.term;
      const identity = { dataHash: fnv1a(e.data), previousTerm };
      const known = this.identities.get(key);
      if (known === undefined) {
        this.identities.set(key, identity);
      } else if (known.dataHash !== identity.dataHash || known.previousTerm !== identity.previousTerm) {
        throw new SimViolation('logMatching',
          `node ${nodeId} stores a different entry at index ${e.index} term ${e.term} (previous term ${previousTerm} vs ${known.previousTerm})`);
      }
    }
  }

  /** Records entries newly committed on a node; all nodes must agree on what is committed. */
  onCommit(nodeId: number, previousCommit: number, commit: number, storage: RaftStorage): void {
    const from = Math.max(previousCommit + 1, storage.firstIndex());
    for (let i = from; i <= commit; i++) this.recordCommitted(nodeId, i, storage.term(i));
  }

  /** A snapshot is committed state: its (index, term) must match the committed history. */
  onSnapshot(nodeId: number, snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    this.recordCommitted(nodeId, index, term);
  }

  private recordCommitted(nodeId: number, index: number, term: number): void {
    const known = this.committedTerm[index];
    if (known === undefined) {
      this.committedTerm[index] = term;
      if (index > this.maxCommitted) this.maxCommitted = index;
    } else if (known !== term) {
      throw new SimViolation('committedEntryChanged',
        `node ${nodeId} commits term ${term} at index ${index}, where term ${known} was committed`);
    }
  }

  /** No two nodes apply different entries at the same index; the state after each index is the same everywhere. */
  onApply(nodeId: number, previousIndex: number, entry: Entry, hash: number): void {
    if (entry.index !== previousIndex + 1) {
      throw new SimViolation('applyOrder', `node ${nodeId} applies index ${entry.index} right after ${previousIndex}`);
    }
    const knownTerm = this.appliedTerm[entry.index];
    if (knownTerm !== undefined && knownTerm !== entry.term) {
      throw new SimViolation('stateMachineSafety',
        `node ${nodeId} applies term ${entry.term} at index ${entry.index}, another node applied term ${knownTerm}`);
    }
    this.checkStateHash(nodeId, entry.index, hash);
    this.appliedTerm[entry.index] = entry.term;
  }

  /** A node's state (from a snapshot, or after applying) matches the history at that index. */
  checkStateHash(nodeId: number, index: number, hash: number): void {
    const known = this.appliedHash[index];
    if (known === undefined) {
      this.appliedHash[index] = hash;
    } else if (known !== hash) {
      throw new SimViolation('stateMachineSafety', `node ${nodeId} has state ${hash} after index ${index}, another node had ${known}`);
    }
  }

  /** Highest index known committed anywhere. */
  get committedIndex(): number {
    return this.maxCommitted;
  }

  /** Number of distinct leaders elected (one per term that had one). */
  get elections(): number {
    return this.leaderOfTerm.size;
  }
}
