/**
 * Helpers for the state machine's tests (not a test file itself: the name does not match the runner's
 * patterns). Temporary tables live under os.tmpdir() and are removed afterwards.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pb, type armada } from "../proto/index.js";
import type { RangeResult } from "./range.js";
import { TableStateMachine, type ApplyResult } from "./table-state-machine.js";

export const CommandType = pb.Command.CommandType;
export const CompareResult = pb.Compare.CompareResult;

/** Bytes of a string, one byte per char code (so "\xff" is the byte 0xFF). */
export function b(text: string): Buffer {
  return Buffer.from(text, "latin1");
}

/** A fresh temporary directory; call the returned function to remove it. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "armada-fsm-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `body` with a state machine on a temporary directory, closing and removing it afterwards. */
export async function withTable<T>(body: (table: TestTable) => Promise<T>): Promise<T> {
  const { dir, remove } = tempDir();
  const table = new TestTable(dir);
  try {
    return await body(table);
  } finally {
    await table.sm.close();
    remove();
  }
}

/** A state machine plus a log index counter, so tests can apply commands without numbering them. */
export class TestTable {
  sm: TableStateMachine;
  readonly dir: string;
  nextIndex: number;

  constructor(dir: string) {
    this.dir = dir;
    this.sm = TableStateMachine.open(dir, { table: "t" });
    this.nextIndex = this.sm.appliedIndex + 1;
  }

  /** Applies each command as one entry of a single batch; returns the results. */
  async apply(...commands: (armada.v1.ICommand | null)[]): Promise<ApplyResult[]> {
    const entries = commands.map((command) => ({ index: this.nextIndex++, command }));
    return this.sm.apply(entries);
  }

  /** Applies one command and returns its result. */
  async apply1(command: armada.v1.ICommand | null): Promise<ApplyResult> {
    return (await this.apply(command))[0]!;
  }

  /** Closes and reopens the state machine on the same directory. */
  async reopen(): Promise<void> {
    await this.sm.close();
    this.sm = TableStateMachine.open(this.dir, { table: "t" });
    this.nextIndex = this.sm.appliedIndex + 1;
  }

  /** Every key/value of the table as latin1 strings (value "" for empty). */
  dump(): [string, string][] {
    return pairs(this.sm.range({ key: new Uint8Array(0), rangeEnd: Uint8Array.of(0) }));
  }
}

/** Key/value pairs of a result as latin1 strings; an omitted value reads as "". */
export function pairs(result: { kvs?: armada.v1.IKeyValue[] | null }): [string, string][] {
  return (result.kvs ?? []).map((kv) => [Buffer.from(kv.key ?? []).toString("latin1"), Buffer.from(kv.value ?? []).toString("latin1")]);
}

/** Keys of a result as latin1 strings. */
export function keys(result: RangeResult | { kvs?: armada.v1.IKeyValue[] | null }): string[] {
  return pairs(result).map(([key]) => key);
}

export function put(key: string, value: string, extra: Partial<armada.v1.ICommand> = {}): armada.v1.ICommand {
  return { table: b("t"), type: CommandType.PUT, kv: { key: b(key), value: b(value) }, ...extra };
}

export function del(key: string, rangeEnd?: string, extra: Partial<armada.v1.ICommand> = {}): armada.v1.ICommand {
  const command: armada.v1.ICommand = { table: b("t"), type: CommandType.DELETE, kv: { key: b(key) }, ...extra };
  if (rangeEnd !== undefined) command.rangeEnd = b(rangeEnd);
  return command;
}

export function txn(body: armada.v1.ITxn): armada.v1.ICommand {
  return { table: b("t"), type: CommandType.TXN, txn: body };
}

export function opPut(key: string, value: string, prevKv = false): armada.v1.IRequestOp {
  return { requestPut: { key: b(key), value: b(value), prevKv } };
}

export function opRange(key: string, rangeEnd = "", extra: Partial<armada.v1.RequestOp.IRange> = {}): armada.v1.IRequestOp {
  return { requestRange: { key: b(key), rangeEnd: b(rangeEnd), ...extra } };
}

export function opDelete(key: string, rangeEnd = "", extra: Partial<armada.v1.RequestOp.IDeleteRange> = {}): armada.v1.IRequestOp {
  return { requestDeleteRange: { key: b(key), rangeEnd: b(rangeEnd), ...extra } };
}

/** A VALUE compare; `value: undefined` leaves the operand absent (existence test). */
export function cmp(key: string, result: number, value?: string, rangeEnd?: string): armada.v1.ICompare {
  const compare: armada.v1.ICompare = { key: b(key), result, target: pb.Compare.CompareTarget.VALUE };
  if (value !== undefined) compare.value = b(value);
  if (rangeEnd !== undefined) compare.rangeEnd = b(rangeEnd);
  return compare;
}

/** The client-side prefix convention of spec §4.2.2: drop trailing 0xFF bytes, increment the last; all-0xFF → 0x00. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Uint8Array.of(0);
}
