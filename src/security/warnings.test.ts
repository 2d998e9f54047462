/**
 * Startup security warnings (spec §12.5, §12.6) from loaded configuration, including the follower's, whose
 * command is not runnable yet; certificates are generated for this run.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../config/index.js";
import { isDevelopmentCertificate, securityWarnings } from "./warnings.js";
import { generateCertificates, type CertificateDir } from "./testkit.js";

let certs: CertificateDir;
before(() => { certs = generateCertificates(); });
after(() => certs.remove());

function warnings(command: "leader" | "follower", args: string[]): string[] {
  return securityWarnings(command, loadConfig(command, ["--raft.address=127.0.0.1:5012", ...args], {}, { searchDirs: [] }).values);
}

test("development certificates are recognised by content and warned about outside --dev-mode only", () => {
  assert.ok(isDevelopmentCertificate(certs.file("server.crt")));
  assert.ok(isDevelopmentCertificate(certs.file("replication/client.crt")));
  assert.equal(isDevelopmentCertificate(certs.file("server.key")), false);
  assert.equal(isDevelopmentCertificate("/nonexistent.crt"), false);
  const args = ["--api.address=https://127.0.0.1:8443", `--api.cert-filename=${certs.file("server.crt")}`, `--api.key-filename=${certs.file("server.key")}`,
    "--maintenance.token=t", `--replication.ca-filename=${certs.file("replication/ca.crt")}`];
  const loud = warnings("leader", args);
  assert.equal(loud.filter((line) => line.startsWith("INSECURE: ")).length, 2, loud.join("\n"));
  assert.ok(loud.some((line) => line.startsWith(`INSECURE: --api.cert-filename=${certs.file("server.crt")} is a development certificate`)));
  assert.deepEqual(warnings("leader", [...args, "--dev-mode"]).filter((line) => line.startsWith("INSECURE")), []);
});

test("risky settings: no maintenance token, replication without mTLS, insecure-skip-verify, mTLS flags on plaintext", () => {
  const defaults = warnings("leader", []);
  assert.ok(defaults.includes("maintenance API has no token: anyone who reaches it can back up and restore tables (set --maintenance.token)"));
  assert.ok(defaults.some((line) => line.startsWith("replication listener runs without mutual TLS")));
  const mtlsReplication = ["--replication.address=https://0.0.0.0:8444", "--replication.cert-filename=r.crt", "--replication.key-filename=r.key", "--replication.client-cert-auth"];
  const guarded = warnings("leader", ["--maintenance.token=t", ...mtlsReplication]);
  assert.deepEqual(guarded, []);
  assert.deepEqual(warnings("leader", ["--maintenance.enabled=false", "--replication.enabled=false"]), []);
  const follower = warnings("follower", ["--replication.leader-address=https://leader:8444", "--replication.insecure-skip-verify", "--maintenance.token=t"]);
  assert.deepEqual(follower, ["--replication.insecure-skip-verify is on: the leader's certificate is not verified, so anyone on the path can impersonate it (testing only)"]);
  const plaintext = warnings("leader", ["--maintenance.token=t", "--replication.client-cert-auth", "--api.client-cert-auth", "--api.allowed-cn=x"]);
  assert.deepEqual(plaintext, [
    "--api.address is plaintext (http://0.0.0.0:8443), so --api.allowed-cn, --api.client-cert-auth cannot take effect: use https:// or unixs://",
    "--replication.address is plaintext (http://0.0.0.0:8444), so --replication.client-cert-auth cannot take effect: use https:// or unixs://",
  ]);
});
