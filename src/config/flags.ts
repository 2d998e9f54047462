/**
 * The one declarative table of every flag the `armada` sub-commands accept (spec §14.4–14.6, §11.6–11.7).
 *
 * Everything else in src/config — argv parsing, environment names, config-file keys, defaults, help text and
 * the rendering of `Cluster/Status` config — is derived from this table, so adding a flag is one entry here.
 */
import { parseDuration } from "./duration.js";

/** The sub-commands that take configuration (`armada version` takes none). */
export type CommandName = "leader" | "follower" | "backup" | "restore";
export const COMMAND_NAMES: readonly CommandName[] = ["leader", "follower", "backup", "restore"];

/**
 * Value types. `uint` is 32-bit, `uint64` and `size` are non-negative safe integers (`size` is a byte count that
 * the reference keeps signed, so it renders as a number), `duration` is milliseconds, `map` is node id → address.
 */
export type FlagType = "string" | "bool" | "int" | "uint" | "uint64" | "duration" | "stringList" | "map" | "size";

/** A typed configuration value: the shape depends on the flag's {@link FlagType}. */
export type FlagValue = string | boolean | number | readonly string[] | Readonly<Record<string, string>>;

export interface FlagSpec {
  /** Dotted flag name without dashes, e.g. `api.address`; also the config-file key. */
  readonly name: string;
  readonly type: FlagType;
  readonly default: FlagValue;
  /** Shown in help instead of the literal default when the empty default means something else. */
  readonly defaultLabel?: string;
  readonly description: string;
  readonly commands: readonly CommandName[];
  /** Masked as `**********` wherever configuration is echoed (spec §7.2, §12.3). */
  readonly secret?: boolean;
  /** Set for flags kept only for compatibility; loading warns when they are used. */
  readonly deprecated?: string;
  /** The feature whose landing makes this accepted flag take effect; absent when it already does. */
  readonly laterIssue?: string;
  /** Startup fails unless the flag is set by flag, environment or config file (checked in validate.ts). */
  readonly required?: boolean;
  /** `--config` itself: read from argv and environment only, never from a file, never rendered. */
  readonly meta?: boolean;
}

const SERVERS: readonly CommandName[] = ["leader", "follower"];
const LEADER: readonly CommandName[] = ["leader"];
const FOLLOWER: readonly CommandName[] = ["follower"];
const TOOLS: readonly CommandName[] = ["backup", "restore"];

const LATER_MEMBERSHIP = "gossip membership";
const LATER_STORAGE = "storage cache tuning";

/** The TLS flags every gRPC listener has (spec §12.1), described once. */
function serverTlsFlags(prefix: string, label: string, commands: readonly CommandName[], laterIssue?: string): FlagSpec[] {
  const common = { commands, ...(laterIssue === undefined ? {} : { laterIssue }) };
  return [
    { name: `${prefix}.cert-filename`, type: "string", default: "", ...common,
      description: `PEM certificate of the ${label} listener; required for https:// and unixs:// addresses.` },
    { name: `${prefix}.key-filename`, type: "string", default: "", ...common,
      description: `PEM private key of the ${label} listener.` },
    { name: `${prefix}.ca-filename`, type: "string", default: "", ...common,
      description: `PEM CA bundle that verifies ${label} client certificates; setting it turns on mutual TLS.` },
    { name: `${prefix}.client-cert-auth`, type: "bool", default: false, ...common,
      description: `Require and verify ${label} client certificates (mutual TLS).` },
    { name: `${prefix}.allowed-cn`, type: "string", default: "", ...common,
      description: `Accept only ${label} client certificates with exactly this subject common name.` },
    { name: `${prefix}.allowed-hostname`, type: "string", default: "", ...common,
      description: `Accept only ${label} client certificates valid for this host name or IP address.` },
  ];
}

