/**
 * `armada leader`: one node of the leader cluster. Opens the engine (starting every registered table
 * before serving), then the API listener; stops gracefully on request.
 */
import type * as grpc from "@grpc/grpc-js";
import { join } from "node:path";
import { SingleNodeEngine } from "../engine/single-node.js";
import type { Engine } from "../engine/engine.js";
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
  readonly nodeId: number;
  readonly raftAddress: string;
  readonly nodeHostDir: string;
  readonly stateMachineDir: string;
  readonly maxInMemoryLogBytes: number;
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

export async function startLeader(settings: LeaderSettings, log: NodeLog): Promise<RunningNode> {
  const engine = new SingleNodeEngine({
    nodeId: settings.nodeId,
    metadataDir: join(settings.nodeHostDir, "metadata"),
    stateMachineDir: settings.stateMachineDir,
    maxInMemoryLogBytes: settings.maxInMemoryLogBytes,
    log: (level, message, fields) => log[level](message, fields),
  });
  try {
    await engine.start();
  } catch (error) {
    throw new Error(`failed to start engine: ${error instanceof Error ? error.message : String(error)}`);
  }
  const identity = {
    nodeId: settings.nodeId,
    nodeName: persistentNodeName(settings.nodeHostDir, settings.nodeName),
    clusterName: settings.clusterName,
    raftAddress: settings.raftAddress,
    advertiseAddress: settings.api.advertiseAddress,
    version: VERSION,
    renderedConfig: settings.renderedConfig,
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
    await engine.close();
    throw new Error(`failed to create API server: ${error instanceof Error ? error.message : String(error)}`);
  }
  log.info("API listening", { address: apiAddress, tables: engine.listTables().length });
  return { apiAddress, engine, stop: () => stopNode([apiServer], engine, log) };
}

async function stopNode(servers: grpc.Server[], engine: Engine, log: NodeLog): Promise<void> {
  log.info("shutting down");
  await Promise.all(servers.map((server) => shutdown(server, SHUTDOWN_GRACE_MS)));
  await engine.close();
  log.info("stopped");
}
