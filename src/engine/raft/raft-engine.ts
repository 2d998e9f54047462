/**
 * The multi-Raft engine: every table is a Raft group replicated on every node of the cluster, and a
 * metadata group (1000) holds the table catalogue. Writes are proposed to the group's leader (forwarded
 * from other nodes), linearizable reads use ReadIndex, serializable reads are local.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { bootstrapState, CompactedError, NotLeaderError as RaftNotLeaderError, type Entry } from "../../raft/index.js";
import { TableStateMachine, type ApplyResult } from "../../fsm/index.js";
import { pb, type armada } from "../../proto/index.js";
import type { Engine, GroupStatus, RaftStats, TableHandle, TableInfo, TableLog, TableLogEntry, WaitOptions } from "../engine.js";
import { AbortedError, EngineClosedError, InvalidTableNameError, LogCompactedError, TableExistsError, TableNotFoundError, TransientError } from "../errors.js";
import { encodeMetadataCommand, MetadataStateMachine, resultTable, type LeaseFence, type MetadataCommand, type MetadataResult, type TableLease } from "../metadata-fsm.js";
import { IndexWaiters } from "../index-waiters.js";
import { tableNameProblem } from "../table-name.js";
import { moveToTrash, startTrashSweeper } from "../trash.js";
import { MetadataGroupStateMachine, TableGroupStateMachine } from "./group-state-machines.js";
import { NodeHost, type SnapshotHeader } from "./node-host.js";
import type { GroupMessage, LogStorePort, NetworkHandlers, NetworkPort } from "./ports.js";
import { asTransient, RaftGroup, type RaftGroupOptions } from "./raft-group.js";
import { decodeForwardBatch, encodeForwardOutcomes, FORWARD_BATCH_TAG, ForwardBatcher, type ForwardedProposal, type ForwardOutcome } from "./forward-batch.js";
import { handOffLeadership, type HandOffResult } from "./leadership.js";
import { toAbortSignal, type Cancellation } from "../cancellation.js";

/** The metadata group's id (spec §8.1). */
export const METADATA_GROUP_ID = 1000;
/** How long a write waits for a leader to appear before failing as transient, when the caller set no deadline. */
export const LEADER_WAIT_MS = 10_000;
/** The file LMDB keeps a table's data in. */
const LMDB_DATA_FILE = "data.mdb";
/** Pause between attempts while a group has no known leader. */
const LEADER_RETRY_MS = 50;
/** How long a restore waits for its new shard to elect a leader (spec Appendix C). */
export const RESTORE_LEADER_WAIT_MS = 60_000;
/** Timeout of one restore batch proposal; failed attempts are retried with back-off (spec §11.3). */
export const RESTORE_PROPOSAL_TIMEOUT_MS = 30_000;
/** How long a restore waits for the other nodes to apply its last batch before switching the table. */
export const RESTORE_PEER_CATCH_UP_MS = 30_000;
/** Longest pause between two attempts of a restore batch proposal. */
const RESTORE_RETRY_DELAY_MAX_MS = 5_000;

export interface RaftEngineOptions {
  readonly nodeId: number;
  readonly voters: readonly number[];
  readonly stateMachineDir: string;
  readonly metadataDir: string;
  readonly rttMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly snapshotEntries: number;
  readonly compactionOverhead: number;
  readonly maxInMemoryLogBytes: number;
  readonly log: LogStorePort;
  readonly network: NetworkPort;
  readonly logger: { info(m: string, f?: Record<string, unknown>): void; warn(m: string, f?: Record<string, unknown>): void; error(m: string, f?: Record<string, unknown>): void };
  /** This node's name and advertised API address, answered to peers' info requests. */
  readonly nodeInfo?: NodeInfo;
  /** Called when the node cannot go on (failed fsync, broken state machine): the process should exit. */
  readonly onFatal: (error: Error) => void;
}