const GENERAL_FLAGS: FlagSpec[] = [
  { name: "config", type: "string", default: "", commands: [...SERVERS, ...TOOLS], meta: true,
    defaultLabel: "first config.{yaml,yml,json} in /etc/armada, /config, $HOME/.armada, .",
    description: "Read configuration from this YAML or JSON file instead of searching for one." },
  { name: "dev-mode", type: "bool", default: false, commands: SERVERS,
    description: "Human-readable console logs with stack traces on warnings; does not change the level." },
  { name: "log-level", type: "string", default: "INFO", commands: SERVERS,
    description: "Lowest level logged: DEBUG, INFO, WARN or ERROR (any case)." },
];

const API_FLAGS: FlagSpec[] = [
  { name: "api.address", type: "string", default: "http://0.0.0.0:8443", commands: SERVERS,
    description: "Client API listen address: http://, https://, unix:// or unixs://." },
  { name: "api.advertise-address", type: "string", default: "http://127.0.0.1:8443", commands: SERVERS,
    description: "Client API address other nodes tell clients about (MemberList clientURLs)." },
  ...serverTlsFlags("api", "client API", SERVERS),
  { name: "api.max-concurrent-connections", type: "uint", default: 0, commands: SERVERS,
    description: "Most client connections served at once; more wait up to 2s for a slot, then get RESOURCE_EXHAUSTED. 0 means unlimited." },
  { name: "api.max-concurrent-streams", type: "uint", default: 0, commands: SERVERS,
    description: "HTTP/2 concurrent streams per connection advertised to clients. 0 means the library default." },
  { name: "api.stream-workers", type: "int", default: 0, commands: SERVERS,
    description: "Streaming handlers (IterateRange) run at once, more wait up to 5s: 0 means CPUs + 1, negative means unlimited." },
];

const REST_FLAGS: FlagSpec[] = [
  { name: "rest.address", type: "string", default: "http://127.0.0.1:8080", commands: SERVERS,
    description: "HTTP listen address (http://host:port only) for metrics, health and debug endpoints." },
  { name: "rest.read-timeout", type: "duration", default: parseDuration("5s"), commands: SERVERS,
    description: "Longest time allowed to read a whole REST request." },
  { name: "rest.debug-enabled", type: "bool", default: true, commands: SERVERS,
    description: "Serve the /debug/* profiling endpoints." },
];

const RAFT_FLAGS: FlagSpec[] = [
  { name: "raft.address", type: "string", default: "", commands: SERVERS, required: true,
    description: "host:port where other nodes reach this node's Raft transport; also its membership identity." },
  { name: "raft.listen-address", type: "string", default: "", defaultLabel: "raft.address", commands: SERVERS,
    description: "Local bind address of the Raft transport; 0.0.0.0 binds all interfaces." },
  { name: "raft.node-id", type: "uint64", default: 1, commands: SERVERS,
    description: "This node's id within its cluster, at least 1 and unique." },
  { name: "raft.initial-members", type: "map", default: {}, commands: SERVERS,
    description: "Bootstrap membership as id=host:port pairs, e.g. 1=10.0.0.1:5012,2=10.0.0.2:5012; must " +
      "include this node on first start and is ignored once the node has state." },
  { name: "raft.rtt", type: "duration", default: parseDuration("50ms"), commands: SERVERS,
    description: "Logical clock tick: the average round trip between nodes including processing." },
  { name: "raft.heartbeat-rtt", type: "int", default: 1, commands: SERVERS,
    description: "Heartbeat interval in ticks." },
  { name: "raft.election-rtt", type: "int", default: 20, commands: SERVERS,
    description: "Minimum election timeout in ticks (randomised up to twice that); about 10x the heartbeat." },
  { name: "raft.node-host-dir", type: "string", default: "/tmp/armada/raft", commands: SERVERS,
    description: "Directory of the Raft log and node metadata, including the persisted node UUID." },
  { name: "raft.wal-dir", type: "string", default: "", defaultLabel: "raft.node-host-dir", commands: SERVERS,
    description: "Separate low-latency directory for the Raft log." },
  { name: "raft.state-machine-dir", type: "string", default: "/tmp/armada/state-machine", commands: SERVERS,
    description: "Directory of the tables' data." },
  { name: "raft.snapshot-recovery-type", type: "string", default: "", defaultLabel: "checkpoint", commands: SERVERS,
    description: "In-cluster snapshot transfer mode of the reference, snapshot or checkpoint; accepted for compatibility, Armada always streams a table snapshot." },
  { name: "raft.snapshot-entries", type: "uint64", default: 10000, commands: SERVERS,
    description: "Take a snapshot every this many applied entries per group; 0 disables automatic snapshots." },
  { name: "raft.compaction-overhead", type: "uint64", default: 5000, commands: SERVERS,
    description: "Log entries kept behind each snapshot." },
  { name: "raft.max-in-mem-log-size", type: "uint64", default: 6291456, commands: SERVERS,
    description: "Bytes of accepted but unapplied entries before proposals fail as transient; also the restore batch size." },
  { name: "raft.max-recv-queue-size", type: "uint64", default: 0, commands: SERVERS,
    description: "Bytes queued for receiving per peer. 0 means unlimited." },
  { name: "raft.max-send-queue-size", type: "uint64", default: 0, commands: SERVERS,
    description: "Bytes queued for sending per peer. 0 means unlimited." },
  { name: "raft.logdb", type: "string", default: "tan", commands: SERVERS,
    description: "Raft log storage of the reference, tan or pebble; accepted for compatibility, Armada has one log store." },
];

