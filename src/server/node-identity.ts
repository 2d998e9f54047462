/**
 * A node's stable name: `--memberlist.node-name` when given, otherwise a random UUID generated on the
 * first start and kept in the node-host directory so it survives restarts (spec §7.1).
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const NODE_NAME_FILE = "node-name";

export function persistentNodeName(nodeHostDir: string, configured: string): string {
  if (configured) return configured;
  const path = join(nodeHostDir, NODE_NAME_FILE);
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  mkdirSync(nodeHostDir, { recursive: true });
  const name = randomUUID();
  // Write then rename, so a crash never leaves a half-written name behind.
  writeFileSync(`${path}.tmp`, name);
  renameSync(`${path}.tmp`, path);
  return name;
}
