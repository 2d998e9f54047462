/**
 * Replication metrics of a follower node (spec §13.4 and the replication issue): the leader's and the local
 * leader index per table, the lag between them, whether this node holds the table's lease, the time of the
 * last successful poll, and snapshot recoveries.
 */
import { Counter, Gauge, type Registry } from "prom-client";

export class ReplicationMetrics {
  private readonly index: Gauge;
  private readonly lag: Gauge;
  private readonly leased: Gauge;
  private readonly lastPoll: Gauge;
  private readonly recoveries: Counter;
  private readonly polls: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.index = new Gauge({ name: "armada_replication_index", help: "Leader index per table: role=leader as the leader reported it, role=follower as applied here.", labelNames: ["role", "table"], registers });
    this.lag = new Gauge({ name: "armada_replication_lag_entries", help: "Leader log entries this follower has not applied yet, per table (as of the last poll).", labelNames: ["table"], registers });
    this.leased = new Gauge({ name: "armada_replication_leased", help: "1 while this node holds the table's replication lease, else 0.", labelNames: ["table"], registers });
    this.lastPoll = new Gauge({ name: "armada_replication_last_successful_poll_timestamp_seconds", help: "Wall-clock time of the table's last complete Replicate poll on this node.", labelNames: ["table"], registers });
    this.recoveries = new Counter({ name: "armada_replication_snapshot_recoveries_total", help: "Snapshot recoveries of a table run by this node, by result.", labelNames: ["table", "result"], registers });
    this.polls = new Counter({ name: "armada_replication_polls_total", help: "Replicate polls of a table run by this node, by outcome.", labelNames: ["table", "outcome"], registers });
  }

  leaderIndex(table: string, index: number): void {
    if (index > 0) this.index.set({ role: "leader", table }, index);
  }

  followerIndex(table: string, index: number, leaderIndex?: number): void {
    this.index.set({ role: "follower", table }, index);
    if (leaderIndex !== undefined && leaderIndex > 0) this.lag.set({ table }, Math.max(0, leaderIndex - index));
  }

  setLeased(table: string, held: boolean): void {
    this.leased.set({ table }, held ? 1 : 0);
  }

  polled(table: string, outcome: string): void {
    this.polls.inc({ table, outcome });
    if (outcome === "tailing" || outcome === "lagging") this.lastPoll.set({ table }, Date.now() / 1000);
  }

  recovered(table: string, result: "ok" | "failed"): void {
    this.recoveries.inc({ table, result });
  }

  /** Drops a table's series when its worker stops. */
  forget(table: string): void {
    for (const role of ["leader", "follower"]) this.index.remove({ role, table });
    this.lag.remove({ table });
    this.leased.remove({ table });
    this.lastPoll.remove({ table });
  }
}
