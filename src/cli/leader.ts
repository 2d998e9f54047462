/**
 * `armada leader` and `armada follower`: map the loaded configuration to the node's settings, start the
 * node, and stop it gracefully on SIGTERM or SIGINT.
 */
import { boolValue, mapValue, numberValue, renderConfigStruct, stringValue, type LoadedConfig } from "../config/index.js";
import type { Logger } from "../log/index.js";
import { startLeader, type FollowerSettings, type LeaderSettings, type ReplicationListenerSettings } from "../server/leader.js";
import { replicationClientTlsSettings, serverTlsSettings } from "../security/settings.js";

export type ServerCommand = "leader" | "follower";

/** Builds a node's settings from flat configuration values. */
export function leaderSettings(config: LoadedConfig, command: ServerCommand = "leader"): LeaderSettings {
  const values = config.values;
  return {
    raft: {
      nodeId: numberValue(values, "raft.node-id"),
      raftAddress: stringValue(values, "raft.address"),
      listenAddress: stringValue(values, "raft.listen-address"),
      initialMembers: mapValue(values, "raft.initial-members"),
      clusterName: stringValue(values, "memberlist.cluster-name"),
      nodeHostDir: stringValue(values, "raft.node-host-dir"),
      walDir: stringValue(values, "raft.wal-dir"),
      stateMachineDir: stringValue(values, "raft.state-machine-dir"),
      rttMs: numberValue(values, "raft.rtt"),
      heartbeatTicks: numberValue(values, "raft.heartbeat-rtt"),
      electionTicks: numberValue(values, "raft.election-rtt"),
      snapshotEntries: numberValue(values, "raft.snapshot-entries"),
      compactionOverhead: numberValue(values, "raft.compaction-overhead"),
      maxInMemoryLogBytes: numberValue(values, "raft.max-in-mem-log-size"),
      maxSendQueueBytes: numberValue(values, "raft.max-send-queue-size"),
      maxRecvQueueBytes: numberValue(values, "raft.max-recv-queue-size"),
    },
    clusterName: stringValue(values, "memberlist.cluster-name"),
    nodeName: stringValue(values, "memberlist.node-name"),
    api: {
      address: stringValue(values, "api.address"),
      advertiseAddress: stringValue(values, "api.advertise-address"),
      maxConcurrentStreams: numberValue(values, "api.max-concurrent-streams"),
      maxConcurrentConnections: numberValue(values, "api.max-concurrent-connections"),
      streamWorkers: numberValue(values, "api.stream-workers"),
      tls: serverTlsSettings(values, "api"),
    },
    rest: {
      address: stringValue(values, "rest.address"),
      readTimeoutMs: numberValue(values, "rest.read-timeout"),
      debugEnabled: boolValue(values, "rest.debug-enabled"),
    },
    tablesEnabled: boolValue(values, "tables.enabled"),
    tablesToken: stringValue(values, "tables.token"),
    maintenance: {
      enabled: boolValue(values, "maintenance.enabled"),
      address: stringValue(values, "maintenance.address"),
      token: stringValue(values, "maintenance.token"),
      onApiPort: boolValue(values, "maintenance.on-api-port"),
      tls: serverTlsSettings(values, "maintenance"),
    },
    renderedConfig: () => renderConfigStruct(values),
    ...(command === "leader" ? { replication: replicationListenerSettings(config) } : { follower: followerSettings(config) }),
  };
}

function replicationListenerSettings(config: LoadedConfig): ReplicationListenerSettings {
  const values = config.values;
  return {
    enabled: boolValue(values, "replication.enabled"),
    address: stringValue(values, "replication.address"),
    tls: serverTlsSettings(values, "replication"),
    maxSendMessageBytes: numberValue(values, "replication.max-send-message-size-bytes"),
    logCacheSize: numberValue(values, "replication.log-cache-size"),
  };
}

function followerSettings(config: LoadedConfig): FollowerSettings {
  const values = config.values;
  return {
    leaderAddress: stringValue(values, "replication.leader-address"),
    tls: replicationClientTlsSettings(values),
    keepaliveTimeMs: numberValue(values, "replication.keepalive-time"),
    keepaliveTimeoutMs: numberValue(values, "replication.keepalive-timeout"),
    pollIntervalMs: numberValue(values, "replication.poll-interval"),
    reconcileIntervalMs: numberValue(values, "replication.reconcile-interval"),
    leaseIntervalMs: numberValue(values, "replication.lease-interval"),
    logRpcTimeoutMs: numberValue(values, "replication.log-rpc-timeout"),
    snapshotRpcTimeoutMs: numberValue(values, "replication.snapshot-rpc-timeout"),
    maxRecvMessageBytes: numberValue(values, "replication.max-recv-message-size-bytes"),
    maxRecoveryInFlight: numberValue(values, "replication.max-recovery-in-flight"),
    maxSnapshotRecvBytesPerSecond: numberValue(values, "replication.max-snapshot-recv-bytes-per-second"),
    forwardWaitTimeoutMs: numberValue(values, "replication.forward-wait-timeout"),
  };
}


/** Runs a leader or follower node until a stop signal; resolves with the exit code. */
export async function runLeader(config: LoadedConfig, logger: Logger, command: ServerCommand = "leader"): Promise<number> {
  const log = logger.child(command);
  let node;
  // A node that cannot persist must not go on: it stops at once and its peers carry the cluster.
  const onFatal = (error: Error) => {
    log.error("fatal error, exiting", { error: error.message });
    process.exit(2);
  };
  try {
    node = await startLeader(leaderSettings(config, command), log, onFatal);
  } catch (error) {
    // Whatever started before the failure (listeners, the engine) must not keep the process alive.
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal means "now": acknowledged writes are already durable, so nothing is lost.
        log.warn("second signal, exiting without waiting for in-flight calls", { signal });
        process.exit(1);
      }
      stopping = true;
      log.info("received signal", { signal });
      node.stop().then(
        () => resolve(0),
        (error: unknown) => { log.error("shutdown failed", { error }); resolve(1); },
      );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
