/**
 * The replication worker of one table on a follower node (spec §9.7–9.9): holds the table's lease within
 * the follower cluster, polls the leader's log from the local leader index on, proposes what it receives
 * to the local table group (so every node of the follower cluster applies it), and recovers from a
 * snapshot when the leader's log no longer reaches back far enough or its history was replaced.
 */
import { status as GrpcCode } from "@grpc/grpc-js";
import { pb, toNumber } from "../../proto/index.js";
import type { TableHandle } from "../../engine/engine.js";
import { TableNotFoundError } from "../../engine/errors.js";
import type { LeaseFence } from "../../engine/metadata-fsm.js";
import { grpcCode, type LeaderConnection } from "./leader-connection.js";
import type { ReplicationMetrics } from "./metrics.js";
import { recoverTable, type RecoveryOptions, type RecoveryTarget } from "./recovery.js";
import { packSequences } from "./sequences.js";
import { PollSpeed } from "./speed.js";

const LEADER_BEHIND = pb.ReplicateError.LEADER_BEHIND;
/** A lease lasts this many lease intervals (spec §9.7.1). */
export const LEASE_INTERVALS = 4;
/** Deadline of one lease proposal. */
const LEASE_PROPOSAL_TIMEOUT_MS = 5000;
/** The same warning is logged at most once per this long (with a count of the repeats it stood for). */
const REPEATED_WARNING_MS = 30_000;
/** LEADER_BEHIND on this many consecutive polls means the leader's history was replaced (spec §9.10). */
const LEADER_BEHIND_POLLS_BEFORE_RECOVERY = 2;

/** What a worker needs of the follower's engine. */
export interface ReplicaEngine extends RecoveryTarget {
  table(name: string): TableHandle;
  acquireLease(name: string, durationMs: number, signal?: AbortSignal): Promise<boolean>;
  releaseLease(name: string, signal?: AbortSignal): Promise<void>;
  /** This node's current tenure of the lease on `name`; undefined when it does not hold it. */
  leaseTenure(name: string): LeaseFence | undefined;
  /** Local clients waiting for the table to catch up (forwarded writes). */
  leaderIndexWaitersOf(name: string): number;
}

export interface WorkerSettings {
  readonly pollIntervalMs: number;
  readonly reconcileIntervalMs: number;
  readonly leaseIntervalMs: number;
  readonly logRpcTimeoutMs: number;
  readonly recovery: RecoveryOptions;
}

export interface WorkerLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Snapshot recoveries this node runs at once (`--replication.max-recovery-in-flight`). */
export class RecoverySlots {
  private used = 0;
  constructor(private readonly size: number) {}
  tryAcquire(): boolean {
    if (this.used >= this.size) return false;
    this.used++;
    return true;
  }
  release(): void {
    this.used = Math.max(0, this.used - 1);
  }
}

export interface WorkerDeps {
  readonly engine: ReplicaEngine;
  readonly leader: LeaderConnection;
  readonly settings: WorkerSettings;
  readonly metrics: ReplicationMetrics;
  readonly log: WorkerLog;
  readonly slots: RecoverySlots;
}

/** The outcome of one poll cycle (also a metrics label). */
export type PollOutcome =
  | "tailing"
  | "lagging"
  | "skipped"
  | "table-gone"
  | "backoff"
  | "leader-behind"
  | "recovered"
  | "recovery-failed"
  | "no-recovery-slot"
  | "incomplete"
  | "error";

export class TableWorker {
  private readonly stopping = new AbortController();
  private readonly speed: PollSpeed;
  private wake: (() => void) | null = null;
  private hinted = false;
  /** Local clock time until which this node may pull (the lease minus one interval of margin). */
  private leaseValidUntilMs = 0;
  private leaderBehindPolls = 0;
  private recoveryRequested = "";
  private tailedOnce = false;
  private loops: Promise<unknown>[] = [];
  private lastWarning = { key: "", atMs: 0, suppressed: 0 };

  constructor(readonly name: string, private readonly deps: WorkerDeps) {
    this.speed = new PollSpeed(deps.settings.pollIntervalMs);
  }

  start(): void {
    this.loops = [this.leaseLoop(), this.pollLoop()];
  }

  /** Stops both loops and gives the lease up so another node can take the table at once. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await Promise.allSettled(this.loops);
    this.deps.metrics.forget(this.name);
    if (this.holdsLease()) {
      this.leaseValidUntilMs = 0;
      await this.deps.engine.releaseLease(this.name, AbortSignal.timeout(LEASE_PROPOSAL_TIMEOUT_MS)).catch(() => undefined);
    }
  }

  /** Clients wait for this table somewhere in the follower cluster: poll now (spec §10.3). */
  poke(): void {
    this.hinted = true;
    this.wake?.();
  }

  /** The leader's table was replaced (its id changed): reload it from a snapshot (spec §9.10). */
  requestRecovery(reason: string): void {
    this.recoveryRequested = reason;
    this.poke();
  }

