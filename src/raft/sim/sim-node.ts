import type { RaftConfig } from '../config.js';
import { MemoryStorage } from '../memory-storage.js';
import { RaftNode } from '../raft-node.js';
import type { Entry, Message, ReadState, Ready } from '../types.js';
import type { SafetyChecker } from './checker.js';
import { SimStateMachine } from './state-machine.js';

/** What a simulated node needs from the simulation while it handles a Ready. */
export interface NodeHost {
  readonly checker: SafetyChecker;
  /** Hands messages to the network. */
  send(messages: readonly Message[]): void;
  /** Whether to crash this node right after persisting, before its messages leave. */
  crashBeforeSend(node: SimNode): boolean;
  onApplied(node: SimNode, entry: Entry): void;
  onReadState(node: SimNode, readState: ReadState): void;
  /** After each Ready: reads waiting for the applied index may complete. */
  afterReady(node: SimNode): void;
  onBecameLeader(node: SimNode): void;
  /** Counts one occurrence of a rarely-taken path. */
  cover(what: string): void;
}

/** Snapshot policy for a node: every `interval` applied entries, keeping `overhead` entries. */
export interface SnapshotPolicy {
  readonly interval: number;
  readonly overhead: number;
}

/**
 * One simulated server: a MemoryStorage that survives crashes (it is "the disk"), and, while the node is
 * up, a RaftNode and the state machine. A crash drops everything but the storage.
 */
export class SimNode {
  readonly storage: MemoryStorage;
  raft: RaftNode | undefined = undefined;
  readonly sm = new SimStateMachine();
  /** Increases with every crash, so answers to requests made before a crash are ignored. */
  incarnation = 0;
  private persistedCommit = 0;

  constructor(readonly id: number, storage: MemoryStorage, private readonly snapshots: SnapshotPolicy) {
    this.storage = storage;
  }

  get alive(): boolean {
    return this.raft !== undefined;
  }

  /** Starts (or restarts) the node from its storage; the state machine is rebuilt from the snapshot and the log. */
  start(config: Omit<RaftConfig, 'id' | 'storage'>, host: NodeHost): void {
    const snap = this.storage.snapshot();
    this.sm.index = 0;
    this.sm.hash = 0;
    if (snap.metadata.index > 0) this.sm.restore(snap.data);
    this.persistedCommit = this.storage.initialState().hardState.commit;
    this.raft = new RaftNode({ ...config, id: this.id, storage: this.storage, applied: this.sm.index });
    this.processReady(host);
  }

  crash(): void {
    this.raft = undefined;
    this.incarnation++;
  }

  /** Handles Ready batches until there are none: persist, send, apply, advance, maybe snapshot. */
  processReady(host: NodeHost): void {
    while (this.raft !== undefined && this.raft.hasReady()) {
      const rd = this.raft.ready();
      this.persist(rd, host);
      if (host.crashBeforeSend(this)) {
        this.crash();
        return;
      }
      host.send(rd.messages);
      this.apply(rd, host);
      this.raft.advance(rd);
      if (rd.softState?.role === 'leader') host.onBecameLeader(this);
      this.maybeSnapshot(host);
      host.afterReady(this);
    }
  }

  private persist(rd: Ready, host: NodeHost): void {
    const checker = host.checker;
    if (rd.snapshot !== undefined) {
      checker.onSnapshot(this.id, rd.snapshot);
      host.cover('snapshotsInstalled');
      this.storage.applySnapshot(rd.snapshot);
    }
    if (rd.entries.length > 0) {
      checker.beforePersist(this.id, rd.entries, this.storage);
      this.storage.append(rd.entries);
      checker.afterPersist(this.id, rd.entries, this.storage);
    }
    if (rd.hardState !== undefined) {
      this.storage.setHardState(rd.hardState);
      if (rd.hardState.commit > this.persistedCommit) {
        checker.onCommit(this.id, this.persistedCommit, rd.hardState.commit, this.storage);
        this.persistedCommit = rd.hardState.commit;
      }
    }
  }

  private apply(rd: Ready, host: NodeHost): void {
    if (rd.snapshot !== undefined) {
      this.sm.restore(rd.snapshot.data);
      host.checker.checkStateHash(this.id, this.sm.index, this.sm.hash);
    }
    for (const e of rd.committedEntries) {
      const previous = this.sm.index;
      this.sm.apply(e);
      host.checker.onApply(this.id, previous, e, this.sm.hash);
      host.onApplied(this, e);
    }
    for (const rs of rd.readStates) host.onReadState(this, rs);
  }

  private maybeSnapshot(host: NodeHost): void {
    const snapIndex = this.storage.snapshot().metadata.index;
    if (this.sm.index - snapIndex < this.snapshots.interval) return;
    this.storage.createSnapshot(this.sm.index, this.raft!.confState(), this.sm.snapshotData());
    host.cover('snapshotsTaken');
    const compactIndex = this.sm.index - this.snapshots.overhead;
    if (compactIndex > this.storage.firstIndex() - 1) this.storage.compact(compactIndex);
  }
}
