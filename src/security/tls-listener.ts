/**
 * A TLS listener for a grpc-js server (https:// and unixs://, spec §12.1) that Armada runs itself instead of
 * letting grpc-js bind, for two reasons:
 *
 * - **Certificate reload.** The certificate and key are watched (and re-read on SIGHUP); a changed pair is
 *   installed with `setSecureContext`, so new connections get it while open ones continue undisturbed.
 * - **Refusals clients can read.** With mutual TLS the handshake still completes for any client
 *   (`rejectUnauthorized: false`), and the verdict of peer-check.ts decides what happens next: an accepted
 *   connection is handed to grpc-js (`createConnectionInjector`); a refused one never reaches grpc-js or any
 *   handler — a small HTTP/2 responder answers each of its calls with UNAUTHENTICATED or PERMISSION_DENIED and
 *   the reason, where a failed handshake would leave the client with an opaque "connection failed".
 *
 * TLS 1.2 is the minimum; ALPN offers h2 only (gRPC).
 */
import * as grpc from "@grpc/grpc-js";
import { createServer as createHttp2Server, type Http2Server, type ServerHttp2Session } from "node:http2";
import { createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer, type TLSSocket } from "node:tls";
import type { Registry } from "prom-client";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { readCaBundle, WatchedIdentity, type Identity } from "./identity.js";
import { checkPeer, type Refusal } from "./peer-check.js";
import { certificateExpiryGauge, expirySeconds } from "./metrics.js";

/** TLS settings of one gRPC listener (the `--<listener>.*` flags of spec §12.1). */
export interface ServerTlsSettings {
  readonly certFilename: string;
  readonly keyFilename: string;
  /** CA bundle that verifies client certificates; setting it turns on mutual TLS. */
  readonly caFilename: string;
  /** Require and verify client certificates (against the system roots when no CA file is given). */
  readonly clientCertAuth: boolean;
  readonly allowedCn?: string;
  readonly allowedHostname?: string;
}

/** What the listener logs through (a subset of the node's logger). */
export interface SecurityLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export interface TlsListenerContext {
  /** Listener name for logs and the expiry metric: `api`, `maintenance`, `replication`. */
  readonly listener: string;
  readonly log?: SecurityLog;
  /** Where `armada_tls_certificate_expiry_timestamp_seconds` is exported. */
  readonly registry?: Registry;
  /**
   * Admits accepted TCP connections before TLS starts (the API's connection limit, server/connection-limit.ts):
   * it receives each paused socket and hands the ones it serves back through the function given to `connect`.
   */
  readonly admission?: ConnectionAdmission;
  /** Where served connections go, once TLS is up; grpc-js's connection injector when absent. */
  readonly injector?: { injectConnection(connection: TLSSocket): void };
}

/** A policy that decides which accepted connections are served, and when. */
export interface ConnectionAdmission {
  connect(serve: (socket: Socket) => void): void;
  accept(socket: Socket): void;
  close(): void;
}

export type BindPoint = { readonly host: string; readonly port: number } | { readonly path: string };

export interface TlsListener {
  /** The accepting socket server, for connection-level policies (e.g. connection limits) that apply before TLS. */
  readonly server: TlsServer;
  /** The bound TCP port (the real one when 0 was asked); undefined for Unix sockets. */
  readonly port: number | undefined;
  /** Re-reads the certificate files now (also done on file change and SIGHUP). */
  reload(): boolean;
  /** Stops accepting connections; open ones are left to the grpc-js server's shutdown. */
  close(): void;
}

/** How long a refused connection may stay open without calls before it is closed. */
const REFUSED_IDLE_MS = 10_000;

const SILENT_LOG: SecurityLog = { info: () => undefined, warn: () => undefined, debug: () => undefined };

/** True when these settings ask for client certificates (spec §12.1: the CA file alone turns mTLS on). */
export function mutualTls(settings: ServerTlsSettings): boolean {
  return settings.clientCertAuth || settings.caFilename !== "";
}

/**
 * Binds `server` with TLS at `bind`.
 * @throws Error `cannot build tls config: <detail>` when the files are missing, unreadable or do not match.
 */
