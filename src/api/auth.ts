/**
 * Bearer-token checks for the Tables and Maintenance services (spec §6.1): exact texts, and a
 * constant-time comparison so the token cannot be guessed byte by byte from response times.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Metadata } from "@grpc/grpc-js";
import { Code, StatusError } from "./status.js";

const unauthenticated = (details: string) => new StatusError(Code.UNAUTHENTICATED, details);

/** Throws UNAUTHENTICATED unless `metadata` carries `authorization: Bearer <token>`. An empty token disables the check. */
export function checkBearerToken(metadata: Metadata, token: string): void {
  if (!token) return;
  const values = metadata.get("authorization");
  if (values.length === 0) throw unauthenticated("Request unauthenticated with bearer");
  const value = String(values[0]);
  const space = value.indexOf(" ");
  if (space < 0) throw unauthenticated("Bad authorization string");
  if (value.slice(0, space).toLowerCase() !== "bearer") throw unauthenticated("Request unauthenticated with bearer");
  if (!sameSecret(value.slice(space + 1), token)) throw unauthenticated("Invalid token");
}

/** Compares digests so that neither the content nor the length of the token leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}