  holdsLease(): boolean {
    return Date.now() < this.leaseValidUntilMs;
  }

  /** Whether this node's worker has once seen the table fully caught up with the leader. */
  get caughtUpOnce(): boolean {
    return this.tailedOnce;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async leaseLoop(): Promise<void> {
    const { leaseIntervalMs } = this.deps.settings;
    // Unlike the reference (first attempt after one interval), try at once: a new follower starts copying sooner.
    while (!this.stopped) {
      const attemptAtMs = Date.now();
      const held = this.holdsLease();
      try {
        const granted = await this.deps.engine.acquireLease(
          this.name,
          LEASE_INTERVALS * leaseIntervalMs,
          AbortSignal.any([this.stopping.signal, AbortSignal.timeout(LEASE_PROPOSAL_TIMEOUT_MS)]),
        );
        this.leaseValidUntilMs = granted ? attemptAtMs + (LEASE_INTERVALS - 1) * leaseIntervalMs : 0;
        if (granted && !held) {
          this.deps.log.info("replication lease acquired", { table: this.name });
          this.wake?.();
        } else if (!granted && held) {
          this.deps.log.warn("replication lease lost to another node", { table: this.name });
        }
      } catch (error) {
        // Keep what we had: a held lease runs out by itself if renewals keep failing.
        if (!this.stopped) this.warnOnce("replication lease renewal failed", messageOf(error));
      }
      this.deps.metrics.setLeased(this.name, this.holdsLease());
      await this.sleep(leaseIntervalMs, false);
    }
  }

  private async pollLoop(): Promise<void> {
    const { pollIntervalMs, reconcileIntervalMs } = this.deps.settings;
    // A random start spreads the polls of many tables over the interval.
    let waitMs = Math.random() * pollIntervalMs;
    while (!this.stopped) {
      await this.sleep(waitMs, true);
      if (this.stopped) break;
      waitMs = this.speed.intervalMs;
      const waiting = this.hinted || this.deps.engine.leaderIndexWaitersOf(this.name) > 0;
      this.hinted = false;
      if (waiting) this.speed.faster();
      else this.speed.slower();
      if (!this.holdsLease()) continue;
      const outcome = await this.cycle();
      this.deps.metrics.polled(this.name, outcome);
      switch (outcome) {
        case "lagging":
          this.speed.faster();
          waitMs = this.speed.intervalMs;
          break;
        case "recovered":
          waitMs = 0;
          break;
        case "table-gone":
          waitMs = pollIntervalMs + 2 * reconcileIntervalMs;
          break;
        case "backoff":
          waitMs = 10 * pollIntervalMs;
          break;
        case "leader-behind":
          waitMs = this.recoveryRequested ? 0 : 10 * pollIntervalMs;
          break;
        default:
          break;
      }
      // A hint that arrived during the cycle is for writes the cycle may have missed: poll again now.
      if (this.hinted) waitMs = 0;
    }
  }

  /** One poll: Replicate from the local leader index on, applying what arrives. */
  private async cycle(): Promise<PollOutcome> {
    const { engine, leader, settings, metrics } = this.deps;
    let table: TableHandle;
    try {
      table = engine.table(this.name);
    } catch (error) {
      return error instanceof TableNotFoundError ? "skipped" : "error";
    }
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(settings.logRpcTimeoutMs)]);
    let appliedAny = false;
    try {
      // Read the position through the group, so a node that just took the lease over starts where the
      // previous holder's last batch left the table, not where its own replica happens to be.
      await table.readIndex({ signal });
      const local = table.stateMachine.leaderIndex;
      if (this.recoveryRequested) return await this.recover(this.recoveryRequested);
      // A reset (leader index 0) of a table holding data: replace it atomically instead of replaying the
      // whole history over it (spec §11.4 [FIX]).
      if (local === 0 && !isEmpty(table)) return await this.recover("the table was reset");
      let last = local;
      for await (const message of leader.replicate(this.name, local + 1, settings.logRpcTimeoutMs, signal)) {
        if (message.response === "errorResponse") {
          if ((message.errorResponse?.error ?? 0) === LEADER_BEHIND) return this.leaderBehind(local);
          return await this.recover(`the leader's log no longer holds index ${local + 1}`);
        }
        const leaderIndex = toNumber(message.leaderIndex);
        metrics.leaderIndex(this.name, leaderIndex);
        if (message.response === "commandsResponse") {
          const sequences = packSequences(message.commandsResponse?.commands ?? []);
          if (sequences.length === 0) continue;
          // Proposed together rather than one round trip each: the replica applies a batch only where it
          // continues the stored position, so whatever order they commit in, nothing is applied twice or
          // out of order. Anything skipped is fetched again by the next poll.
          const settled = await Promise.allSettled(sequences.map((sequence) => table.propose(sequence, { signal })));
          const failed = settled.find((result) => result.status === "rejected");
          if (failed) throw failed.reason;
          appliedAny = true;
          last = table.stateMachine.leaderIndex;
          metrics.followerIndex(this.name, last, leaderIndex);
          if (last !== toNumber(sequences[sequences.length - 1]!.leaderIndex)) return "incomplete";
          continue;
        }
        this.leaderBehindPolls = 0;
        metrics.followerIndex(this.name, last, leaderIndex);
        if (appliedAny && last < leaderIndex) return "lagging";
        this.tailedOnce = true;
        return "tailing";
      }
      return "incomplete";
    } catch (error) {
      if (this.stopped) return "error";
      const code = grpcCode(error);
      if (!appliedAny && (code === GrpcCode.UNAVAILABLE || code === GrpcCode.NOT_FOUND)) {
        this.warnOnce("leader has no such table or is unreachable; waiting for the next reconciliation", messageOf(error));
        return "table-gone";
      }
      if (code === GrpcCode.FAILED_PRECONDITION) {
        this.warnOnce("leader refused to replicate; backing off", messageOf(error));
        return "backoff";
      }
      this.warnOnce("replication poll failed", messageOf(error));
      return "error";
    }
  }

  private leaderBehind(local: number): PollOutcome {
    this.leaderBehindPolls++;
    this.deps.log.error("leader is behind this follower: its table history was replaced", { table: this.name, leader_index: local, polls: this.leaderBehindPolls });
    if (this.leaderBehindPolls >= LEADER_BEHIND_POLLS_BEFORE_RECOVERY) {
      this.deps.log.warn("re-synchronising the table from a leader snapshot", { table: this.name });
      this.recoveryRequested = "the leader's table history was replaced";
    }
    return "leader-behind";
  }

  private async recover(reason: string): Promise<PollOutcome> {
    const { slots, engine, leader, settings, metrics, log } = this.deps;
    if (!slots.tryAcquire()) {
      // Let a node with a free slot take the table (spec §9.7.2).
      log.warn("snapshot recovery needed but no recovery slot is free; releasing the lease", { table: this.name, reason });
      this.leaseValidUntilMs = 0;
      await engine.releaseLease(this.name, AbortSignal.timeout(LEASE_PROPOSAL_TIMEOUT_MS)).catch(() => undefined);
      return "no-recovery-slot";
    }
    try {
      // The restore switches the table only if this tenure of the lease is still the current one when it
      // finishes: a node paused or cut off meanwhile may have lost the lease to one that pulled newer data.
      const fence = engine.leaseTenure(this.name);
      if (fence === undefined) throw new Error("this node does not hold the table's replication lease (yet)");
      log.info("recovering table from a leader snapshot", { table: this.name, reason });
      const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(settings.recovery.snapshotTimeoutMs)]);
      const result = await recoverTable(this.name, leader, engine, settings.recovery, signal, fence);
      this.recoveryRequested = "";
      this.leaderBehindPolls = 0;
      metrics.recovered(this.name, "ok");
      const leaderIndex = engine.table(this.name).stateMachine.leaderIndex;
      metrics.followerIndex(this.name, leaderIndex);
      log.info("table recovered from a leader snapshot", {
        table: this.name,
        leader_index: leaderIndex,
        bytes: result.bytes,
        duration_ms: Math.round(result.durationMs),
      });
      return "recovered";
    } catch (error) {
      metrics.recovered(this.name, "failed");
      if (!this.stopped) log.warn("snapshot recovery failed; retrying at the next poll", { table: this.name, error: messageOf(error) });
      return "recovery-failed";
    } finally {
      slots.release();
    }
  }

  /**
   * Logs a warning, but the same warning with the same error only once per REPEATED_WARNING_MS: a table
   * whose group has no leader yet, or a leader that is down, would otherwise log on every poll.
   */
  private warnOnce(message: string, error: string): void {
    const key = `${message}\n${error}`;
    const now = Date.now();
    if (this.lastWarning.key === key && now - this.lastWarning.atMs < REPEATED_WARNING_MS) {
      this.lastWarning.suppressed++;
      return;
    }
    const suppressed = this.lastWarning.key === key ? this.lastWarning.suppressed : 0;
    this.deps.log.warn(message, { table: this.name, error, ...(suppressed > 0 ? { repeated: suppressed } : {}) });
    this.lastWarning = { key, atMs: now, suppressed: 0 };
  }

  /** Sleeps `ms`, or less when woken (only the poll loop can be woken). */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stopping.signal.removeEventListener("abort", done);
        if (wakeable && this.wake === done) this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopping.signal.addEventListener("abort", done, { once: true });
      if (wakeable) this.wake = done;
    });
  }
}

/** Whether the local replica holds no key at all. */
function isEmpty(table: TableHandle): boolean {
  const everything = { key: new Uint8Array(0), rangeEnd: Uint8Array.of(0), limit: 1, keysOnly: true, countOnly: false };
  return table.stateMachine.range(everything).kvs.length === 0;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
