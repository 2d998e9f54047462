/**
 * The TLS settings of listeners and of the replication client, read from loaded configuration (the flag
 * names of spec §12.1 and §12.2), so every command maps them the same way.
 */
import type { FlagValue } from "../config/flags.js";
import { boolValue, stringValue } from "../config/values.js";
import type { ClientTlsSettings } from "./client-tls.js";
import type { ServerTlsSettings } from "./tls-listener.js";

type Values = Readonly<Record<string, FlagValue>>;

/** `--<prefix>.cert-filename`, `key-filename`, `ca-filename`, `client-cert-auth`, `allowed-cn`, `allowed-hostname`. */
export function serverTlsSettings(values: Values, prefix: "api" | "maintenance" | "replication"): ServerTlsSettings {
  return {
    certFilename: stringValue(values, `${prefix}.cert-filename`),
    keyFilename: stringValue(values, `${prefix}.key-filename`),
    caFilename: stringValue(values, `${prefix}.ca-filename`),
    clientCertAuth: boolValue(values, `${prefix}.client-cert-auth`),
    allowedCn: stringValue(values, `${prefix}.allowed-cn`),
    allowedHostname: stringValue(values, `${prefix}.allowed-hostname`),
  };
}

/** The follower's `--replication.*` client TLS flags (spec §12.2). */
export function replicationClientTlsSettings(values: Values): ClientTlsSettings {
  return {
    certFilename: stringValue(values, "replication.cert-filename"),
    keyFilename: stringValue(values, "replication.key-filename"),
    caFilename: stringValue(values, "replication.ca-filename"),
    insecureSkipVerify: boolValue(values, "replication.insecure-skip-verify"),
    serverName: stringValue(values, "replication.server-name"),
  };
}
