/**
 * A minimal gRPC client over node:http2 for the benchmark's own calls (verification, loading data,
 * streaming reads): sends pre-encoded bodies, reads every response message and the grpc-status of
 * the trailers. The same code talks to Armada, etcd and the no-op server.
 */
import http2 from "node:http2";
import { grpcFrame } from "./wire.js";

/** What a call answered. */
export interface RawResult {
  /** grpc-status (0 = OK); -1 when the response carried none. */
  readonly status: number;
  readonly message: string;
  /** Number of response messages and their total bytes (without the 5-byte prefixes). */
  readonly messages: number;
  readonly bytes: number;
}

const CLIENT_WINDOW_BYTES = 16 * 1024 * 1024;

export class RawGrpcClient {
  private session: http2.ClientHttp2Session | null = null;

  constructor(readonly address: string) {}

  private connect(): http2.ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed) {
      // Large flow-control windows, as gRPC clients with BDP probing reach on loopback: streaming reads
      // are then bound by the servers, not by window updates.
      const session = http2.connect(this.address, { settings: { initialWindowSize: CLIENT_WINDOW_BYTES } });
      session.once("connect", () => session.setLocalWindowSize(CLIENT_WINDOW_BYTES));
      this.session = session;
      this.session.on("error", () => { this.session = null; });
    }
    return this.session;
  }

  /**
   * One call with `body` (protobuf, unprefixed). `onMessage` receives each response message (it may
   * keep it); with `keep: false` nothing is kept and only counts are returned.
   */
  call(path: string, body: Uint8Array, options: { timeoutMs?: number; onMessage?: (message: Buffer) => void } = {}): Promise<RawResult> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.connect().request({
          ":method": "POST",
          ":path": path,
          "content-type": "application/grpc",
          te: "trailers",
          "grpc-timeout": `${timeoutMs}m`,
        });
      } catch (error) {
        reject(error as Error);
        return;
      }
      let status = -1;
      let message = "";
      const readStatus = (headers: http2.IncomingHttpHeaders) => {
        if (headers["grpc-status"] !== undefined) status = Number(headers["grpc-status"]);
        if (headers["grpc-message"] !== undefined) message = decodeURIComponent(String(headers["grpc-message"]));
      };
      stream.on("response", readStatus);
      stream.on("trailers", readStatus);
      // Chunks of a message not yet complete; joined once the whole message is there (large messages
      // arrive in many chunks, and joining on every chunk would copy them quadratically).
      let chunks: Buffer[] = [];
      let buffered = 0;
      let needed = 5;
      let messages = 0;
      let bytes = 0;
      stream.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        buffered += chunk.length;
        while (buffered >= needed) {
          let pending = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
          const length = pending.readUInt32BE(1);
          if (pending.length < 5 + length) {
            chunks = [pending];
            needed = 5 + length;
            break;
          }
          messages += 1;
          bytes += length;
          options.onMessage?.(pending.subarray(5, 5 + length));
          pending = pending.subarray(5 + length);
          chunks = pending.length > 0 ? [pending] : [];
          buffered = pending.length;
          needed = 5;
        }
      });
      const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), timeoutMs + 1000);
      stream.on("close", () => {
        clearTimeout(timer);
        resolve({ status, message, messages, bytes });
      });
      stream.on("error", () => { /* reported through close with status -1 */ });
      stream.end(grpcFrame(body));
    });
  }

  /** Like call(), but throws unless grpc-status is 0. */
  async ok(path: string, body: Uint8Array, options: { timeoutMs?: number; onMessage?: (message: Buffer) => void } = {}): Promise<RawResult> {
    const result = await this.call(path, body, options);
    if (result.status !== 0) throw new Error(`${this.address}${path}: grpc-status ${result.status} ${result.message}`);
    return result;
  }

  close(): void {
    this.session?.close();
    this.session = null;
  }
}

/** Calls `path` with an empty-key Range-like body until it answers grpc-status 0 (or another non-transport status). */
export async function pollUntilServing(address: string, path: string, label: string, timeoutMs: number, body: Uint8Array = Uint8Array.of(0x0a, 0x01, 0x61)): Promise<void> {
  const client = new RawGrpcClient(address);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const result = await client.call(path, body, { timeoutMs: 1000 }).catch(() => null);
      if (result && result.status === 0) return;
      if (Date.now() > deadline) throw new Error(`${label} at ${address} did not serve ${path} within ${timeoutMs} ms (last: ${result ? `${result.status} ${result.message}` : "no answer"})`);
      client.close();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    client.close();
  }
}