/**
 * Requests between nodes, as JSON. (Forwarded proposals travel in binary batches, see forward-batch.ts;
 * "propose" is the single-proposal form of earlier versions, still answered for a node not yet upgraded
 * and still sent to one that refuses batches.)
 */
type ForwardRequest =
  | { kind: "propose"; groupId: number; data: string }
  | { kind: "info" }
  | { kind: "applied"; groupId: number }
  | { kind: "hint"; table: string };

/** What a node tells its peers about itself (for Cluster/MemberList). */
export interface NodeInfo {
  readonly name: string;
  readonly apiAddress: string;
}

export class RaftEngine implements Engine, NetworkHandlers {
  private readonly host: NodeHost;
  private readonly tables = new Map<string, RaftTable>();
  /** Shards being loaded by restores, by shard id; they become tables when their restore finishes. */
  private readonly restoring = new Map<number, RaftTable>();
  private catalogue!: MetadataStateMachine;
  private metadata!: RaftGroup<MetadataResult>;
  private stopSweeper: (() => void) | null = null;
  private readonly forwarder = new ForwardBatcher((to, payload) => this.options.network.request(to, payload, LEADER_WAIT_MS));
  private closed = false;
  /** Waiters for each table's leader-cluster index, by table name (they outlive a shard switch). */
  private readonly leaderIndexWaiters = new Map<string, IndexWaiters>();
  /**
   * Receives replication hints from peers of a follower cluster: a node has clients waiting for `table` to
   * catch up (spec §10.3), so the node pulling it should poll now.
   */
  onReplicationHint: ((table: string) => void) | null = null;

  constructor(private readonly options: RaftEngineOptions) {
    this.host = new NodeHost({
      nodeId: options.nodeId,
      rttMs: options.rttMs,
      log: options.log,
      network: () => options.network,
      snapshotSource: (groupId) => this.snapshotSource(groupId),
      onFatal: (error) => {
        options.logger.error("node stopping after a fatal error", { error: error.message });
        options.onFatal(error);
      },
      logWarn: (message, fields) => options.logger.warn(message, fields),
    });
  }

  get nodeId(): number {
    return this.options.nodeId;
  }

  /** Opens the catalogue and every registered table, then starts ticking. */
  async start(): Promise<void> {
    this.catalogue = MetadataStateMachine.open(join(this.options.metadataDir, "catalogue"));
    const machine = new MetadataGroupStateMachine(this.catalogue, (results) => this.onCatalogueApplied(results), () => this.reconcileTables());
    this.metadata = await this.createGroup(METADATA_GROUP_ID, machine, true);
    this.host.add(this.metadata);
    await this.reconcileTables();
    this.stopSweeper = startTrashSweeper(this.options.stateMachineDir, (path) => this.options.logger.info("deleted table data purged", { path }));
    this.host.start();
  }

  /**
   * Before a graceful stop: hands leadership of every group this node leads (catalogue, tables, restores)
   * to another voter, waiting up to `timeoutMs`. The groups keep running here as followers until close().
   */
  async handOffLeadership(timeoutMs: number): Promise<HandOffResult> {
    if (this.closed) return { moved: new Map(), kept: [] };
    const groups = [this.metadata, ...[...this.tables.values(), ...this.restoring.values()].map((table) => table.group)];
    return handOffLeadership(groups, { nodeId: this.options.nodeId, timeoutMs, pollMs: this.options.rttMs, schedule: () => this.host.schedule() });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.host.stop();
    this.stopSweeper?.();
    for (const table of [...this.tables.values(), ...this.restoring.values()]) {
      table.group.stop(new EngineClosedError());
      this.host.remove(table.info.shardId);
    }
    this.metadata?.stop(new EngineClosedError());
    this.host.remove(METADATA_GROUP_ID);
    await Promise.all([...this.tables.values(), ...this.restoring.values()].map((table) => table.stateMachine.close()));
    this.tables.clear();
    this.restoring.clear();
    for (const waiters of this.leaderIndexWaiters.values()) waiters.failAll(new EngineClosedError());
    this.leaderIndexWaiters.clear();
    await this.catalogue?.close();
  }

