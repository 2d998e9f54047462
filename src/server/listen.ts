/**
 * Opening a grpc-js server on an address with a scheme (spec §12.4): http:// and https:// are TCP,
 * unix:// and unixs:// are Unix sockets; the s-variants use TLS.
 */
import * as grpc from "@grpc/grpc-js";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { grpcTarget, isTlsScheme, parseListenAddress } from "../config/address.js";
import { bindLimited, stopLimitedListeners, type ConnectionLimiter } from "./connection-limit.js";

/** Largest inbound message on the gRPC listeners (spec §4.7). */
export const INBOUND_MESSAGE_BYTES_MAX = 4 * 1024 * 1024;
/** The API listener sends GOAWAY after this long so clients rebalance behind L4 balancers (spec §15). */
export const API_CONNECTION_AGE_MAX_MS = 60_000;

export interface TlsFiles {
  readonly certFilename: string;
  readonly keyFilename: string;
  readonly caFilename: string;
  readonly clientCertAuth: boolean;
}

/** The grpc-js bind target of a listener address, and its socket path for Unix sockets. */
export interface BindTarget {
  readonly secure: boolean;
  readonly target: string;
  readonly socketPath?: string;
}

/** Resolves a listener address (scheme rules of spec §12.4) into a grpc-js bind target. */
export function bindTarget(address: string): BindTarget {
  const parsed = parseListenAddress(address);
  const secure = isTlsScheme(parsed.scheme);
  return { secure, target: grpcTarget(parsed), ...("path" in parsed ? { socketPath: parsed.path } : {}) };
}

function credentials(address: BindTarget, tls: TlsFiles | undefined): grpc.ServerCredentials {
  if (!address.secure) return grpc.ServerCredentials.createInsecure();
  if (!tls?.certFilename || !tls.keyFilename) throw new Error("cannot build tls config: certificate and key files must be set");
  const ca = tls.caFilename ? readFileSync(tls.caFilename) : null;
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ cert_chain: readFileSync(tls.certFilename), private_key: readFileSync(tls.keyFilename) }],
    tls.clientCertAuth,
  );
}

/** grpc-js options shared by Armada's listeners: explicit limits instead of library defaults. */
export function serverOptions(extra: grpc.ServerOptions = {}): grpc.ServerOptions {
  return {
    "grpc.max_receive_message_length": INBOUND_MESSAGE_BYTES_MAX,
    "grpc.max_send_message_length": -1,
    // Clients may ping at most every 30 s; more often earns a GOAWAY (too_many_pings).
    "grpc.http2.min_ping_interval_without_data_ms": 30_000,
    "grpc.keepalive_permit_without_calls": 1,
    ...extra,
  };
}

/**
 * Binds `server` to `address`; resolves with the bound address (the real port when 0 was asked). With a
 * `limiter` the listening socket is Armada's own and connections reach grpc-js through it (connection-limit.ts).
 */
export async function listen(server: grpc.Server, address: string, tls?: TlsFiles, limiter?: ConnectionLimiter): Promise<string> {
  const parsed = bindTarget(address);
  const creds = credentials(parsed, tls);
  // A socket file left by a killed process would make the bind fail; it carries no state.
  if (parsed.socketPath && existsSync(parsed.socketPath)) rmSync(parsed.socketPath);
  const port = limiter
    ? await bindLimited(server, parseListenAddress(address), creds, limiter)
    : await new Promise<number>((resolve, reject) =>
      server.bindAsync(parsed.target, creds, (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
    );
  if (parsed.socketPath) return address;
  return address.replace(/:\d+$/, `:${port}`);
}

/** Stops accepting calls, lets in-flight calls finish for up to `graceMs`, then closes connections. */
export function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  stopLimitedListeners(server);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
    server.tryShutdown(() => { clearTimeout(timer); resolve(); });
  });
}
