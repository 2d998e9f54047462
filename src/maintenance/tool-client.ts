/**
 * The client side of the maintenance listener used by `armada backup` and `armada restore`: dialing
 * (bare `host:port` means TLS, spec §11.6), the bearer token (never over plaintext, §6.1), and calls made
 * under the armada.v1 names first, falling back to the reference names on UNIMPLEMENTED (§2.2).
 */
import * as grpc from "@grpc/grpc-js";
import { dial } from "../client/channel.js";
import { fromGrpcError } from "../client/errors.js";
import { pb, type armada } from "../proto/index.js";
import { CLUSTER_SERVICE, MAINTENANCE_SERVICE, type ServiceSpec } from "../proto/services.js";
import { BACKUP_INDEX_METADATA } from "./wire.js";

/** Largest `SnapshotChunk.data` the restore tool sends (spec §11.7). */
export const RESTORE_CHUNK_BYTES_MAX = 2 * 1024 * 1024;

export interface MaintenanceClientOptions {
  /** `--address`: bare host:port (TLS), or http://, https://, unix://, unixs://. */
  readonly address: string;
  /** `--ca`: PEM bundle verifying the server; system roots when empty. */
  readonly ca: string;
  /** `--token`: maintenance token; refused over plaintext. */
  readonly token: string;
  /** Absolute deadline of every call (the tool's whole-run deadline). */
  readonly deadline: Date;
}

/** Callbacks of a restore call, for the tool's log lines. */
export interface RestoreProgress {
  /** `info` was sent. */
  readonly started?: () => void;
  /** Every chunk was sent and the stream half-closed. */
  readonly streamed?: () => void;
}

const passThrough = (bytes: Buffer) => bytes;

/** A connection to one maintenance endpoint. */
export class MaintenanceClient {
  private readonly client: grpc.Client;
  private readonly metadata = new grpc.Metadata();
  /** Per service: true once the armada.v1 name was answered UNIMPLEMENTED (use the reference name). */
  private readonly useReferenceName = new Map<ServiceSpec, boolean>();

  constructor(private readonly options: MaintenanceClientOptions) {
    // A bare host:port means TLS here, as with Regatta's tools.
    const target = dial(options.address, options.ca ? { caFile: options.ca } : {}, { allowBareHostPort: true });
    if (options.token && !target.secure) throw new Error("token requires a TLS connection");
    this.client = new grpc.Client(target.target, target.credentials, target.options);
    if (options.token) this.metadata.set("authorization", `Bearer ${options.token}`);
  }

  close(): void {
    this.client.close();
  }

  /** `Cluster/Status` without config. */
  async status(): Promise<armada.v1.StatusResponse> {
    return this.withFallback(CLUSTER_SERVICE, "Status", (path) =>
      new Promise<armada.v1.StatusResponse>((resolve, reject) => {
        const request = Buffer.from(pb.StatusRequest.encode({}).finish());
        this.client.makeUnaryRequest(path, passThrough, passThrough, request, this.metadata.clone(), { deadline: this.options.deadline }, (error, bytes) =>
          error ? reject(error) : resolve(pb.StatusResponse.decode(bytes!)),
        );
      }),
    );
  }

  /** `Maintenance/Reset` (follower clusters): one table, or every table with `resetAll`. */
  async reset(request: { table?: string; resetAll?: boolean }): Promise<void> {
    await this.withFallback(MAINTENANCE_SERVICE, "Reset", (path) =>
      new Promise<void>((resolve, reject) => {
        const body = Buffer.from(pb.ResetRequest.encode({ table: Buffer.from(request.table ?? "", "utf8"), resetAll: request.resetAll === true }).finish());
        this.client.makeUnaryRequest(path, passThrough, passThrough, body, this.metadata.clone(), { deadline: this.options.deadline }, (error) =>
          error ? reject(error) : resolve(),
        );
      }),
    );
  }

  /** `Cluster/MemberList`: the cluster's name. */
  async clusterName(): Promise<string> {
    return this.withFallback(CLUSTER_SERVICE, "MemberList", (path) =>
      new Promise<string>((resolve, reject) => {
        const request = Buffer.from(pb.MemberListRequest.encode({}).finish());
        this.client.makeUnaryRequest(path, passThrough, passThrough, request, this.metadata.clone(), { deadline: this.options.deadline }, (error, bytes) =>
          error ? reject(error) : resolve(pb.MemberListResponse.decode(bytes!).cluster ?? ""),
        );
      }),
    );
  }

