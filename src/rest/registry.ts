/**
 * The metrics registry of one node: Node.js process and event-loop metrics under the `armada_` prefix,
 * to which the gRPC and table metrics add their families. One registry per node (not prom-client's
 * global one) so that several nodes in one test process do not share series.
 */
import { collectDefaultMetrics, Registry } from "prom-client";

/** Prefix of Armada's own and the default process metric names (spec §13.4). */
export const METRICS_PREFIX = "armada_";

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRICS_PREFIX });
  return registry;
}