export async function listenTls(server: grpc.Server, bind: BindPoint, settings: ServerTlsSettings, context: TlsListenerContext): Promise<TlsListener> {
  const log = context.log ?? SILENT_LOG;
  const { listener } = context;
  if (!settings.certFilename || !settings.keyFilename) {
    throw new Error("cannot build tls config: KeyFile and CertFile must both be present");
  }
  let identity: WatchedIdentity;
  let ca: Buffer | undefined;
  try {
    // The CA bundle is read once (spec §12.1); only the served certificate rotates.
    ca = settings.caFilename ? readCaBundle(settings.caFilename) : undefined;
    identity = new WatchedIdentity(settings.certFilename, settings.keyFilename, {
      onError: (error) => log.warn("certificate files changed but could not be loaded; still serving the previous certificate", { listener, error: error.message }),
    });
  } catch (error) {
    throw new Error(`cannot build tls config: ${error instanceof Error ? error.message : String(error)}`);
  }
  const requestCert = mutualTls(settings);
  const policy = { allowedCn: settings.allowedCn ?? "", allowedHostname: settings.allowedHostname ?? "" };
  const contextOptions = (current: Identity): SecureContextOptions => ({
    cert: current.cert,
    key: current.key,
    ...(ca ? { ca } : {}),
    minVersion: "TLSv1.2",
  });
  const expiry = context.registry ? certificateExpiryGauge(context.registry) : undefined;
  const exportExpiry = (current: Identity) => expiry?.set({ listener }, expirySeconds(current.leaf));
  exportExpiry(identity.current);

  const tlsServer = createTlsServer({
    ...contextOptions(identity.current),
    requestCert,
    // Verification still runs; its result is judged after the handshake (checkPeer) so refusals can say why.
    rejectUnauthorized: false,
    ALPNProtocols: ["h2"],
  });
  identity.onChange((current) => {
    tlsServer.setSecureContext(contextOptions(current));
    exportExpiry(current);
    log.info("TLS certificate reloaded; new connections use it", {
      listener, subject: current.leaf.subject.replace(/\n/g, ", "), notAfter: current.leaf.validTo,
    });
  });

  const injector = context.injector ?? server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const refusals = refusalResponder();
  tlsServer.on("secureConnection", (socket: TLSSocket) => {
    // Errors on an accepted socket (resets) are the session's business; never let one crash the node.
    socket.on("error", (error) => log.debug("TLS connection error", { listener, error: error.message }));
    const refusal = requestCert ? checkPeer(socket, policy) : undefined;
    if (refusal) {
      log.warn("refused client", { listener, remote: socket.remoteAddress ?? "unix socket", reason: refusal.message });
      refusals.take(socket, refusal);
      return;
    }
    injector.injectConnection(socket);
  });
  tlsServer.on("tlsClientError", (error, socket) => {
    log.debug("TLS handshake failed", { listener, remote: socket.remoteAddress ?? "unix socket", error: error.message });
  });

  // With an admission policy a plain socket server accepts (paused), and TLS starts only once admitted.
  const admission = context.admission;
  let accepting: NetServer = tlsServer;
  if (admission) {
    admission.connect((socket) => {
      socket.resume();
      tlsServer.emit("connection", socket);
    });
    accepting = createNetServer({ pauseOnConnect: true }, (socket) => admission.accept(socket));
  }
  await new Promise<void>((resolve, reject) => {
    accepting.once("error", reject);
    const done = () => { accepting.off("error", reject); resolve(); };
    if ("path" in bind) accepting.listen(bind.path, done);
    else accepting.listen({ host: bind.host, port: bind.port }, done);
  }).catch((error: unknown) => {
    identity.close();
    throw error;
  });
  accepting.on("error", (error) => log.warn("TLS listener error", { listener, error: error.message }));
  const address = accepting.address();
  return {
    server: tlsServer,
    port: typeof address === "object" && address !== null ? address.port : undefined,
    reload: () => identity.reload(),
    close: () => {
      identity.close();
      accepting.close();
      if (accepting !== tlsServer) tlsServer.close();
      admission?.close();
      refusals.close();
    },
  };
}

/** Where a refused socket carries its refusal; readable through the proxy Node hands out as `session.socket`. */
const REFUSAL = Symbol("armada.refusal");
type RefusedSocket = TLSSocket & { [REFUSAL]?: Refusal };

/** Answers every call on refused connections with the refusal; closes idle ones. */
function refusalResponder(): { take(socket: TLSSocket, refusal: Refusal): void; close(): void } {
  const sessions = new Set<ServerHttp2Session>();
  const responder: Http2Server = createHttp2Server();
  responder.on("session", (session: ServerHttp2Session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => session.destroy());
    session.setTimeout(REFUSED_IDLE_MS, () => session.close());
  });
  responder.on("stream", (stream) => {
    const refusal = (stream.session?.socket as RefusedSocket | undefined)?.[REFUSAL];
    const { code, message } = refusal ?? { code: grpc.status.UNAUTHENTICATED, message: "client refused" };
    // A trailers-only gRPC response: HTTP 200 with the status in the headers and the stream ended.
    stream.respond({
      ":status": 200,
      "content-type": "application/grpc",
      "grpc-status": String(code),
      "grpc-message": encodeGrpcMessage(message),
    }, { endStream: true });
  });
  return {
    take(socket, refusal) {
      (socket as RefusedSocket)[REFUSAL] = refusal;
      responder.emit("connection", socket);
    },
    close() {
      for (const session of sessions) session.destroy();
    },
  };
}

/** gRPC percent-encodes `grpc-message`: everything outside printable ASCII, and `%` itself. */
export function encodeGrpcMessage(message: string): string {
  return message.replace(/[^\x20-\x24\x26-\x7e]/gu, (char) => encodeURIComponent(char));
}
