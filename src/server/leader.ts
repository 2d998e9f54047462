/**
 * `armada leader`: one node of the leader cluster. Opens the engine (starting every registered table
 * before serving), then the API listener; stops gracefully on request.
 */
import type * as grpc from "@grpc/grpc-js";
import type { Engine } from "../engine/engine.js";
import { openRaftNode, type RaftSettings } from "./raft-node.js";
import { createApiServer } from "./api-server.js";
import { listen, shutdown, type TlsFiles } from "./listen.js";
import { persistentNodeName } from "./node-identity.js";
import { VERSION } from "./version.js";

/** How long in-flight calls may run after a stop request before connections are cut. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** What a component logs through; the CLI adapts the process logger to it. */
export interface NodeLog {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface LeaderSettings {
  readonly raft: RaftSettings;
  readonly clusterName: string;
  readonly nodeName: string;
  readonly api: {
    readonly address: string;
    readonly advertiseAddress: string;
    readonly tls: TlsFiles;
    readonly maxConcurrentStreams: number;
  };
  readonly tablesEnabled: boolean;
  readonly tablesToken: string;
  /** The effective configuration for Cluster/Status, secrets masked. */
  readonly renderedConfig: () => Record<string, unknown>;
}

/** A running leader node. */
export interface RunningNode {
  /** The API address actually bound (with the real port when 0 was configured). */
  readonly apiAddress: string;
  readonly engine: Engine;
  stop(): Promise<void>;
}

export async function startLeader(settings: LeaderSettings, log: NodeLog, onFatal: (error: Error) => void): Promise<RunningNode> {
  const nodeName = persistentNodeName(settings.raft.nodeHostDir, settings.nodeName);
  let raftNode;
  try {
    raftNode = await openRaftNode(settings.raft, log, onFatal, { name: nodeName, apiAddress: settings.api.advertiseAddress });
  } catch (error) {
    throw new Error(`failed to start engine: ${error instanceof Error ? error.message : String(error)}`);
  }
  const engine = raftNode.engine;
  const identity = {
    nodeId: settings.raft.nodeId,
    nodeName,
    clusterName: settings.clusterName,
    raftAddress: settings.raft.raftAddress,
    advertiseAddress: settings.api.advertiseAddress,
    version: VERSION,
    renderedConfig: settings.renderedConfig,
    members: () => raftNode.liveMembers(),
  };
  const apiServer = createApiServer(engine, identity, {
    tablesEnabled: settings.tablesEnabled,
    tablesToken: settings.tablesToken,
    maxConcurrentStreams: settings.api.maxConcurrentStreams,
    onUnexpectedError: (method, error) =>
      log.error("unexpected error in handler", { method, error: error instanceof Error ? error.stack : String(error) }),
  });
  let apiAddress: string;
  try {
    apiAddress = await listen(apiServer, settings.api.address, settings.api.tls);
  } catch (error) {
    await raftNode.close();
    throw new Error(`failed to create API server: ${error instanceof Error ? error.message : String(error)}`);
  }
  log.info("API listening", { address: apiAddress, tables: engine.listTables().length });
  return { apiAddress, engine, stop: () => stopNode([apiServer], raftNode.close, log) };
}

async function stopNode(servers: grpc.Server[], closeEngine: () => Promise<void>, log: NodeLog): Promise<void> {
  log.info("shutting down");
  await Promise.all(servers.map((server) => shutdown(server, SHUTDOWN_GRACE_MS)));
  await closeEngine();
  log.info("stopped");
}
