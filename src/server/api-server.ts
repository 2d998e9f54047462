/**
 * The API listener (default :8443): KV, Cluster and, when enabled, Tables, each under its Armada and
 * its Regatta name.
 */
import * as grpc from "@grpc/grpc-js";
import type { Engine } from "../engine/engine.js";
import { bindService, type CallContext, type CallObserver, type Handler } from "../api/bind.js";
import { checkBearerToken } from "../api/auth.js";
import { kvHandlers } from "../api/kv.js";
import { tablesHandlers } from "../api/tables.js";
import { clusterHandlers, type NodeIdentity } from "../api/cluster.js";
import { CLUSTER_SERVICE, KV_SERVICE, TABLES_SERVICE } from "../proto/services.js";
import { API_CONNECTION_AGE_MAX_MS, serverOptions } from "./listen.js";
import { addReflection, ListenerHealth } from "./introspection.js";
import { ConnectionLimiter } from "./connection-limit.js";
import { enableHttp2Front } from "./http2-front.js";
import { limitStreams, StreamWorkers, streamWorkersLimit } from "./stream-workers.js";

/** Deadline applied to unary KV and Cluster calls when the client set none (spec §4.1). */
export const DEFAULT_CALL_DEADLINE_MS = 5000;
/** KV methods that write (Txn may); a follower forwards them. */
const WRITE_METHODS: ReadonlySet<string> = new Set(["Put", "DeleteRange", "Txn"]);

export interface ApiServerOptions {
  readonly tablesEnabled: boolean;
  readonly tablesToken: string;
  readonly maxConcurrentStreams: number;
  /** `--api.max-concurrent-connections`: 0 means unlimited. */
  readonly maxConcurrentConnections?: number;
  /** `--api.stream-workers`: 0 means CPUs + 1, negative means unlimited. */
  readonly streamWorkers?: number;
  readonly onUnexpectedError: (method: string, error: unknown) => void;
  /** Records gRPC server metrics. */
  readonly observer?: CallObserver;
  /** KV handlers replacing the local engine's (a follower forwards writes, spec §10). */
  readonly kv?: Record<string, Handler>;
  /** Tables handlers replacing the leader's (a follower's are read-only, spec §6.5). */
  readonly tables?: Record<string, Handler>;
  /** Default deadline of KV writes whose client set none (a follower waits longer: forward + catch-up). */
  readonly writeDeadlineMs?: number;
}

/** The API server with its health service; the caller binds the server with listen(). */
export interface ApiServer {
  readonly server: grpc.Server;
  readonly health: ListenerHealth;
  /** Pass to listen() when the listener has a connection limit. */
  readonly connectionLimiter?: ConnectionLimiter;
}

/** Builds the API server, with reflection and health for every service it serves. */
export function createApiServer(engine: Engine, identity: NodeIdentity, options: ApiServerOptions): ApiServer {
  const maxConnections = options.maxConcurrentConnections ?? 0;
  const connectionLimiter = maxConnections > 0 ? new ConnectionLimiter({ maxConnections }) : undefined;
  const server = new grpc.Server(
    serverOptions({
      "grpc.max_connection_age_ms": API_CONNECTION_AGE_MAX_MS,
      ...(options.maxConcurrentStreams > 0 ? { "grpc.max_concurrent_streams": options.maxConcurrentStreams } : {}),
      // Only a limited listener pays for the per-call check of refused connections.
      ...(connectionLimiter ? { interceptors: [connectionLimiter.interceptor()] } : {}),
    }),
  );
  // The connection limiter's interceptor identifies connections by their socket, which calls passed on by
  // the front would not carry: a limited listener stays with grpc-js's connections.
  if (!connectionLimiter) {
    enableHttp2Front(server, { maxConcurrentStreams: options.maxConcurrentStreams, maxConnectionAgeMs: API_CONNECTION_AGE_MAX_MS });
  }
  const workersLimit = streamWorkersLimit(options.streamWorkers ?? 0);
  const workers = workersLimit === undefined ? undefined : new StreamWorkers(workersLimit);
  const kvBase = options.kv ?? kvHandlers(engine);
  const kv = workers ? limitStreams(KV_SERVICE, kvBase, workers) : kvBase;
  // IterateRange is bounded by the client only: its 5 s default applies to opening the view (kv.ts).
  const writeDeadlineMs = options.writeDeadlineMs ?? DEFAULT_CALL_DEADLINE_MS;
  const defaultDeadlineMs = (method: string) =>
    method === "IterateRange" ? undefined : WRITE_METHODS.has(method) ? writeDeadlineMs : DEFAULT_CALL_DEADLINE_MS;
  const { onUnexpectedError, observer } = options;
  const served = [KV_SERVICE, CLUSTER_SERVICE];
  bindService(server, KV_SERVICE, kv, { defaultDeadlineMs, onUnexpectedError, observer });
  bindService(server, CLUSTER_SERVICE, clusterHandlers(engine, identity), { defaultDeadlineMs, onUnexpectedError, observer });
  if (options.tablesEnabled) {
    const intercept = (context: CallContext) => checkBearerToken(context.metadata, options.tablesToken);
    bindService(server, TABLES_SERVICE, options.tables ?? tablesHandlers(engine), { intercept, onUnexpectedError, observer });
    served.push(TABLES_SERVICE);
  }
  const serviceNames = served.flatMap((spec) => [spec.armadaName, spec.referenceName]);
  addReflection(server, serviceNames);
  return { server, health: new ListenerHealth(server, serviceNames), ...(connectionLimiter ? { connectionLimiter } : {}) };
}
