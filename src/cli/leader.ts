/**
 * `armada leader`: maps the loaded configuration to the node's settings, starts it, and stops it
 * gracefully on SIGTERM or SIGINT.
 */
import { boolValue, numberValue, renderConfigStruct, stringValue, type LoadedConfig } from "../config/index.js";
import type { Logger } from "../log/index.js";
import { startLeader, type LeaderSettings } from "../server/leader.js";

/** Builds the leader's settings from flat configuration values. */
export function leaderSettings(config: LoadedConfig): LeaderSettings {
  const values = config.values;
  return {
    nodeId: numberValue(values, "raft.node-id"),
    raftAddress: stringValue(values, "raft.address"),
    nodeHostDir: stringValue(values, "raft.node-host-dir"),
    stateMachineDir: stringValue(values, "raft.state-machine-dir"),
    maxInMemoryLogBytes: numberValue(values, "raft.max-in-mem-log-size"),
    clusterName: stringValue(values, "memberlist.cluster-name"),
    nodeName: stringValue(values, "memberlist.node-name"),
    api: {
      address: stringValue(values, "api.address"),
      advertiseAddress: stringValue(values, "api.advertise-address"),
      maxConcurrentStreams: numberValue(values, "api.max-concurrent-streams"),
      tls: {
        certFilename: stringValue(values, "api.cert-filename"),
        keyFilename: stringValue(values, "api.key-filename"),
        caFilename: stringValue(values, "api.ca-filename"),
        clientCertAuth: boolValue(values, "api.client-cert-auth"),
      },
    },
    tablesEnabled: boolValue(values, "tables.enabled"),
    tablesToken: stringValue(values, "tables.token"),
    renderedConfig: () => renderConfigStruct(values),
  };
}

/** Runs a leader node until a stop signal; resolves with the exit code. */
export async function runLeader(config: LoadedConfig, logger: Logger): Promise<number> {
  const log = logger.child("leader");
  let node;
  try {
    node = await startLeader(leaderSettings(config), log);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info("received signal", { signal });
      node.stop().then(
        () => resolve(0),
        (error: unknown) => { log.error("shutdown failed", { error }); resolve(1); },
      );
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}
