import { NotLeaderError, ProposalDroppedError } from '../errors.js';
import type { SeededRandom } from '../prng.js';
import type { Entry, ReadState } from '../types.js';
import { SimViolation } from './checker.js';
import type { SafetyChecker } from './checker.js';
import type { SimNode } from './sim-node.js';

interface PendingWrite {
  readonly id: number;
  readonly incarnation: number;
  readonly term: number;
}

interface PendingRead {
  readonly node: number;
  readonly incarnation: number;
  /** Highest index of a write acknowledged before the read started: the read must see it. */
  readonly requiredIndex: number;
  readIndex: number | undefined;
}

/** Counters the client reports. */
export interface ClientStats {
  writesProposed: number;
  writesAcked: number;
  writesRefused: number;
  readsStarted: number;
  readsChecked: number;
  readsRefused: number;
}

/**
 * The simulated clients: propose writes with unique payloads and issue ReadIndex reads, on the leader or
 * on any node. A write is acknowledged when the node that accepted it applies it at the index it was given;
 * a read is checked when its node has applied up to the confirmed read index.
 */
export class SimClient {
  readonly stats: ClientStats = { writesProposed: 0, writesAcked: 0, writesRefused: 0, readsStarted: 0, readsChecked: 0, readsRefused: 0 };
  /** Highest index of any acknowledged write. */
  ackedMaxIndex = 0;
  private nextId = 1;
  private readonly writes = new Map<number, Map<number, PendingWrite>>();
  private readonly reads = new Map<number, PendingRead>();
  private readonly waitingReads = new Map<number, Set<number>>();
  /** Ids of writes acknowledged (the liveness phase waits for one of its own). */
  readonly acked = new Set<number>();

  constructor(
    private readonly random: SeededRandom,
    private readonly checker: SafetyChecker,
    private readonly payloadBytesMax: number,
    private readonly cover: (what: string) => void,
  ) {}

  private refused(err: unknown): void {
    if (err instanceof NotLeaderError) this.cover('refusedNotLeader');
    else if (err instanceof ProposalDroppedError) this.cover(`dropped:${err.reason}`);
    else throw err;
  }

  /** Proposes a write on `node`; returns the write id, or undefined if the node refused it. */
  write(node: SimNode): number | undefined {
    const id = this.nextId++;
    const data = new Uint8Array(4 + this.random.nextInt(this.payloadBytesMax + 1));
    new DataView(data.buffer).setUint32(0, id);
    for (let i = 4; i < data.byteLength; i++) data[i] = this.random.nextInt(256);
    try {
      const ticket = node.raft!.propose(data);
      let byIndex = this.writes.get(node.id);
      if (byIndex === undefined) this.writes.set(node.id, (byIndex = new Map()));
      byIndex.set(ticket.index, { id, incarnation: node.incarnation, term: ticket.term });
      this.stats.writesProposed++;
      return id;
    } catch (err) {
      this.refused(err);
      this.stats.writesRefused++;
      return undefined;
    }
  }

  /** Starts a linearizable read on `node`. */
  read(node: SimNode): void {
    const id = this.nextId++;
    const context = new Uint8Array(4);
    new DataView(context.buffer).setUint32(0, id);
    try {
      node.raft!.readIndex(context);
      this.reads.set(id, { node: node.id, incarnation: node.incarnation, requiredIndex: this.ackedMaxIndex, readIndex: undefined });
      this.stats.readsStarted++;
    } catch (err) {
      this.refused(err);
      this.stats.readsRefused++;
    }
  }

  onApplied(node: SimNode, entry: Entry): void {
    const byIndex = this.writes.get(node.id);
    const pending = byIndex?.get(entry.index);
    if (pending === undefined) return;
    byIndex!.delete(entry.index);
    if (pending.incarnation !== node.incarnation || pending.term !== entry.term) return;
    this.stats.writesAcked++;
    this.acked.add(pending.id);
    if (entry.index > this.ackedMaxIndex) this.ackedMaxIndex = entry.index;
  }

  /** A read index arrived: it must cover every write acknowledged before the read began. */
  onReadState(node: SimNode, readState: ReadState): void {
    const id = new DataView(readState.context.buffer, readState.context.byteOffset).getUint32(0);
    const read = this.reads.get(id);
    if (read === undefined || read.node !== node.id || read.incarnation !== node.incarnation || read.readIndex !== undefined) return;
    if (readState.index < read.requiredIndex) {
      throw new SimViolation('linearizableRead',
        `read ${id} on node ${node.id} got read index ${readState.index}, but a write at index ${read.requiredIndex} was acknowledged before it started`);
    }
    read.readIndex = readState.index;
    let waiting = this.waitingReads.get(node.id);
    if (waiting === undefined) this.waitingReads.set(node.id, (waiting = new Set()));
    waiting.add(id);
  }

  /** Serves reads whose index the node has now applied, checking the state they observe. */
  completeReads(node: SimNode): void {
    const waiting = this.waitingReads.get(node.id);
    if (waiting === undefined || waiting.size === 0) return;
    for (const id of waiting) {
      const read = this.reads.get(id)!;
      if (read.incarnation !== node.incarnation) {
        waiting.delete(id);
        this.reads.delete(id);
        continue;
      }
      if (node.sm.index < read.readIndex!) continue;
      this.checker.checkStateHash(node.id, node.sm.index, node.sm.hash);
      this.stats.readsChecked++;
      waiting.delete(id);
      this.reads.delete(id);
    }
  }

  /** A node crashed: its pending requests have unknown outcomes and are forgotten. */
  onCrash(node: SimNode): void {
    this.writes.delete(node.id);
    this.waitingReads.delete(node.id);
  }
}
