import type { UnsafeTestingKnobs } from '../config.js';
import { RaftError } from '../errors.js';
import { MemoryStorage } from '../memory-storage.js';
import { SeededRandom } from '../prng.js';
import type { Entry, Message, ReadState } from '../types.js';
import { SafetyChecker, SimViolation, type ViolationKind } from './checker.js';
import { SimClient, type ClientStats } from './client.js';
import { EventQueue, type TimedEvent } from './event-queue.js';
import { FaultInjector, type FaultKind } from './faults.js';
import { SimNetwork } from './network.js';
import { drawParams, TIME_UNITS_PER_TICK, type Regime, type SimParams } from './params.js';
import { SimNode, type NodeHost } from './sim-node.js';
import { describeMessage, TraceLog } from './trace.js';

/** Options of one simulated run. */
export interface SimOptions {
  readonly seed: number;
  /** 3 or 5; by default each seed picks one. */
  readonly nodes?: number;
  /** Ticks of the fault phase (the liveness phase comes after). */
  readonly ticks?: number;
  /** Record a trace of recent events (slower; used to re-run a failing seed). */
  readonly trace?: boolean;
  /** Deliberate bugs, to prove the checkers can fail. */
  readonly unsafe?: UnsafeTestingKnobs;
  /** Forces the seed's fault regime (by default each seed draws one). */
  readonly regime?: Regime;
  /** Overrides some of the seed's drawn parameters (to focus a run on one kind of fault). */
  readonly params?: Partial<SimParams>;
}

/** What one run produced. */
export interface SimResult {
  readonly seed: number;
  readonly nodeCount: number;
  readonly ticks: number;
  readonly faults: ReadonlyMap<string, number>;
  /** How often rarely-taken paths ran (snapshot installs, conf changes, transfers, forwarded reads…). */
  readonly coverage: ReadonlyMap<string, number>;
  readonly elections: number;
  readonly client: ClientStats;
  readonly messagesDelivered: number;
  readonly commitIndex: number;
  readonly violation?: { readonly kind: ViolationKind; readonly message: string };
  /** The last events before the violation, when tracing was on. */
  readonly trace?: readonly string[];
}

/** Ticks of the fault phase per seed: with election timeouts of 6–14 ticks, about a hundred timeouts. */
export const FAULT_PHASE_TICKS_DEFAULT = 1000;
/**
 * After healing, a cluster must converge within this many election timeouts, plus a few ticks per entry
 * some node still lacks (a seed with tiny messages and a long partition can leave hundreds to replicate).
 */
const LIVENESS_ELECTION_TIMEOUTS = 60;
const LIVENESS_TICKS_PER_BACKLOG_ENTRY = 3;

interface SimEvent extends TimedEvent {
  readonly kind: 'tick' | 'deliver' | 'restart';
  readonly node: number;
  readonly message?: Message;
}

/**
 * One deterministic run: N nodes on a virtual clock and network, a fault phase driven by the seed's
 * parameters, then a liveness phase with every fault healed. Safety is checked after every event.
 */
export class Simulation implements NodeHost {
  readonly checker = new SafetyChecker();
  readonly random: SeededRandom;
  readonly params: SimParams;
  readonly network: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly client: SimClient;
  private readonly faults: FaultInjector;
  private readonly events = new EventQueue<SimEvent>();
  private readonly traceLog: TraceLog | undefined;
  private now = 0;
  private healed = false;
  private readonly coverage = new Map<string, number>();
  private readonly confChangeIndices = new Set<number>();

  constructor(private readonly options: SimOptions) {
    this.random = new SeededRandom(options.seed);
    this.params = { ...drawParams(this.random, options.nodes, options.regime), ...options.params };
    this.network = new SimNetwork(this.random, this.params);
    this.client = new SimClient(this.random, this.checker, this.params.writePayloadBytesMax, (what) => this.cover(what));
    this.traceLog = options.trace === true ? new TraceLog() : undefined;
    this.faults = new FaultInjector(this.random, this.params, this);
    const ids = Array.from({ length: this.params.nodeCount }, (_, i) => i + 1);
    const policy = { interval: this.params.snapshotInterval, overhead: this.params.compactionOverhead };
    for (const id of ids) this.nodes.push(new SimNode(id, MemoryStorage.bootstrap(ids), policy));
  }

  private raftConfig() {
    const p = this.params;
    return {
      random: this.random,
      electionTicks: p.electionTicks,
      heartbeatTicks: p.heartbeatTicks,
      preVote: p.preVote,
      checkQuorum: p.checkQuorum,
      inflightMessagesMax: p.inflightMessagesMax,
      messageBytesMax: p.messageBytesMax,
      entryBytesMax: p.entryBytesMax,
      uncommittedBytesMax: p.uncommittedBytesMax,
      ...(this.options.unsafe === undefined ? {} : { unsafe: this.options.unsafe }),
    };
  }

