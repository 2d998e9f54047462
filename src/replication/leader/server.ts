/**
 * The replication listener of a leader (spec §2.3, default :8444): Metadata, Log and Snapshot for follower
 * clusters, and KV for the writes followers forward; each under its Armada and its reference name. There
 * is no token on this listener: it is protected by TLS and client certificates (spec §12).
 */
import * as grpc from "@grpc/grpc-js";
import { bindService, type CallObserver } from "../../api/bind.js";
import { kvHandlers } from "../../api/kv.js";
import type { Engine } from "../../engine/engine.js";
import { KV_SERVICE, LOG_SERVICE, METADATA_SERVICE, SNAPSHOT_SERVICE } from "../../proto/services.js";
import { addReflection, ListenerHealth } from "../../server/introspection.js";
import { serverOptions } from "../../server/listen.js";
import { logHandlers, type LogServiceOptions } from "./log-service.js";
import { metadataHandlers } from "./metadata-service.js";
import { SNAPSHOT_STREAM_DEADLINE_MS, snapshotHandlers } from "./snapshot-service.js";

/** Deadline of Metadata and forwarded KV calls whose client set none. */
const UNARY_DEADLINE_MS = 5000;
/** Deadline of a Replicate call whose client set none (followers always set one). */
const REPLICATE_DEADLINE_MS = 60_000;

export interface ReplicationServerOptions extends LogServiceOptions {
  readonly onUnexpectedError: (method: string, error: unknown) => void;
  readonly observer?: CallObserver;
  readonly spoolDir?: string;
}

export interface ReplicationServer {
  readonly server: grpc.Server;
  readonly health: ListenerHealth;
}

export function createReplicationServer(engine: Engine, options: ReplicationServerOptions): ReplicationServer {
  const server = new grpc.Server(serverOptions());
  const { onUnexpectedError, observer } = options;
  const unary = () => UNARY_DEADLINE_MS;
  bindService(server, METADATA_SERVICE, metadataHandlers(engine), { defaultDeadlineMs: unary, onUnexpectedError, observer });
  bindService(server, LOG_SERVICE, logHandlers(engine, options), { defaultDeadlineMs: () => REPLICATE_DEADLINE_MS, onUnexpectedError, observer });
  bindService(server, SNAPSHOT_SERVICE, snapshotHandlers(engine, options.spoolDir !== undefined ? { spoolDir: options.spoolDir } : {}), {
    defaultDeadlineMs: () => SNAPSHOT_STREAM_DEADLINE_MS,
    onUnexpectedError,
    observer,
  });
  bindService(server, KV_SERVICE, kvHandlers(engine), {
    defaultDeadlineMs: (method) => (method === "IterateRange" ? undefined : UNARY_DEADLINE_MS),
    onUnexpectedError,
    observer,
  });
  const serviceNames = [METADATA_SERVICE, LOG_SERVICE, SNAPSHOT_SERVICE, KV_SERVICE].flatMap((spec) => [spec.armadaName, spec.referenceName]);
  addReflection(server, serviceNames);
  return { server, health: new ListenerHealth(server, serviceNames) };
}
