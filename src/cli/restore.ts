/**
 * `armada restore` (spec §11.7): reads `manifest.json`, [FIX] verifies the presence, checksum and format
 * of every listed file before touching the cluster, then restores the tables one by one in manifest order.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { FlagValue } from "../config/index.js";
import { STANDARD_OUTPUT, toolCommand } from "./tool-command.js";
import { boolValue, stringValue } from "../config/values.js";
import { MANIFEST_FILE, parseManifest, type ManifestTable } from "../maintenance/manifest.js";
import { MaintenanceClient, RESTORE_CHUNK_BYTES_MAX } from "../maintenance/tool-client.js";
import { errorText, ToolLog, type ToolOutput } from "../maintenance/tool-log.js";
import { readCommandStream } from "../snapshot/index.js";
import { checkDirectory, TOOL_RUN_DEADLINE_MS, type ToolRunOptions } from "./backup.js";

/** `armada restore <argv>`: loads the configuration and runs; resolves with the exit code. */
export function restoreCommand(argv: readonly string[], env: NodeJS.ProcessEnv, output: ToolOutput = STANDARD_OUTPUT): Promise<number> {
  return toolCommand("restore", argv, env, output, (values, out) => runRestore(values, out));
}

/** Runs a restore with loaded configuration values (`address`, `dir`, `ca`, `token`, `json`). */
export async function runRestore(values: Readonly<Record<string, FlagValue>>, output: ToolOutput, options: ToolRunOptions = {}): Promise<number> {
  const log = new ToolLog(output, boolValue(values, "json"));
  const dir = stringValue(values, "dir");
  let client: MaintenanceClient | undefined;
  try {
    await checkDirectory(dir);
    const { tables } = parseManifest(await readFile(join(dir, MANIFEST_FILE), "utf8"));
    log.info("manifest loaded", { tables: tables.length });
    log.info(`going to restore ${tables.map((table) => table.name).join(", ")}`, { tables: tables.map((table) => table.name) });
    for (const table of tables) {
      await verifyFile(dir, table);
      log.info(`table '${table.name}' checksum valid`, { table: table.name });
    }
    client = new MaintenanceClient({
      address: stringValue(values, "address"),
      ca: stringValue(values, "ca"),
      token: stringValue(values, "token"),
      deadline: new Date(Date.now() + (options.timeoutMs ?? TOOL_RUN_DEADLINE_MS)),
    });
    for (const table of tables) {
      const path = join(dir, table.file_name);
      const totalBytes = (await stat(path)).size;
      const pieces = () => log.progress(`table '${table.name}'`, createReadStream(path, { highWaterMark: RESTORE_CHUNK_BYTES_MAX }) as AsyncIterable<Buffer>, totalBytes);
      await client.restore(table.name, pieces, {
        started: () => log.info(`table '${table.name}' stream started`, { table: table.name }),
        streamed: () => log.info(`table '${table.name}' streamed`, { table: table.name }),
      });
      log.info(`table '${table.name}' restored`, { table: table.name });
    }
    return 0;
  } catch (error) {
    log.error(`restore failed: ${errorText(error)}`);
    return 1;
  } finally {
    client?.close();
  }
}

/** The file exists, has the manifest's MD5 and decodes as a backup stream; throws otherwise. */
async function verifyFile(dir: string, table: ManifestTable): Promise<void> {
  const path = join(dir, table.file_name);
  const md5 = createHash("md5");
  for await (const piece of createReadStream(path) as AsyncIterable<Buffer>) md5.update(piece);
  if (md5.digest("hex") !== table.md5.toLowerCase()) {
    throw new Error(`table '${table.name}' file '${table.file_name}' corrupted (checksum mismatch)`);
  }
  try {
    for await (const _ of readCommandStream(createReadStream(path) as AsyncIterable<Buffer>));
  } catch (error) {
    throw new Error(`table '${table.name}' file '${table.file_name}' is not a valid backup: ${errorText(error)}`);
  }
}
