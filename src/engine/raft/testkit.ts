/**
 * Test doubles for the multi-Raft engine: a log store over the Raft core's MemoryStorage and an
 * in-process network joining several engines, with switchable links.
 */
import { MemoryStorage, type RaftStorage, type Snapshot } from "../../raft/index.js";
import type { GroupMessage, GroupUpdate, LogStorePort, NetworkHandlers, NetworkPort } from "./ports.js";

/** An in-memory LogStorePort (durability is not what these tests are about). */
export class MemoryLogStore implements LogStorePort {
  private readonly groups = new Map<number, MemoryStorage>();
  saves = 0;

  async save(updates: readonly GroupUpdate[]): Promise<void> {
    this.saves++;
    for (const update of updates) {
      const storage = this.storageOf(update.groupId);
      if (update.snapshot) storage.applySnapshot(update.snapshot);
      if (update.entries && update.entries.length > 0) storage.append(update.entries);
      if (update.hardState) storage.setHardState(update.hardState);
    }
  }

  hasGroup(groupId: number): boolean {
    return this.groups.has(groupId);
  }

  storage(groupId: number): RaftStorage {
    return this.storageOf(groupId);
  }

  async createSnapshot(groupId: number, snapshot: Snapshot): Promise<void> {
    this.storageOf(groupId).createSnapshot(snapshot.metadata.index, snapshot.metadata.confState, snapshot.data);
  }

  async compact(groupId: number, index: number): Promise<void> {
    const storage = this.storageOf(groupId);
    if (index > storage.firstIndex()) storage.compact(index);
  }

  async removeGroup(groupId: number): Promise<void> {
    this.groups.delete(groupId);
  }

  private storageOf(groupId: number): MemoryStorage {
    let storage = this.groups.get(groupId);
    if (!storage) {
      storage = new MemoryStorage();
      this.groups.set(groupId, storage);
    }
    return storage;
  }
}

/** Joins engines in one process; `down` nodes neither send nor receive. */
export class InProcessNetwork {
  private readonly handlers = new Map<number, NetworkHandlers>();
  readonly down = new Set<number>();
  /** How many of the next requests lose their answer: the peer's handler runs, the caller sees a lost connection. */
  loseAnswers = 0;
  /** Nodes that receive no Raft messages or snapshots (they fall behind) but can still send and make requests. */
  readonly deaf = new Set<number>();

  attach(nodeId: number, handlers: NetworkHandlers): void {
    this.handlers.set(nodeId, handlers);
  }

  /** The NetworkPort of node `from`. */
  port(from: number): NetworkPort {
    const reachable = (to: number) => !this.down.has(from) && !this.down.has(to) && this.handlers.has(to);
    return {
      send: (batch: readonly GroupMessage[]) => {
        const byNode = new Map<number, GroupMessage[]>();
        for (const item of batch) {
          if (!reachable(item.message.to) || this.deaf.has(item.message.to)) continue;
          byNode.set(item.message.to, [...(byNode.get(item.message.to) ?? []), item]);
        }
        for (const [to, items] of byNode) setImmediate(() => { if (reachable(to) && !this.deaf.has(to)) this.handlers.get(to)!.onMessages(items); });
      },
      sendSnapshot: async (to, groupId, header, chunks) => {
        if (!reachable(to) || this.deaf.has(to)) throw new Error(`node ${to} unreachable`);
        await this.handlers.get(to)!.onSnapshot(from, groupId, header, chunks);
      },
      request: async (to, payload) => {
        if (!reachable(to)) throw Object.assign(new Error(`node ${to} unreachable`), { reason: "notConnected" });
        const answer = await this.handlers.get(to)!.onRequest(from, payload);
        if (this.loseAnswers > 0) {
          this.loseAnswers--;
          throw Object.assign(new Error(`connection to node ${to} lost`), { reason: "connectionLost" });
        }
        return answer;
      },
      connectedPeers: () => new Set([...this.handlers.keys()].filter((id) => id !== from && reachable(id))),
    };
  }
}
