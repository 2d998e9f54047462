/**
 * Deleted tables' data: moved aside at once, destroyed after a grace period (spec §6.3), so a mistaken
 * delete can still be recovered by hand for a few minutes.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

/** Deleted table data is kept this long before it is destroyed. */
export const DELETED_TABLE_GRACE_MS = 5 * 60 * 1000;
/** How often deleted table data is checked for purging. */
export const TRASH_SWEEP_INTERVAL_MS = 30 * 1000;

const TRASH_DIR = "trash";

/** Moves `source` (a table's directory under `stateMachineDir`) into the trash, stamped with the time. */
export function moveToTrash(stateMachineDir: string, source: string, shardId: number): void {
  if (!existsSync(source)) return;
  const trash = join(stateMachineDir, TRASH_DIR);
  mkdirSync(trash, { recursive: true });
  renameSync(source, join(trash, `${shardId}-${Date.now()}`));
}

/** Destroys trashed tables older than the grace period; returns the paths removed. */
export function purgeTrash(stateMachineDir: string, now = Date.now()): string[] {
  const trash = join(stateMachineDir, TRASH_DIR);
  if (!existsSync(trash)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(trash)) {
    const deletedAt = Number(entry.split("-")[1]);
    if (!Number.isFinite(deletedAt) || now - deletedAt >= DELETED_TABLE_GRACE_MS) {
      const path = join(trash, entry);
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    }
  }
  return removed;
}

/** Sweeps the trash now and every TRASH_SWEEP_INTERVAL_MS; returns a function that stops the sweeps. */
export function startTrashSweeper(stateMachineDir: string, onPurged: (path: string) => void): () => void {
  const sweep = () => purgeTrash(stateMachineDir).forEach(onPurged);
  sweep();
  const timer = setInterval(sweep, TRASH_SWEEP_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
