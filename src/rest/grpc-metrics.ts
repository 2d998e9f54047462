/**
 * gRPC server metrics under the standard names of go-grpc-prometheus (spec §13.4), so existing dashboards
 * work unchanged: started, handled by code, messages received and sent, and a handling-time histogram.
 * Every registered method is pre-initialised with zero values; `grpc_service` is the name the client used.
 */
import type { Registry } from "prom-client";
import { status as Code } from "@grpc/grpc-js";
import type { CallObserver, MethodObserver } from "../api/bind.js";
import type { MethodKind } from "../proto/services.js";
import { PlainCounter, PlainHistogram, type CounterSeries } from "./plain-metrics.js";

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

/** The gRPC server metric families of one registry, and the observer bind.ts records calls through. */
export class GrpcServerMetrics implements CallObserver {
  private readonly startedTotal: PlainCounter;
  private readonly handledTotal: PlainCounter;
  private readonly receivedTotal: PlainCounter;
  private readonly sentTotal: PlainCounter;
  private readonly handlingSeconds: PlainHistogram;

  constructor(registry: Registry) {
    this.startedTotal = new PlainCounter("grpc_server_started_total", "Total number of RPCs started on the server.", registry);
    this.handledTotal = new PlainCounter("grpc_server_handled_total", "Total number of RPCs completed on the server, regardless of success or failure.", registry);
    this.receivedTotal = new PlainCounter("grpc_server_msg_received_total", "Total number of RPC stream messages received on the server.", registry);
    this.sentTotal = new PlainCounter("grpc_server_msg_sent_total", "Total number of gRPC stream messages sent by the server.", registry);
    this.handlingSeconds = new PlainHistogram(
      "grpc_server_handling_seconds",
      "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
      registry,
      HANDLING_SECONDS_BUCKETS,
    );
  }

  /** Creates the method's series (at zero) and returns its observer, which adds to them. */
  method(service: string, method: string, kind: MethodKind): MethodObserver {
    const labels = { grpc_type: GRPC_TYPES[kind], grpc_service: service, grpc_method: method };
    const started = this.startedTotal.series(labels);
    const received = this.receivedTotal.series(labels);
    const sent = this.sentTotal.series(labels);
    const seconds = this.handlingSeconds.series(labels);
    // Indexed by code (0–16): an array lookup per call rather than a hash lookup.
    const handledByCode: CounterSeries[] = [];
    for (const [code, name] of Object.entries(CODE_NAMES)) handledByCode[Number(code)] = this.handledTotal.series({ ...labels, grpc_code: name });
    const unknown = handledByCode[Code.UNKNOWN]!;
    return {
      started: () => { started.value++; },
      messageReceived: () => { received.value++; },
      messageSent: () => { sent.value++; },
      handled: (code, startedAtMs) => {
        (handledByCode[code] ?? unknown).value++;
        seconds.observe((performance.now() - startedAtMs) / 1000);
      },
    };
  }
}
