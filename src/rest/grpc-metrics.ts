/**
 * gRPC server metrics under the standard names of go-grpc-prometheus (spec §13.4), so existing dashboards
 * work unchanged: started, handled by code, messages received and sent, and a handling-time histogram.
 * Every registered method is pre-initialised with zero values; `grpc_service` is the name the client used.
 */
import { Counter, Histogram, type Registry } from "prom-client";
import { status as Code } from "@grpc/grpc-js";
import type { CallObserver, MethodObserver } from "../api/bind.js";
import type { MethodKind } from "../proto/services.js";

/** Buckets of `grpc_server_handling_seconds` (spec §13.4). */
export const HANDLING_SECONDS_BUCKETS = [0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30];

/** Go's names of the gRPC codes, as go-grpc-prometheus writes them in `grpc_code`. */
const CODE_NAMES: Readonly<Record<number, string>> = {
  [Code.OK]: "OK", [Code.CANCELLED]: "Canceled", [Code.UNKNOWN]: "Unknown", [Code.INVALID_ARGUMENT]: "InvalidArgument",
  [Code.DEADLINE_EXCEEDED]: "DeadlineExceeded", [Code.NOT_FOUND]: "NotFound", [Code.ALREADY_EXISTS]: "AlreadyExists",
  [Code.PERMISSION_DENIED]: "PermissionDenied", [Code.RESOURCE_EXHAUSTED]: "ResourceExhausted",
  [Code.FAILED_PRECONDITION]: "FailedPrecondition", [Code.ABORTED]: "Aborted", [Code.OUT_OF_RANGE]: "OutOfRange",
  [Code.UNIMPLEMENTED]: "Unimplemented", [Code.INTERNAL]: "Internal", [Code.UNAVAILABLE]: "Unavailable",
  [Code.DATA_LOSS]: "DataLoss", [Code.UNAUTHENTICATED]: "Unauthenticated",
};

const GRPC_TYPES: Readonly<Record<MethodKind, string>> = { unary: "unary", serverStream: "server_stream", clientStream: "client_stream" };

const METHOD_LABELS = ["grpc_type", "grpc_service", "grpc_method"] as const;

/** The gRPC server metric families of one registry, and the observer bind.ts records calls through. */
export class GrpcServerMetrics implements CallObserver {
  private readonly startedTotal: Counter<(typeof METHOD_LABELS)[number]>;
  private readonly handledTotal: Counter<(typeof METHOD_LABELS)[number] | "grpc_code">;
  private readonly receivedTotal: Counter<(typeof METHOD_LABELS)[number]>;
  private readonly sentTotal: Counter<(typeof METHOD_LABELS)[number]>;
  private readonly handlingSeconds: Histogram<(typeof METHOD_LABELS)[number]>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.startedTotal = new Counter({ name: "grpc_server_started_total", help: "Total number of RPCs started on the server.", labelNames: METHOD_LABELS, registers });
    this.handledTotal = new Counter({
      name: "grpc_server_handled_total",
      help: "Total number of RPCs completed on the server, regardless of success or failure.",
      labelNames: [...METHOD_LABELS, "grpc_code"],
      registers,
    });
    this.receivedTotal = new Counter({ name: "grpc_server_msg_received_total", help: "Total number of RPC stream messages received on the server.", labelNames: METHOD_LABELS, registers });
    this.sentTotal = new Counter({ name: "grpc_server_msg_sent_total", help: "Total number of gRPC stream messages sent by the server.", labelNames: METHOD_LABELS, registers });
    this.handlingSeconds = new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
      labelNames: METHOD_LABELS,
      buckets: HANDLING_SECONDS_BUCKETS,
      registers,
    });
  }

  /** Pre-initialises the method's series and returns its observer with the label children resolved once. */
  method(service: string, method: string, kind: MethodKind): MethodObserver {
    const labels = { grpc_type: GRPC_TYPES[kind], grpc_service: service, grpc_method: method };
    const started = this.startedTotal.labels(labels);
    const received = this.receivedTotal.labels(labels);
    const sent = this.sentTotal.labels(labels);
    const seconds = this.handlingSeconds.labels(labels);
    started.inc(0);
    received.inc(0);
    sent.inc(0);
    this.handlingSeconds.zero(labels);
    const handledByCode = new Map<number, { inc(): void }>();
    for (const [code, name] of Object.entries(CODE_NAMES)) {
      const child = this.handledTotal.labels({ ...labels, grpc_code: name });
      child.inc(0);
      handledByCode.set(Number(code), child);
    }
    const unknown = handledByCode.get(Code.UNKNOWN)!;
    return {
      started: () => started.inc(),
      messageReceived: () => received.inc(),
      messageSent: () => sent.inc(),
      handled: (code, startedAtMs) => {
        (handledByCode.get(code) ?? unknown).inc();
        seconds.observe((performance.now() - startedAtMs) / 1000);
      },
    };
  }
}
