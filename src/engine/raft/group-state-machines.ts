/**
 * Adapters from the two kinds of replicated state to the group driver: a table (TableStateMachine,
 * whose snapshots travel as streams beside Raft) and the metadata catalogue (small, carried inline).
 */
import type { Entry, Snapshot } from "../../raft/index.js";
import type { ApplyResult, LogEntryToApply, TableStateMachine } from "../../fsm/index.js";
import { pb } from "../../proto/index.js";
import type { GroupStateMachine } from "./raft-group.js";
import type { MetadataResult, MetadataState, MetadataStateMachine } from "../metadata-fsm.js";

/** A table group's state machine: committed normal entries carry encoded mvcc Commands. */
export class TableGroupStateMachine implements GroupStateMachine<ApplyResult> {
  /** `onApplied` runs after every applied batch (it reports the table's leader-cluster index). */
  constructor(readonly table: TableStateMachine, private readonly onApplied: () => void = () => undefined) {}

  get appliedIndex(): number {
    return this.table.appliedIndex;
  }

  async apply(entries: readonly Entry[]): Promise<Map<number, ApplyResult>> {
    const toApply: LogEntryToApply[] = entries.map((entry) => ({
      index: entry.index,
      // Leader no-ops (empty data) and membership entries only advance the applied index.
      command: entry.type === "normal" && entry.data.length > 0 ? pb.Command.decode(entry.data) : null,
    }));
    const results = await this.table.apply(toApply);
    this.onApplied();
    return new Map(results.map((result) => [result.index, result]));
  }

  flush(): Promise<void> {
    return this.table.flush();
  }

  /** Table data arrives through the snapshot stream before Raft sees the snapshot; only check it did. */
  async installSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.table.appliedIndex < snapshot.metadata.index) {
      throw new Error(
        `table "${this.table.table}" was handed Raft snapshot ${snapshot.metadata.index} but holds data only up to ${this.table.appliedIndex}`,
      );
    }
  }

  snapshotData(): Uint8Array {
    return new Uint8Array(0);
  }
}

/** The metadata group's state machine; `onApplied` sees every catalogue change (to start and stop tables). */
export class MetadataGroupStateMachine implements GroupStateMachine<MetadataResult> {
  constructor(
    readonly catalogue: MetadataStateMachine,
    private readonly onApplied: (results: MetadataResult[]) => Promise<void>,
    private readonly onInstalled: () => Promise<void>,
  ) {}

  get appliedIndex(): number {
    return this.catalogue.appliedIndex;
  }

  async apply(entries: readonly Entry[]): Promise<Map<number, MetadataResult>> {
    const results = await this.catalogue.apply(
      entries.map((entry) => ({ index: entry.index, data: entry.type === "normal" && entry.data.length > 0 ? entry.data : null })),
    );
    await this.onApplied([...results.values()]);
    return results;
  }

  /** Nothing to do: every catalogue commit syncs in full. */
  async flush(): Promise<void> {}

  async installSnapshot(snapshot: Snapshot): Promise<void> {
    const state = JSON.parse(Buffer.from(snapshot.data).toString("utf8")) as MetadataState;
    await this.catalogue.install(state);
    await this.onInstalled();
  }

  snapshotData(): Uint8Array {
    return Buffer.from(JSON.stringify(this.catalogue.state()), "utf8");
  }
}
