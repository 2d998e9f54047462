/**
 * `armada_tls_certificate_expiry_timestamp_seconds{listener}`: when the certificate each TLS listener serves
 * expires, as a Unix time, so an alert can fire well before it does (e.g. `... - time() < 14 * 86400`).
 * Updated on every certificate reload.
 */
import { Gauge, type Registry } from "prom-client";
import type { X509Certificate } from "node:crypto";

export const CERTIFICATE_EXPIRY_METRIC = "armada_tls_certificate_expiry_timestamp_seconds";

/** The expiry gauge of `registry`, created on first use (several listeners share one family). */
export function certificateExpiryGauge(registry: Registry): Gauge<"listener"> {
  const existing = registry.getSingleMetric(CERTIFICATE_EXPIRY_METRIC);
  if (existing) return existing as Gauge<"listener">;
  return new Gauge({
    name: CERTIFICATE_EXPIRY_METRIC,
    help: "Expiry time (Unix seconds) of the certificate a TLS listener currently serves.",
    labelNames: ["listener"],
    registers: [registry],
  });
}

/** Expiry of a certificate in Unix seconds. */
export function expirySeconds(certificate: X509Certificate): number {
  return Math.floor(new Date(certificate.validTo).getTime() / 1000);
}
