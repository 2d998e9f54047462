/**
 * Listener and endpoint addresses with a mandatory scheme (spec §12.4): `http://host:port`,
 * `https://host:port`, `unix://path` and `unixs://path`. The s-variants use TLS.
 */
import { ConfigError } from "./errors.js";

export type AddressScheme = "http" | "https" | "unix" | "unixs";

export interface TcpAddress {
  readonly scheme: "http" | "https";
  /** Host name or IP address; IPv6 without brackets; empty means all interfaces. */
  readonly host: string;
  readonly port: number;
}

export interface UnixAddress {
  readonly scheme: "unix" | "unixs";
  /** Socket path: `unix:///run/a.sock` → `/run/a.sock`, `unix://rel/a.sock` → `rel/a.sock`. */
  readonly path: string;
}

export type ListenAddress = TcpAddress | UnixAddress;

export interface ParseAddressOptions {
  /**
   * Accept a scheme-less `host:port` and treat it as `https` — only for the backup/restore `--address`, where
   * the reference tool always dialled with TLS (spec §11.6).
   */
  readonly allowBareHostPort?: boolean;
}

const PORT_MAX = 65535;
const SCHEME_PATTERN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s;
const HOST_PORT_PATTERN = /^(?:\[([0-9A-Za-z:.%]+)\]|([^\s:/[\]@?#]*)):(\d+)$/;

/** True when traffic on this address is TLS-protected. */
export function isTlsScheme(scheme: AddressScheme): boolean {
  return scheme === "https" || scheme === "unixs";
}

/**
 * Parses an address with a scheme.
 * @throws ConfigError `invalid address '<value>': scheme must be one of http, https, unix, unixs`, or
 *   `invalid address '<value>': <detail>` for a malformed host, port or path.
 */
export function parseListenAddress(value: string, options: ParseAddressOptions = {}): ListenAddress {
  const match = SCHEME_PATTERN.exec(value);
  if (match === null) {
    if (options.allowBareHostPort === true && HOST_PORT_PATTERN.test(value)) return parseHostPort(value, "https", value);
    throw new ConfigError(`invalid address '${value}': scheme must be one of http, https, unix, unixs`);
  }
  const scheme = match[1]!.toLowerCase();
  const rest = match[2]!;
  switch (scheme) {
    case "http":
    case "https":
      return parseHostPort(rest, scheme, value);
    case "unix":
    case "unixs":
      if (rest === "") throw new ConfigError(`invalid address '${value}': missing socket path`);
      return { scheme, path: rest };
    default:
      throw new ConfigError(`invalid address '${value}': scheme must be one of http, https, unix, unixs`);
  }
}

function parseHostPort(rest: string, scheme: "http" | "https", value: string): TcpAddress {
  const slash = rest.indexOf("/");
  if (slash >= 0 && rest.slice(slash) !== "/") {
    throw new ConfigError(`invalid address '${value}': unexpected path ${JSON.stringify(rest.slice(slash))}`);
  }
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const match = HOST_PORT_PATTERN.exec(authority);
  if (match === null) throw new ConfigError(`invalid address '${value}': expected ${scheme}://host:port`);
  const port = Number(match[3]);
  if (port > PORT_MAX) throw new ConfigError(`invalid address '${value}': port ${port} is out of range (0-${PORT_MAX})`);
  return { scheme, host: match[1] ?? match[2] ?? "", port };
}

/**
 * The grpc-js target of a parsed address: `unix:<path>`, or `host:port` with IPv6 hosts in brackets.
 * `anyHost` stands in for an empty host (listeners bind every interface).
 */
export function grpcTarget(address: ListenAddress, anyHost = "0.0.0.0"): string {
  if ("path" in address) return `unix:${address.path}`;
  const host = address.host === "" ? anyHost : address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}