  trace(text: () => string): void {
    this.traceLog?.add(this.now, text());
  }

  /** Runs to completion and reports; never throws for a violation. */
  run(): SimResult {
    const faultTicks = this.options.ticks ?? FAULT_PHASE_TICKS_DEFAULT;
    let ticks = 0;
    let violation: SimResult['violation'];
    try {
      for (const node of this.nodes) this.startNode(node);
      for (; ticks < faultTicks; ticks++) this.runTick(ticks, true);
      const backlog = this.heal();
      const deadline = ticks + LIVENESS_ELECTION_TIMEOUTS * this.params.electionTicks + LIVENESS_TICKS_PER_BACKLOG_ENTRY * backlog;
      for (; !this.converged(); ticks++) {
        if (ticks >= deadline) throw new SimViolation('liveness', this.livenessReport());
        this.runTick(ticks, false);
      }
    } catch (err) {
      violation = Simulation.asViolation(err);
    }
    return this.result(ticks, violation);
  }

  private static asViolation(err: unknown): SimResult['violation'] {
    if (err instanceof SimViolation) return { kind: err.kind, message: err.message };
    if (err instanceof RaftError) return { kind: 'raftInvariant', message: err.message };
    const e = err instanceof Error ? err : new Error(String(err));
    return { kind: 'raftInvariant', message: `${e.name}: ${e.message}\n${e.stack ?? ''}` };
  }

  private result(ticks: number, violation: SimResult['violation']): SimResult {
    const faults = new Map<string, number>(this.faults.counts);
    faults.set('messageDropped', this.network.dropped);
    faults.set('messageDuplicated', this.network.duplicated);
    return {
      seed: this.options.seed,
      nodeCount: this.params.nodeCount,
      ticks,
      faults,
      coverage: new Map([...this.coverage, ['confChangesApplied', this.confChangeIndices.size]]),
      elections: this.checker.elections,
      client: this.client.stats,
      messagesDelivered: this.network.delivered,
      commitIndex: this.checker.committedIndex,
      ...(violation === undefined ? {} : { violation }),
      ...(violation !== undefined && this.traceLog !== undefined ? { trace: this.traceLog.lines() } : {}),
    };
  }

  // ------------------------------------------------------------ the clock

  /** One tick: faults and client requests at its start, then every event until the next tick. */
  private runTick(tick: number, withFaults: boolean): void {
    const start = tick * TIME_UNITS_PER_TICK;
    this.now = start;
    if (withFaults) {
      this.faults.onTick(tick);
      this.clientRequests();
    } else {
      this.livenessWrite();
    }
    // Each node ticks at its own phase within the tick, so clocks are not in lockstep.
    for (const node of this.nodes) {
      const phase = (node.id * 37 + tick * 11) % TIME_UNITS_PER_TICK;
      this.events.push({ time: start + phase, seq: 0, kind: 'tick', node: node.id });
    }
    const end = start + TIME_UNITS_PER_TICK;
    for (let e = this.events.peek(); e !== undefined && e.time < end; e = this.events.peek()) {
      this.events.pop();
      this.now = e.time;
      this.handle(e);
    }
  }

  private handle(e: SimEvent): void {
    const node = this.nodes[e.node - 1]!;
    if (e.kind === 'restart') {
      if (!node.alive) this.startNode(node);
      return;
    }
    if (!node.alive) return;
    if (e.kind === 'tick') {
      node.raft!.tick();
    } else {
      const m = e.message!;
      // A partition also swallows messages already on the wire.
      if (this.network.isBlocked(m.from, m.to)) return;
      this.network.delivered++;
      if (this.traceLog !== undefined && m.type !== 'heartbeat' && m.type !== 'heartbeatResponse') this.trace(() => `deliver ${describeMessage(m)}`);
      node.raft!.step(m);
    }
    node.processReady(this);
  }

  private startNode(node: SimNode): void {
    this.trace(() => `start node ${node.id}`);
    node.start(this.raftConfig(), this);
  }

  crash(node: SimNode, downTicks: number): void {
    this.trace(() => `crash node ${node.id} for ${downTicks} ticks`);
    node.crash();
    this.client.onCrash(node);
    this.events.push({ time: this.now + downTicks * TIME_UNITS_PER_TICK, seq: 0, kind: 'restart', node: node.id });
  }

  // ------------------------------------------------------------ NodeHost

