/**
 * The event-loop schedule of all Raft groups of a node: ticks every `rttMs`, collects the Readys of
 * every group, persists them with one sync, sends their messages, applies, and advances. Snapshot
 * messages of table groups are turned into snapshot streams on a side channel.
 */
import type { Message, Ready } from "../../raft/index.js";
import type { RaftGroup, SnapshotRequest } from "./raft-group.js";
import type { GroupMessage, GroupUpdate, LogStorePort, NetworkPort } from "./ports.js";
import { coalesceAppends } from "./append-coalescing.js";

export interface NodeHostOptions {
  readonly nodeId: number;
  readonly rttMs: number;
  readonly log: LogStorePort;
  readonly network: () => NetworkPort;
  /** Opens the snapshot stream of a table group, or null for groups whose snapshots travel inline. */
  readonly snapshotSource: (groupId: number) => { index: number; chunks(): AsyncIterable<Uint8Array>; close(): void } | null;
  /** A failure that must stop the node (the disk refused a write, a state machine broke). */
  readonly onFatal: (error: Error) => void;
  readonly logWarn: (message: string, fields?: Record<string, unknown>) => void;
}

/** Header of a streamed table snapshot: the Raft message to step once the data is installed. */
export interface SnapshotHeader {
  readonly term: number;
  readonly metadata: { index: number; term: number; confState: { voters: number[]; learners: number[] } };
  /** The applied index of the streamed data (at least metadata.index). */
  readonly streamIndex: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyGroup = RaftGroup<any>;

export class NodeHost {
  private readonly groups = new Map<number, AnyGroup>();
  private readonly snapshotsInFlight = new Set<string>();
  private ticker: NodeJS.Timeout | null = null;
  private scheduled = false;
  private running: Promise<void> | null = null;
  private stopped = false;
  private rerun = false;
  private fatal: Error | null = null;
  /** The apply of the last round, running while the next round persists. */
  private applying: { readonly promise: Promise<([AnyGroup, SnapshotRequest] | null)[]>; done: boolean } | null = null;
  /** Snapshots asked for by finished applies, recorded before the next log write. */
  private readonly snapshotsToRecord: [AnyGroup, SnapshotRequest][] = [];

  constructor(private readonly options: NodeHostOptions) {}

  start(): void {
    this.ticker = setInterval(() => this.tick(), this.options.rttMs);
  }

  /** Stops ticking and running rounds; resolves once the round in progress (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    await this.running;
    await this.applying?.promise.catch(() => undefined);
  }

  group(groupId: number): AnyGroup | undefined {
    return this.groups.get(groupId);
  }

  add(group: AnyGroup): void {
    this.groups.set(group.groupId, group);
    group.onWork(() => this.schedule());
    this.schedule();
  }

  remove(groupId: number): AnyGroup | undefined {
    const group = this.groups.get(groupId);
    this.groups.delete(groupId);
    return group;
  }

  /** Steps messages from peers into their groups (messages for unknown groups are dropped: Raft retries). */
  deliver(batch: readonly GroupMessage[]): void {
    for (const { groupId, message } of batch) {
      const group = this.groups.get(groupId);
      if (!group || message.to !== this.options.nodeId) continue;
      try {
        group.node.step(message);
      } catch (error) {
        this.options.logWarn("dropped a Raft message the group refused", { group: groupId, type: message.type, error: String(error) });
      }
    }
    this.schedule();
  }

