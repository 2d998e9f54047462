/**
 * TLS for gRPC clients that present a certificate — the follower's replication client (spec §12.2):
 * `--replication.cert-filename`/`--replication.key-filename` (client certificate, both or neither),
 * `--replication.ca-filename` (CA that verifies the leader; the system roots when empty),
 * `--replication.insecure-skip-verify` and `--replication.server-name` (name verified and sent as SNI instead
 * of the dialled host).
 *
 * The client certificate follows its files like a listener's does (identity.ts): every new connection is
 * made with the pair currently on disk, so rotating a follower's certificate needs no restart. This uses
 * grpc-js' certificate-provider credentials (experimental API of @grpc/grpc-js 1.14), fed by Armada's own
 * provider because grpc-js' file watcher polls and passes on half-written or mismatched files.
 */
import * as grpc from "@grpc/grpc-js";
import { rootCertificates } from "node:tls";
import { grpcTarget, isTlsScheme, parseListenAddress } from "../config/address.js";
import { readCaBundle, WatchedIdentity, type Identity } from "./identity.js";
import type { SecurityLog } from "./tls-listener.js";

/** The follower's replication client TLS flags (spec §12.2). */
export interface ClientTlsSettings {
  /** Client certificate presented to the server; empty for none. */
  readonly certFilename: string;
  readonly keyFilename: string;
  /** CA bundle that verifies the server's certificate; empty means the system roots. */
  readonly caFilename: string;
  /** Accept any server certificate and host name. For tests only: it removes all protection against interception. */
  readonly insecureSkipVerify: boolean;
  /** Name to verify the server certificate against and to send as SNI, instead of the dialled host; empty for the host. */
  readonly serverName: string;
}

/** Credentials and channel options for `new grpc.Client(target, credentials, options)`. */
export interface ClientTls {
  readonly credentials: grpc.ChannelCredentials;
  /** `grpc.ssl_target_name_override` when a server name is set; merge into the channel's options. */
  readonly options: grpc.ChannelOptions;
  /** The client certificate currently presented, if any. */
  readonly identity: Identity | undefined;
  /** Stops following the certificate files (call when the client is closed for good). */
  close(): void;
}

export interface ClientTlsHooks {
  /** Told when the client certificate is reloaded or its changed files cannot be loaded. */
  readonly log?: SecurityLog;
}

/**
 * Builds TLS credentials for a client from the spec §12.2 flags.
 * @throws Error `cannot build tls config: <detail>` when only one of cert/key is set, or a file is unreadable or
 *   invalid (so a follower fails at startup, not on its first connection).
 */
export function createClientTls(settings: ClientTlsSettings, hooks: ClientTlsHooks = {}): ClientTls {
  const hasCert = settings.certFilename !== "";
  if (hasCert !== (settings.keyFilename !== "")) {
    throw new Error("cannot build tls config: the client certificate and key files must both be set or both be empty");
  }
  let ca: Buffer;
  let identity: WatchedIdentity | undefined;
  try {
    ca = settings.caFilename ? readCaBundle(settings.caFilename) : Buffer.from(rootCertificates.join("\n"));
    identity = hasCert
      ? new WatchedIdentity(settings.certFilename, settings.keyFilename, {
          onError: (error) => hooks.log?.warn("client certificate files changed but could not be loaded; still using the previous certificate", { error: error.message }),
          onReload: () => hooks.log?.info("client certificate reloaded; new connections use it"),
        })
      : undefined;
  } catch (error) {
    throw new Error(`cannot build tls config: ${error instanceof Error ? error.message : String(error)}`);
  }
  const verify: grpc.VerifyOptions = settings.insecureSkipVerify
    ? { rejectUnauthorized: false, checkServerIdentity: () => undefined }
    : {};
  const credentials = grpc.experimental.createCertificateProviderChannelCredentials(
    staticCaProvider(ca),
    identity ? identityProvider(identity) : null,
    verify,
  );
  const options: grpc.ChannelOptions = settings.serverName ? { "grpc.ssl_target_name_override": settings.serverName } : {};
  return {
    credentials,
    options,
    get identity() { return identity?.current; },
    close: () => identity?.close(),
  };
}

/** A dialable replication endpoint: grpc-js target, credentials and options. */
export interface ClientDial extends ClientTls {
  readonly target: string;
  readonly secure: boolean;
}

/**
 * Resolves `--replication.leader-address` (spec §12.4) for a client: http:// and unix:// dial in plaintext and
 * ignore the TLS settings; https:// and unixs:// use {@link createClientTls}.
 */
export function dialWithClientTls(address: string, settings: ClientTlsSettings, hooks: ClientTlsHooks = {}): ClientDial {
  const parsed = parseListenAddress(address);
  const target = grpcTarget(parsed, "127.0.0.1");
  if (!isTlsScheme(parsed.scheme)) {
    return { target, secure: false, credentials: grpc.credentials.createInsecure(), options: {}, identity: undefined, close: () => undefined };
  }
  const tls = createClientTls(settings, hooks);
  return {
    target,
    secure: true,
    credentials: tls.credentials,
    options: tls.options,
    get identity() { return tls.identity; },
    close: () => tls.close(),
  };
}

/** Serves one CA bundle for the life of the client (spec §12.2 reads it once). */
function staticCaProvider(ca: Buffer): grpc.experimental.CertificateProvider {
  const update = { caCertificate: ca };
  return {
    addCaCertificateListener: (listener) => listener(update),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: () => undefined,
    removeIdentityCertificateListener: () => undefined,
  };
}

/** Feeds grpc-js the current client pair and every successful reload of it. */
function identityProvider(identity: WatchedIdentity): grpc.experimental.CertificateProvider {
  const listeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  identity.onChange((current) => {
    for (const listener of listeners) listener({ certificate: current.cert, privateKey: current.key });
  });
  return {
    addCaCertificateListener: () => undefined,
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (listener) => {
      listeners.add(listener);
      listener({ certificate: identity.current.cert, privateKey: identity.current.key });
    },
    removeIdentityCertificateListener: (listener) => { listeners.delete(listener); },
  };
}
