/**
 * Metrics of the API listener's connection limit (--api.max-concurrent-connections): how close the node
 * is to the limit and how often clients were turned away, read from the limiter at scrape time.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { ConnectionLimiter } from "../server/connection-limit.js";

export function registerConnectionMetrics(registry: Registry, limiter: ConnectionLimiter): void {
  new Gauge({
    name: "armada_api_connections",
    help: "Client connections of the API listener: served (active), waiting for a slot, refused and not yet closed.",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const counts = limiter.counts();
      for (const state of ["active", "waiting", "refused"] as const) this.set({ state }, counts[state]);
    },
  });
  new Gauge({
    name: "armada_api_connections_max",
    help: "The API listener's connection limit (--api.max-concurrent-connections).",
    registers: [registry],
    collect() {
      this.set(limiter.options.maxConnections);
    },
  });
  new Counter({
    name: "armada_api_connections_refused_total",
    help: "Client connections the API listener refused because the connection limit was reached.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(limiter.refusals);
    },
  });
}
