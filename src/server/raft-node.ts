/**
 * Opens the multi-Raft engine of a node: the write-ahead log, the peer transport on `--raft.address`,
 * and the engine that joins them.
 */
import { join } from "node:path";
import { openLogDB, type LogDB } from "../logdb/index.js";
import { PeerTransport } from "../transport/index.js";
import { RaftEngine, type NodeInfo } from "../engine/raft/raft-engine.js";
import { LogDbPort } from "../engine/raft/logdb-port.js";
import { TransportPort } from "../engine/raft/transport-port.js";
import type { NodeLog } from "./leader.js";

export interface RaftSettings {
  readonly nodeId: number;
  readonly raftAddress: string;
  /** Bind address when it differs from the advertised raft address ("" = raftAddress). */
  readonly listenAddress: string;
  /** Initial members: node id → raft address. Empty means a single-node cluster of this node. */
  readonly initialMembers: Readonly<Record<string, string>>;
  readonly clusterName: string;
  readonly nodeHostDir: string;
  readonly walDir: string;
  readonly stateMachineDir: string;
  readonly rttMs: number;
  readonly heartbeatTicks: number;
  readonly electionTicks: number;
  readonly snapshotEntries: number;
  readonly compactionOverhead: number;
  readonly maxInMemoryLogBytes: number;
  readonly maxSendQueueBytes: number;
  readonly maxRecvQueueBytes: number;
}

/** How often connected peers are asked for their name and API address. */
export const PEER_INFO_REFRESH_MS = 5000;

/** A live member of the cluster as Cluster/MemberList reports it. */
export interface LiveMember {
  readonly id: number;
  readonly name: string;
  readonly raftAddress: string;
  readonly apiAddress: string;
}

export interface OpenedRaftNode {
  readonly engine: RaftEngine;
  readonly transport: PeerTransport;
  /** Node id → raft address of every member, this node included. */
  readonly members: ReadonlyMap<number, string>;
  /** This node and every peer it is connected to. */
  liveMembers(): LiveMember[];
  close(): Promise<void>;
}

/** The cluster's members from `--raft.initial-members`, or this node alone. */
export function clusterMembers(settings: RaftSettings): Map<number, string> {
  const members = new Map<number, string>();
  for (const [id, address] of Object.entries(settings.initialMembers)) members.set(Number(id), address);
  if (members.size === 0) members.set(settings.nodeId, settings.raftAddress);
  return members;
}

export async function openRaftNode(settings: RaftSettings, log: NodeLog, onFatal: (error: Error) => void, self: NodeInfo): Promise<OpenedRaftNode> {
  const { logdb, recovered } = await openLogDB({ dir: settings.walDir || join(settings.nodeHostDir, "wal") });
  if (recovered.truncation) {
    log.warn("write-ahead log had a torn or corrupt tail; it was cut off", { ...recovered.truncation });
  }
  const members = clusterMembers(settings);
  let engine: RaftEngine | null = null;
  const transport = new PeerTransport({
    nodeId: settings.nodeId,
    clusterName: settings.clusterName,
    listenAddress: settings.listenAddress || settings.raftAddress,
    peers: members,
    maxSendQueueBytes: settings.maxSendQueueBytes,
    maxRecvQueueBytes: settings.maxRecvQueueBytes,
    onMessages: (batch) => engine?.onMessages(batch),
    onSnapshot: (from, groupId, header, chunks) => {
      if (!engine) return Promise.reject(new Error("engine not started"));
      return engine.onSnapshot(from, groupId, header, chunks);
    },
    onRequest: (from, payload) => {
      if (!engine) return Promise.reject(new Error("engine not started"));
      return engine.onRequest(from, payload);
    },
    log,
  });
  engine = new RaftEngine({
    nodeId: settings.nodeId,
    voters: [...members.keys()],
    stateMachineDir: settings.stateMachineDir,
    metadataDir: join(settings.nodeHostDir, "metadata"),
    rttMs: settings.rttMs,
    electionTicks: settings.electionTicks,
    heartbeatTicks: settings.heartbeatTicks,
    snapshotEntries: settings.snapshotEntries,
    compactionOverhead: settings.compactionOverhead,
    maxInMemoryLogBytes: settings.maxInMemoryLogBytes,
    nodeInfo: self,
    log: new LogDbPort(logdb),
    network: new TransportPort(transport),
    logger: log,
    onFatal,
  });
  try {
    await engine.start();
    await transport.start();
  } catch (error) {
    await closeAll(engine, transport, logdb);
    throw error;
  }
  const started = engine;
  const peerInfo = new Map<number, NodeInfo>();
  const refresh = () => {
    for (const [peerId, status] of transport.peerStatus()) {
      if (!status.connected) continue;
      started.peerInfo(peerId, PEER_INFO_REFRESH_MS).then((info) => peerInfo.set(peerId, info), () => undefined);
    }
  };
  const refresher = setInterval(refresh, PEER_INFO_REFRESH_MS);
  refresher.unref();
  setTimeout(refresh, 500).unref();
  const liveMembers = (): LiveMember[] => {
    const live: LiveMember[] = [{ id: settings.nodeId, name: self.name, raftAddress: settings.raftAddress, apiAddress: self.apiAddress }];
    for (const [peerId, status] of transport.peerStatus()) {
      if (!status.connected) continue;
      const info = peerInfo.get(peerId);
      live.push({ id: peerId, name: info?.name ?? "", raftAddress: members.get(peerId) ?? "", apiAddress: info?.apiAddress ?? "" });
    }
    return live.sort((a, b) => a.id - b.id);
  };
  return {
    engine,
    transport,
    members,
    liveMembers,
    close: async () => {
      clearInterval(refresher);
      await closeAll(started, transport, logdb);
    },
  };
}

async function closeAll(engine: RaftEngine, transport: PeerTransport, logdb: LogDB): Promise<void> {
  await engine.close();
  await transport.close();
  // Rounds that only advanced the commit index were written without fdatasync (Raft can recover them);
  // a clean stop makes everything durable so that the next start has nothing to re-learn.
  try {
    await logdb.sync();
  } finally {
    await logdb.close();
  }
}
