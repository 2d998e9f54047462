/**
 * `armada leader`: one node of the leader cluster. Opens the engine (starting every registered table
 * before serving), then the API listener; stops gracefully on request.
 */
import type * as grpc from "@grpc/grpc-js";
import type { Engine } from "../engine/engine.js";
import { openRaftNode, type OpenedRaftNode, type RaftSettings } from "./raft-node.js";
import { createApiServer } from "./api-server.js";
import { listen, shutdown, type TlsFiles } from "./listen.js";
import { persistentNodeName } from "./node-identity.js";
import { VERSION } from "./version.js";
import { createMaintenanceServer, leaderMaintenanceHandlers } from "../maintenance/server.js";
import { bindService } from "../api/bind.js";
import { checkBearerToken } from "../api/auth.js";
import { MAINTENANCE_SERVICE } from "../proto/services.js";
import { startRestServer, type RestServer } from "../rest/rest-server.js";
import { createMetricsRegistry } from "../rest/registry.js";
import { GrpcServerMetrics } from "../rest/grpc-metrics.js";
import { registerTableMetrics } from "../rest/table-metrics.js";
import { registerConnectionMetrics } from "../rest/connection-metrics.js";
import { readinessProblems } from "../rest/readiness.js";
import type { ListenerHealth } from "./introspection.js";

/** How long in-flight calls may run after a stop request before connections are cut. */
export const SHUTDOWN_GRACE_MS = 10_000;
/** Longest wait for the other voters to take over the groups this node leads when it stops. */
export const LEADERSHIP_HANDOFF_MS = 5_000;
/** How often the gRPC health service re-evaluates readiness. */
export const HEALTH_REFRESH_MS = 1000;

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
    /** 0 or absent: unlimited. */
    readonly maxConcurrentConnections?: number;
    /** 0 or absent: CPUs + 1; negative: unlimited. */
    readonly streamWorkers?: number;
  };
  readonly rest: {
    readonly address: string;
    readonly readTimeoutMs: number;
    readonly debugEnabled: boolean;
  };
  readonly tablesEnabled: boolean;
  readonly tablesToken: string;
  readonly maintenance: {
    readonly enabled: boolean;
    readonly address: string;
    readonly token: string;
    readonly tls: TlsFiles;
    /** Also serve Maintenance on the API listener (the reference's layout since v0.4.0). */
    readonly onApiPort: boolean;
  };
  /** The effective configuration for Cluster/Status, secrets masked. */
  readonly renderedConfig: () => Record<string, unknown>;
}

