/**
 * A small, fully manual cluster for scenario tests (in the style of etcd's raft_test `network`): tests
 * decide when nodes tick and when messages move, and can cut links, isolate nodes or drop message types.
 * Each node's Ready is processed completely (persist, send, apply, advance) right after every input.
 */
import type { RaftConfig } from '../config.js';
import { MemoryStorage } from '../memory-storage.js';
import { SeededRandom } from '../prng.js';
import { RaftNode } from '../raft-node.js';
import type { Entry, HardState, Message, MessageType, ReadState, Snapshot } from '../types.js';

/** One node of a TestCluster with everything it persisted and applied. */
export interface TestNode {
  node: RaftNode;
  readonly storage: MemoryStorage;
  /** Entries applied to the state machine, in order. */
  applied: Entry[];
  readStates: ReadState[];
  /** Snapshots received from the leader and installed. */
  installed: Snapshot[];
  /** Messages sent by this node, in order (for tests that count or inspect them). */
  sent: Message[];
}

/** Options for a TestCluster. */
export interface TestClusterOptions {
  /** Ids of the initial voters (default 1..3). */
  readonly voters?: readonly number[];
  /** Extra nodes that start empty (to be added later as learners or voters). */
  readonly spares?: readonly number[];
  /** Pre-built storages for some nodes (e.g. logs from the paper's figures). */
  readonly storages?: ReadonlyMap<number, MemoryStorage>;
  /** Config overrides applied to every node. */
  readonly config?: Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;
  readonly seed?: number;
}

const DELIVERY_ROUNDS_MAX = 10_000;

export class TestCluster {
  readonly nodes = new Map<number, TestNode>();
  /** Messages sent and not yet delivered. */
  queue: Message[] = [];
  private readonly cutLinks = new Set<string>();
  private readonly ignoredTypes = new Set<MessageType>();
  private readonly down = new Set<number>();
  private readonly options: TestClusterOptions;
  private readonly random: SeededRandom;

  constructor(options: TestClusterOptions = {}) {
    this.options = options;
    this.random = new SeededRandom(options.seed ?? 1);
    const voters = options.voters ?? [1, 2, 3];
    for (const id of voters) this.addNode(id, options.storages?.get(id) ?? MemoryStorage.bootstrap(voters));
    for (const id of options.spares ?? []) this.addNode(id, options.storages?.get(id) ?? new MemoryStorage());
    for (const id of this.nodes.keys()) this.process(id);
  }

  private addNode(id: number, storage: MemoryStorage): void {
    this.nodes.set(id, { node: this.makeNode(id, storage), storage, applied: [], readStates: [], installed: [], sent: [] });
  }

  private makeNode(id: number, storage: MemoryStorage): RaftNode {
    return new RaftNode({ electionTicks: 10, heartbeatTicks: 1, ...this.options.config, id, storage, random: this.random });
  }

  get(id: number): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  node(id: number): RaftNode {
    return this.get(id).node;
  }

  /** Handles every pending Ready of node `id`: persist, queue messages, apply, advance. */
  process(id: number): void {
    const n = this.get(id);
    while (n.node.hasReady()) {
      const rd = n.node.ready();
      if (rd.snapshot !== undefined) {
        n.storage.applySnapshot(rd.snapshot);
        n.installed.push(rd.snapshot);
      }
      n.storage.append(rd.entries);
      if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
      for (const m of rd.messages) {
        n.sent.push(m);
        this.queue.push(m);
      }
      n.applied.push(...rd.committedEntries);
      n.readStates.push(...rd.readStates);
      n.node.advance(rd);
    }
  }