  async createTable(name: string, options: WaitOptions = {}): Promise<TableInfo> {
    const problem = tableNameProblem(name);
    if (problem) throw new InvalidTableNameError(name, problem);
    const result = await this.proposeMetadata({ op: "create", name }, options.signal);
    if (!result.ok) throw new TableExistsError(name);
    return resultTable(result);
  }

  async deleteTable(name: string, options: WaitOptions = {}): Promise<void> {
    const result = await this.proposeMetadata({ op: "delete", name }, options.signal);
    if (!result.ok) throw new TableNotFoundError(name);
  }

  /**
   * Replaces the contents of table `name` (created if absent) with `batches`, atomically for readers
   * (spec §11.3): a fresh shard is allocated through the catalogue and started on every node, the batches
   * are proposed to it, then the catalogue switches the table to it. On failure the fresh shard is
   * dropped and the table stays as it was.
   */
  async restoreTable(name: string, batches: AsyncIterable<armada.v1.ICommand>, options: WaitOptions & { fence?: LeaseFence } = {}): Promise<TableInfo> {
    const begun = await this.proposeMetadata({ op: "restore-begin", name }, options.signal);
    if (!begun.ok) throw new TransientError(`cannot allocate a shard to restore table "${name}"`);
    const shardId = resultTable(begun).shardId;
    try {
      const table = await this.waitRestoringLeader(shardId, options.signal);
      let lastIndex = 0;
      for await (const batch of batches) lastIndex = await this.proposeRestoreBatch(table, batch, options.signal);
      await this.waitPeersApplied(shardId, lastIndex, options.signal);
      const finished = await this.proposeMetadata({ op: "restore-finish", name, shardId, ...(options.fence ? { fence: options.fence } : {}) }, options.signal);
      if (!finished.ok && finished.error === "leased") {
        throw new TransientError(`restore of table "${name}" into shard ${shardId} was fenced off: the replication lease changed hands while it ran`);
      }
      if (!finished.ok) throw new TransientError(`restore of table "${name}" into shard ${shardId} was superseded by another restore`);
      return resultTable(finished);
    } catch (error) {
      await this.proposeMetadata({ op: "restore-abort", name, shardId }).catch(() => undefined);
      throw error;
    }
  }

  /** Waits until restore shard `shardId` runs here and has a Raft leader. */
  private async waitRestoringLeader(shardId: number, signal?: Cancellation): Promise<RaftTable> {
    const deadline = anySignal(signal, AbortSignal.timeout(RESTORE_LEADER_WAIT_MS));
    for (;;) {
      const table = this.restoring.get(shardId);
      if (table && table.group.node.leaderId !== 0) return table;
      if (deadline.aborted) {
        if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new AbortedError("deadline");
        throw new AbortedError("deadline", `restore shard ${shardId} elected no leader within ${RESTORE_LEADER_WAIT_MS} ms`);
      }
      await sleep(LEADER_RETRY_MS, deadline);
    }
  }

  /**
   * Waits until every connected peer's replica of restore shard `shardId` applied `index`, so that the
   * switch to the restored shard shows every node the whole table at once. Bounded: a peer that does not
   * answer in time is left to catch up after the switch (it is logged).
   */
  private async waitPeersApplied(shardId: number, index: number, signal?: Cancellation): Promise<void> {
    const deadline = anySignal(signal, AbortSignal.timeout(RESTORE_PEER_CATCH_UP_MS));
    const request = Buffer.from(JSON.stringify({ kind: "applied", groupId: shardId }));
    for (const peerId of this.options.network.connectedPeers()) {
      for (;;) {
        const applied = await this.options.network
          .request(peerId, request, LEADER_WAIT_MS)
          .then((bytes) => (JSON.parse(Buffer.from(bytes).toString("utf8")) as { applied: number }).applied, () => 0);
        if (applied >= index) break;
        if (deadline.aborted) {
          if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new AbortedError("deadline");
          this.options.logger.warn("a peer has not applied the whole restore yet; switching anyway", { shard_id: shardId, peer: peerId, applied, index });
          break;
        }
        await sleep(LEADER_RETRY_MS, deadline);
      }
    }
  }

