/**
 * `host:port` addresses as the spec writes them (`--raft.address`, `--raft.initial-members`); IPv6 hosts are
 * bracketed (`[::1]:5012`).
 */
import { TransportArgumentError } from "./errors.js";

/** A parsed `host:port`. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const PORT_MAX = 65_535;

/**
 * Parses `host:port`.
 * @throws TransportArgumentError when the port is missing or out of range or the host is empty.
 */
export function parseHostPort(address: string, what: string): HostPort {
  const colon = address.lastIndexOf(":");
  if (colon <= 0) throw new TransportArgumentError(`Invalid ${what} "${address}": expected host:port`);
  let host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const port = Number(portText);
  if (host === "" || !/^\d+$/.test(portText) || port > PORT_MAX) {
    throw new TransportArgumentError(`Invalid ${what} "${address}": expected host:port with a port in 0..${PORT_MAX}`);
  }
  return { host, port };
}

/** Formats a host and port, bracketing IPv6 hosts. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
