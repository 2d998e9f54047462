/**
 * `armada backup` (spec §11.6): writes one `<table>.bak` per table and `manifest.json` into an existing
 * directory. [FIX] Every file is written under a temporary name and renamed into place only after all
 * tables succeeded, the manifest last, so a failed run never leaves a backup looking complete.
 */
import { createHash, randomBytes } from "node:crypto";
import { open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { FlagValue } from "../config/index.js";
import { STANDARD_OUTPUT, toolCommand } from "./tool-command.js";
import { boolValue, stringValue } from "../config/values.js";
import { isoTimestamp } from "../log/format.js";
import { encodeManifest, MANIFEST_FILE, type ManifestTable } from "../maintenance/manifest.js";
import { MaintenanceClient } from "../maintenance/tool-client.js";
import { errorText, ToolLog, type ToolOutput } from "../maintenance/tool-log.js";

/** Deadline of a whole backup or restore run (spec Appendix C). */
export const TOOL_RUN_DEADLINE_MS = 60 * 60 * 1000;

export interface ToolRunOptions {
  /** Overrides the 1-hour run deadline (tests). */
  readonly timeoutMs?: number;
}

/** `armada backup <argv>`: loads the configuration and runs; resolves with the exit code. */
export function backupCommand(argv: readonly string[], env: NodeJS.ProcessEnv, output: ToolOutput = STANDARD_OUTPUT): Promise<number> {
  return toolCommand("backup", argv, env, output, (values, out) => runBackup(values, out));
}

/** Runs a backup with loaded configuration values (`address`, `dir`, `ca`, `token`, `json`, `ignore-status-errors`). */
export async function runBackup(values: Readonly<Record<string, FlagValue>>, output: ToolOutput, options: ToolRunOptions = {}): Promise<number> {
  const log = new ToolLog(output, boolValue(values, "json"));
  const dir = stringValue(values, "dir");
  const written: ManifestTable[] = [];
  /** Final name → temporary name of every file this run created, renamed on success, removed on failure. */
  const temporaries = new Map<string, string>();
  let client: MaintenanceClient | undefined;
  try {
    await checkDirectory(dir);
    const started = isoTimestamp(new Date());
    client = new MaintenanceClient({
      address: stringValue(values, "address"),
      ca: stringValue(values, "ca"),
      token: stringValue(values, "token"),
      deadline: new Date(Date.now() + (options.timeoutMs ?? TOOL_RUN_DEADLINE_MS)),
    });
    const tables = await tablesToBackUp(client, boolValue(values, "ignore-status-errors"));
    log.info("starting backup");
    for (const name of tables) {
      log.info(`backing up table '${name}'`, { table: name });
      const fileName = `${name}.bak`;
      temporaries.set(fileName, temporaryPath(dir, fileName));
      let index: number | undefined;
      const chunks = client.backup(name, (reported) => (index = reported));
      const file = await writeFileSynced(temporaries.get(fileName)!, log.progress(`table '${name}'`, chunks));
      written.push({ name, file_name: fileName, md5: file.md5, size: file.size, ...(index === undefined ? {} : { index }) });
      log.info(`backed up table '${name}'`, { table: name, md5: file.md5, size: file.size });
    }
    // The cluster's name is informational: a server without Cluster/MemberList on this port leaves it out.
    const cluster = await client.clusterName().catch(() => undefined);
    const manifest = encodeManifest({ ...(cluster ? { cluster } : {}), started, finished: isoTimestamp(new Date()), tables: written });
    log.info("tables backed up, writing manifest");
    temporaries.set(MANIFEST_FILE, temporaryPath(dir, MANIFEST_FILE));
    await writeFileSynced(temporaries.get(MANIFEST_FILE)!, [Buffer.from(manifest, "utf8")]);
    // The manifest was added last, so it is renamed last: a directory with a new manifest is complete.
    for (const [fileName, temporary] of temporaries) await rename(temporary, join(dir, fileName));
    temporaries.clear();
    await syncDirectory(dir);
    log.info("backup complete");
    return 0;
  } catch (error) {
    await Promise.all([...temporaries.values()].map((temporary) => rm(temporary, { force: true })));
    log.error(`backup failed: ${errorText(error)}`);
    return 1;
  } finally {
    client?.close();
  }
}

/** `--dir` must exist and be a directory; empty means the current directory (spec §11.6 step 1). */
export async function checkDirectory(dir: string): Promise<void> {
  if (dir === "") return;
  const info = await stat(dir);
  if (!info.isDirectory()) throw new Error(`'${dir}' is not a directory`);
}

/** Table names from `Cluster/Status`, in name order; [FIX] tables Status could not report fail the run. */
async function tablesToBackUp(client: MaintenanceClient, ignoreStatusErrors: boolean): Promise<string[]> {
  const status = await client.status();
  if (status.errors.length > 0 && !ignoreStatusErrors) {
    throw new Error(`Cluster/Status could not report every table (use --ignore-status-errors to back up the others): ${status.errors.join("; ")}`);
  }
  return Object.keys(status.tables ?? {}).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function temporaryPath(dir: string, fileName: string): string {
  return join(dir, `.${fileName}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/** Writes `pieces` to a new file, fsyncs it, and returns its size and lower-case hex MD5. */
async function writeFileSynced(path: string, pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ md5: string; size: number }> {
  const md5 = createHash("md5");
  let size = 0;
  const handle = await open(path, "wx");
  try {
    for await (const piece of pieces) {
      md5.update(piece);
      size += piece.length;
      await handle.write(piece);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { md5: md5.digest("hex"), size };
}

/** Makes the renames durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir === "" ? "." : dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
