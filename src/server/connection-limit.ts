/**
 * `--api.max-concurrent-connections` (spec §14.4, §15): the API listener serves at most N client
 * connections at once. grpc-js has no such option, so the listener owns its net.Server and hands each
 * accepted socket to grpc-js through the public connection injector (`Server.createConnectionInjector`).
 *
 * Past the limit a connection waits to be served, as the spec asks, for up to `waitMs`: it is accepted by
 * the kernel but not read, so its HTTP/2 handshake waits. If no slot frees in time it is refused with a
 * clear answer instead of a hang: it is handed to grpc-js after all, but every call on it is answered
 * RESOURCE_EXHAUSTED by the interceptor below, and the connection is closed after `lingerMs`. The waiting
 * and refused connections are themselves bounded; beyond that they are closed at once, so a flood costs
 * the node file descriptors for a moment and nothing more.
 */
import { createServer, type Server as NetServer, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { ListenAddress } from "../config/address.js";
import { listenOn } from "./net-listen.js";

/** How long a connection past the limit waits for a slot before it is refused. */
export const CONNECTION_WAIT_MS = 2000;
/** How long a refused connection stays open so that its calls receive their RESOURCE_EXHAUSTED. */
export const REFUSED_LINGER_MS = 1000;
/** Waiting plus refused connections kept open at most, on top of the served ones. */
export const PENDING_CONNECTIONS_MIN = 64;

export interface ConnectionLimitOptions {
  /** Connections served at once (at least 1). */
  readonly maxConnections: number;
  readonly waitMs?: number;
  readonly lingerMs?: number;
}

/** Counts served connections, queues and refuses the rest; see the module comment. */
export class ConnectionLimiter {
  private active = 0;
  /** Connections waiting for a slot, oldest first, with their wait timers. */
  private readonly waiting = new Map<Socket, NodeJS.Timeout>();
  /** `address|port` of refused connections; the interceptor answers their calls. */
  private readonly refused = new Set<string>();
  private readonly pendingMax: number;
  private readonly waitMs: number;
  private readonly lingerMs: number;
  private closed = false;
  /** Connections refused since start (for metrics). */
  private refusedTotal = 0;
  /** Hands a socket to grpc-js; set when the listener is bound (the interceptor is needed before). */
  private inject: (socket: Socket) => void = (socket) => socket.destroy();

  constructor(readonly options: ConnectionLimitOptions) {
    if (!Number.isInteger(options.maxConnections) || options.maxConnections < 1) throw new Error(`invalid connection limit ${options.maxConnections}`);
    this.pendingMax = Math.max(PENDING_CONNECTIONS_MIN, options.maxConnections);
    this.waitMs = options.waitMs ?? CONNECTION_WAIT_MS;
    this.lingerMs = options.lingerMs ?? REFUSED_LINGER_MS;
  }

  /** Connections being served, waiting for a slot, and refused but not yet closed. */
  counts(): { active: number; waiting: number; refused: number } {
    return { active: this.active, waiting: this.waiting.size, refused: this.refused.size };
  }

  /** Connections refused (answered RESOURCE_EXHAUSTED or closed) since the listener started. */
  get refusals(): number {
    return this.refusedTotal;
  }

  /** Where served (and refused) sockets go: the gRPC server's connection injector. */
  connect(inject: (socket: Socket) => void): void {
    this.inject = inject;
  }

  /** Takes a socket the listener accepted (paused, so nothing is read from it while it waits). */
  accept(socket: Socket): void {
    // A reset of a socket that waits (nobody else listens on it yet) must not become an uncaught error;
    // once handed over, grpc-js and node:http2 handle the socket's errors themselves.
    socket.on("error", () => undefined);
    if (this.closed) {
      socket.destroy();
    } else if (this.active < this.options.maxConnections) {
      this.admit(socket);
    } else if (this.waiting.size < this.pendingMax) {
      const timer = setTimeout(() => {
        this.waiting.delete(socket);
        this.refuse(socket);
      }, this.waitMs);
      this.waiting.set(socket, timer);
      // A client that gives up while waiting frees its place once its socket reports the close (a paused
      // socket may only notice when it is handed over).
      socket.once("close", () => {
        clearTimeout(timer);
        this.waiting.delete(socket);
      });
    } else {
      this.refuse(socket);
    }
  }

  /** Whether a call arrived on a refused connection (grpc-js's view of the connection). */
  isRefused(connection: ReturnType<grpc.ServerInterceptingCallInterface["getConnectionInfo"]>): boolean {
    return this.refused.size > 0 && this.refused.has(peerKey(connection.remoteAddress, connection.remotePort) ?? "");
  }

  /**
   * A grpc-js server interceptor answering every call of a refused connection with RESOURCE_EXHAUSTED
   * before any handler runs (health and reflection included).
   */
  interceptor(): grpc.ServerInterceptor {
    const details = `too many connections: this node serves at most ${this.options.maxConnections} at once (--api.max-concurrent-connections); retry later or on another node`;
    return (_method, call) => {
      if (!this.isRefused(call.getConnectionInfo())) return new grpc.ServerInterceptingCall(call);
      const listener = new grpc.ServerListenerBuilder()
        .withOnReceiveMetadata(() => call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details }))
        .build();
      return new grpc.ServerInterceptingCall(call, new grpc.ResponderBuilder().withStart((next) => next(listener)).build());
    };
  }

  /** Closes the connections still waiting (served ones are closed by the gRPC server's shutdown). */
  close(): void {
    this.closed = true;
    for (const [socket, timer] of this.waiting) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.waiting.clear();
  }

  private admit(socket: Socket): void {
    this.active++;
    socket.once("close", () => {
      this.active--;
      this.admitWaiting();
    });
    this.inject(socket);
  }

  private admitWaiting(): void {
    for (const [socket, timer] of this.waiting) {
      if (this.active >= this.options.maxConnections) return;
      clearTimeout(timer);
      this.waiting.delete(socket);
      if (!socket.destroyed) this.admit(socket);
    }
  }

  private refuse(socket: Socket): void {
    this.refusedTotal++;
    const key = peerKey(socket.remoteAddress, socket.remotePort);
    // Without an address and port (Unix sockets) a call cannot be matched to its connection: close it.
    if (this.closed || key === undefined || this.refused.size >= this.pendingMax) {
      socket.destroy();
      return;
    }
    this.refused.add(key);
    const linger = setTimeout(() => socket.destroy(), this.lingerMs);
    socket.once("close", () => {
      clearTimeout(linger);
      this.refused.delete(key);
    });
    this.inject(socket);
  }
}

