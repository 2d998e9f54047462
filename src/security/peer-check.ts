/**
 * The client-certificate rules of a mutual-TLS listener (spec §12.1): a verified chain, then optionally an
 * exact subject CN (`allowed-cn`) or a certificate valid for a host name or IP (`allowed-hostname`).
 *
 * The verdict is computed once per connection, after the handshake. A refused connection is answered with a
 * gRPC status saying why (see tls-listener.ts) instead of a bare TLS alert, which clients report only as
 * "connection failed" and which cannot carry the CN or host-name reason at all.
 */
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";

export interface PeerPolicy {
  /** Required subject Common Name of the client certificate; empty for any. */
  readonly allowedCn: string;
  /** Host name or IP address the client certificate must be valid for; empty for any. */
  readonly allowedHostname: string;
}

/** Why a client is turned away: UNAUTHENTICATED when its certificate is missing or untrusted, PERMISSION_DENIED when it is trusted but not allowed. */
export interface Refusal {
  readonly code: grpc.status.UNAUTHENTICATED | grpc.status.PERMISSION_DENIED;
  readonly message: string;
}

/** The part of a server-side TLSSocket the verdict needs (a TLSSocket satisfies it). */
export interface PeerFacts {
  readonly authorized: boolean;
  /** OpenSSL's verification error code, e.g. `CERT_HAS_EXPIRED` (Node types it as Error, sets a string). */
  readonly authorizationError?: Error | string;
  getPeerCertificate(detailed?: boolean): PeerCertificate;
}

/** Plain-words explanations of the verification errors clients most often run into. */
const VERIFY_ERRORS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: "the certificate has expired",
  CERT_NOT_YET_VALID: "the certificate is not yet valid",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the certificate is not signed by a CA this listener trusts",
  UNABLE_TO_GET_ISSUER_CERT: "the certificate is not signed by a CA this listener trusts",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the certificate is not signed by a CA this listener trusts",
  SELF_SIGNED_CERT_IN_CHAIN: "the certificate chain ends in a CA this listener does not trust",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the certificate is self-signed and not trusted by this listener",
  CERT_REVOKED: "the certificate has been revoked",
  INVALID_PURPOSE: "the certificate may not be used for client authentication",
  CERT_SIGNATURE_FAILURE: "the certificate signature is invalid",
};

/** Returns why the client must be refused, or undefined when it may in. */
export function checkPeer(peer: PeerFacts, policy: PeerPolicy): Refusal | undefined {
  const certificate = peer.getPeerCertificate();
  if (!certificate || Object.keys(certificate).length === 0) {
    return {
      code: grpc.status.UNAUTHENTICATED,
      message: "client certificate required: this listener uses mutual TLS and the connection presented none",
    };
  }
  if (!peer.authorized) {
    const code = typeof peer.authorizationError === "string" ? peer.authorizationError : peer.authorizationError?.message ?? "unknown";
    const why = VERIFY_ERRORS[code];
    return {
      code: grpc.status.UNAUTHENTICATED,
      message: `client certificate verification failed: ${why ? `${why} (${code})` : code}`,
    };
  }
  if (policy.allowedCn !== "") {
    const cn = commonNames(certificate);
    if (!cn.includes(policy.allowedCn)) {
      return {
        code: grpc.status.PERMISSION_DENIED,
        message: `client certificate CN verification failed: the certificate's CN is ${cn.length ? cn.map((name) => JSON.stringify(name)).join(", ") : "empty"}, this listener allows only ${JSON.stringify(policy.allowedCn)}`,
      };
    }
  }
  if (policy.allowedHostname !== "") {
    // The same SAN matching a client applies to a server's certificate (DNS names with wildcards, IP addresses).
    const mismatch = checkServerIdentity(policy.allowedHostname, certificate);
    if (mismatch) {
      return {
        code: grpc.status.PERMISSION_DENIED,
        message: `client certificate hostname verification failed: ${mismatch.message}`,
      };
    }
  }
  return undefined;
}

/** The subject CN(s): Node gives a string, or an array when the subject repeats CN. */
function commonNames(certificate: PeerCertificate): string[] {
  const cn: unknown = certificate.subject?.CN;
  if (Array.isArray(cn)) return cn.map(String);
  return typeof cn === "string" ? [cn] : [];
}
