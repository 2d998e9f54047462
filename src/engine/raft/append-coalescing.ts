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
  /** Per peer: the position in `out` of the last message to it, when that message is an append. */
  const lastAppend = new Map<number, { at: number; bytes: number }>();
  for (const message of messages) {
    if (message.type !== "append") {
      lastAppend.delete(message.to);
      out.push(message);
      continue;
    }
    const previous = lastAppend.get(message.to);
    const bytes = sumBytes(message.entries);
    if (previous !== undefined) {
      const merged = merge(out[previous.at] as AppendMessage, message, previous.bytes + bytes, bytesMax);
      if (merged !== null) {
        out[previous.at] = merged;
        previous.bytes += bytes;
        continue;
      }
    }
    lastAppend.set(message.to, { at: out.length, bytes });
    out.push(message);
  }
  return out;
}

/** `first` followed by `next` as one append, or null when they do not continue each other. */
function merge(first: AppendMessage, next: AppendMessage, bytes: number, bytesMax: number): AppendMessage | null {
  if (first.term !== next.term || first.from !== next.from) return null;
  const last = first.entries.length > 0 ? first.entries[first.entries.length - 1]! : null;
  const lastIndex = last ? last.index : first.index;
  const lastTerm = last ? last.term : first.logTerm;
  if (next.index !== lastIndex || next.logTerm !== lastTerm) return null;
  if (first.entries.length > 0 && next.entries.length > 0 && bytes > bytesMax) return null;
  const entries: readonly Entry[] = next.entries.length === 0 ? first.entries : first.entries.length === 0 ? next.entries : [...first.entries, ...next.entries];
  return { ...first, entries, commit: Math.max(first.commit, next.commit) };
}

function sumBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const entry of entries) total += entryBytes(entry);
  return total;
}
