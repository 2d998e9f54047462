/**
 * The guard and the negotiation rule of the grpc-js compression patch; its behaviour on the wire is
 * tested against a real leader in compression.integration.test.ts.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { assertPatchable, installGrpcCompression, responseCodec, type ServerInterceptorsModule } from "./grpc-compression.js";

const require = createRequire(import.meta.url);
const installedVersion = (require("@grpc/grpc-js/package.json") as { version: string }).version;
const installedInternals = require("@grpc/grpc-js/build/src/server-interceptors.js") as ServerInterceptorsModule;

test("the installed grpc-js is one the patch was written for, and installing twice is harmless", () => {
  assert.doesNotThrow(() => assertPatchable(installedVersion, installedInternals));
  const prototype = installedInternals.BaseServerInterceptingCall.prototype;
  const original = prototype.decompressMessage;
  installGrpcCompression();
  const patched = prototype.decompressMessage;
  assert.notEqual(patched, original);
  installGrpcCompression();
  assert.equal(prototype.decompressMessage, patched, "a second install must not wrap the patch again");
});

test("another grpc-js minor release is refused, naming the file to review", () => {
  assert.throws(() => assertPatchable("1.15.0", installedInternals), /written for @grpc\/grpc-js 1\.14\.x, found 1\.15\.0; review src\/server\/grpc-compression\.ts/);
  assert.throws(() => assertPatchable("2.14.0", installedInternals), /found 2\.14\.0/);
});

test("a grpc-js without a patched method is refused, naming what is missing", () => {
  class Call {
    decompressMessage(): void {}
    sendMessage(): void {}
  }
  const internals = { BaseServerInterceptingCall: Call } as unknown as Partial<ServerInterceptorsModule>;
  assert.throws(() => assertPatchable("1.14.9", internals), /lacks serializeMessage, sendMetadata, getServerInterceptingCall/);
  assert.throws(() => assertPatchable("1.14.9", {}), /lacks decompressMessage, serializeMessage, sendMessage, sendMetadata, getServerInterceptingCall/);
});

test("responses use the request's encoding when the client accepts it, identity otherwise", () => {
  assert.equal(responseCodec("gzip", undefined)?.name, "gzip");
  assert.equal(responseCodec("zstd", "identity,deflate,gzip,snappy,zstd")?.name, "zstd");
  assert.equal(responseCodec("Snappy", "identity, snappy")?.name, "snappy");
  assert.equal(responseCodec("snappy", "identity,gzip"), null);
  assert.equal(responseCodec("identity", undefined), null);
  assert.equal(responseCodec("br", "br"), null);
});