  /** Counts one occurrence of a rarely-taken path. */
  cover(what: string): void {
    this.coverage.set(what, (this.coverage.get(what) ?? 0) + 1);
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.type === 'snapshot') this.cover('snapshotsSent');
      else if (m.type === 'timeoutNow') this.cover('timeoutNowSent');
      else if (m.type === 'readIndex') this.cover('readsForwarded');
      if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') this.checker.onLeaderMessage(m.from, m.term);
      const deliveries = this.network.route(m, this.now);
      for (const d of deliveries) {
        this.events.push({ time: d.atTime, seq: 0, kind: 'deliver', node: m.to, message: m });
      }
      // Half the time the transport notices a snapshot it failed to send and says so (the rest rely on the retry timer).
      if (m.type === 'snapshot' && deliveries.length === 0 && this.random.chance(0.5)) {
        this.cover('snapshotFailuresReported');
        this.nodes[m.from - 1]!.raft?.reportSnapshot(m.to, false);
      }
    }
  }

  crashBeforeSend(node: SimNode): boolean {
    if (this.healed || !this.faults.crashBeforeSend()) return false;
    this.trace(() => `crash node ${node.id} after persisting, before sending`);
    this.client.onCrash(node);
    this.events.push({ time: this.now + this.random.intBetween(1, 20) * TIME_UNITS_PER_TICK, seq: 0, kind: 'restart', node: node.id });
    return true;
  }

  onApplied(node: SimNode, entry: Entry): void {
    // Bootstrap entries (term 1) are not changes made during the run.
    if (entry.type === 'confChange' && entry.term > 1) this.confChangeIndices.add(entry.index);
    this.client.onApplied(node, entry);
  }

  onReadState(node: SimNode, readState: ReadState): void {
    this.client.onReadState(node, readState);
  }

  afterReady(node: SimNode): void {
    this.client.completeReads(node);
  }

  onBecameLeader(node: SimNode): void {
    this.trace(() => `node ${node.id} becomes leader of term ${node.raft!.term}`);
    this.checker.onBecameLeader(node.id, node.raft!.term, node.storage);
  }

  currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes) {
      if (n.raft?.role === 'leader' && (best === undefined || n.raft.term > best.raft!.term)) best = n;
    }
    return best;
  }

  // ------------------------------------------------------------ client

  /** The client mostly talks to the leader (following redirects), sometimes to any node. */
  private pickClientTarget(): SimNode | undefined {
    const live = this.nodes.filter((n) => n.alive);
    if (live.length === 0) return undefined;
    const leader = this.currentLeader();
    return leader !== undefined && this.random.chance(0.8) ? leader : this.random.pick(live);
  }

  private clientRequests(): void {
    if (this.random.chance(this.params.writeRate)) {
      const target = this.pickClientTarget();
      if (target !== undefined) this.client.write(target);
    }
    if (this.random.chance(this.params.readRate)) {
      const target = this.pickClientTarget();
      if (target !== undefined) this.client.read(target);
    }
  }

  // ------------------------------------------------------------ liveness

  private finalWrite: number | undefined;
  private finalWriteTick = 0;

  /** Heals everything (network faults off, crashed nodes restarted); returns the replication backlog. */
  private heal(): number {
    this.healed = true;
    this.network.healAll();
    this.network.calm();
    this.events.removeWhere((e) => e.kind === 'restart');
    for (const node of this.nodes) if (!node.alive) this.startNode(node);
    this.trace(() => 'all faults healed');
    const lastIndex = Math.max(...this.nodes.map((n) => n.storage.lastIndex()));
    return lastIndex - Math.min(...this.nodes.map((n) => n.sm.index));
  }

  /** Keeps one write in flight on the leader until one is acknowledged. */
  private livenessWrite(): void {
    if (this.finalWrite !== undefined && this.client.acked.has(this.finalWrite)) return;
    const tick = this.now / TIME_UNITS_PER_TICK;
    if (this.finalWrite !== undefined && tick - this.finalWriteTick < 2 * this.params.electionTicks) return;
    const leader = this.currentLeader();
    if (leader === undefined) return;
    this.finalWrite = this.client.write(leader);
    this.finalWriteTick = tick;
  }

  /** A leader exists, our final write is acknowledged, and every member applied every acknowledged write. */
  private converged(): boolean {
    if (this.finalWrite === undefined || !this.client.acked.has(this.finalWrite)) return false;
    const leader = this.currentLeader();
    if (leader === undefined) return false;
    const { voters, learners } = leader.raft!.confState();
    for (const id of [...voters, ...learners]) {
      const n = this.nodes[id - 1]!;
      if (!n.alive || n.sm.index < this.client.ackedMaxIndex) return false;
    }
    return true;
  }

  private livenessReport(): string {
    const states = this.nodes.map((n) => {
      if (n.raft === undefined) return `${n.id}:down`;
      const s = n.raft.status();
      return `${n.id}:${s.role} t${s.term} commit ${s.commit} applied ${n.sm.index} voters [${s.confState.voters}] learners [${s.confState.learners}]`;
    });
    return `no convergence after healing: acked index ${this.client.ackedMaxIndex}; ${states.join('; ')}`;
  }
}

/** Runs one seed. */
export function runSeed(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

/** Runs one seed, and if it fails runs it again with tracing to attach the last events. */
export function runSeedWithTraceOnFailure(options: SimOptions): SimResult {
  const result = runSeed(options);
  if (result.violation === undefined) return result;
  return runSeed({ ...options, trace: true });
}

export type { FaultKind };