  /** Proposes one batch with a 30 s timeout per attempt, retrying transient failures while the shard runs; returns its index. */
  private async proposeRestoreBatch(table: RaftTable, batch: armada.v1.ICommand, signal?: Cancellation): Promise<number> {
    const data = pb.Command.encode(batch).finish();
    for (let delayMs = LEADER_RETRY_MS; ; delayMs = Math.min(delayMs * 2, RESTORE_RETRY_DELAY_MAX_MS)) {
      try {
        const result = await this.propose(table.group, data, anySignal(signal, AbortSignal.timeout(RESTORE_PROPOSAL_TIMEOUT_MS)));
        return result.revision;
      } catch (error) {
        const timedOut = error instanceof Error && error.name === "TimeoutError";
        if (signal?.aborted || !(error instanceof TransientError || timedOut)) throw error;
        if (this.restoring.get(table.info.shardId) !== table) throw new TransientError(`restore shard ${table.info.shardId} stopped on node ${this.nodeId}`);
        this.options.logger.warn("restore batch proposal failed, retrying", { table: table.info.name, shard_id: table.info.shardId, error: String(error) });
        await sleep(delayMs, signal ?? new AbortController().signal);
      }
    }
  }

  listTables(): TableInfo[] {
    if (this.closed) throw new EngineClosedError();
    return this.catalogue.list();
  }

  table(name: string): TableHandle {
    if (this.closed) throw new EngineClosedError();
    const table = this.tables.get(name);
    if (table) return table;
    if (this.catalogue.get(name)) throw new TransientError(`table "${name}" is not running on this node yet`);
    throw new TableNotFoundError(name);
  }

  /**
   * Takes or renews this node's replication lease on table `name` for `durationMs` (spec §9.7.1); false when
   * another node holds an unexpired lease or the table is gone.
   */
  async acquireLease(name: string, durationMs: number, signal?: Cancellation): Promise<boolean> {
    const result = await this.proposeMetadata({ op: "lease-acquire", name, nodeId: this.nodeId, nowMs: Date.now(), durationMs }, signal);
    return result.ok;
  }

  /** Gives up this node's lease on `name` (no effect when another node holds it). */
  async releaseLease(name: string, signal?: Cancellation): Promise<void> {
    await this.proposeMetadata({ op: "lease-release", name, nodeId: this.nodeId }, signal);
  }

  /** The lease of table `name` as this node's catalogue replica knows it. */
  lease(name: string): TableLease | undefined {
    return this.catalogue.lease(name);
  }

  /** This node's current tenure of the lease on `name`, as its catalogue replica knows it; undefined if not held. */
  leaseTenure(name: string): LeaseFence | undefined {
    const lease = this.catalogue.lease(name);
    if (lease === undefined || lease.nodeId !== this.nodeId || lease.acquiredAtMs === undefined) return undefined;
    return { nodeId: lease.nodeId, acquiredAtMs: lease.acquiredAtMs };
  }

  /** Tells every connected peer that this node has clients waiting for `table` to catch up (best effort). */
  sendReplicationHint(table: string): void {
    const payload = Buffer.from(JSON.stringify({ kind: "hint", table } satisfies ForwardRequest));
    for (const peerId of this.options.network.connectedPeers()) {
      this.options.network.request(peerId, payload, LEADER_WAIT_MS).catch(() => undefined);
    }
  }

