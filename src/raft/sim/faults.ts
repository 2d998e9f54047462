import { type ConfChange } from '../confchange.js';
import { NotLeaderError, ProposalDroppedError } from '../errors.js';
import type { SeededRandom } from '../prng.js';
import type { SimNetwork } from './network.js';
import type { SimParams } from './params.js';
import type { SimNode } from './sim-node.js';

/** Every kind of fault the simulator injects (network loss, duplication and delay are counted by the network). */
export type FaultKind =
  | 'crash'
  | 'crashLeader'
  | 'crashBeforeSend'
  | 'partitionIsolate'
  | 'partitionIsolateLeader'
  | 'partitionSplit'
  | 'partitionOneWay'
  | 'leaderTransfer'
  | 'membershipChange';

/** The simulation services the injector uses. */
export interface FaultTarget {
  readonly nodes: readonly SimNode[];
  readonly network: SimNetwork;
  /** The live node in the leader role with the highest term, if any. */
  currentLeader(): SimNode | undefined;
  crash(node: SimNode, downTicks: number): void;
  trace(text: () => string): void;
}

/**
 * Decides, once per tick, which faults to inject, using the seed's rates. At most one partition is active
 * at a time; it heals after a random duration.
 */
export class FaultInjector {
  readonly counts = new Map<FaultKind, number>();
  private partitionEndsAtTick = -1;

  constructor(private readonly random: SeededRandom, private readonly params: SimParams, private readonly target: FaultTarget) {}

  private count(kind: FaultKind): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  /** Called at the start of every tick of the fault phase. */
  onTick(tick: number): void {
    const r = this.random;
    const p = this.params;
    if (tick === this.partitionEndsAtTick) {
      this.target.network.healAll();
      this.target.trace(() => 'partition healed');
    }
    if (r.chance(p.crashRate)) this.crashSomeone();
    if (r.chance(p.crashLeaderRate)) this.crashLeader();
    if (r.chance(p.partitionRate) && tick > this.partitionEndsAtTick) this.partition(tick);
    if (r.chance(p.transferRate)) this.transferLeadership();
    if (r.chance(p.membershipRate)) this.changeMembership();
  }

  /** Decides whether a node crashes between persisting a Ready and sending its messages. */
  crashBeforeSend(): boolean {
    if (!this.random.chance(this.params.crashBeforeSendRate)) return false;
    this.count('crashBeforeSend');
    return true;
  }

  private crashSomeone(): void {
    const live = this.target.nodes.filter((n) => n.alive);
    if (live.length === 0) return;
    const victim = this.random.pick(live);
    this.count('crash');
    this.target.crash(victim, this.random.intBetween(1, 6 * this.params.electionTicks));
  }

  /** Leader crashes are the interesting ones: uncommitted tails, new elections, log repair. */
  private crashLeader(): void {
    const leader = this.target.currentLeader();
    if (leader === undefined) return;
    this.count('crashLeader');
    this.target.crash(leader, this.random.intBetween(1, 3 * this.params.electionTicks));
  }

  private partition(tick: number): void {
    const ids = this.target.nodes.map((n) => n.id);
    const net = this.target.network;
    const r = this.random;
    const kind = r.pick(['isolate', 'isolateLeader', 'split', 'oneWay'] as const);
    let isolated: number | undefined;
    if (kind === 'isolateLeader') isolated = this.target.currentLeader()?.id;
    if (kind === 'isolate' || isolated === undefined) isolated = r.pick(ids);
    if (kind === 'split') {
      const side = new Set(ids.filter(() => r.chance(0.5)));
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) net.cut(a, b);
      this.count('partitionSplit');
      this.target.trace(() => `partition split [${[...side].join(',')}] | rest`);
    } else if (kind === 'oneWay') {
      const links = r.intBetween(1, ids.length);
      for (let i = 0; i < links; i++) {
        const from = r.pick(ids);
        const to = r.pick(ids);
        if (from !== to) net.cut(from, to);
      }
      this.count('partitionOneWay');
      this.target.trace(() => `partition: ${links} one-way link cuts`);
    } else {
      for (const other of ids) if (other !== isolated) { net.cut(isolated, other); net.cut(other, isolated); }
      this.count(kind === 'isolateLeader' ? 'partitionIsolateLeader' : 'partitionIsolate');
      this.target.trace(() => `partition isolates node ${isolated}`);
    }
    this.partitionEndsAtTick = tick + r.intBetween(2, 8 * this.params.electionTicks);
  }

  private transferLeadership(): void {
    const leader = this.target.currentLeader();
    if (leader === undefined) return;
    const voters = leader.raft!.confState().voters.filter((id) => id !== leader.id);
    if (voters.length === 0) return;
    const to = this.random.pick(voters);
    try {
      leader.raft!.transferLeader(to);
      this.count('leaderTransfer');
      this.target.trace(() => `leader ${leader.id} transfers to ${to}`);
    } catch (err) {
      if (!(err instanceof NotLeaderError || err instanceof ProposalDroppedError)) throw err;
    }
  }

  /** Adds a learner, promotes one, demotes or removes a voter — never below a minimum of voters. */
  private changeMembership(): void {
    const leader = this.target.currentLeader();
    if (leader === undefined) return;
    const { voters, learners } = leader.raft!.confState();
    const outsiders = this.target.nodes.map((n) => n.id).filter((id) => !voters.includes(id) && !learners.includes(id));
    const minVoters = this.target.nodes.length >= 5 ? 3 : 2;
    const options: ConfChange[] = [];
    if (outsiders.length > 0) options.push({ type: 'addLearner', nodeId: this.random.pick(outsiders) });
    if (learners.length > 0) options.push({ type: 'addVoter', nodeId: this.random.pick(learners) });
    if (voters.length > minVoters) {
      options.push({ type: 'removeNode', nodeId: this.random.pick(voters) });
      options.push({ type: 'addLearner', nodeId: this.random.pick(voters) });
    }
    if (learners.length > 0) options.push({ type: 'removeNode', nodeId: this.random.pick(learners) });
    if (options.length === 0) return;
    const change = this.random.pick(options);
    try {
      leader.raft!.proposeConfChange(change);
      this.count('membershipChange');
      this.target.trace(() => `leader ${leader.id} proposes ${change.type} ${change.nodeId}`);
    } catch (err) {
      if (!(err instanceof NotLeaderError || err instanceof ProposalDroppedError)) throw err;
    }
  }
}
