/**
 * An open-loop load generator for gRPC unary calls over HTTP/2, run as its own process.
 *
 * Why not h2load: its timing-script mode sends at most about a thousand requests a second per process
 * (it fell 3.4× behind a 3,500/s schedule), and its --rps mode fires every connection's timer at the
 * same instant, so the requests arrive in bursts and the latency measured is how long a burst queues.
 * Why not node:http2: its client spends so long per request that it fell 200 ms behind a 7,800/s schedule.
 *
 * So this speaks HTTP/2 itself, as little of it as a unary call needs: every request is the same
 * pre-encoded HEADERS and DATA frame (only the stream id changes), and answers are read frame by frame.
 * Request k is due at start + k/rate, on connection k mod `connections`, whether or not earlier answers
 * came back. Between sends the loop sleeps until the next call is due (at most 0.1 ms, in a futex wait:
 * Node's timers cannot wait less than a millisecond), then lets the event loop read what arrived, so calls
 * leave one at a time as scheduled. Until 2026-12-03 it woke on a 1 ms timer, and at 10,000 calls/s they left
 * in groups of ten a millisecond apart: each group queued in the server, and the median call waited for
 * the others (p50 0.9–1.5 ms against 0.2–0.4 ms spaced). Polling the clock without pause would space them
 * exactly too, but it keeps a core busy: on a two-core machine that leaves the server one core, which at
 * half of its two-core peak is no longer half loaded (etcd, held to one core that way, answered a third of
 * the rate). An answer that arrives while the loop sleeps is read, and timed, up to 0.1 ms late.
 * Latency runs from the moment a request is handed to its connection to the end of its answer; how late
 * the generator was against the schedule is reported beside it, so its own stalls show without being
 * charged to the server.
 *
 * An answer counts as a success when it carries a message (DATA) and ends with trailers. grpc-status
 * itself is not read (that needs an HPACK decoder): a gRPC error is a trailers-only answer without a
 * message, so it counts as failed. The bench also checks grpc-status 0 with a real client around each run.
 *
 * Usage: node open-loop.js '<json of OpenLoopOptions>'; prints one OpenLoopResult as JSON on stdout.
 */
import { execFile } from "node:child_process";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { quantile } from "./h2load.js";

export interface OpenLoopOptions {
  /** http://host:port */
  readonly address: string;
  readonly path: string;
  /** The request body with its 5-byte gRPC prefix, base64. */
  readonly bodyBase64: string;
  readonly rate: number;
  readonly durationS: number;
  /** Requests due in the first warmupS seconds are sent but not recorded. */
  readonly warmupS: number;
  readonly connections: number;
  /** How long answers still out when the schedule ends may take to arrive (default 2 s). */
  readonly drainMs?: number;
}

export interface OpenLoopResult {
  /** Calls due in the measured part. */
  readonly scheduled: number;
  readonly succeeded: number;
  /** Answered without a message (a gRPC error), or reset by the server. */
  readonly failed: number;
  /** Recorded calls still unanswered when the run ended; they count as the slowest in the percentiles. */
  readonly unanswered: number;
  /** Answered calls per second over the measured part. */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** How late the generator sent, at the 99th percentile and at worst (its own health). */
  readonly sendLagP99Ms: number;
  readonly sendLagMaxMs: number;
}

const DRAIN_MS_DEFAULT = 2000;
/** The longest the generator sleeps between two looks at its sockets and its schedule. */
const MAX_SLEEP_NS = 100_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks the thread for about `ns` without spinning (a futex wait that nothing wakes): timers cannot
 * wait less than a millisecond, and a busy loop would take a core from the server on a two-core machine.
 */
function sleepNs(ns: number): void {
  Atomics.wait(sleeper, 0, 0, ns / 1e6);
}

const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;
const FRAME_RST_STREAM = 0x3;
const FRAME_SETTINGS = 0x4;
const FRAME_PING = 0x6;
const FRAME_GOAWAY = 0x7;
const FRAME_WINDOW_UPDATE = 0x8;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const MAX_WINDOW = 2 ** 31 - 1;
const DEFAULT_WINDOW = 65_535;
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return header;
}