/** A running leader node. */
export interface RunningNode {
  /** The API address actually bound (with the real port when 0 was configured). */
  readonly apiAddress: string;
  /** The REST address actually bound. */
  readonly restAddress: string;
  /** The maintenance address actually bound, when the listener is enabled. */
  readonly maintenanceAddress?: string;
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
  const registry = createMetricsRegistry();
  registerTableMetrics(registry, engine);
  // One set of gRPC metric families for every listener (labels tell the services apart).
  const grpcMetrics = new GrpcServerMetrics(registry);
  const { server: apiServer, health, connectionLimiter } = createApiServer(engine, identity, {
    observer: grpcMetrics,
    tablesEnabled: settings.tablesEnabled,
    tablesToken: settings.tablesToken,
    maxConcurrentStreams: settings.api.maxConcurrentStreams,
    maxConcurrentConnections: settings.api.maxConcurrentConnections,
    streamWorkers: settings.api.streamWorkers,
    onUnexpectedError: (method, error) =>
      log.error("unexpected error in handler", { method, error: error instanceof Error ? error.stack : String(error) }),
  });
  if (connectionLimiter) registerConnectionMetrics(registry, connectionLimiter);
  const onUnexpectedError = (method: string, error: unknown) =>
    log.error("unexpected error in handler", { method, error: error instanceof Error ? error.stack : String(error) });
  if (settings.maintenance.onApiPort) {
    bindService(apiServer, MAINTENANCE_SERVICE, leaderMaintenanceHandlers(engine, { maxInMemoryLogBytes: settings.raft.maxInMemoryLogBytes }), {
      intercept: (context) => checkBearerToken(context.metadata, settings.maintenance.token),
      onUnexpectedError,
    });
  }
  let apiAddress: string;
  try {
    apiAddress = await listen(apiServer, settings.api.address, settings.api.tls, connectionLimiter);
  } catch (error) {
    await raftNode.close();
    throw new Error(`failed to create API server: ${error instanceof Error ? error.message : String(error)}`);
  }
  log.info("API listening", { address: apiAddress, tables: engine.listTables().length });
  const grpcServers = [apiServer];
  const healths = [health];
  let maintenanceAddress: string | undefined;
  if (settings.maintenance.enabled) {
    const maintenance = createMaintenanceServer(engine, identity, {
      token: settings.maintenance.token,
      maxInMemoryLogBytes: settings.raft.maxInMemoryLogBytes,
      onUnexpectedError,
      observer: grpcMetrics,
    });
    try {
      maintenanceAddress = await listen(maintenance.server, settings.maintenance.address, settings.maintenance.tls);
    } catch (error) {
      await shutdown(apiServer, 0);
      await raftNode.close();
      throw new Error(`failed to create Maintenance server: ${error instanceof Error ? error.message : String(error)}`);
    }
    grpcServers.push(maintenance.server);
    healths.push(maintenance.health);
    log.info("maintenance listening", { address: maintenanceAddress });
    if (!settings.maintenance.token) log.warn("maintenance API has no token: anyone who reaches it can back up and restore tables (set --maintenance.token)");
  }
  let serving = true;
  const problems = () => readinessProblems(engine, serving);
  let rest: RestServer;
  try {
    rest = await startRestServer({ ...settings.rest, registry, readinessProblems: problems });
  } catch (error) {
    await shutdown(apiServer, 0);
    await raftNode.close();
    throw new Error(`failed to create REST server: ${error instanceof Error ? error.message : String(error)}`);
  }
  log.info("REST listening", { address: rest.address });
  const healthTimer = trackReadiness(healths, problems);
  const stop = async () => {
    serving = false;
    clearInterval(healthTimer);
    healths.forEach((listenerHealth) => listenerHealth.stop());
    await stopNode(grpcServers, raftNode, log);
    await rest.close();
  };
  return { apiAddress, restAddress: rest.address, ...(maintenanceAddress ? { maintenanceAddress } : {}), engine, stop };
}

/** Keeps the health service's overall status in step with readiness until shutdown. */
function trackReadiness(healths: readonly ListenerHealth[], problems: () => string[]): NodeJS.Timeout {
  // One readiness evaluation per refresh, shared by every listener.
  const refresh = () => {
    const ready = problems().length === 0;
    for (const health of healths) health.update(ready);
  };
  refresh();
  const timer = setInterval(refresh, HEALTH_REFRESH_MS);
  timer.unref();
  return timer;
}

/**
 * Graceful stop (spec §15, issue 8): stop accepting calls and drain the in-flight ones (their writes still
 * need this node's leadership, so that comes first), hand leadership of the groups led here to other
 * voters so the cluster does not wait out an election timeout, then close the engine, which finishes
 * the Raft round in progress and writes out the log.
 */
async function stopNode(servers: grpc.Server[], raftNode: OpenedRaftNode, log: NodeLog): Promise<void> {
  log.info("shutting down");
  await Promise.all(servers.map((server) => shutdown(server, SHUTDOWN_GRACE_MS)));
  const handOffStarted = performance.now();
  const handOff = await raftNode.engine.handOffLeadership(LEADERSHIP_HANDOFF_MS);
  if (handOff.moved.size > 0 || handOff.kept.length > 0) {
    const moved = Object.fromEntries([...handOff.moved].map(([group, leader]) => [String(group), leader]));
    const ms = Math.round(performance.now() - handOffStarted);
    if (handOff.kept.length === 0) log.info("leadership handed off", { groups: moved, ms });
    else log.warn("leadership not handed off for some groups; their followers will elect a leader", { moved, kept: handOff.kept, ms });
  }
  await raftNode.close();
  log.info("stopped");
}
