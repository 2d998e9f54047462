/**
 * Logging of every finished call on the replication listener (spec §14.8), at a level chosen by its status:
 * the expected outcomes at debug, the ones an operator should look at at warn, faults at error. Composed
 * with the metrics observer so one hook serves both.
 */
import { status as Code } from "@grpc/grpc-js";
import type { CallObserver, MethodObserver } from "../../api/bind.js";

type Level = "debug" | "warn" | "error";

const DEBUG_CODES: ReadonlySet<number> = new Set([Code.OK, Code.NOT_FOUND, Code.CANCELLED, Code.ALREADY_EXISTS, Code.INVALID_ARGUMENT, Code.UNAUTHENTICATED]);
const WARN_CODES: ReadonlySet<number> = new Set([
  Code.DEADLINE_EXCEEDED,
  Code.PERMISSION_DENIED,
  Code.RESOURCE_EXHAUSTED,
  Code.FAILED_PRECONDITION,
  Code.ABORTED,
  Code.OUT_OF_RANGE,
  Code.UNAVAILABLE,
]);

/** The log level of a finished call with status `code`. */
export function rpcLogLevel(code: number): Level {
  if (DEBUG_CODES.has(code)) return "debug";
  if (WARN_CODES.has(code)) return "warn";
  return "error";
}

export type RpcLogger = Record<Level, (message: string, fields?: Record<string, unknown>) => void>;

/** An observer that logs each finished call and forwards every event to `inner` (metrics). */
export function loggingObserver(log: RpcLogger, inner?: CallObserver): CallObserver {
  return {
    method(service, method, kind): MethodObserver {
      const next = inner?.method(service, method, kind);
      return {
        started: () => next?.started(),
        messageReceived: () => next?.messageReceived(),
        messageSent: () => next?.messageSent(),
        handled(code, startedAtMs) {
          next?.handled(code, startedAtMs);
          log[rpcLogLevel(code)]("finished replication call", {
            "grpc.service": service,
            "grpc.method": method,
            "grpc.code": Code[code] ?? String(code),
            "grpc.time_ms": Math.round((performance.now() - startedAtMs) * 10) / 10,
          });
        },
      };
    },
  };
}
