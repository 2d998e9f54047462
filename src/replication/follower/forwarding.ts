/**
 * The KV service of a follower node (spec §10): reads and read-only transactions are served by the local
 * replica; Put, DeleteRange and read-write Txn are forwarded unchanged to the leader cluster, and answered
 * with the leader's response once the local replica has applied that write, so the client reads its own
 * write from this node afterwards.
 */
import { status as GrpcCode } from "@grpc/grpc-js";
import type { armada } from "../../proto/index.js";
import { toNumber } from "../../proto/index.js";
import type { CallContext, Handler } from "../../api/bind.js";
import { isReadOnlyTxn } from "../../api/validate.js";
import { AbortedError } from "../../engine/errors.js";
import { Code, StatusError } from "../../api/status.js";
import { grpcCode, type ForwardedMethod, type LeaderConnection } from "./leader-connection.js";

/** The texts of gRPC codes as Go's codes.Code.String() spells them (spec §10.2 messages). */
const GO_CODE_NAMES: Readonly<Record<number, string>> = {
  [GrpcCode.OK]: "OK",
  [GrpcCode.CANCELLED]: "Canceled",
  [GrpcCode.UNKNOWN]: "Unknown",
  [GrpcCode.INVALID_ARGUMENT]: "InvalidArgument",
  [GrpcCode.DEADLINE_EXCEEDED]: "DeadlineExceeded",
  [GrpcCode.NOT_FOUND]: "NotFound",
  [GrpcCode.ALREADY_EXISTS]: "AlreadyExists",
  [GrpcCode.PERMISSION_DENIED]: "PermissionDenied",
  [GrpcCode.RESOURCE_EXHAUSTED]: "ResourceExhausted",
  [GrpcCode.FAILED_PRECONDITION]: "FailedPrecondition",
  [GrpcCode.ABORTED]: "Aborted",
  [GrpcCode.OUT_OF_RANGE]: "OutOfRange",
  [GrpcCode.UNIMPLEMENTED]: "Unimplemented",
  [GrpcCode.INTERNAL]: "Internal",
  [GrpcCode.UNAVAILABLE]: "Unavailable",
  [GrpcCode.DATA_LOSS]: "DataLoss",
  [GrpcCode.UNAUTHENTICATED]: "Unauthenticated",
};

/** What forwarding needs of the follower node. */
export interface ForwardingTarget {
  /** Resolves once the local replica of `table` applied leader index `index`. */
  waitLeaderIndex(table: string, index: number, signal: AbortSignal): Promise<void>;
  /** Tells the node pulling `table` (this one or a peer) that a client waits for it. */
  hint(table: string): void;
}

export interface ForwardingOptions {
  /** `--replication.forward-wait-timeout`: bound of the whole call when the client set no deadline. */
  readonly forwardWaitTimeoutMs: number;
}

/** The follower's KV handlers: `local` serves reads, writes go to the leader cluster. */
export function followerKvHandlers(
  local: Readonly<Record<string, Handler>>,
  leader: LeaderConnection,
  target: ForwardingTarget,
  options: ForwardingOptions,
): Record<string, Handler> {
  const forward = (method: ForwardedMethod) => async (request: { table: Uint8Array }, context: CallContext) => {
    const deadline = Date.now() + options.forwardWaitTimeoutMs;
    let response: { header?: armada.v1.IResponseHeader | null };
    try {
      response = (await leader.forward(method, request, deadline, context.signal)) as typeof response;
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      throw leaderError(error);
    }
    const revision = toNumber(response.header?.revision);
    if (revision > 0) {
      const table = Buffer.from(request.table).toString("utf8");
      target.hint(table);
      try {
        await target.waitLeaderIndex(table, revision, context.signal);
      } catch (error) {
        if (error instanceof AbortedError && error.kind === "deadline") {
          throw new StatusError(Code.DEADLINE_EXCEEDED, "write committed on leader but not yet replicated locally");
        }
        throw error;
      }
    }
    return response;
  };
  const forwardTxn = forward("Txn");
  return {
    Range: local.Range!,
    IterateRange: local.IterateRange!,
    Put: forward("Put") as Handler,
    DeleteRange: forward("DeleteRange") as Handler,
    Txn: (async (request: armada.v1.TxnRequest, context: CallContext) =>
      isReadOnlyTxn(request) ? (local.Txn as (r: armada.v1.TxnRequest, c: CallContext) => Promise<object>)(request, context) : forwardTxn(request, context)) as Handler,
  };
}

/** The follower's answer for a failed forward (spec §10.2). */
export function leaderError(error: unknown): StatusError {
  const code = grpcCode(error);
  if (code === undefined) return new StatusError(Code.FAILED_PRECONDITION, "forward error");
  const details = error && typeof error === "object" && "details" in error ? String((error as { details: unknown }).details) : "";
  return new StatusError(code, `leader error: rpc error: code = ${GO_CODE_NAMES[code] ?? "Unknown"} desc = ${details}`);
}