/** An HPACK string literal without Huffman coding (all our strings are shorter than 127 bytes). */
function literal(value: string): Buffer {
  const bytes = Buffer.from(value, "latin1");
  if (bytes.length >= 127) throw new Error(`header value too long for this generator: ${value}`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/**
 * A connection's header blocks, as HTTP/2 clients (nghttp2 in h2load, grpc-go, grpc-java) send them:
 * the first request adds its four non-static fields to the server's dynamic table ("literal with
 * incremental indexing"), and every later request names all its fields by index. Until 2026-12-03 every
 * request carried the fields as literals without indexing, so the server decoded four strings per call
 * that no real client makes it decode; the closed-loop rows (h2load) always indexed.
 */
export function requestHeaderBlocks(authority: string, path: string): { first: Buffer; next: Buffer } {
  const first = Buffer.concat([
    Buffer.from([0x83]), // :method POST (static 3)
    Buffer.from([0x86]), // :scheme http (static 6)
    Buffer.from([0x44]), literal(path), // :path, name from static 4, value indexed
    Buffer.from([0x41]), literal(authority), // :authority, name from static 1, value indexed
    Buffer.from([0x5f]), literal("application/grpc"), // content-type, name from static 31, value indexed
    Buffer.from([0x40]), literal("te"), literal("trailers"), // te: trailers, indexed
  ]);
  // The newest entry is index 62: te, then content-type (63), :authority (64), :path (65).
  const next = Buffer.from([0x83, 0x86, 0x80 | 65, 0x80 | 64, 0x80 | 63, 0x80 | 62]);
  return { first, next };
}

interface Call {
  /** When the call was handed to its connection (latency runs from here). */
  readonly sentNs: number;
  readonly recorded: number;
  sawMessage: boolean;
}

/** One connection: sends the pre-encoded request on fresh stream ids and reports each answer's end. */
class Connection {
  private nextStreamId = 1;
  private readonly calls = new Map<number, Call>();
  private buffered: Buffer = Buffer.alloc(0);
  private sendWindow = DEFAULT_WINDOW;
  private readonly waiting: Call[] = [];
  private out: Buffer[] = [];
  private failure: Error | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly headerBlocks: { first: Buffer; next: Buffer },
    private readonly body: Buffer,
    private readonly onEnd: (call: Call, succeeded: boolean) => void,
  ) {
    socket.setNoDelay(true);
    // Our receive windows as large as HTTP/2 allows, so the server never waits for a WINDOW_UPDATE.
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(MAX_WINDOW, 8);
    const increment = Buffer.alloc(4);
    increment.writeUInt32BE(MAX_WINDOW - DEFAULT_WINDOW);
    socket.write(Buffer.concat([PREFACE, frameHeader(12, FRAME_SETTINGS, 0, 0), settings, frameHeader(4, FRAME_WINDOW_UPDATE, 0, 0), increment]));
    socket.on("data", (chunk: Buffer) => this.read(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("the server closed the connection")));
  }

  get outstanding(): number {
    return this.calls.size + this.waiting.length;
  }

  /** Queues one call (written by flush()). */
  send(call: Call): void {
    if (this.failure) return this.onEnd(call, false);
    // The server's connection window limits request bodies; it grows back as the server reads them.
    if (this.sendWindow < this.body.length || this.waiting.length > 0) {
      this.waiting.push(call);
      return;
    }
    this.write(call);
  }

  flush(): void {
    if (this.out.length === 0) return;
    this.socket.write(this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out));
    this.out = [];
  }

  close(): void {
    this.socket.destroy();
  }

  private write(call: Call): void {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.calls.set(id, call);
    this.sendWindow -= this.body.length;
    // The first request on the connection fills the server's HPACK table; the others refer to it.
    const headerBlock = id === 1 ? this.headerBlocks.first : this.headerBlocks.next;
    this.out.push(frameHeader(headerBlock.length, FRAME_HEADERS, FLAG_END_HEADERS, id), headerBlock, frameHeader(this.body.length, FRAME_DATA, FLAG_END_STREAM, id), this.body);
  }

  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    let at = 0;
    while (this.buffered.length - at >= 9) {
      const length = this.buffered.readUIntBE(at, 3);
      if (this.buffered.length - at < 9 + length) break;
      const type = this.buffered[at + 3]!;
      const flags = this.buffered[at + 4]!;
      const streamId = this.buffered.readUInt32BE(at + 5) & 0x7fffffff;
      this.frame(type, flags, streamId, this.buffered.subarray(at + 9, at + 9 + length));
      at += 9 + length;
    }
    this.buffered = this.buffered.subarray(at);
    this.flush();
  }

  private frame(type: number, flags: number, streamId: number, payload: Buffer): void {
    switch (type) {
      case FRAME_SETTINGS:
        if ((flags & FLAG_ACK) === 0) this.out.push(frameHeader(0, FRAME_SETTINGS, FLAG_ACK, 0));
        return;
      case FRAME_PING:
        if ((flags & FLAG_ACK) === 0) this.out.push(frameHeader(8, FRAME_PING, FLAG_ACK, 0), Buffer.from(payload));
        return;
      case FRAME_WINDOW_UPDATE:
        if (streamId === 0) {
          this.sendWindow += payload.readUInt32BE(0) & 0x7fffffff;
          while (this.waiting.length > 0 && this.sendWindow >= this.body.length) this.write(this.waiting.shift()!);
        }
        return;
      case FRAME_GOAWAY:
        this.fail(new Error(`the server sent GOAWAY (error code ${payload.readUInt32BE(4)})`));
        return;
      case FRAME_RST_STREAM:
        this.end(streamId, false);
        return;
      case FRAME_DATA: {
        const call = this.calls.get(streamId);
        const padding = flags & FLAG_PADDED ? payload[0]! + 1 : 0;
        if (call && payload.length - padding >= 5) call.sawMessage = true;
        if (flags & FLAG_END_STREAM) this.end(streamId, false);
        return;
      }
      case FRAME_HEADERS:
        // The answer's headers, or (with END_STREAM) its trailers. A header block split into
        // CONTINUATION frames would carry END_STREAM here too, so the end is still seen.
        if (flags & FLAG_END_STREAM) {
          const call = this.calls.get(streamId);
          this.end(streamId, call?.sawMessage ?? false);
        }
        return;
      default:
        return;
    }
  }

  private end(streamId: number, succeeded: boolean): void {
    const call = this.calls.get(streamId);
    if (!call) return;
    this.calls.delete(streamId);
    this.onEnd(call, succeeded);
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    const pending = [...this.calls.values(), ...this.waiting];
    this.calls.clear();
    this.waiting.length = 0;
    for (const call of pending) this.onEnd(call, false);
  }
}

