/**
 * Armada's typed client, the package's public entry point.
 */
export { ArmadaClient, bytes, prefixEnd } from "./client.js";
export type {
  Bytes, CallOptions, ClientOptions, DeleteRangeOptions, DeleteRangeResult, Header, KeyValue, PutResult,
  RangeOptions, RangeResult, TableInfo, TxnRequest, TxnResult,
} from "./client.js";
export type { TlsOptions } from "./channel.js";
export * from "./errors.js";
export { pb } from "../proto/index.js";
