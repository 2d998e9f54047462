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
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { CLIENT_PREFACE, DEFAULT_WINDOW_BYTES, Flag, FRAME_HEADER_BYTES, FrameType, MAX_WINDOW_BYTES, writeFrameHeader } from "../http2/frames.js";
import { SocketWriter } from "../http2/socket-writes.js";
import { formatCpuList } from "./cpu-affinity.js";
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
const MAX_SLEEP_MS = 0.1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks the thread for about `ms` without spinning (a futex wait that nothing wakes): timers cannot
 * wait less than a millisecond, and a busy loop would take a core from the server on a two-core machine.
 */
function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function frameHeader(length: number, type: FrameType, flags: number, streamId: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  writeFrameHeader(header, 0, length, type, flags, streamId);
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

/** Reports the end of a call: when it was sent (performance.now()), its place among recorded calls (-1: warm-up), success. */
type OnEnd = (sentMs: number, recorded: number, succeeded: boolean) => void;

/**
 * The calls in flight on one connection, by stream id, in typed arrays whose slots are reused: the
 * generator makes no object per call, so its own garbage collections do not delay reading answers.
 */
class CallsInFlight {
  private ids = new Int32Array(1024);
  private sentMs = new Float64Array(1024);
  private recorded = new Int32Array(1024);
  private sawMessage = new Uint8Array(1024);
  size = 0;

  add(streamId: number, sentMs: number, recorded: number): void {
    let slot = this.slotOf(streamId);
    while (this.ids[slot] !== 0) {
      this.grow();
      slot = this.slotOf(streamId);
    }
    this.ids[slot] = streamId;
    this.sentMs[slot] = sentMs;
    this.recorded[slot] = recorded;
    this.sawMessage[slot] = 0;
    this.size++;
  }

  /** The slot of `streamId`, or -1 when it is not in flight. */
  find(streamId: number): number {
    const slot = this.slotOf(streamId);
    return this.ids[slot] === streamId ? slot : -1;
  }

  markMessage(slot: number): void {
    this.sawMessage[slot] = 1;
  }

  /** Ends the call in `slot` and reports it. */
  end(slot: number, succeeded: boolean, onEnd: OnEnd): void {
    const sentMs = this.sentMs[slot]!;
    const recorded = this.recorded[slot]!;
    const ok = succeeded && this.sawMessage[slot] === 1;
    this.ids[slot] = 0;
    this.size--;
    onEnd(sentMs, recorded, ok);
  }

  /** Ends every call in flight as failed. */
  failAll(onEnd: OnEnd): void {
    for (let slot = 0; slot < this.ids.length; slot++) if (this.ids[slot] !== 0) this.end(slot, false, onEnd);
  }

  private slotOf(streamId: number): number {
    return (streamId >>> 1) & (this.ids.length - 1);
  }

  /** Doubles the table (a call unanswered for so long that its slot came round again). */
  private grow(): void {
    const { ids, sentMs, recorded, sawMessage } = this;
    const slots = ids.length * 2;
    if (slots > 1 << 24) throw new Error("open-loop: more than 16M calls in flight on one connection");
    this.ids = new Int32Array(slots);
    this.sentMs = new Float64Array(slots);
    this.recorded = new Int32Array(slots);
    this.sawMessage = new Uint8Array(slots);
    for (let old = 0; old < ids.length; old++) {
      if (ids[old] === 0) continue;
      const slot = this.slotOf(ids[old]!);
      this.ids[slot] = ids[old]!;
      this.sentMs[slot] = sentMs[old]!;
      this.recorded[slot] = recorded[old]!;
      this.sawMessage[slot] = sawMessage[old]!;
    }
  }
}

/** The size of the buffer requests are written from (grown for a larger flush). */
const OUT_BUFFER_BYTES = 64 * 1024;

/** How much one read from the socket may bring; answers are parsed in place. */
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * One connection: sends the pre-encoded request on fresh stream ids and reports each answer's end.
 * Requests after the first are copies of one template (HEADERS, DATA) with the stream id written in;
 * answers are read into one reused buffer (net's `onread`) and parsed where they lie.
 */
class Connection {
  private nextStreamId = 1;
  private readonly calls = new CallsInFlight();
  private readonly template: Buffer;
  /** Offsets of the two stream ids in the template. */
  private readonly dataHeaderAt: number;
  /** Stream ids of the requests queued since the last flush (from the template). */
  private readonly queued: number[] = [];
  /** Frames queued since the last flush that are not from the template (the first request, acks). */
  private control: Buffer[] = [];
  private sendWindow = DEFAULT_WINDOW_BYTES;
  /** Calls waiting for the server's connection window: send times and recorded places, in order. */
  private readonly waitingSentMs: number[] = [];
  private readonly waitingRecorded: number[] = [];
  /** The unparsed end of the last read (a frame cut in two), kept until the rest arrives. */
  private carry = Buffer.alloc(0);
  private carried = 0;
  private failure: Error | null = null;
  private socket!: Socket;
  private writer!: SocketWriter;
  /**
   * What flush() fills and writes, reused while the kernel takes each write whole (SocketWriter), and
   * views of it holding 1, 2, … copies of the template. A buffer and a Writable stream's write per flush
   * made the generator's garbage: 570 bytes per call, a 0.2–0.4 ms scavenge twenty times a second at
   * 60,000 calls/s, each one holding answers unread (docs/performance.md, change 52).
   */
  private out = Buffer.allocUnsafe(OUT_BUFFER_BYTES);
  private views: Buffer[] = [];

  constructor(
    private readonly headerBlocks: { first: Buffer; next: Buffer },
    private readonly body: Buffer,
    private readonly onEnd: OnEnd,
  ) {
    const next = headerBlocks.next;
    this.template = Buffer.concat([frameHeader(next.length, FrameType.Headers, Flag.EndHeaders, 0), next, frameHeader(body.length, FrameType.Data, Flag.EndStream, 0), body]);
    this.dataHeaderAt = FRAME_HEADER_BYTES + next.length;
  }

  /** Connects to `address`; resolves once connected. */
  open(address: string): Promise<void> {
    const url = new URL(address);
    return new Promise((resolve, reject) => {
      const socket = connect({
        port: Number(url.port),
        host: url.hostname,
        onread: { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: (bytes: number, buffer: Uint8Array) => {
            this.read(buffer as Buffer, bytes);
            return true;
          } },
      });
      this.socket = socket;
      this.writer = new SocketWriter(socket);
      socket.once("connect", () => {
        socket.off("error", reject);
        this.start();
        resolve();
      });
      socket.once("error", reject);
    });
  }

  private start(): void {
    const socket = this.socket;
    socket.setNoDelay(true);
    // Our receive windows as large as HTTP/2 allows, so the server never waits for a WINDOW_UPDATE.
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(MAX_WINDOW_BYTES, 8);
    const increment = Buffer.alloc(4);
    increment.writeUInt32BE(MAX_WINDOW_BYTES - DEFAULT_WINDOW_BYTES);
    socket.write(Buffer.concat([CLIENT_PREFACE, frameHeader(12, FrameType.Settings, 0, 0), settings, frameHeader(4, FrameType.WindowUpdate, 0, 0), increment]));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("the server closed the connection")));
  }

  get outstanding(): number {
    return this.calls.size + this.waitingSentMs.length;
  }

  /** Queues one call (written by flush()). */
  send(sentMs: number, recorded: number): void {
    if (this.failure) return this.onEnd(sentMs, recorded, false);
    // The server's connection window limits request bodies; it grows back as the server reads them.
    if (this.sendWindow < this.body.length || this.waitingSentMs.length > 0) {
      this.waitingSentMs.push(sentMs);
      this.waitingRecorded.push(recorded);
      return;
    }
    this.write(sentMs, recorded);
  }

  flush(): void {
    const calls = this.queued.length;
    if (calls === 0 && this.control.length === 0) return;
    let bytes = calls * this.template.length;
    for (const frame of this.control) bytes += frame.length;
    if (this.out.length < bytes) this.replaceOut(bytes);
    const out = this.out;
    const templatesOnly = this.control.length === 0;
    let at = 0;
    for (const frame of this.control) at += frame.copy(out, at);
    for (let i = 0; i < calls; i++) {
      this.template.copy(out, at);
      const id = this.queued[i]!;
      out.writeUInt32BE(id, at + 5);
      out.writeUInt32BE(id, at + this.dataHeaderAt + 5);
      at += this.template.length;
    }
    this.queued.length = 0;
    if (!templatesOnly) this.control = [];
    const view = templatesOnly ? (this.views[calls] ??= out.subarray(0, bytes)) : out.subarray(0, bytes);
    // Not taken whole: libuv (or the stream) still holds the buffer, so the next flush needs another.
    if (!this.writer.write(view)) this.replaceOut(this.out.length);
  }

  private replaceOut(bytes: number): void {
    this.out = Buffer.allocUnsafe(Math.max(bytes, OUT_BUFFER_BYTES));
    this.views = [];
  }

  close(): void {
    this.socket.destroy();
  }

  private write(sentMs: number, recorded: number): void {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.calls.add(id, sentMs, recorded);
    this.sendWindow -= this.body.length;
    if (id === 1) {
      // The first request fills the server's HPACK table (requestHeaderBlocks); later ones use the template.
      const first = this.headerBlocks.first;
      this.control.push(frameHeader(first.length, FrameType.Headers, Flag.EndHeaders, id), first, frameHeader(this.body.length, FrameType.Data, Flag.EndStream, id), this.body);
    } else {
      this.queued.push(id);
    }
  }

  private read(buffer: Buffer, bytes: number): void {
    let source = buffer;
    let end = bytes;
    if (this.carried > 0) {
      // The rest of a cut frame: join it to what was kept.
      if (this.carry.length < this.carried + bytes) {
        const bigger = Buffer.allocUnsafe(Math.max(this.carry.length * 2, this.carried + bytes));
        this.carry.copy(bigger, 0, 0, this.carried);
        this.carry = bigger;
      }
      buffer.copy(this.carry, this.carried, 0, bytes);
      source = this.carry;
      end = this.carried + bytes;
    }
    let at = 0;
    while (end - at >= FRAME_HEADER_BYTES) {
      const length = source.readUIntBE(at, 3);
      if (end - at < FRAME_HEADER_BYTES + length) break;
      this.frame(source[at + 3]!, source[at + 4]!, source.readUInt32BE(at + 5) & 0x7fffffff, source, at + FRAME_HEADER_BYTES, length);
      at += FRAME_HEADER_BYTES + length;
    }
    const left = end - at;
    if (left > 0) {
      if (this.carry.length < left) this.carry = Buffer.allocUnsafe(Math.max(left, 16 * 1024));
      source.copy(this.carry, 0, at, end);
    }
    this.carried = left;
    this.flush();
  }

  /** One frame whose payload is `source[at, at + length)`. */
  private frame(type: number, flags: number, streamId: number, source: Buffer, at: number, length: number): void {
    switch (type) {
      case FrameType.Settings:
        if ((flags & Flag.Ack) === 0) this.control.push(frameHeader(0, FrameType.Settings, Flag.Ack, 0));
        return;
      case FrameType.Ping:
        if ((flags & Flag.Ack) === 0) this.control.push(frameHeader(8, FrameType.Ping, Flag.Ack, 0), Buffer.from(source.subarray(at, at + length)));
        return;
      case FrameType.WindowUpdate:
        if (streamId === 0) {
          this.sendWindow += source.readUInt32BE(at) & 0x7fffffff;
          while (this.waitingSentMs.length > 0 && this.sendWindow >= this.body.length) {
            this.write(this.waitingSentMs.shift()!, this.waitingRecorded.shift()!);
          }
        }
        return;
      case FrameType.GoAway:
        this.fail(new Error(`the server sent GOAWAY (error code ${source.readUInt32BE(at + 4)})`));
        return;
      case FrameType.RstStream:
        this.end(streamId, false);
        return;
      case FrameType.Data: {
        const slot = this.calls.find(streamId);
        const padding = flags & Flag.Padded ? source[at]! + 1 : 0;
        if (slot >= 0 && length - padding >= 5) this.calls.markMessage(slot);
        if (flags & Flag.EndStream) this.end(streamId, false);
        return;
      }
      case FrameType.Headers:
        // The answer's headers, or (with END_STREAM) its trailers. A header block split into
        // CONTINUATION frames would carry END_STREAM here too, so the end is still seen.
        if (flags & Flag.EndStream) this.end(streamId, true);
        return;
      default:
        return;
    }
  }

  /** The call on `streamId` ended; it succeeded if `trailers` ended it after a message. */
  private end(streamId: number, trailers: boolean): void {
    const slot = this.calls.find(streamId);
    if (slot >= 0) this.calls.end(slot, trailers, this.onEnd);
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.calls.failAll(this.onEnd);
    const sent = this.waitingSentMs.splice(0);
    const recorded = this.waitingRecorded.splice(0);
    for (let i = 0; i < sent.length; i++) this.onEnd(sent[i]!, recorded[i]!, false);
  }
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
  const onEnd: OnEnd = (sentMs, recorded, ok) => {
    if (recorded < 0) return;
    answered++;
    latencies[recorded] = performance.now() - sentMs;
    if (ok) succeeded++;
    else failed++;
  };
  const connections = Array.from({ length: options.connections }, () => new Connection(headerBlocks, body, onEnd));
  await Promise.all(connections.map((connection) => connection.open(options.address)));
  // Let the SETTINGS exchange finish before the clock starts.
  await new Promise((resolve) => setTimeout(resolve, 50));

  const intervalMs = 1000 / options.rate;
  await new Promise<void>((resolve) => {
    let next = 0;
    const began = performance.now();
    const poll = (): void => {
      const now = performance.now();
      while (next < total && began + next * intervalMs <= now) {
        const k = next++;
        const recorded = k >= firstRecorded ? k - firstRecorded : -1;
        if (recorded >= 0) lags[recorded] = now - (began + k * intervalMs);
        connections[k % connections.length]!.send(now, recorded);
      }
      for (const connection of connections) connection.flush();
      if (next >= total) return resolve();
      // Sleep until the next call is due (at most MAX_SLEEP_MS, so that answers are not read late by
      // much), then let the event loop read what arrived before sending again.
      const untilDueMs = began + next * intervalMs - performance.now();
      if (untilDueMs > 0) sleepMs(Math.min(untilDueMs, MAX_SLEEP_MS));
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
export function runOpenLoopProcess(options: OpenLoopOptions, cpus?: readonly number[]): Promise<OpenLoopResult> {
  const node = [process.execPath, fileURLToPath(import.meta.url), JSON.stringify(options)];
  // On `cpus` when given (cpu-affinity.ts): taskset starts the generator there, threads and all.
  const [command, ...args] = cpus ? ["taskset", "-c", formatCpuList(cpus), ...node] : node;
  return new Promise((resolve, reject) => {
    execFile(command!, args, { timeout: (options.durationS + 30) * 1000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
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