  /** Asks peer `nodeId` for its name and API address. */
  async peerInfo(nodeId: number, timeoutMs: number): Promise<NodeInfo> {
    const bytes = await this.options.network.request(nodeId, Buffer.from(JSON.stringify({ kind: "info" })), timeoutMs);
    return JSON.parse(Buffer.from(bytes).toString("utf8")) as NodeInfo;
  }

  /** Raft status of the metadata group and every table, for Cluster/Status and metrics. */
  metadataStatus(): GroupStatus {
    return groupStatus(this.metadata, this.options.nodeId, METADATA_GROUP_ID, this.catalogue.appliedIndex);
  }

  // --- network handlers -------------------------------------------------------------------------

  onMessages(batch: readonly GroupMessage[]): void {
    this.host.deliver(batch);
  }

  async onSnapshot(from: number, groupId: number, headerBytes: Uint8Array, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const header = JSON.parse(Buffer.from(headerBytes).toString("utf8")) as SnapshotHeader;
    const table = this.tableByShard(groupId);
    if (!table) throw new Error(`no table with shard id ${groupId} runs on node ${this.options.nodeId}`);
    if (table.stateMachine.appliedIndex < header.streamIndex) {
      await table.stateMachine.recoverFromSnapshot(chunks, { index: header.streamIndex });
      this.reportLeaderIndex(table);
      this.options.logger.info("table recovered from a snapshot", { table: table.info.name, index: header.streamIndex, from });
    } else {
      for await (const _ of chunks); // Already at least as new: drain the stream so the sender completes.
    }
    // The snapshot lets the log drop entries that the table may hold only in its last, not yet durable
    // commit (see TableStore.open), whether it was just installed or already held: make it durable first,
    // as the node host does before its own snapshots.
    await table.stateMachine.flush();
    table.group.node.step({
      type: "snapshot",
      from,
      to: this.options.nodeId,
      term: header.term,
      snapshot: { metadata: header.metadata, data: new Uint8Array(0) },
    });
    this.host.schedule();
  }

  async onRequest(_from: number, payload: Uint8Array): Promise<Uint8Array> {
    if (payload[0] === FORWARD_BATCH_TAG) return encodeForwardOutcomes(this.proposeForwarded(decodeForwardBatch(payload)));
    const request = JSON.parse(Buffer.from(payload).toString("utf8")) as ForwardRequest;
    if (request.kind === "info") return Buffer.from(JSON.stringify(this.options.nodeInfo ?? { name: "", apiAddress: "" }));
    if (request.kind === "hint") {
      this.onReplicationHint?.(request.table);
      return Buffer.from("{}");
    }
    if (request.kind === "applied") {
      const table = this.tableByShard(request.groupId);
      return Buffer.from(JSON.stringify({ applied: table?.stateMachine.appliedIndex ?? 0 }));
    }
    const [outcome] = this.proposeForwarded([{ groupId: request.groupId, data: Buffer.from(request.data, "base64") }]);
    return Buffer.from(JSON.stringify(outcome));
  }