const MEMBERSHIP_FLAGS: FlagSpec[] = [
  { name: "memberlist.address", type: "string", default: "0.0.0.0:7432", commands: SERVERS,
    laterIssue: LATER_MEMBERSHIP, description: "Bind address (TCP and UDP) of the membership service." },
  { name: "memberlist.advertise-address", type: "string", default: "", commands: SERVERS,
    laterIssue: LATER_MEMBERSHIP, description: "Membership address advertised to other members, for NAT." },
  { name: "memberlist.members", type: "stringList", default: [], commands: SERVERS, laterIssue: LATER_MEMBERSHIP,
    description: "Seed members as host:port, optionally prefixed dns+, dnssrv+ or dnssrvnoa+." },
  { name: "memberlist.cluster-name", type: "string", default: "default", commands: SERVERS,
    description: "Cluster name reported by MemberList; nodes with different names never join one membership." },
  { name: "memberlist.node-name", type: "string", default: "", defaultLabel: "persisted random UUID",
    commands: SERVERS, description: "Unique name of this node." },
];

const STORAGE_FLAGS: FlagSpec[] = [
  { name: "storage.block-cache-size", type: "size", default: 16777216, commands: SERVERS, laterIssue: LATER_STORAGE,
    description: "Bytes of uncompressed data blocks cached, shared by all tables." },
  { name: "storage.table-cache-size", type: "int", default: 1024, commands: SERVERS, laterIssue: LATER_STORAGE,
    description: "Open storage-file handles cached, shared by all tables." },
];

const TABLES_AND_MAINTENANCE_FLAGS: FlagSpec[] = [
  { name: "tables.enabled", type: "bool", default: true, commands: SERVERS,
    description: "Serve the Tables API." },
  { name: "tables.token", type: "string", default: "", commands: SERVERS, secret: true,
    description: "Bearer token the Tables API requires; empty means no check." },
  { name: "tables.names", type: "stringList", default: [], commands: LEADER,
    deprecated: "use the Tables API (Tables/Create) instead",
    description: "Tables to create once the node is ready." },
  { name: "tables.delete", type: "stringList", default: [], commands: LEADER,
    deprecated: "use the Tables API (Tables/Delete) instead",
    description: "Tables to delete once the node is ready." },
  { name: "maintenance.enabled", type: "bool", default: true, commands: SERVERS,
    description: "Open the maintenance listener and serve the Maintenance API." },
  { name: "maintenance.token", type: "string", default: "", commands: SERVERS, secret: true,
    description: "Bearer token the Maintenance API requires; empty means no check." },
  { name: "maintenance.address", type: "string", default: "http://0.0.0.0:8445", commands: SERVERS,
    description: "Maintenance listen address: http://, https://, unix:// or unixs://." },
  ...serverTlsFlags("maintenance", "maintenance", SERVERS),
  { name: "maintenance.on-api-port", type: "bool", default: false, commands: SERVERS,
    description: "Also serve the Maintenance API on the client API listener, as the reference does." },
];

