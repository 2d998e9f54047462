/**
 * Dialing an Armada address with a scheme: http:// and unix:// in plaintext, https:// and unixs:// with TLS.
 */
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { grpcTarget, isTlsScheme, parseListenAddress, type ParseAddressOptions } from "../config/address.js";

export interface TlsOptions {
  /** CA bundle to verify the server (default: the system's roots). */
  readonly caFile?: string;
  /** Client certificate and key for mutual TLS. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Expected server name when it differs from the host dialed. */
  readonly serverName?: string;
  readonly insecureSkipVerify?: boolean;
}

export interface Dial {
  readonly target: string;
  readonly credentials: grpc.ChannelCredentials;
  readonly options: grpc.ChannelOptions;
  readonly secure: boolean;
}

/** Resolves an address such as "http://127.0.0.1:8443" or "unix:///run/armada.sock" into a grpc-js target. */
export function dial(address: string, tls: TlsOptions = {}, parse: ParseAddressOptions = {}): Dial {
  const parsed = parseListenAddress(address, parse);
  const secure = isTlsScheme(parsed.scheme);
  const target = grpcTarget(parsed);
  const options: grpc.ChannelOptions = {
    "grpc.max_receive_message_length": -1,
    "grpc.max_send_message_length": -1,
  };
  if (tls.serverName) options["grpc.ssl_target_name_override"] = tls.serverName;
  if (!secure) return { target, credentials: grpc.credentials.createInsecure(), options, secure };
  const read = (file?: string) => (file ? readFileSync(file) : null);
  const credentials = grpc.credentials.createSsl(
    read(tls.caFile),
    read(tls.keyFile),
    read(tls.certFile),
    tls.insecureSkipVerify ? { checkServerIdentity: () => undefined, rejectUnauthorized: false } : {},
  );
  return { target, credentials, options, secure };
}
