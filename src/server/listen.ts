/**
 * Opening a grpc-js server on an address with a scheme (spec §12.4): http:// and https:// are TCP,
 * unix:// and unixs:// are Unix sockets; the s-variants use TLS.
 */
import * as grpc from "@grpc/grpc-js";
import { grpcTarget, isTlsScheme, parseListenAddress, type ListenAddress } from "../config/address.js";
import { prepareSocketPath } from "../security/socket-file.js";
import { listenTls, type ServerTlsSettings, type TlsListener, type TlsListenerContext } from "../security/tls-listener.js";
import { bindLimited, stopLimitedListeners, type ConnectionLimiter } from "./connection-limit.js";
import { installGrpcCompression } from "./grpc-compression.js";
import { closeFrontConnections, connectionInjector, frontConnectionCount, hasHttp2Front } from "./http2-front.js";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { listenOn } from "./net-listen.js";

/** Largest inbound message on the gRPC listeners (spec §4.7). */
export const INBOUND_MESSAGE_BYTES_MAX = 4 * 1024 * 1024;
/** The API listener sends GOAWAY after this long so clients rebalance behind L4 balancers (spec §15). */
export const API_CONNECTION_AGE_MAX_MS = 60_000;

/** A listener's TLS settings (spec §12.1); see security/tls-listener.ts. */
export type TlsFiles = ServerTlsSettings;

/**
 * Names the listener in logs and metrics, gives TLS listeners a logger and the metrics registry, and
 * optionally the connection limiter of the listener.
 */
export interface ListenContext extends TlsListenerContext {
  readonly limiter?: ConnectionLimiter;
}

/** The TLS listeners bound for each server, closed by {@link shutdown}. */
const tlsListeners = new WeakMap<grpc.Server, TlsListener[]>();
/** Plaintext listeners of servers with the HTTP/2 front (http2-front.ts), closed by {@link shutdown}. */
const frontListeners = new WeakMap<grpc.Server, NetServer[]>();

/**
 * grpc-js options shared by Armada's listeners: explicit limits instead of library defaults. Every
 * listener is built with these, so this is also where the gzip/deflate/snappy/zstd support of the
 * server calls is installed (grpc-compression.ts; once per process).
 */
export function serverOptions(extra: grpc.ServerOptions = {}): grpc.ServerOptions {
  installGrpcCompression();
  return {
    "grpc.max_receive_message_length": INBOUND_MESSAGE_BYTES_MAX,
    "grpc.max_send_message_length": -1,
    // Clients may ping at most every 30 s; more often earns a GOAWAY (too_many_pings).
    "grpc.http2.min_ping_interval_without_data_ms": 30_000,
    "grpc.keepalive_permit_without_calls": 1,
    // Nothing reads channelz (no channelz service is registered), and with it on grpc-js counts, timestamps
    // and allocates four tracking closures for every call.
    "grpc.enable_channelz": 0,
    ...extra,
  };
}

/**
 * Binds `server` to `address`; resolves with the bound address (the real port when 0 was asked).
 * Plaintext schemes are bound by grpc-js; https:// and unixs:// by security/tls-listener.ts, which adds
 * certificate reload and client-certificate checks with readable refusals. With a `limiter` in the context
 * the listening socket is Armada's own and connections reach grpc-js through it (connection-limit.ts).
 * @throws Error `cannot build tls config: …` for a TLS address without usable certificate files, or a bind error.
 */
export async function listen(server: grpc.Server, address: string, tls?: TlsFiles, context: ListenContext = { listener: "grpc" }): Promise<string> {
  const parsed = parseListenAddress(address);
  // A socket file left by a killed process would make the bind fail; it carries no state.
  if ("path" in parsed) await prepareSocketPath(parsed.path);
  if (isTlsScheme(parsed.scheme)) {
    if (!tls) throw new Error("cannot build tls config: KeyFile and CertFile must both be present");
    const bind = "path" in parsed ? { path: parsed.path } : { host: parsed.host === "" ? "0.0.0.0" : parsed.host, port: parsed.port };
    const injector = connectionInjector(server, grpc.ServerCredentials.createInsecure());
    const listener = await listenTls(server, bind, tls, { ...context, injector, ...(context.limiter ? { admission: context.limiter } : {}) });
    tlsListeners.set(server, [...(tlsListeners.get(server) ?? []), listener]);
    return listener.port === undefined ? address : address.replace(/:\d+$/, `:${listener.port}`);
  }
  const insecure = grpc.ServerCredentials.createInsecure();
  const port = context.limiter
    ? await bindLimited(server, parsed, insecure, context.limiter)
    : hasHttp2Front(server)
    ? await bindFront(server, parsed, insecure)
    : await new Promise<number>((resolve, reject) =>
      server.bindAsync(grpcTarget(parsed), insecure, (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
    );
  if ("path" in parsed) return address;
  return address.replace(/:\d+$/, `:${port}`);
}

/** A plaintext listener whose connections the HTTP/2 front serves; resolves with the bound port (0 for Unix sockets). */
async function bindFront(server: grpc.Server, address: ListenAddress, credentials: grpc.ServerCredentials): Promise<number> {
  const injector = connectionInjector(server, credentials);
  const listener = createNetServer((socket) => {
    // A reset before the HTTP/2 layer listens must not become an uncaught error.
    socket.on("error", () => undefined);
    injector.injectConnection(socket);
  });
  const port = await listenOn(listener, address);
  frontListeners.set(server, [...(frontListeners.get(server) ?? []), listener]);
  return port;
}

/** Stops accepting calls, lets in-flight calls finish for up to `graceMs`, then closes connections. */
export function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  // Armada's own listeners (TLS, connection-limited, front): stop them accepting first; grpc-js and the
  // front then drain their connections.
  for (const listener of tlsListeners.get(server) ?? []) listener.close();
  tlsListeners.delete(server);
  for (const listener of frontListeners.get(server) ?? []) listener.close();
  frontListeners.delete(server);
  stopLimitedListeners(server);
  closeFrontConnections(server, false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      closeFrontConnections(server, true);
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      // grpc-js's connections are done; the front's may still be answering calls.
      const poll = () => {
        if (frontConnectionCount(server) > 0) return void setTimeout(poll, 20).unref();
        clearTimeout(timer);
        resolve();
      };
      poll();
    });
  });
}
