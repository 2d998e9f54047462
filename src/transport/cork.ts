/**
 * Write coalescing: the writes a socket gets during one tick of the event loop (answers to many
 * requests, many forwarded proposals) leave in one system call instead of one each.
 */
import type { Socket } from "node:net";

const corked = new WeakSet<Socket>();

/** Holds `socket`'s writes until the current tick ends (idempotent within a tick). */
export function corkForTick(socket: Socket): void {
  if (corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  process.nextTick(() => {
    corked.delete(socket);
    socket.uncork();
  });
}