  /** Proposes proposals forwarded by another node, each on its own; never throws (see forward-batch.ts). */
  private proposeForwarded(proposals: readonly ForwardedProposal[]): ForwardOutcome[] {
    const outcomes = proposals.map(({ groupId, data }): ForwardOutcome => {
      try {
        const group = this.host.group(groupId);
        if (!group) throw new TransientError(`group ${groupId} is not running on node ${this.options.nodeId}`);
        const ticket = group.node.propose(data);
        group.counters.proposals++;
        return { index: ticket.index, term: ticket.term };
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error), ...(error instanceof RaftNotLeaderError ? { leaderId: error.leaderId } : {}) };
      }
    });
    this.host.schedule();
    return outcomes;
  }

  // --- proposals ------------------------------------------------------------------------------

  /** Proposes `data` to `group` through its leader, wherever it is; resolves with the local apply result. */
  async propose<R>(group: RaftGroup<R>, data: Uint8Array, signal?: Cancellation): Promise<R> {
    const deadline: Cancellation = signal ?? AbortSignal.timeout(LEADER_WAIT_MS);
    for (;;) {
      if (deadline.aborted) throw deadline.reason instanceof Error ? deadline.reason : new AbortedError("deadline");
      // Only a leader proposes here. Any other node forwards to the leader it knows without trying first:
      // a refused proposal builds (and throws) a NotLeaderError, stack trace included, on every write.
      let leaderId = group.node.role === "leader" ? this.options.nodeId : group.node.leaderId;
      if (leaderId === this.options.nodeId) {
        try {
          const waiting = group.propose(data, deadline);
          this.host.schedule();
          return await waiting;
        } catch (error) {
          if (!(error instanceof RaftNotLeaderError)) throw asTransient(error);
          leaderId = error.leaderId;
        }
      }
      if (leaderId !== 0 && leaderId !== this.options.nodeId) {
        const forwarded = await this.forward(leaderId, group, data, deadline);
        if (forwarded !== NOT_PROPOSED) return forwarded;
      }
      await sleep(LEADER_RETRY_MS, deadline);
    }
  }

  /**
   * Asks `leaderId` to propose; returns NOT_PROPOSED when it certainly did not (not the leader any more, or the
   * request never left this node): try again. When the request may have reached the leader (timeout, connection
   * lost) the outcome is unknown: proposing again could apply the write twice, so that is an error instead.
   * (A sentinel, not undefined: an apply result can be anything, and mistaking one for "not proposed" once
   * applied a forwarded write twice.)
   */
  private async forward<R>(leaderId: number, group: RaftGroup<R>, data: Uint8Array, signal: Cancellation): Promise<R | typeof NOT_PROPOSED> {
    // A stopped group refuses before the leader proposes; refusing after would report a write that applies.
    group.checkRunning();
    let response: ForwardOutcome;
    try {
      response = await this.forwarder.forward(leaderId, { groupId: group.groupId, data });
    } catch (error) {
      if (requestNotSent(error)) return NOT_PROPOSED;
      throw new TransientError(`forwarding the proposal to leader ${leaderId} failed, outcome unknown: ${error instanceof Error ? error.message : String(error)}`);
    }
    if ("error" in response) {
      if (response.leaderId !== undefined) return NOT_PROPOSED;
      throw new TransientError(`leader ${leaderId} refused the proposal: ${response.error}`);
    }
    return group.waitApplied(response.index, response.term, signal);
  }

  private async proposeMetadata(command: MetadataCommand, signal?: Cancellation): Promise<MetadataResult> {
    if (this.closed) throw new EngineClosedError();
    return this.propose(this.metadata, encodeMetadataCommand(command), signal);
  }

  // --- groups -------------------------------------------------------------------------------

  private groupOptions(groupId: number): RaftGroupOptions {
    return {
      nodeId: this.options.nodeId,
      groupId,
      storage: this.options.log.storage(groupId),
      electionTicks: this.options.electionTicks,
      heartbeatTicks: this.options.heartbeatTicks,
      preVote: true,
      uncommittedBytesMax: this.options.maxInMemoryLogBytes,
      snapshotEntries: this.options.snapshotEntries,
      compactionOverhead: this.options.compactionOverhead,
    };
  }

  private async createGroup<R>(groupId: number, machine: ConstructorParameters<typeof RaftGroup<R>>[1], _metadata: boolean): Promise<RaftGroup<R>> {
    if (!this.options.log.hasGroup(groupId)) {
      // First start of this group on this node: every initial member writes the same bootstrap log.
      const bootstrap = bootstrapState(this.options.voters);
      await this.options.log.save([{ groupId, entries: bootstrap.entries, hardState: bootstrap.hardState }], true);
    }
    return new RaftGroup<R>(this.groupOptions(groupId), machine);
  }

  private tableDir(info: TableInfo): string {
    return join(this.options.stateMachineDir, String(info.shardId));
  }

  private async onCatalogueApplied(results: readonly MetadataResult[]): Promise<void> {
    // Lease changes do not change which tables run.
    if (results.some((result) => result.ok && "table" in result)) await this.reconcileTables();
  }

  /** Releases waiters of `table`'s leader index, when `table` is the running shard of its name. */
  private reportLeaderIndex(table: RaftTable): void {
    if (this.tables.get(table.info.name) !== table) return;
    this.leaderIndexWaiters.get(table.info.name)?.advance(table.stateMachine.leaderIndex);
  }

  /** Waits until the running shard of table `name` applied leader index `index`. */
  waitLeaderIndex(name: string, index: number, signal?: Cancellation): Promise<void> {
    let waiters = this.leaderIndexWaiters.get(name);
    if (!waiters) {
      waiters = new IndexWaiters(this.tables.get(name)?.stateMachine.leaderIndex ?? 0);
      this.leaderIndexWaiters.set(name, waiters);
    }
    return waiters.wait(index, signal);
  }

  /** How many callers wait for table `name` to catch up with the leader cluster. */
  leaderIndexWaitersOf(name: string): number {
    return this.leaderIndexWaiters.get(name)?.pending ?? 0;
  }

  /**
   * Starts groups of registered tables and of pending restores that do not run here, promotes a restored
   * shard to its table when the catalogue switched to it, and stops (and trashes) groups no longer wanted.
   */
  private async reconcileTables(): Promise<void> {
    const wanted = new Map(this.catalogue.list().map((info) => [info.name, info]));
    const pending = new Map(this.catalogue.pendingRestores().map((info) => [info.shardId, info]));
    for (const [name, table] of this.tables) {
      const info = wanted.get(name);
      if (info && info.shardId === table.info.shardId) continue;
      await this.stopTable(table);
    }
    for (const [shardId, table] of this.restoring) {
      if (pending.has(shardId) || wanted.get(table.info.name)?.shardId === shardId) continue;
      await this.stopTable(table);
    }
    for (const info of wanted.values()) {
      if (this.tables.has(info.name)) continue;
      const restored = this.restoring.get(info.shardId);
      if (restored) {
        this.restoring.delete(info.shardId);
        this.tables.set(info.name, restored);
        this.reportLeaderIndex(restored);
        this.options.logger.info("table switched to its restored shard", { table: info.name, shard_id: info.shardId });
        continue;
      }
      this.tables.set(info.name, await this.startTable(info));
    }
    for (const info of pending.values()) {
      if (!this.restoring.has(info.shardId)) this.restoring.set(info.shardId, await this.startTable(info));
    }
  }

  private async startTable(info: TableInfo): Promise<RaftTable> {
    const stateMachine = TableStateMachine.open(this.tableDir(info), { table: info.name });
    let table: RaftTable | null = null;
    const machine = new TableGroupStateMachine(stateMachine, () => {
      if (table) this.reportLeaderIndex(table);
    });
    const group = await this.createGroup<ApplyResult>(info.shardId, machine, false);
    table = new RaftTable(info, stateMachine, group, this, this.tableDir(info), new GroupLog(this.options.log, info.shardId));
    this.host.add(group);
    this.options.logger.info("table started", { table: info.name, shard_id: info.shardId, applied_index: stateMachine.appliedIndex });
    return table;
  }

  private async stopTable(table: RaftTable): Promise<void> {
    if (this.tables.get(table.info.name) === table) this.tables.delete(table.info.name);
    if (this.restoring.get(table.info.shardId) === table) this.restoring.delete(table.info.shardId);
    this.host.remove(table.info.shardId);
    table.group.stop(new TableNotFoundError(table.info.name));
    await table.stateMachine.close();
    await this.options.log.removeGroup(table.info.shardId);
    moveToTrash(this.options.stateMachineDir, this.tableDir(table.info), table.info.shardId);
    if (!this.catalogue.get(table.info.name)) {
      this.leaderIndexWaiters.get(table.info.name)?.failAll(new TableNotFoundError(table.info.name));
      this.leaderIndexWaiters.delete(table.info.name);
    }
    this.options.logger.info("table stopped and its data moved to trash", { table: table.info.name, shard_id: table.info.shardId });
  }

  private snapshotSource(groupId: number) {
    if (groupId === METADATA_GROUP_ID) return null;
    const table = this.tableByShard(groupId);
    // Replicas of one cluster inherit the stored leader-cluster index (a follower cluster's position).
    return table ? table.stateMachine.snapshot("leader") : null;
  }

  private tableByShard(shardId: number): RaftTable | undefined {
    return this.restoring.get(shardId) ?? [...this.tables.values()].find((t) => t.info.shardId === shardId);
  }
}

