/**
 * One node of a leader cluster (`armada leader`) or of a follower cluster (`armada follower`). Opens the
 * engine (starting every registered table before serving), then the listeners; a leader also opens the
 * replication listener, a follower starts replicating from its leader cluster. Stops gracefully on request.
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
import type { Registry } from "prom-client";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { RaftEngine } from "../engine/raft/raft-engine.js";
import { GrpcServerMetrics } from "../rest/grpc-metrics.js";
import { registerTableMetrics } from "../rest/table-metrics.js";
import { registerConnectionMetrics } from "../rest/connection-metrics.js";
import { readinessProblems } from "../rest/readiness.js";
import type { ListenerHealth } from "./introspection.js";
import type { ClientTlsSettings } from "../security/client-tls.js";
import { kvHandlers } from "../api/kv.js";
import { createReplicationServer } from "../replication/leader/server.js";
import { loggingObserver } from "../replication/leader/rpc-log.js";
import { LeaderConnection } from "../replication/follower/leader-connection.js";
import { ReplicationManager } from "../replication/follower/manager.js";
import { ReplicationMetrics } from "../replication/follower/metrics.js";
import { followerKvHandlers } from "../replication/follower/forwarding.js";
import { followerMaintenanceHandlers, followerTablesHandlers } from "../replication/follower/follower-services.js";
import { restoreBatchThresholdBytes } from "../maintenance/restore.js";

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
  /** A leader node's replication listener (spec §9.2–9.4); absent on followers. */
  readonly replication?: ReplicationListenerSettings;
  /** Present on a follower node: where and how it replicates from (spec §9.5–9.9, §14.6). */
  readonly follower?: FollowerSettings;
}

export interface ReplicationListenerSettings {
  readonly enabled: boolean;
  readonly address: string;
  readonly tls: TlsFiles;
  readonly maxSendMessageBytes: number;
  readonly logCacheSize: number;
}

export interface FollowerSettings {
  readonly leaderAddress: string;
  readonly tls: ClientTlsSettings;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly reconcileIntervalMs: number;
  readonly leaseIntervalMs: number;
  readonly logRpcTimeoutMs: number;
  readonly snapshotRpcTimeoutMs: number;
  readonly maxRecvMessageBytes: number;
  readonly maxRecoveryInFlight: number;
  readonly maxSnapshotRecvBytesPerSecond: number;
  readonly forwardWaitTimeoutMs: number;
}

