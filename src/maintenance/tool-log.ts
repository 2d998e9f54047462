/**
 * Output of `armada backup` and `armada restore` (spec §11.6): one plain text line per event on stdout,
 * or with `--json` one JSON object per line (`level`, `ts`, `msg`, fields); the final error once on stderr.
 */
import { isoTimestamp } from "../log/format.js";

/** Where a tool writes; process.stdout and process.stderr by default. */
export interface ToolOutput {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}

/** Pause between two redraws of the progress line. */
const PROGRESS_REDRAW_MS = 200;
const MIB = 1024 * 1024;

export class ToolLog {
  private progressShown = false;
  private progressDrawnAtMs = 0;

  constructor(private readonly output: ToolOutput, private readonly json: boolean) {}

  info(msg: string, fields: Record<string, unknown> = {}): void {
    this.clearProgress();
    this.output.stdout.write(this.line("info", msg, fields));
  }

  /** The run failed: the one error line, on stderr. */
  error(msg: string, fields: Record<string, unknown> = {}): void {
    this.clearProgress();
    this.output.stderr.write(this.line("error", msg, fields));
  }

  /**
   * Counts `pieces` as they pass and redraws a progress line on stderr, only when stderr is a terminal and
   * the output is plain text (a progress bar in JSON logs or in a file would be noise).
   */
  async *progress<T extends Uint8Array>(label: string, pieces: AsyncIterable<T>, totalBytes?: number): AsyncGenerator<T, void, undefined> {
    let bytes = 0;
    for await (const piece of pieces) {
      bytes += piece.length;
      this.drawProgress(label, bytes, totalBytes);
      yield piece;
    }
  }

  private drawProgress(label: string, bytes: number, totalBytes: number | undefined): void {
    if (this.json || this.output.stderr.isTTY !== true) return;
    const now = Date.now();
    if (now - this.progressDrawnAtMs < PROGRESS_REDRAW_MS) return;
    this.progressDrawnAtMs = now;
    const done = (bytes / MIB).toFixed(1);
    const text = totalBytes ? `${done} / ${(totalBytes / MIB).toFixed(1)} MiB (${Math.floor((100 * bytes) / Math.max(totalBytes, 1))}%)` : `${done} MiB`;
    this.output.stderr.write(`\r${label}: ${text}\x1b[K`);
    this.progressShown = true;
  }

  private clearProgress(): void {
    if (!this.progressShown) return;
    this.output.stderr.write("\r\x1b[K");
    this.progressShown = false;
  }

  private line(level: string, msg: string, fields: Record<string, unknown>): string {
    if (!this.json) return `${msg}\n`;
    return `${JSON.stringify({ level, ts: isoTimestamp(new Date()), msg, ...fields })}\n`;
  }
}

/** The text of any thrown value. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
