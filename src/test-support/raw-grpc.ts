/**
 * Test support: one gRPC call sent as raw HTTP/2 with node:http2, so that a test sees exactly what a server
 * answered (status and details wherever they came, in headers or trailers, and the body's bytes) and can
 * send what no gRPC client would.
 */
import http2 from "node:http2";

/** What a raw call got back. Two servers that answer alike give deep-equal answers. */
export interface RawGrpcAnswer {
  readonly httpStatus: number | undefined;
  readonly grpcStatus: string | undefined;
  readonly grpcMessage: string | undefined;
  /** The fields named in {@link RawGrpcOptions.fields}, from the trailers or else the headers. */
  readonly fields: Readonly<Record<string, string | undefined>>;
  /** The response body as sent: gRPC frames, prefixes included. */
  readonly body: Buffer;
}

export interface RawGrpcOptions {
  readonly headers?: http2.OutgoingHttpHeaders;
  /** Settings of the client's connection (a small window, say). */
  readonly settings?: http2.Settings;
  /** The receive window of the whole connection (HTTP/2's default, 64 KiB, otherwise). */
  readonly connectionWindow?: number;
  /** The client resets the stream after this long. */
  readonly cancelAfterMs?: number;
  /** Further response fields to report. */
  readonly fields?: readonly string[];
  /** Runs when the response headers arrive, with the stream (to pause it, say). */
  readonly onResponse?: (stream: http2.ClientHttp2Stream) => void;
}

/** POSTs `body` (already framed) to `path` on a new connection to `address`; resolves when the stream closes. */
export function rawGrpcCall(address: string, path: string, body: Buffer, options: RawGrpcOptions = {}): Promise<RawGrpcAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(address, options.settings ? { settings: options.settings } : {});
    session.on("error", reject);
    const connectionWindow = options.connectionWindow;
    if (connectionWindow !== undefined) session.once("connect", () => session.setLocalWindowSize(connectionWindow));
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...options.headers });
    let response: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (headers) => {
      response = headers;
      options.onResponse?.(stream);
    });
    stream.on("trailers", (fields) => (trailers = fields));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      session.close();
      const pick = (name: string) => (trailers[name] ?? response[name]) as string | undefined;
      const fields = Object.fromEntries((options.fields ?? []).map((name) => [name, pick(name)]));
      resolve({ httpStatus: response[":status"] as number | undefined, grpcStatus: pick("grpc-status"), grpcMessage: pick("grpc-message"), fields, body: Buffer.concat(chunks) });
    });
    stream.end(body);
    if (options.cancelAfterMs !== undefined) setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), options.cancelAfterMs);
  });
}