  tick(id: number, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.node(id).tick();
      this.process(id);
    }
  }

  /** Ticks every live node `times` times, delivering messages after each round. */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of this.nodes.keys()) if (!this.down.has(id)) this.tick(id);
      this.deliverAll();
    }
  }

  campaign(id: number): void {
    this.node(id).campaign();
    this.process(id);
  }

  /** Whether a message can currently travel. */
  private passes(m: Message): boolean {
    return !this.down.has(m.to) && !this.down.has(m.from) && !this.cutLinks.has(`${m.from}>${m.to}`) && !this.ignoredTypes.has(m.type);
  }

  /** Delivers one message (if it passes the filters) and processes the receiver's Ready. */
  deliver(m: Message): void {
    if (!this.passes(m) || !this.nodes.has(m.to)) return;
    this.node(m.to).step(m);
    this.process(m.to);
  }

  /** Delivers queued messages until none are left (messages produced meanwhile are delivered too). */
  deliverAll(): void {
    for (let round = 0; this.queue.length > 0; round++) {
      if (round > DELIVERY_ROUNDS_MAX) throw new Error('deliverAll: messages keep flowing (livelock?)');
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) this.deliver(m);
    }
  }

  /**
   * Delivers queued messages one at a time, oldest first (including ones they cause), until `done()`
   * holds or nothing is left. Messages not yet delivered stay queued. Returns whether `done()` held.
   */
  deliverUntil(done: () => boolean): boolean {
    for (let i = 0; i < DELIVERY_ROUNDS_MAX; i++) {
      if (done()) return true;
      const m = this.queue.shift();
      if (m === undefined) return false;
      this.deliver(m);
    }
    throw new Error('deliverUntil: too many messages');
  }

  /** Takes the queued messages out without delivering them. */
  takeQueue(): Message[] {
    const q = this.queue;
    this.queue = [];
    return q;
  }

  /** Cuts both directions between a and b. */
  cut(a: number, b: number): void {
    this.cutLinks.add(`${a}>${b}`);
    this.cutLinks.add(`${b}>${a}`);
  }

  /** Cuts only a → b. */
  cutOneWay(from: number, to: number): void {
    this.cutLinks.add(`${from}>${to}`);
  }

  /** Cuts every link of `id`. */
  isolate(id: number): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  ignore(type: MessageType): void {
    this.ignoredTypes.add(type);
  }

  /** Restores every link and message type (crashed nodes stay down). */
  heal(): void {
    this.cutLinks.clear();
    this.ignoredTypes.clear();
  }

  /** Crashes `id`: it keeps only its storage. */
  crash(id: number): void {
    this.down.add(id);
  }

  /** Restarts `id` from its storage (its state machine is rebuilt by re-applying the log). */
  restart(id: number): void {
    const n = this.get(id);
    this.down.delete(id);
    n.node = this.makeNode(id, n.storage);
    n.applied = [];
    this.process(id);
  }

  /** Proposes on `id` and delivers everything. */
  propose(id: number, text: string): void {
    this.node(id).propose(new TextEncoder().encode(text));
    this.process(id);
    this.deliverAll();
  }

  /** The ids of nodes currently in the leader role. */
  leaders(): number[] {
    return [...this.nodes.entries()].filter(([id, n]) => !this.down.has(id) && n.node.role === 'leader').map(([id]) => id);
  }

  /** The single current leader; throws if there is none or several. */
  leader(): number {
    const leaders = this.leaders();
    if (leaders.length !== 1) throw new Error(`expected one leader, found [${leaders.join(', ')}]`);
    return leaders[0]!;
  }

  /** Decoded data of the normal, non-empty entries `id` applied. */
  appliedTexts(id: number): string[] {
    const decoder = new TextDecoder();
    return this.get(id).applied.filter((e) => e.type === 'normal' && e.data.byteLength > 0).map((e) => decoder.decode(e.data));
  }

  /** (index, term) of every entry in `id`'s stored log after the snapshot. */
  logTerms(id: number): number[] {
    const s = this.get(id).storage;
    const terms: number[] = [];
    for (let i = s.firstIndex(); i <= s.lastIndex(); i++) terms.push(s.term(i));
    return terms;
  }

  /**
   * Takes a snapshot on `id` at its applied index (data = the applied texts, comma-separated) and
   * compacts its log up to that index, keeping `keep` entries.
   */
  snapshotAndCompact(id: number, keep = 0): Snapshot {
    const n = this.get(id);
    const index = n.node.status().applied;
    const snapshot = n.storage.createSnapshot(index, n.node.confState(), new TextEncoder().encode(this.appliedTexts(id).join(',')));
    if (index - keep > n.storage.firstIndex() - 1) n.storage.compact(index - keep);
    return snapshot;
  }

  /** Elects `id` (pre-vote and vote rounds delivered) and returns it. */
  elect(id: number): number {
    this.campaign(id);
    this.deliverAll();
    return id;
  }

  /** Random number source shared by the nodes (tests may draw from it too). */
  get rng(): SeededRandom {
    return this.random;
  }
}

/** Data of the figure entry at (index, term): equal positions get equal data, as log matching requires. */
export function figureData(index: number, term: number): Uint8Array {
  return new TextEncoder().encode(`${index}@${term}`);
}

/**
 * A storage holding the bootstrap entries of `voters` (indices 1..voters.length, term 1) followed by
 * entries with the given terms, as in the paper's figures (whose index 1 becomes voters.length + 1).
 */
export function storageWithLog(voters: readonly number[], terms: readonly number[], hardState: Partial<HardState> = {}): MemoryStorage {
  const storage = MemoryStorage.bootstrap(voters);
  const first = storage.lastIndex() + 1;
  storage.append(terms.map((term, i) => ({ term, index: first + i, type: 'normal' as const, data: figureData(first + i, term) })));
  storage.setHardState({ term: hardState.term ?? Math.max(1, ...terms), vote: hardState.vote ?? 0, commit: hardState.commit ?? voters.length });
  return storage;
}
