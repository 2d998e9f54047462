/**
 * Startup warnings for settings that run but leave a door open (spec §12.5, §12.6): development certificates
 * outside --dev-mode (their private keys are public), a Maintenance API without a token, a replication
 * listener that does not ask followers for certificates, a follower that does not verify its leader, and
 * client-certificate flags on a plaintext address (where they cannot take effect).
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isTlsScheme, parseListenAddress } from "../config/address.js";
import type { FlagValue } from "../config/flags.js";

type Values = Readonly<Record<string, FlagValue>>;

/** The organisation hack/gen-dev-certs.sh writes into every certificate it makes. */
export const DEV_CERTIFICATE_ORG = "Armada KV INSECURE DEVELOPMENT CERTIFICATE";

const CERTIFICATE_FLAGS = [
  "api.cert-filename", "api.ca-filename",
  "maintenance.cert-filename", "maintenance.ca-filename",
  "replication.cert-filename", "replication.ca-filename",
];

/** The warnings for a `leader` or `follower` configuration, one line each, in flag order. */
export function securityWarnings(command: "leader" | "follower", values: Values): string[] {
  const warnings: string[] = [];
  const text = (key: string) => (typeof values[key] === "string" ? (values[key] as string) : "");
  const flag = (key: string) => values[key] === true;
  if (!flag("dev-mode")) {
    for (const key of CERTIFICATE_FLAGS) {
      const file = text(key);
      if (file !== "" && isDevelopmentCertificate(file)) {
        warnings.push(
          `INSECURE: --${key}=${file} is a development certificate from hack/gen-dev-certs.sh and --dev-mode is off; ` +
            "its private key is not secret — issue real certificates before production (docs/security.md)",
        );
      }
    }
  }
  for (const listener of ["api", "maintenance"]) {
    if (listener === "maintenance" && !flag("maintenance.enabled")) continue;
    warnIfMtlsFlagsOnPlaintext(listener, text, flag, warnings);
  }
  if (flag("maintenance.enabled") && text("maintenance.token") === "") {
    warnings.push("maintenance API has no token: anyone who reaches it can back up and restore tables (set --maintenance.token)");
  }
  if (command === "leader" && flag("replication.enabled")) {
    warnIfMtlsFlagsOnPlaintext("replication", text, flag, warnings);
    if (!flag("replication.client-cert-auth") && text("replication.ca-filename") === "") {
      warnings.push(
        "replication listener runs without mutual TLS: anyone who reaches it can read every table " +
          "(use an https:// address with --replication.ca-filename, and --replication.allowed-cn or --replication.allowed-hostname)",
      );
    }
  }
  if (command === "follower" && flag("replication.insecure-skip-verify")) {
    warnings.push(
      "--replication.insecure-skip-verify is on: the leader's certificate is not verified, so anyone on the path can impersonate it (testing only)",
    );
  }
  return warnings;
}

function warnIfMtlsFlagsOnPlaintext(listener: string, text: (key: string) => string, flag: (key: string) => boolean, warnings: string[]): void {
  let tls: boolean;
  try {
    tls = isTlsScheme(parseListenAddress(text(`${listener}.address`)).scheme);
  } catch {
    return; // validation reports a bad address
  }
  const mtlsFlags = ["ca-filename", "allowed-cn", "allowed-hostname"].filter((name) => text(`${listener}.${name}`) !== "");
  if (flag(`${listener}.client-cert-auth`)) mtlsFlags.push("client-cert-auth");
  if (!tls && mtlsFlags.length > 0) {
    warnings.push(
      `--${listener}.address is plaintext (${text(`${listener}.address`)}), so ${mtlsFlags.map((name) => `--${listener}.${name}`).join(", ")} ` +
        "cannot take effect: use https:// or unixs://",
    );
  }
}

/** True when `file` starts with a certificate made by hack/gen-dev-certs.sh. Unreadable files are startup's business. */
export function isDevelopmentCertificate(file: string): boolean {
  try {
    const certificate = new X509Certificate(readFileSync(file));
    return certificate.subject.includes(DEV_CERTIFICATE_ORG) || certificate.issuer.includes(DEV_CERTIFICATE_ORG);
  } catch {
    return false;
  }
}
