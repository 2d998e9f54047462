import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { status as Code } from "@grpc/grpc-js";
import { GrpcServerMetrics } from "./grpc-metrics.js";

const LABELS = 'grpc_type="unary",grpc_service="regatta.v1.KV",grpc_method="Put"';

test("a bound method's series exist with zero values before any call", async () => {
  // Proves the pre-initialisation of spec §13.4: rate() works from the first scrape.
  const registry = new Registry();
  new GrpcServerMetrics(registry).method("regatta.v1.KV", "Put", "unary");
  const text = await registry.metrics();
  assert.match(text, new RegExp(`^grpc_server_started_total\\{${LABELS}\\} 0$`, "m"));
  assert.match(text, new RegExp(`^grpc_server_handled_total\\{${LABELS},grpc_code="NotFound"\\} 0$`, "m"));
  assert.match(text, new RegExp(`^grpc_server_handling_seconds_count\\{${LABELS}\\} 0$`, "m"));
  assert.match(text, new RegExp(`^grpc_server_handling_seconds_bucket\\{le="0.0001",${LABELS}\\} 0$`, "m"));
});

test("finished calls are counted by code and timed", async () => {
  // Proves started, handled (with Go's code names), messages and the histogram move together.
  const registry = new Registry();
  const observer = new GrpcServerMetrics(registry).method("regatta.v1.KV", "Put", "unary");
  for (const code of [Code.OK, Code.OK, Code.NOT_FOUND]) {
    observer.started();
    observer.messageReceived();
    observer.handled(code, performance.now() - 2);
  }
  const text = await registry.metrics();
  assert.match(text, new RegExp(`^grpc_server_started_total\\{${LABELS}\\} 3$`, "m"));
  assert.match(text, new RegExp(`^grpc_server_msg_received_total\\{${LABELS}\\} 3$`, "m"));
  assert.match(text, new RegExp(`^grpc_server_handled_total\\{${LABELS},grpc_code="OK"\\} 2$`, "m"));
  assert.match(text, new RegExp(`^grpc_server_handled_total\\{${LABELS},grpc_code="NotFound"\\} 1$`, "m"));
  assert.match(text, new RegExp(`^grpc_server_handling_seconds_count\\{${LABELS}\\} 3$`, "m"));
  assert.match(text, new RegExp(`^grpc_server_handling_seconds_bucket\\{le="0.001",${LABELS}\\} 0$`, "m"));
});
