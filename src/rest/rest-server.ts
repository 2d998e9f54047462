/**
 * The REST listener (spec §13, default :8080): `/metrics` in the Prometheus text format, `/healthz`
 * (liveness), `/readyz` (readiness) and, unless disabled, `/debug/*` profiling. Plain HTTP/1.1 on
 * node:http; bodies are gzip-compressed when the client accepts it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import type { Registry } from "prom-client";
import { parseListenAddress } from "../config/address.js";
import { debugRoute } from "./debug.js";

/** Bodies smaller than this go out uncompressed even when gzip is accepted: the header would cost more. */
export const GZIP_BODY_BYTES_MIN = 1024;

export interface RestServerOptions {
  /** `http://host:port`; port 0 picks a free port. */
  readonly address: string;
  /** Longest time to read a whole request (ms); 0 disables the limit. */
  readonly readTimeoutMs: number;
  readonly debugEnabled: boolean;
  readonly registry: Registry;
  /** Why the node is not ready; empty when ready. */
  readonly readinessProblems: () => string[];
}

export interface RestServer {
  /** The bound address, with the real port when 0 was configured. */
  readonly address: string;
  close(): Promise<void>;
}

/** Starts the REST listener; resolves once it is bound. */
export async function startRestServer(options: RestServerOptions): Promise<RestServer> {
  const parsed = parseListenAddress(options.address);
  if (!("port" in parsed) || parsed.scheme !== "http") throw new Error(`invalid REST address '${options.address}': only http://host:port is supported`);
  const server = createServer(
    { requestTimeout: options.readTimeoutMs, ...(options.readTimeoutMs > 0 ? { headersTimeout: options.readTimeoutMs } : {}) },
    (request, response) => {
      route(request, response, options).catch((error: unknown) => {
        if (!response.headersSent) send(request, response, 500, `${error instanceof Error ? error.message : String(error)}\n`);
        else response.destroy();
      });
    },
  );
  const host = parsed.host === "" ? "0.0.0.0" : parsed.host;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(parsed.port, host, () => { server.off("error", reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  return { address: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, close: () => closeServer(server) };
}

async function route(request: IncomingMessage, response: ServerResponse, options: RestServerOptions): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  switch (url.pathname) {
    case "/healthz":
      return send(request, response, 200, "");
    case "/readyz": {
      const problems = options.readinessProblems();
      return problems.length === 0 ? send(request, response, 200, "ok\n") : send(request, response, 503, problems.map((p) => `${p}\n`).join(""));
    }
    case "/metrics": {
      const body = await options.registry.metrics();
      return send(request, response, 200, body, options.registry.contentType);
    }
  }
  if (options.debugEnabled && url.pathname.startsWith("/debug/")) {
    const handler = debugRoute(url.pathname);
    if (handler) {
      if (request.method !== "GET") {
        response.setHeader("Allow", "GET");
        return send(request, response, 405, `method ${request.method} not allowed on ${url.pathname}; use GET\n`);
      }
      return handler(url, response);
    }
  }
  return send(request, response, 404, `no endpoint at ${url.pathname}\n`);
}

/** Answers with `body`, gzip-compressed when the client accepts gzip and the body is worth compressing. */
function send(request: IncomingMessage, response: ServerResponse, status: number, body: string, contentType = "text/plain; charset=utf-8"): void {
  let bytes = Buffer.from(body);
  response.statusCode = status;
  response.setHeader("Content-Type", contentType);
  response.setHeader("Vary", "Accept-Encoding");
  if (bytes.length >= GZIP_BODY_BYTES_MIN && acceptsGzip(request.headers["accept-encoding"])) {
    bytes = gzipSync(bytes);
    response.setHeader("Content-Encoding", "gzip");
  }
  response.setHeader("Content-Length", bytes.length);
  response.end(request.method === "HEAD" ? undefined : bytes);
}

/** True when `Accept-Encoding` lists gzip (or `*`) without `q=0`. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (coding !== "gzip" && coding !== "*") return false;
    return !params.some((param) => /^\s*q=0(\.0*)?\s*$/.test(param));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections of scrapers would otherwise hold the close open.
    server.closeAllConnections();
  });
}
