/**
 * Startup validation of `armada leader` and `armada follower` (spec §14.7, §12.1, §12.4). The first failure is
 * thrown as a {@link ConfigError} whose message is the single line the command prints before exiting with 1.
 */
import { parseLogLevel } from "../log/level.js";
import { isTlsScheme, parseListenAddress } from "./address.js";
import { ConfigError } from "./errors.js";
import type { LoadedConfig } from "./load.js";
import { boolValue, mapValue, numberValue, stringValue } from "./values.js";

export { parseListenAddress, isTlsScheme } from "./address.js";
export type { ListenAddress, TcpAddress, UnixAddress, AddressScheme } from "./address.js";

/** Raft log stores of the reference; Armada accepts both names and has one store. */
const LOGDB_IMPLEMENTATIONS: readonly string[] = ["tan", "pebble"];

type Settings = Pick<LoadedConfig, "values" | "explicit">;

/**
 * Checks a loaded leader or follower configuration, in the order the reference reports problems.
 * @throws ConfigError e.g. `raft address must be set`, `leader address must be set`,
 *   `failed to parse raft.logdb: unknown logdb impl: <v>`, `cannot build tls config: <detail>`.
 */
export function validateStartup(command: "leader" | "follower", settings: Settings): void {
  if (command === "follower" && !isSet(settings, "replication.leader-address")) {
    throw new ConfigError("leader address must be set");
  }
  if (!isSet(settings, "raft.address")) throw new ConfigError("raft address must be set");
  checkMembership(settings);
  const logdb = text(settings, "raft.logdb");
  if (!LOGDB_IMPLEMENTATIONS.includes(logdb)) {
    throw new ConfigError(`failed to parse raft.logdb: unknown logdb impl: ${logdb}`);
  }
  checkLogLevel(text(settings, "log-level"));
  checkAddresses(command, settings);
  checkServerTls("api", settings);
  if (flag(settings, "maintenance.enabled")) checkServerTls("maintenance", settings);
  if (command === "leader" && flag(settings, "replication.enabled")) checkServerTls("replication", settings);
  if (command === "follower") checkReplicationClientTls(settings);
}

function checkMembership(settings: Settings): void {
  const nodeId = numberValue(settings.values, "raft.node-id");
  if (nodeId < 1) throw new ConfigError(`invalid raft.node-id ${nodeId}: must be at least 1`);
  const members = mapValue(settings.values, "raft.initial-members");
  const ids = Object.keys(members);
  if (ids.length > 0 && !(String(nodeId) in members)) {
    throw new ConfigError(
      `raft.initial-members must contain this node's id ${nodeId} (raft.node-id); it has ${ids.join(", ")}`,
    );
  }
}

function checkLogLevel(level: string): void {
  try {
    parseLogLevel(level);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function checkAddresses(command: "leader" | "follower", settings: Settings): void {
  parseListenAddress(text(settings, "api.address"));
  if (flag(settings, "maintenance.enabled")) parseListenAddress(text(settings, "maintenance.address"));
  if (command === "leader" && flag(settings, "replication.enabled")) {
    parseListenAddress(text(settings, "replication.address"));
  }
  if (command === "follower") parseListenAddress(text(settings, "replication.leader-address"));
  const rest = text(settings, "rest.address");
  if (parseListenAddress(rest).scheme !== "http") {
    throw new ConfigError(`invalid address '${rest}': the REST listener supports only http://host:port`);
  }
}

/** TLS rules of one gRPC listener (spec §12.1): `prefix` is `api`, `maintenance` or `replication`. */
function checkServerTls(prefix: string, settings: Settings): void {
  const allowedCn = text(settings, `${prefix}.allowed-cn`);
  const allowedHostname = text(settings, `${prefix}.allowed-hostname`);
  if (allowedCn !== "" && allowedHostname !== "") {
    throw new ConfigError(
      `cannot build tls config: --${prefix}.allowed-cn and --${prefix}.allowed-hostname are mutually exclusive`,
    );
  }
  const clientAuth = flag(settings, `${prefix}.client-cert-auth`) || text(settings, `${prefix}.ca-filename`) !== "";
  if ((allowedCn !== "" || allowedHostname !== "") && !clientAuth) {
    throw new ConfigError(
      "allowed-cn/allowed-hostname require client certificate authentication: " +
        `set --${prefix}.client-cert-auth or --${prefix}.ca-filename`,
    );
  }
  const address = text(settings, `${prefix}.address`);
  const tls = isTlsScheme(parseListenAddress(address).scheme);
  if (tls && (text(settings, `${prefix}.cert-filename`) === "" || text(settings, `${prefix}.key-filename`) === "")) {
    throw new ConfigError(
      "cannot build tls config: KeyFile and CertFile must both be present " +
        `(${prefix}.address is '${address}'; set --${prefix}.cert-filename and --${prefix}.key-filename)`,
    );
  }
}

function checkReplicationClientTls(settings: Settings): void {
  const hasCert = text(settings, "replication.cert-filename") !== "";
  const hasKey = text(settings, "replication.key-filename") !== "";
  if (hasCert !== hasKey) {
    throw new ConfigError(
      "cannot build tls config: --replication.cert-filename and --replication.key-filename must both be set or both be empty",
    );
  }
}

/** "Must be set" is satisfied by a flag, the environment or the config file, never by a default (spec §14.3). */
function isSet(settings: Settings, key: string): boolean {
  return settings.explicit.has(key) && text(settings, key) !== "";
}

function text(settings: Settings, key: string): string {
  return stringValue(settings.values, key);
}

function flag(settings: Settings, key: string): boolean {
  return boolValue(settings.values, key);
}