function peerKey(address: string | undefined, port: number | undefined): string | undefined {
  return address && port ? `${address}|${port}` : undefined;
}

/** The net.Server and limiter of each gRPC server bound with a connection limit, for shutdown. */
const limitedListeners = new WeakMap<grpc.Server, { listener: NetServer; limiter: ConnectionLimiter }[]>();

/**
 * Binds `server` to `address` through `limiter`, whose interceptor must be among the server's
 * interceptors. Resolves with the bound port (0 for Unix sockets).
 */
export async function bindLimited(server: grpc.Server, address: ListenAddress, credentials: grpc.ServerCredentials, limiter: ConnectionLimiter): Promise<number> {
  const injector = server.createConnectionInjector(credentials);
  limiter.connect((socket) => {
    socket.resume();
    injector.injectConnection(socket);
  });
  // Paused on accept: a waiting connection's bytes stay in the kernel until it is served.
  const listener = createServer({ pauseOnConnect: true }, (socket) => limiter.accept(socket));
  const port = await listenOn(listener, address);
  limitedListeners.set(server, [...(limitedListeners.get(server) ?? []), { listener, limiter }]);
  return port;
}

/** Stops the limited listeners of `server` accepting; the gRPC server's own shutdown drains the rest. */
export function stopLimitedListeners(server: grpc.Server): void {
  for (const { listener, limiter } of limitedListeners.get(server) ?? []) {
    listener.close();
    limiter.close();
  }
  limitedListeners.delete(server);
}
