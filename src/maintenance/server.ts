/**
 * The maintenance listener of a leader (spec §2.3, §11.1): Maintenance (Backup, Restore; Reset refused)
 * guarded by `--maintenance.token`, and Cluster (open) so the backup tool can list tables on the same
 * connection. Both services under their Armada and their reference names.
 */
import * as grpc from "@grpc/grpc-js";
import { bindService, type CallContext, type CallObserver, type Handler } from "../api/bind.js";
import { checkBearerToken } from "../api/auth.js";
import { clusterHandlers, type NodeIdentity } from "../api/cluster.js";
import { Code, StatusError } from "../api/status.js";
import type { Engine } from "../engine/engine.js";
import { CLUSTER_SERVICE, MAINTENANCE_SERVICE } from "../proto/services.js";
import { addReflection, ListenerHealth } from "../server/introspection.js";
import { serverOptions } from "../server/listen.js";
import { BACKUP_DEADLINE_MS, backupHandler } from "./backup.js";
import { RESTORE_DEADLINE_MS, restoreBatchThresholdBytes, restoreHandler } from "./restore.js";

/** Deadline of Cluster and Reset calls whose client set none (spec §4.1, Appendix C). */
const UNARY_DEADLINE_MS = 5000;

export interface MaintenanceServerOptions {
  /** `--maintenance.token`; empty disables the check. */
  readonly token: string;
  /** `--raft.max-in-mem-log-size`: restore batches are flushed at half of it (3 MiB when 0). */
  readonly maxInMemoryLogBytes: number;
  readonly onUnexpectedError: (method: string, error: unknown) => void;
  /** Where Restore spools its input; the OS temporary directory by default. */
  readonly spoolDir?: string;
  readonly observer?: CallObserver;
  /** Maintenance handlers replacing the leader's (a follower serves Reset only, spec §11.1). */
  readonly handlers?: Record<string, Handler>;
}

export interface MaintenanceServer {
  readonly server: grpc.Server;
  readonly health: ListenerHealth;
}

/** The Maintenance handlers of a leader cluster. */
export function leaderMaintenanceHandlers(engine: Engine, options: Pick<MaintenanceServerOptions, "maxInMemoryLogBytes" | "spoolDir">): Record<string, Handler> {
  return {
    Backup: backupHandler(engine),
    Restore: restoreHandler(engine, {
      batchThresholdBytes: restoreBatchThresholdBytes(options.maxInMemoryLogBytes),
      ...(options.spoolDir !== undefined ? { spoolDir: options.spoolDir } : {}),
    }),
    Reset: async () => {
      throw new StatusError(Code.UNIMPLEMENTED, "method Reset not implemented");
    },
  };
}

/** Builds the maintenance server of a leader; the caller binds it with listen() and drives `health`. */
export function createMaintenanceServer(engine: Engine, identity: NodeIdentity, options: MaintenanceServerOptions): MaintenanceServer {
  const server = new grpc.Server(serverOptions());
  const { onUnexpectedError, observer } = options;
  const maintenanceDeadlineMs = (method: string) =>
    method === "Backup" ? BACKUP_DEADLINE_MS : method === "Restore" ? RESTORE_DEADLINE_MS : UNARY_DEADLINE_MS;
  const intercept = (context: CallContext) => checkBearerToken(context.metadata, options.token);
  bindService(server, MAINTENANCE_SERVICE, options.handlers ?? leaderMaintenanceHandlers(engine, options), {
    intercept,
    defaultDeadlineMs: maintenanceDeadlineMs,
    onUnexpectedError,
    observer,
  });
  bindService(server, CLUSTER_SERVICE, clusterHandlers(engine, identity), { defaultDeadlineMs: () => UNARY_DEADLINE_MS, onUnexpectedError, observer });
  const serviceNames = [MAINTENANCE_SERVICE, CLUSTER_SERVICE].flatMap((spec) => [spec.armadaName, spec.referenceName]);
  addReflection(server, serviceNames);
  return { server, health: new ListenerHealth(server, serviceNames) };
}
