/**
 * Unix socket paths for listeners (spec §12.4). A socket file left behind by a process that crashed makes
 * the next bind fail with EADDRINUSE, so a stale one is removed first — but only when it really is stale:
 * a socket someone still accepts on belongs to a running process, and a path that is not a socket at all
 * (a typo pointing at a data file) must never be deleted.
 */
import { lstatSync, rmSync } from "node:fs";
import { connect } from "node:net";

/** Makes `path` free to bind: nothing there, or a dead socket that is removed. */
export async function prepareSocketPath(path: string): Promise<void> {
  let stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (!stats.isSocket()) throw new Error(`cannot listen on unix socket ${path}: the path exists and is not a socket`);
  if (await accepting(path)) throw new Error(`cannot listen on unix socket ${path}: another process is serving on it`);
  rmSync(path, { force: true });
}

/** True when a process accepts connections on the socket (a stale file answers ECONNREFUSED). */
function accepting(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => { socket.destroy(); resolve(false); });
  });
}