function openConnection(address: string): Promise<Socket> {
  const url = new URL(address);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const body = Buffer.from(options.bodyBase64, "base64");
  const headerBlocks = requestHeaderBlocks(new URL(options.address).host, options.path);
  const total = Math.round(options.rate * options.durationS);
  const firstRecorded = Math.round(options.rate * options.warmupS);
  const recordedCount = total - firstRecorded;
  // Unanswered calls keep Infinity and sort last: they count in the percentiles as the slowest.
  const latencies = new Float64Array(recordedCount).fill(Infinity);
  const lags = new Float64Array(recordedCount);
  let answered = 0;
  let succeeded = 0;
  let failed = 0;
  const start = process.hrtime.bigint();
  const nowNs = (): number => Number(process.hrtime.bigint() - start);
  const onEnd = (call: Call, ok: boolean): void => {
    if (call.recorded < 0) return;
    answered++;
    latencies[call.recorded] = (nowNs() - call.sentNs) / 1e6;
    if (ok) succeeded++;
    else failed++;
  };
  const sockets = await Promise.all(Array.from({ length: options.connections }, () => openConnection(options.address)));
  const connections = sockets.map((socket) => new Connection(socket, headerBlocks, body, onEnd));
  // Let the SETTINGS exchange finish before the clock starts.
  await new Promise((resolve) => setTimeout(resolve, 50));

  const intervalNs = 1e9 / options.rate;
  await new Promise<void>((resolve) => {
    let next = 0;
    const began = nowNs();
    const poll = (): void => {
      const now = nowNs();
      while (next < total && began + next * intervalNs <= now) {
        const k = next++;
        const dueNs = began + k * intervalNs;
        const recorded = k >= firstRecorded ? k - firstRecorded : -1;
        if (recorded >= 0) lags[recorded] = (now - dueNs) / 1e6;
        connections[k % connections.length]!.send({ sentNs: now, recorded, sawMessage: false });
      }
      for (const connection of connections) connection.flush();
      if (next >= total) return resolve();
      // Sleep until the next call is due (at most MAX_SLEEP_NS, so that answers are not read late by
      // much), then let the event loop read what arrived before sending again.
      const untilDueNs = began + next * intervalNs - nowNs();
      if (untilDueNs > 0) sleepNs(Math.min(untilDueNs, MAX_SLEEP_NS));
      setImmediate(poll);
    };
    poll();
  });
  const drainUntil = Date.now() + (options.drainMs ?? DRAIN_MS_DEFAULT);
  while (connections.some((c) => c.outstanding > 0) && Date.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 5));
  for (const connection of connections) connection.close();

  latencies.sort();
  lags.sort();
  return {
    scheduled: recordedCount,
    succeeded,
    failed,
    unanswered: recordedCount - answered,
    rps: answered / (options.durationS - options.warmupS),
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    p999Ms: quantile(latencies, 0.999),
    maxMs: quantile(latencies, 1),
    sendLagP99Ms: quantile(lags, 0.99),
    sendLagMaxMs: quantile(lags, 1),
  };
}

/** Runs the generator in a process of its own (so that its event loop is not the caller's) and returns its result. */
export function runOpenLoopProcess(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const args = [fileURLToPath(import.meta.url), JSON.stringify(options)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: (options.durationS + 30) * 1000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`open-loop generator failed: ${error.message}\n${stderr}`));
      try {
        // JSON has no Infinity (the latency of calls never answered): it travels as a string.
        resolve(JSON.parse(stdout, (_key, value: unknown) => (value === "Infinity" ? Infinity : value)) as OpenLoopResult);
      } catch {
        reject(new Error(`open-loop generator printed no result: ${stdout}\n${stderr}`));
      }
    });
  });
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runOpenLoop(JSON.parse(process.argv[2] ?? "{}") as OpenLoopOptions).then(
    (result) => process.stdout.write(`${JSON.stringify(result, (_key, value: unknown) => (value === Infinity ? "Infinity" : value))}\n`),
    (error: unknown) => {
      process.stderr.write(`open-loop generator failed: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