/** A running leader node. */
export interface RunningNode {
  /** The API address actually bound (with the real port when 0 was configured). */
  readonly apiAddress: string;
  /** The REST address actually bound. */
  readonly restAddress: string;
  /** The maintenance address actually bound, when the listener is enabled. */
  readonly maintenanceAddress?: string;
  /** The replication address actually bound (leader nodes with the listener enabled). */
  readonly replicationAddress?: string;
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
  const spoolDir = prepareSpoolDir(settings.raft.stateMachineDir);
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
  const follower = settings.follower ? followerRole(settings.follower, engine, settings.raft.maxInMemoryLogBytes, spoolDir, registry, log) : null;
  const { server: apiServer, health, connectionLimiter } = createApiServer(engine, identity, {
    observer: grpcMetrics,
    tablesEnabled: settings.tablesEnabled,
    tablesToken: settings.tablesToken,
    maxConcurrentStreams: settings.api.maxConcurrentStreams,
    ...(follower ? { kv: follower.kv, tables: followerTablesHandlers(engine), writeDeadlineMs: settings.follower!.forwardWaitTimeoutMs } : {}),
    maxConcurrentConnections: settings.api.maxConcurrentConnections,
    streamWorkers: settings.api.streamWorkers,
    onUnexpectedError: (method, error) =>
      log.error("unexpected error in handler", { method, error: error instanceof Error ? error.stack : String(error) }),
  });
  if (connectionLimiter) registerConnectionMetrics(registry, connectionLimiter);
  const onUnexpectedError = (method: string, error: unknown) =>
    log.error("unexpected error in handler", { method, error: error instanceof Error ? error.stack : String(error) });
  if (settings.maintenance.onApiPort) {
    bindService(apiServer, MAINTENANCE_SERVICE, leaderMaintenanceHandlers(engine, { maxInMemoryLogBytes: settings.raft.maxInMemoryLogBytes, spoolDir }), {
      intercept: (context) => checkBearerToken(context.metadata, settings.maintenance.token),
      onUnexpectedError,
    });
  }
  let apiAddress: string;
  try {
    apiAddress = await listen(apiServer, settings.api.address, settings.api.tls, { listener: "api", log, registry, ...(connectionLimiter ? { limiter: connectionLimiter } : {}) });
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
      spoolDir,
      onUnexpectedError,
      observer: grpcMetrics,
      ...(follower ? { handlers: followerMaintenanceHandlers(engine) } : {}),
    });
    try {
      maintenanceAddress = await listen(maintenance.server, settings.maintenance.address, settings.maintenance.tls, { listener: "maintenance", log, registry });
    } catch (error) {
      await shutdown(apiServer, 0);
      await raftNode.close();
      throw new Error(`failed to create Maintenance server: ${error instanceof Error ? error.message : String(error)}`);
    }
    grpcServers.push(maintenance.server);
    healths.push(maintenance.health);
    log.info("maintenance listening", { address: maintenanceAddress });
  }
  let replicationAddress: string | undefined;
  if (settings.replication?.enabled && !follower) {
    const replication = createReplicationServer(engine, {
      maxMessageBytes: settings.replication.maxSendMessageBytes,
      cacheEntries: settings.replication.logCacheSize,
      spoolDir,
      onUnexpectedError,
      observer: loggingObserver(log, grpcMetrics),
      onReadError: (table, error) => log.warn("replication log read failed; the follower retries", { table, error: error instanceof Error ? error.message : String(error) }),
    });
    try {
      replicationAddress = await listen(replication.server, settings.replication.address, settings.replication.tls, { listener: "replication", log, registry });
    } catch (error) {
      await Promise.all(grpcServers.map((server) => shutdown(server, 0)));
      await raftNode.close();
      throw new Error(`failed to create Replication server: ${error instanceof Error ? error.message : String(error)}`);
    }
    grpcServers.push(replication.server);
    healths.push(replication.health);
    log.info("replication listening", { address: replicationAddress });
  }
  let serving = true;
  const problems = () => [...readinessProblems(engine, serving), ...(follower?.manager.problems() ?? [])];
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
  if (follower) {
    follower.manager.start();
    log.info("replicating from the leader cluster", { leader: settings.follower!.leaderAddress });
  }
  const stop = async () => {
    serving = false;
    await follower?.manager.stop();
    clearInterval(healthTimer);
    healths.forEach((listenerHealth) => listenerHealth.stop());
    await stopNode(grpcServers, raftNode, log);
    await rest.close();
  };
  return {
    apiAddress,
    restAddress: rest.address,
    ...(maintenanceAddress ? { maintenanceAddress } : {}),
    ...(replicationAddress ? { replicationAddress } : {}),
    engine,
    stop,
  };
}

/** The parts of a follower node: the connection to the leader cluster, the replication manager, forwarding KV. */
function followerRole(settings: FollowerSettings, engine: RaftEngine, maxInMemoryLogBytes: number, spoolDir: string, registry: Registry, log: NodeLog) {
  const leader = new LeaderConnection({
    address: settings.leaderAddress,
    tls: settings.tls,
    log,
    maxRecvMessageBytes: settings.maxRecvMessageBytes,
    keepaliveTimeMs: settings.keepaliveTimeMs,
    keepaliveTimeoutMs: settings.keepaliveTimeoutMs,
  });
  const manager = new ReplicationManager(
    engine,
    leader,
    {
      pollIntervalMs: settings.pollIntervalMs,
      reconcileIntervalMs: settings.reconcileIntervalMs,
      leaseIntervalMs: settings.leaseIntervalMs,
      logRpcTimeoutMs: settings.logRpcTimeoutMs,
      maxRecoveryInFlight: settings.maxRecoveryInFlight,
      recovery: {
        snapshotTimeoutMs: settings.snapshotRpcTimeoutMs,
        maxBytesPerSecond: settings.maxSnapshotRecvBytesPerSecond,
        batchBytes: restoreBatchThresholdBytes(maxInMemoryLogBytes),
        spoolDir,
      },
    },
    new ReplicationMetrics(registry),
    log,
  );
  // A peer's clients wait for a table this node may be pulling: poll it now.
  engine.onReplicationHint = (table) => manager.hint(table);
  const kv = followerKvHandlers(
    kvHandlers(engine),
    leader,
    {
      waitLeaderIndex: (table, index, signal) => engine.waitLeaderIndex(table, index, signal),
      hint: (table) => {
        manager.hint(table);
        engine.sendReplicationHint(table);
      },
    },
    { forwardWaitTimeoutMs: settings.forwardWaitTimeoutMs },
  );
  return { manager, kv };
}

/**
 * The directory where snapshots, restores and recoveries are spooled: beside the table data rather than
 * in the OS temporary directory, which is often small or in memory. Emptied at start (left by a crash).
 */
function prepareSpoolDir(stateMachineDir: string): string {
  const dir = join(stateMachineDir, "spool");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
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
