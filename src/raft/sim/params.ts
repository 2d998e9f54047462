import { SeededRandom } from '../prng.js';

/** Simulated time units per Raft tick (messages are delayed by fractions of a tick). */
export const TIME_UNITS_PER_TICK = 100;

/**
 * Everything a seed decides up front ("swarm testing": each seed gets its own mix of faults and limits,
 * so some runs are calm and others brutal, and rare paths are hit by some seed).
 */
export interface SimParams {
  readonly regime: Regime;
  readonly nodeCount: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly inflightMessagesMax: number;
  readonly messageBytesMax: number;
  readonly entryBytesMax: number;
  readonly uncommittedBytesMax: number;
  /** Network: probability each message is lost / delivered twice. */
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** Network delay: base + uniform jitter, in time units; a few messages get a long delay (reordering). */
  readonly delayBaseUnits: number;
  readonly delayJitterUnits: number;
  readonly longDelayRate: number;
  /** Per-tick probabilities of injecting faults. */
  readonly crashRate: number;
  readonly crashLeaderRate: number;
  readonly crashBeforeSendRate: number;
  readonly partitionRate: number;
  readonly transferRate: number;
  readonly membershipRate: number;
  /** Snapshot every this many applied entries, keeping this many entries behind it. */
  readonly snapshotInterval: number;
  readonly compactionOverhead: number;
  /** Client operations per tick (probabilities). */
  readonly writeRate: number;
  readonly readRate: number;
  readonly writePayloadBytesMax: number;
}

/**
 * How a seed's faults are mixed. `calm` has none (a baseline), `mixed` draws every rate independently,
 * `leaderChurn` keeps deposing leaders while entries trickle one per message (the shape of the paper's
 * figure 8: old-term entries replicated by a new leader that dies before its own entry is committed).
 */
export type Regime = 'calm' | 'mixed' | 'leaderChurn';

/** Draws a seed's parameters. `nodeCount` and `forcedRegime` override the random choices. */
export function drawParams(random: SeededRandom, nodeCount?: number, forcedRegime?: Regime): SimParams {
  const r = random;
  const drawn: Regime = r.pick(['calm', 'mixed', 'mixed', 'mixed', 'mixed', 'mixed', 'leaderChurn', 'leaderChurn']);
  const regime = forcedRegime ?? drawn;
  const calm = regime === 'calm';
  const churn = regime === 'leaderChurn';
  const sometimes = (p: number, hi: number): number => (!calm && r.chance(p) ? r.nextFloat() * hi : 0);
  return {
    regime,
    nodeCount: nodeCount ?? (r.chance(0.5) ? 3 : 5),
    electionTicks: r.intBetween(6, 14),
    heartbeatTicks: r.intBetween(1, 2),
    preVote: churn ? r.chance(0.3) : r.chance(0.75),
    checkQuorum: churn ? r.chance(0.3) : r.chance(0.75),
    inflightMessagesMax: churn ? r.intBetween(1, 2) : r.intBetween(1, 8),
    messageBytesMax: churn ? 64 : r.pick([64, 256, 1024, 1 << 20]),
    entryBytesMax: r.pick([48, 128, 1 << 20]),
    uncommittedBytesMax: r.pick([200, 1000, 1 << 20]),
    dropRate: sometimes(0.7, 0.2),
    duplicateRate: sometimes(0.5, 0.1),
    delayBaseUnits: r.intBetween(5, 60),
    delayJitterUnits: r.intBetween(0, 250),
    longDelayRate: sometimes(0.3, 0.03),
    crashRate: sometimes(0.6, 0.01),
    crashLeaderRate: churn ? 0.03 + r.nextFloat() * 0.07 : sometimes(0.5, 0.03),
    crashBeforeSendRate: sometimes(0.3, 0.003),
    partitionRate: churn ? 0.02 + r.nextFloat() * 0.08 : sometimes(0.7, 0.02),
    transferRate: sometimes(0.4, 0.01),
    membershipRate: sometimes(0.4, 0.01),
    snapshotInterval: r.intBetween(3, 50),
    compactionOverhead: r.intBetween(0, 8),
    writeRate: churn ? 1 : 0.2 + r.nextFloat() * 0.8,
    readRate: 0.05 + r.nextFloat() * 0.4,
    writePayloadBytesMax: r.pick([8, 40, 100]),
  };
}