  /** Runs a round soon (after inputs such as proposals). */
  schedule(): void {
    if (this.scheduled || this.fatal || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private tick(): void {
    for (const group of this.groups.values()) group.node.tick();
    this.schedule();
  }

  private run(): void {
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.running = this.runRounds().finally(() => {
      this.running = null;
    });
  }

  private async runRounds(): Promise<void> {
    try {
      do {
        this.rerun = false;
        while (!this.stopped && (await this.round()));
      } while (this.rerun && !this.stopped);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Stops the host for good after a failure that must stop the node (reported once). */
  private fail(error: unknown): void {
    if (this.fatal) return;
    this.fatal = error instanceof Error ? error : new Error(String(error));
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.options.onFatal(this.fatal);
  }

  /**
   * One round over all groups; returns whether there was work. Rounds overlap by one stage: a round
   * persists and sends while the previous round's committed entries are still being applied, and
   * starts its own apply only after that one finished (entries apply in log order, one round at a time).
   *
   * Committed entries that were already on disk before this round's write (on a leader, all of them: it
   * commits only what it sent in an earlier round, whose write has finished) are applied beside the write
   * instead of after it, unless they change the membership (see appliesBesideWrite). Without that, every
   * write waited for the fdatasync of the next round too.
   */
  private async round(): Promise<boolean> {
    for (const group of this.groups.values()) group.flushReads();
    const readies: [AnyGroup, Ready][] = [];
    for (const group of this.groups.values()) if (group.node.hasReady()) readies.push([group, group.node.ready()]);
    if (readies.length === 0) {
      await this.recordSnapshots();
      return false;
    }
    const updates: GroupUpdate[] = [];
    let mustSync = false;
    for (const [group, ready] of readies) {
      if (ready.entries.length > 0 || ready.hardState || ready.snapshot) {
        updates.push({ groupId: group.groupId, hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot });
        // A Ready whose only change is the commit index needs no fdatasync (Raft recovers a lower commit).
        mustSync ||= ready.mustSync || ready.snapshot !== undefined;
      }
    }
    // One append per follower and run of entries instead of one per proposal (see append-coalescing.ts).
    const outgoing = readies.map(([group, ready]): [AnyGroup, Message[]] => [group, coalesceAppends(ready.messages)]);
    // A leader's appends go out before its own write, so followers persist while the leader does. What
    // they commit reaches the state machine only through a later Ready, handed out after this write.
    this.send(outgoing, "leaderAppends");
    const writing = updates.length > 0 ? this.options.log.save(updates, mustSync) : null;
    const applyingBesideWrite = readies.every(([, ready]) => appliesBesideWrite(ready)) ? this.applyInOrder(readies) : null;
    // Awaited below; this keeps a failure of both from being reported as an unhandled rejection.
    applyingBesideWrite?.catch(() => undefined);
    if (writing) await writing;
    this.send(outgoing, "others");
    await (applyingBesideWrite ?? this.applyInOrder(readies));
    await this.recordSnapshots();
    for (const [group, ready] of readies) if (this.groups.get(group.groupId) === group) group.node.advance(ready);
    return true;
  }

  /**
   * Waits for the apply in progress (if any), keeping the snapshots it asks for, then starts the apply of
   * `readies` without waiting for it. At most one apply runs at a time.
   */
  private async applyInOrder(readies: readonly [AnyGroup, Ready][]): Promise<void> {
    await this.settleApply();
    const applying = Promise.all(
      readies.map(async ([group, ready]): Promise<[AnyGroup, SnapshotRequest] | null> => {
        const request = await group.handleReady(ready);
        return request ? [group, request] : null;
      }),
    );
    const current = { promise: applying, done: false };
    this.applying = current;
    applying.then(
      (requests) => {
        current.done = true;
        if (requests.some((request) => request !== null)) this.schedule();
      },
      (error: unknown) => this.fail(error),
    );
  }

  /** Waits for the apply in progress (if any) and queues the snapshots it asked for (recorded between writes). */
  private async settleApply(): Promise<void> {
    const applying = this.applying;
    if (!applying) return;
    const requests = await applying.promise;
    if (this.applying === applying) this.applying = null;
    for (const request of requests) if (request) this.snapshotsToRecord.push(request);
  }

  /** Records the snapshots asked for by finished applies (between log writes, never during one). */
  private async recordSnapshots(): Promise<void> {
    // Only an apply that already finished is settled here; a running one is settled by the next round.
    if (this.applying?.done) await this.settleApply();
    while (this.snapshotsToRecord.length > 0) {
      const [group, request] = this.snapshotsToRecord.shift()!;
      await this.recordSnapshot(group, request);
    }
  }

  /** Sends the leaders' append messages of `outgoing`, or every other message. */
  private send(outgoing: readonly [AnyGroup, readonly Message[]][], which: "leaderAppends" | "others"): void {
    const batch: GroupMessage[] = [];
    for (const [group, messages] of outgoing) {
      for (const message of messages) {
        if ((message.type === "append") !== (which === "leaderAppends")) continue;
        if (message.type === "snapshot" && this.streamSnapshot(group, message)) continue;
        batch.push({ groupId: group.groupId, message });
      }
    }
    if (batch.length > 0) this.options.network().send(batch);
  }

  private async recordSnapshot(group: AnyGroup, request: SnapshotRequest): Promise<void> {
    if (this.groups.get(group.groupId) !== group) return;
    // A snapshot received from the leader in the meantime may already cover this one (and have replaced the
    // log): then there is nothing to record or compact. Recording it anyway would fail and stop the node.
    const storage = this.options.log.storage(group.groupId);
    if (request.snapshot.metadata.index <= storage.snapshot().metadata.index) return;
    if (request.snapshot.metadata.index < storage.firstIndex()) return;
    // The snapshot lets the log drop the entries it covers: the state machine's copy of them must be
    // durable first (a table's last commit is not, until the next one; see TableStore.open).
    await group.flushApplied();
    await this.options.log.createSnapshot(group.groupId, request.snapshot);
    if (request.compactTo >= storage.firstIndex()) await this.options.log.compact(group.groupId, request.compactTo);
  }

  /**
   * Ships a table's data to a lagging peer beside Raft, then reports the outcome to the leader. Returns
   * false for groups whose snapshots travel inline (the message is then sent as is). The snapshot view is
   * opened only when a transfer starts, and always closed when it ends.
   */
  private streamSnapshot(group: AnyGroup, message: Extract<Message, { type: "snapshot" }>): boolean {
    const key = `${group.groupId}/${message.to}`;
    if (this.snapshotsInFlight.has(key)) return true;
    const source = this.options.snapshotSource(group.groupId);
    if (!source) return false;
    this.snapshotsInFlight.add(key);
    const metadata = message.snapshot.metadata;
    const header: SnapshotHeader = {
      term: message.term,
      metadata: { index: metadata.index, term: metadata.term, confState: { voters: [...metadata.confState.voters], learners: [...metadata.confState.learners] } },
      streamIndex: source.index,
    };
    this.options
      .network()
      .sendSnapshot(message.to, group.groupId, Buffer.from(JSON.stringify(header)), source.chunks())
      .then(
        () => group.node.reportSnapshot(message.to, true),
        (error: unknown) => {
          this.options.logWarn("snapshot transfer failed", { group: group.groupId, to: message.to, error: String(error) });
          group.node.reportSnapshot(message.to, false);
        },
      )
      .finally(() => {
        source.close();
        this.snapshotsInFlight.delete(key);
        this.schedule();
      });
    return true;
  }
}

/**
 * Whether `ready` may be applied beside its own write: it holds no snapshot, its committed entries end
 * before its first new entry (the write may replace entries from there on, so only those before it were
 * on disk already), and none of them changes the membership. A membership change takes effect in the Raft
 * core only at advance(), after the write; an apply that finished before that could record a snapshot
 * (RaftGroup.maybeSnapshot reads the core's membership) without the change its own entries made.
 */
function appliesBesideWrite(ready: Ready): boolean {
  if (ready.snapshot) return false;
  const lastCommitted = ready.committedEntries[ready.committedEntries.length - 1];
  const firstNew = ready.entries[0];
  if (lastCommitted !== undefined && firstNew !== undefined && lastCommitted.index >= firstNew.index) return false;
  return ready.committedEntries.every((entry) => entry.type !== "confChange");
}