  /** `Maintenance/Backup`: the `data` of every chunk, in order; `onIndex` receives the view's index when the server reports it. */
  async *backup(table: string, onIndex?: (index: number) => void): AsyncGenerator<Uint8Array, void, undefined> {
    let received = false;
    const attempt = (path: string) => this.backupOnce(path, table, () => { received = true; }, onIndex);
    for (const useReference of this.namesToTry(MAINTENANCE_SERVICE)) {
      try {
        yield* attempt(pathOf(MAINTENANCE_SERVICE, "Backup", useReference));
        return;
      } catch (error) {
        if (received || useReference || !isUnimplemented(error)) throw fromGrpcError(error);
        this.useReferenceName.set(MAINTENANCE_SERVICE, true);
      }
    }
  }

  private async *backupOnce(path: string, table: string, onData: () => void, onIndex?: (index: number) => void): AsyncGenerator<Uint8Array, void, undefined> {
    const request = Buffer.from(pb.BackupRequest.encode({ table: Buffer.from(table, "utf8") }).finish());
    const call = this.client.makeServerStreamRequest(path, passThrough, passThrough, request, this.metadata.clone(), { deadline: this.options.deadline });
    // An Armada server reports the view's applied index in the trailers; a Regatta server does not.
    call.on("status", (status: grpc.StatusObject) => {
      const index = Number(status.metadata.get(BACKUP_INDEX_METADATA)[0]);
      if (Number.isSafeInteger(index) && index > 0) onIndex?.(index);
    });
    try {
      for await (const bytes of call as AsyncIterable<Buffer>) {
        onData();
        const chunk = pb.SnapshotChunk.decode(bytes);
        if (chunk.data.length > 0) yield chunk.data;
      }
    } finally {
      call.cancel();
    }
  }

  /** `Maintenance/Restore`: sends `info`, then every piece of `chunks()` as a chunk, and waits for the answer. */
  async restore(table: string, chunks: () => AsyncIterable<Uint8Array>, progress: RestoreProgress = {}): Promise<void> {
    await this.withFallback(MAINTENANCE_SERVICE, "Restore", (path) => this.restoreOnce(path, table, chunks(), progress));
  }

  private async restoreOnce(path: string, table: string, chunks: AsyncIterable<Uint8Array>, progress: RestoreProgress): Promise<void> {
    let settle: (error: grpc.ServiceError | null) => void = () => undefined;
    const answer = new Promise<void>((resolve, reject) => { settle = (error) => (error ? reject(error) : resolve()); });
    answer.catch(() => undefined);
    const call = this.client.makeClientStreamRequest(path, passThrough, passThrough, this.metadata.clone(), { deadline: this.options.deadline }, (error) =>
      settle(error),
    );
    const encode = (message: armada.v1.IRestoreMessage) => Buffer.from(pb.RestoreMessage.encode(message).finish());
    try {
      await write(call, encode({ info: { table: Buffer.from(table, "utf8") } }), answer);
      progress.started?.();
      for await (const data of chunks) await write(call, encode({ chunk: { data, len: data.length } }), answer);
      call.end();
      progress.streamed?.();
    } catch (error) {
      call.cancel();
      await answer.catch(() => undefined);
      throw error;
    }
    await answer;
  }

  private namesToTry(spec: ServiceSpec): boolean[] {
    return this.useReferenceName.get(spec) === true ? [true] : [false, true];
  }

  private async withFallback<T>(spec: ServiceSpec, method: string, call: (path: string) => Promise<T>): Promise<T> {
    for (const useReference of this.namesToTry(spec)) {
      try {
        return await call(pathOf(spec, method, useReference));
      } catch (error) {
        if (useReference || !isUnimplemented(error)) throw fromGrpcError(error);
        this.useReferenceName.set(spec, true);
      }
    }
    throw new Error(`invariant: no service name left to call ${method}`);
  }
}

function pathOf(spec: ServiceSpec, method: string, useReference: boolean): string {
  return `/${useReference ? spec.referenceName : spec.armadaName}/${method}`;
}

function isUnimplemented(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === grpc.status.UNIMPLEMENTED;
}

/** Writes one message, waiting for the transport to drain; fails early if the call already ended. */
function write(call: grpc.ClientWritableStream<Buffer>, message: Buffer, answer: Promise<void>): Promise<void> {
  if (call.write(message)) return Promise.resolve();
  return Promise.race([new Promise<void>((resolve) => call.once("drain", () => resolve())), answer]);
}