const LEADER_REPLICATION_FLAGS: FlagSpec[] = [
  { name: "replication.enabled", type: "bool", default: true, commands: LEADER,
    description: "Open the replication listener that follower clusters connect to." },
  { name: "replication.address", type: "string", default: "http://0.0.0.0:8444", commands: LEADER,
    description: "Replication listen address: http://, https://, unix:// or unixs://." },
  ...serverTlsFlags("replication", "replication", LEADER),
  { name: "replication.max-send-message-size-bytes", type: "uint64", default: 4194304, commands: LEADER,
    description: "Target size of one Replicate message (a single large entry may exceed it); 0 means 4 MiB." },
  { name: "replication.log-cache-size", type: "int", default: 0, commands: LEADER,
    description: "Recent log entries cached per table for Replicate. 0 turns the cache off." },
];

const FOLLOWER_REPLICATION_FLAGS: FlagSpec[] = [
  { name: "replication.leader-address", type: "string", default: "", commands: FOLLOWER, required: true,
    description: "Replication endpoint of the leader cluster, e.g. https://leader.example.com:8444." },
  { name: "replication.cert-filename", type: "string", default: "", commands: FOLLOWER, description: "PEM client certificate presented to the leader." },
  { name: "replication.key-filename", type: "string", default: "", commands: FOLLOWER, description: "PEM private key of the client certificate." },
  { name: "replication.ca-filename", type: "string", default: "", defaultLabel: "system roots", commands: FOLLOWER, description: "PEM CA bundle that verifies the leader's certificate." },
  { name: "replication.insecure-skip-verify", type: "bool", default: false, commands: FOLLOWER, description: "Accept any leader certificate and host name (testing only)." },
  { name: "replication.server-name", type: "string", default: "", commands: FOLLOWER,
    description: "Name the leader certificate must match (and SNI) instead of the dialled host." },
  { name: "replication.keepalive-time", type: "duration", default: parseDuration("1m"), commands: FOLLOWER, description: "Idle time before a keepalive ping; at least 10s." },
  { name: "replication.keepalive-timeout", type: "duration", default: parseDuration("10s"), commands: FOLLOWER, description: "Wait for a ping acknowledgement before closing the connection." },
  { name: "replication.poll-interval", type: "duration", default: parseDuration("1s"), commands: FOLLOWER, description: "Base interval between log polls of one table." },
  { name: "replication.reconcile-interval", type: "duration", default: parseDuration("30s"), commands: FOLLOWER, description: "Period of reconciling tables and replication workers." },
  { name: "replication.lease-interval", type: "duration", default: parseDuration("15s"), commands: FOLLOWER, description: "Table lease renewal period; a lease lasts four times this." },
  { name: "replication.log-rpc-timeout", type: "duration", default: parseDuration("1m"), commands: FOLLOWER, description: "Deadline of each Replicate call." },
  { name: "replication.snapshot-rpc-timeout", type: "duration", default: parseDuration("1h"), commands: FOLLOWER, description: "Deadline of each Snapshot call." },
  { name: "replication.max-recv-message-size-bytes", type: "uint64", default: 8388608, commands: FOLLOWER, description: "Largest message accepted from the leader." },
  { name: "replication.max-recovery-in-flight", type: "uint64", default: 1, commands: FOLLOWER, description: "Snapshot recoveries run at once on this node." },
  { name: "replication.max-snapshot-recv-bytes-per-second", type: "uint64", default: 0, commands: FOLLOWER, description: "Snapshot download rate limit. 0 means unlimited." },
  { name: "replication.forward-wait-timeout", type: "duration", default: parseDuration("30s"), commands: FOLLOWER,
    description: "Longest wait for a forwarded write to replicate back when the client set no deadline." },
];

