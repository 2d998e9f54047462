/**
 * Packing replicated commands into SEQUENCE proposals (spec §9.8): consecutive commands of one Replicate
 * message go into a SEQUENCE carrying the leader index of its last command, flushed once its encoded size
 * reaches 256 KiB and at the end of the message.
 */
import { pb, toNumber, type armada } from "../../proto/index.js";

/** A SEQUENCE is flushed once its encoded size reaches this (spec §9.8). */
export const SEQUENCE_FLUSH_BYTES = 256 * 1024;

const SEQUENCE = pb.Command.CommandType.SEQUENCE;

/** The SEQUENCE commands for one message's commands, in order. */
export function packSequences(commands: readonly armada.v1.IReplicateCommand[], flushBytes = SEQUENCE_FLUSH_BYTES): armada.v1.ICommand[] {
  const out: armada.v1.ICommand[] = [];
  let batch: armada.v1.ICommand[] = [];
  let bytes = 0;
  let lastIndex = 0;
  const flush = () => {
    if (batch.length === 0) return;
    out.push({ type: SEQUENCE, sequence: batch, leaderIndex: lastIndex });
    batch = [];
    bytes = 0;
  };
  for (const replicated of commands) {
    lastIndex = toNumber(replicated.leaderIndex);
    // The sub-command carries its own leader index, so a replica can skip entries it already holds.
    const command: armada.v1.ICommand = { ...(replicated.command ?? {}), leaderIndex: lastIndex };
    batch.push(command);
    // Field tag and length prefix of each sub-command are a few bytes; the encoded size dominates.
    bytes += pb.Command.encode(command).len + 6;
    if (bytes >= flushBytes) flush();
  }
  flush();
  return out;
}