/** A table on the multi-Raft engine. */
class RaftTable implements TableHandle {
  constructor(
    readonly info: TableInfo,
    readonly stateMachine: TableStateMachine,
    readonly group: RaftGroup<ApplyResult>,
    private readonly engine: RaftEngine,
    private readonly dir: string,
    readonly log: TableLog,
  ) {}

  dataSizeBytes(): number {
    try {
      return statSync(join(this.dir, LMDB_DATA_FILE)).size;
    } catch {
      return 0;
    }
  }

  raftStats(): RaftStats {
    return { ...this.group.counters, logEntries: this.group.logEntries() };
  }

  status(): GroupStatus {
    return groupStatus(this.group, this.group.options.nodeId, this.info.shardId, this.stateMachine.appliedIndex);
  }

  propose(command: armada.v1.ICommand, options: WaitOptions = {}): Promise<ApplyResult> {
    return this.engine.propose(this.group, pb.Command.encode(command).finish(), options.signal);
  }

  readIndex(options: WaitOptions = {}): Promise<void> {
    return this.group.readIndex(options.signal);
  }
}

/** A table group's log on this node, as Log/Replicate reads it. */
class GroupLog implements TableLog {
  constructor(private readonly log: LogStorePort, private readonly groupId: number) {}

  firstIndex(): number {
    return this.log.storage(this.groupId).firstIndex();
  }