const TOOL_FLAGS: FlagSpec[] = [
  { name: "address", type: "string", default: "127.0.0.1:8445", commands: TOOLS,
    description: "Maintenance endpoint; bare host:port and https:// or unixs:// use TLS, http:// or unix:// do not." },
  { name: "dir", type: "string", default: "", defaultLabel: "current directory", commands: TOOLS,
    description: "Existing directory that holds (or receives) the backup." },
  { name: "ca", type: "string", default: "", defaultLabel: "system roots", commands: TOOLS,
    description: "PEM CA bundle that verifies the server certificate." },
  { name: "token", type: "string", default: "", commands: TOOLS, secret: true,
    description: "Maintenance token, sent as a bearer token; refused over plaintext." },
  { name: "json", type: "bool", default: false, commands: TOOLS,
    description: "Log JSON lines instead of plain text lines." },
  { name: "ignore-status-errors", type: "bool", default: false, commands: ["backup"],
    description: "Back up the tables Status reported even if it could not report some others." },
];

/** Every flag of every command. A name appears twice only for disjoint commands. */
export const FLAGS: readonly FlagSpec[] = Object.freeze([
  ...GENERAL_FLAGS,
  ...API_FLAGS,
  ...REST_FLAGS,
  ...RAFT_FLAGS,
  ...MEMBERSHIP_FLAGS,
  ...STORAGE_FLAGS,
  ...TABLES_AND_MAINTENANCE_FLAGS,
  ...LEADER_REPLICATION_FLAGS,
  ...FOLLOWER_REPLICATION_FLAGS,
  ...TOOL_FLAGS,
].map(freezeSpec));

function freezeSpec(spec: FlagSpec): FlagSpec {
  const value = spec.default;
  if (Array.isArray(value)) Object.freeze(value);
  else if (typeof value === "object") Object.freeze(value);
  return Object.freeze(spec);
}

const flagsByCommand = new Map<CommandName, ReadonlyMap<string, FlagSpec>>(
  COMMAND_NAMES.map((command) => [
    command,
    new Map(FLAGS.filter((spec) => spec.commands.includes(command)).map((spec) => [spec.name, spec])),
  ]),
);

/** The flags of one command, in table order. */
export function flagsFor(command: CommandName): readonly FlagSpec[] {
  return [...flagsByCommand.get(command)!.values()];
}

/** The flag `name` of `command`, or undefined when that command has no such flag. */
export function findFlag(command: CommandName, name: string): FlagSpec | undefined {
  return flagsByCommand.get(command)!.get(name);
}

/** The first flag called `name` of any command (types agree between same-named flags). */
export function findAnyFlag(name: string): FlagSpec | undefined {
  return FLAGS.find((spec) => spec.name === name);
}

/** `ARMADA_` + the upper-cased name with `.` and `-` replaced by `_`: `ARMADA_RAFT_NODE_ID`. */
export function envNameOf(name: string): string {
  return `ARMADA_${name.toUpperCase().replace(/[.-]/g, "_")}`;
}

/**
 * The reference's environment name (`RAFT.NODE-ID`) for dotted keys; undefined for dot-less keys, which Armada
 * must never read un-prefixed (`TOKEN`, `DIR`, `DEV-MODE`) because such names collide with unrelated variables.
 */
export function referenceEnvNameOf(name: string): string | undefined {
  return name.includes(".") ? name.toUpperCase() : undefined;
}
