import { test } from "node:test";
import assert from "node:assert/strict";
import { Metadata, status } from "@grpc/grpc-js";
import { checkBearerToken } from "./auth.js";
import { StatusError } from "./status.js";

function withAuthorization(value?: string): Metadata {
  const metadata = new Metadata();
  if (value !== undefined) metadata.set("authorization", value);
  return metadata;
}

function refusal(value: string | undefined, token: string): string | null {
  try {
    checkBearerToken(withAuthorization(value), token);
    return null;
  } catch (error) {
    assert.ok(error instanceof StatusError);
    assert.equal(error.code, status.UNAUTHENTICATED);
    return error.details;
  }
}

test("every token situation of spec §6.1 gets its exact message", () => {
  // Proves the texts clients match on, and that the scheme is case-insensitive.
  assert.equal(refusal(undefined, "secret"), "Request unauthenticated with bearer");
  assert.equal(refusal("Bearer", "secret"), "Bad authorization string");
  assert.equal(refusal("Basic secret", "secret"), "Request unauthenticated with bearer");
  assert.equal(refusal("Bearer wrong", "secret"), "Invalid token");
  assert.equal(refusal("Bearer secre", "secret"), "Invalid token");
  assert.equal(refusal("Bearer secret", "secret"), null);
  assert.equal(refusal("bEaReR secret", "secret"), null);
});

test("the token is everything after the first space", () => {
  // Proves a token containing spaces is compared whole.
  assert.equal(refusal("Bearer two words", "two words"), null);
  assert.equal(refusal("Bearer  secret", "secret"), "Invalid token");
});

test("an empty configured token disables the check", () => {
  // Proves the default (no token) lets every call through, with or without a header.
  assert.equal(refusal(undefined, ""), null);
  assert.equal(refusal("garbage", ""), null);
});