  lastIndex(): number {
    return this.log.storage(this.groupId).lastIndex();
  }

  entries(lo: number, hi: number, maxBytes: number): TableLogEntry[] {
    let entries: Entry[];
    try {
      entries = this.log.storage(this.groupId).entries(lo, hi, maxBytes);
    } catch (error) {
      if (error instanceof CompactedError) throw new LogCompactedError(lo, this.firstIndex());
      throw error;
    }
    return entries.map((entry) => ({ index: entry.index, command: entry.type === "normal" ? entry.data : EMPTY }));
  }
}

const EMPTY = new Uint8Array(0);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function groupStatus(group: RaftGroup<any>, nodeId: number, shardId: number, appliedIndex: number): GroupStatus {
  const node = group.node;
  return { shardId, replicaId: nodeId, term: node.term, leaderId: node.leaderId, commitIndex: node.commit, appliedIndex };
}

function anySignal(signal: Cancellation | undefined, timeout: AbortSignal): AbortSignal {
  return signal ? AbortSignal.any([toAbortSignal(signal), timeout]) : timeout;
}

function sleep(ms: number, signal: Cancellation): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** What `forward` returns when the leader certainly did not propose (so proposing again is safe). */
const NOT_PROPOSED = Symbol("not proposed");

/**
 * Whether a NetworkPort request failed without reaching the peer's handler (see NetworkPort.request): never
 * sent, or refused before the handler ran. Anything else (timeout, lost connection) may have been acted on.
 */
function requestNotSent(error: unknown): boolean {
  const reason = (error as { reason?: unknown } | null)?.reason;
  return reason === "notConnected" || reason === "tooManyRequests" || reason === "remoteError";
}
