/**
 * Test support: fresh development certificates in a temporary directory, made by hack/gen-dev-certs.sh, so
 * no test depends on key material committed to the repository (or on its expiry date).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const GEN_DEV_CERTS = fileURLToPath(new URL("../../hack/gen-dev-certs.sh", import.meta.url));

/** A directory of generated certificates; `file("test/expired-client.crt")` is a path inside it. */
export interface CertificateDir {
  readonly dir: string;
  file(name: string): string;
  remove(): void;
}

export function generateCertificates(): CertificateDir {
  const dir = mkdtempSync(join(tmpdir(), "armada-certs-"));
  execFileSync("sh", [GEN_DEV_CERTS, dir], { stdio: ["ignore", "ignore", "pipe"] });
  return { dir, file: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
