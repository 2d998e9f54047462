/**
 * Standard gRPC introspection on Armada's listeners (spec §2.3, §15): server reflection (v1 and v1alpha)
 * so grpcurl works without the proto files, and grpc.health.v1.Health for grpc_health_probe and
 * Kubernetes gRPC probes. Reflection reads the descriptors from the package's `proto/` directory.
 */
import { status as grpcStatus, type ServiceDefinition } from "@grpc/grpc-js";
import type * as grpc from "@grpc/grpc-js";
import { loadSync, type PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { service as healthDescriptor } from "grpc-health-check";
import { fileURLToPath } from "node:url";

/** The `proto/` directory shipped with the package (see package.json `files`). */
export const PROTO_DIR = fileURLToPath(new URL("../../proto/", import.meta.url));

/** Every file declaring a service, under both its Armada and its Regatta name. */
const SERVICE_PROTO_FILES = [
  "armada/v1/api.proto",
  "armada/v1/replication.proto",
  "armada/v1/maintenance.proto",
  "compat/regatta.proto",
  "compat/replication.proto",
  "compat/maintenance.proto",
];

/** grpc.health.v1.Health as the grpc-health-check package describes it (the standard health.proto). */
const healthService = healthDescriptor as unknown as ServiceDefinition;

let packageDefinition: PackageDefinition | undefined;

function servicesDefinition(): PackageDefinition {
  packageDefinition ??= loadSync(SERVICE_PROTO_FILES, { includeDirs: [PROTO_DIR] });
  return packageDefinition;
}

/** Registers reflection on `server`, listing exactly `serviceNames` (the services it serves). */
export function addReflection(server: grpc.Server, serviceNames: readonly string[]): void {
  const known = new Set(Object.keys(servicesDefinition()));
  const missing = serviceNames.filter((name) => !known.has(name));
  if (missing.length > 0) throw new Error(`no descriptor for service ${missing.join(", ")} in ${PROTO_DIR}`);
  new ReflectionService(servicesDefinition(), { services: [...serviceNames] }).addToServer(server);
}

type ServingStatus = "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

/** Open Watch streams per listener; more get RESOURCE_EXHAUSTED rather than growing without bound. */
export const HEALTH_WATCHERS_MAX = 1000;

interface Watcher {
  readonly service: string;
  readonly call: grpc.ServerWritableStream<{ service: string }, { status: ServingStatus }>;
}

/**
 * The health service of one listener (grpc.health.v1.Health, Check and Watch; the descriptor is the
 * grpc-health-check package's). The overall status ("") follows readiness; each served service is SERVING
 * while the listener runs; everything turns NOT_SERVING once shutdown begins, and open Watch streams are
 * then ended so that they do not hold the graceful shutdown open until its deadline.
 */
export class ListenerHealth {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Set<Watcher>();
  private stopping = false;

  constructor(server: grpc.Server, serviceNames: readonly string[]) {
    for (const name of ["", ...serviceNames]) this.statuses.set(name, "NOT_SERVING");
    server.addService(healthService, {
      check: (call: grpc.ServerUnaryCall<{ service: string }, object>, callback: grpc.sendUnaryData<object>) => {
        const status = this.statuses.get(call.request.service);
        if (status) callback(null, { status });
        else callback({ code: grpcStatus.NOT_FOUND, details: `health status unknown for service "${call.request.service}"` });
      },
      watch: (call: Watcher["call"]) => this.watch(call),
    });
  }

  /** Marks the services SERVING and the overall status as `ready` says (no effect once stopping). */
  update(ready: boolean): void {
    if (this.stopping) return;
    for (const name of this.statuses.keys()) this.set(name, name === "" && !ready ? "NOT_SERVING" : "SERVING");
  }

  /** Shutdown has begun: NOT_SERVING everywhere, for good; Watch streams get that status and end. */
  stop(): void {
    this.stopping = true;
    for (const name of this.statuses.keys()) this.set(name, "NOT_SERVING");
    for (const watcher of this.watchers) watcher.call.end();
    this.watchers.clear();
  }

  private watch(call: Watcher["call"]): void {
    if (this.stopping || this.watchers.size >= HEALTH_WATCHERS_MAX) {
      const details = this.stopping ? "the server is shutting down" : `more than ${HEALTH_WATCHERS_MAX} health watchers`;
      call.emit("error", { code: this.stopping ? grpcStatus.UNAVAILABLE : grpcStatus.RESOURCE_EXHAUSTED, details });
      return;
    }
    const watcher: Watcher = { service: call.request.service, call };
    this.watchers.add(watcher);
    call.on("cancelled", () => this.watchers.delete(watcher));
    call.write({ status: this.statuses.get(watcher.service) ?? "SERVICE_UNKNOWN" });
  }

  /** Sets one status; Watch streams hear only changes. */
  private set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const watcher of this.watchers) if (watcher.service === service) watcher.call.write({ status });
  }
}
