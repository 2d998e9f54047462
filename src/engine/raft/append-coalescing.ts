/**
 * Merges the append messages of one Ready that continue each other into one message per run.
 *
 * The Raft core sends an append to every follower for each proposal (and for each acknowledgement that
 * moves the commit index). Under write load a round collects dozens of them per follower, each carrying
 * one entry: each one is encoded, sent, decoded, stepped, and answered with its own response. Since the
 * host sends a Ready's messages together anyway, sending their union as one append changes no timing,
 * only the number of messages. A follower handles the merged message exactly as the sequence: same
 * entries after the same previous entry, and the highest commit index of the run (what it would hold
 * after the last one; it only ever takes the commit up to the entries it has).
 */
import { entryBytes, MESSAGE_BYTES_MAX_DEFAULT, type AppendMessage, type Entry, type Message } from "../../raft/index.js";

/**
 * Returns `messages` with each append merged into the previous message to the same peer when that one
 * is an append of the same term that the new one continues (its previous entry is the other's last),
 * up to `bytesMax` of entries per message. The order of messages to each peer is kept.
 */
export function coalesceAppends(messages: readonly Message[], bytesMax = MESSAGE_BYTES_MAX_DEFAULT): Message[] {
  const out: Message[] = [];
  /**
   * Per peer: the run being built from the last message to it, when that message is an append. Its entries
   * are collected in one array owned by the run (so merging n appends is linear, not quadratic) and the
   * merged message is written back to `out` at the end.
   */
  const runs = new Map<number, Run>();
  const built: Run[] = [];
  for (const message of messages) {
    if (message.type !== "append") {
      runs.delete(message.to);
      out.push(message);
      continue;
    }
    const bytes = sumBytes(message.entries);
    const run = runs.get(message.to);
    if (run !== undefined && continues(run, message, bytes, bytesMax)) {
      for (const entry of message.entries) run.entries.push(entry);
      run.commit = Math.max(run.commit, message.commit);
      run.bytes += bytes;
      run.merged = true;
      continue;
    }
    const started: Run = { at: out.length, first: message, entries: [...message.entries], commit: message.commit, bytes, merged: false };
    runs.set(message.to, started);
    built.push(started);
    out.push(message);
  }
  for (const run of built) if (run.merged) out[run.at] = { ...run.first, entries: run.entries, commit: run.commit };
  return out;
}

interface Run {
  /** Position of the run's message in the output. */
  readonly at: number;
  readonly first: AppendMessage;
  readonly entries: Entry[];
  commit: number;
  bytes: number;
  merged: boolean;
}

/** Whether `next` continues `run` (same term and sender, starts after its last entry) within the byte limit. */
function continues(run: Run, next: AppendMessage, bytes: number, bytesMax: number): boolean {
  const first = run.first;
  if (first.term !== next.term || first.from !== next.from) return false;
  const last = run.entries.length > 0 ? run.entries[run.entries.length - 1]! : null;
  const lastIndex = last ? last.index : first.index;
  const lastTerm = last ? last.term : first.logTerm;
  if (next.index !== lastIndex || next.logTerm !== lastTerm) return false;
  return !(run.entries.length > 0 && next.entries.length > 0 && run.bytes + bytes > bytesMax);
}

function sumBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const entry of entries) total += entryBytes(entry);
  return total;
}
