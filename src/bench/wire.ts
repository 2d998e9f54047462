/**
 * Request bodies of the benchmark, encoded once: Armada's messages through the generated protobuf
 * classes, etcd's (etcdserverpb, etcd 3.4) by hand from their public field numbers, and the 5-byte gRPC
 * message prefix around both. Also the few response fields the benchmark reads back (etcd's Range
 * keys for paging, the byte count of a response).
 */
import protobuf from "protobufjs/minimal.js";
import { pb, type armada } from "../proto/index.js";

/** The gRPC length-prefixed message: flag 0 (uncompressed), 4-byte big-endian length, the message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** One unary call of a workload: the path and the protobuf body (without the gRPC prefix). */
export interface UnaryCall {
  readonly path: string;
  readonly body: Uint8Array;
}

/** The calls a workload makes against one system. */
export interface SystemRequests {
  rangeOne(key: Uint8Array, serializable: boolean): UnaryCall;
  rangePrefix(prefix: Uint8Array, limit: number): UnaryCall;
  put(key: Uint8Array, value: Uint8Array): UnaryCall;
  /** Compare-and-swap: if value(key) == expected then put(key, next). */
  cas(key: Uint8Array, expected: Uint8Array, next: Uint8Array): UnaryCall;
  /** One transaction putting every pair (loading data). */
  putMany(pairs: readonly [Uint8Array, Uint8Array][]): UnaryCall;
}

/** The smallest key greater than every key starting with `prefix` (etcd's and Regatta's prefix range_end). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Uint8Array.of(0);
}

/** Armada (served under Regatta's service name, as Regatta clients call it). */
export function armadaRequests(table: string): SystemRequests {
  const tableBytes = Buffer.from(table, "utf8");
  const path = (method: string) => `/regatta.v1.KV/${method}`;
  const putOp = (key: Uint8Array, value: Uint8Array): armada.v1.IRequestOp => ({ requestPut: { key, value } });
  return {
    rangeOne: (key, serializable) => ({ path: path("Range"), body: pb.RangeRequest.encode({ table: tableBytes, key, linearizable: !serializable }).finish() }),
    rangePrefix: (prefix, limit) => ({
      path: path("Range"),
      body: pb.RangeRequest.encode({ table: tableBytes, key: prefix, rangeEnd: prefixEnd(prefix), limit }).finish(),
    }),
    put: (key, value) => ({ path: path("Put"), body: pb.PutRequest.encode({ table: tableBytes, key, value }).finish() }),
    cas: (key, expected, next) => ({
      path: path("Txn"),
      body: pb.TxnRequest.encode({
        table: tableBytes,
        compare: [{ result: pb.Compare.CompareResult.EQUAL, target: pb.Compare.CompareTarget.VALUE, key, value: expected }],
        success: [putOp(key, next)],
      }).finish(),
    }),
    putMany: (pairs) => ({ path: path("Txn"), body: pb.TxnRequest.encode({ table: tableBytes, success: pairs.map(([k, v]) => putOp(k, v)) }).finish() }),
  };
}

// etcdserverpb field numbers (etcd 3.4 rpc.proto): public facts of etcd's API.
const ETCD = {
  range: { key: 1, rangeEnd: 2, limit: 3, serializable: 7 },
  put: { key: 1, value: 2 },
  txn: { compare: 1, success: 2, failure: 3 },
  compare: { result: 1, target: 2, key: 3, value: 7 },
  compareTargetValue: 3,
  compareEqual: 0,
  requestOp: { range: 1, put: 2 },
} as const;

type Writer = protobuf.Writer;

const bytesField = (w: Writer, field: number, value: Uint8Array) => w.uint32((field << 3) | 2).bytes(value);
const varintField = (w: Writer, field: number, value: number) => w.uint32(field << 3).uint64(value);
const messageField = (w: Writer, field: number, build: (inner: Writer) => void) => {
  w.uint32((field << 3) | 2).fork();
  build(w);
  w.ldelim();
};

function etcdPut(w: Writer, key: Uint8Array, value: Uint8Array): void {
  bytesField(w, ETCD.put.key, key);
  bytesField(w, ETCD.put.value, value);
}

/** etcd v3 (etcdserverpb.KV). */
export function etcdRequests(): SystemRequests {
  const path = (method: string) => `/etcdserverpb.KV/${method}`;
  const encode = (build: (w: Writer) => void) => {
    const w = protobuf.Writer.create();
    build(w);
    return w.finish();
  };
  return {
    rangeOne: (key, serializable) => ({
      path: path("Range"),
      body: encode((w) => {
        bytesField(w, ETCD.range.key, key);
        if (serializable) varintField(w, ETCD.range.serializable, 1);
      }),
    }),
    rangePrefix: (prefix, limit) => ({
      path: path("Range"),
      body: encode((w) => {
        bytesField(w, ETCD.range.key, prefix);
        bytesField(w, ETCD.range.rangeEnd, prefixEnd(prefix));
        varintField(w, ETCD.range.limit, limit);
      }),
    }),
    put: (key, value) => ({ path: path("Put"), body: encode((w) => etcdPut(w, key, value)) }),
    cas: (key, expected, next) => ({
      path: path("Txn"),
      body: encode((w) => {
        messageField(w, ETCD.txn.compare, (c) => {
          // result EQUAL is the default (0) and stays off the wire.
          varintField(c, ETCD.compare.target, ETCD.compareTargetValue);
          bytesField(c, ETCD.compare.key, key);
          bytesField(c, ETCD.compare.value, expected);
        });
        messageField(w, ETCD.txn.success, (op) => messageField(op, ETCD.requestOp.put, (p) => etcdPut(p, key, next)));
      }),
    }),
    putMany: (pairs) => ({
      path: path("Txn"),
      body: encode((w) => {
        for (const [key, value] of pairs) messageField(w, ETCD.txn.success, (op) => messageField(op, ETCD.requestOp.put, (p) => etcdPut(p, key, value)));
      }),
    }),
  };
}

/** The keys of an etcd RangeResponse (field 2 kvs, KeyValue field 1 key), in order. */
export function etcdRangeKeys(response: Uint8Array): Uint8Array[] {
  const keys: Uint8Array[] = [];
  const reader = protobuf.Reader.create(response);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 2 && (tag & 7) === 2) {
      const kv = protobuf.Reader.create(reader.bytes());
      while (kv.pos < kv.len) {
        const kvTag = kv.uint32();
        if (kvTag >>> 3 === 1 && (kvTag & 7) === 2) keys.push(kv.bytes());
        else kv.skipType(kvTag & 7);
      }
    } else {
      reader.skipType(tag & 7);
    }
  }
  return keys;
}
